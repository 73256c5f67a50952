//! Fluent Forward codec, pure code: where a request ends ([`FrameScanner`], [`check_frame`]), its
//! events ([`decode_frame`]) and the ack reply ([`encode_ack`]).
//!
//! Invariants:
//! - Records are `Bytes` slices of the received frame (or of its decompressed payload): never
//!   copied, never re-encoded (non-UTF-8 bytes are preserved), no allocation per record.
//! - A frame whose structure is wrong returns `Err` and leaves `out` and the stats as they were
//!   (events read before the fault are rolled back); the caller closes the
//!   connection. A bad event inside a sound frame (bad time, non-map record, malformed entry,
//!   truncated packed tail) is skipped and counted in [`DecodeStats::invalid_events`], and the frame
//!   is still acked.
//! - Every size read from the peer is bounded by [`DecodeLimits`].
//!
//! Structure policy (fluentd and Fluent Bit close on these too): the root must be an array of
//! 3 or 4 elements in Message mode and 2 or 3 in Forward/PackedForward mode, its tag a str, its
//! options `nil` or a map. Inside a Forward array or a packed payload, an entry that is not a
//! 2-element `[time, record]` array is an invalid event, not a frame error: its bounds are known,
//! so the other events can still be delivered. In Message mode element [1] selects the mode, so a
//! non-number "time" there is not an invalid event but another mode or an unknown one (frame
//! error). `compressed` is honoured only for PackedForward and ignored in the other modes; a
//! payload without `compressed` that starts with gzip or zstd magic bytes is decompressed, as
//! Fluent Bit does.

mod decompress;
mod entry;
mod options;
mod scan;
mod tags;

use std::sync::Arc;

use bytes::Bytes;

use crate::event::Event;
use crate::msgpack::reader::{ReadError, Token, read_token, skip_value};

pub use decompress::Codec;
use decompress::decompress;
pub use decompress::{Fill, Inflater, announced_size, grow_step};
pub use entry::Entries;
use entry::{push_entry, record_at, time_from_token};
use options::{Compression, Options, parse_options};
pub use scan::{FrameScanner, check_frame};
pub use tags::{TAG_CACHE_SLOTS, TagCache};

/// Limits applied to what a peer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest request, as msgpack bytes on the wire; a larger one is a [`FrameError`].
    pub max_frame_bytes: usize,
    /// Largest decompressed payload of one request; decompression stops with a [`FrameError`]
    /// as soon as it would produce more.
    pub max_decompressed_bytes: usize,
}

/// Counters a connection accumulates across frames.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DecodeStats {
    /// Events skipped inside otherwise valid frames (bad time, non-map record, bad entry).
    pub invalid_events: u64,
    /// Bytes produced by decompressing CompressedPackedForward payloads.
    pub decompressed_bytes: u64,
}

/// The Forward mode of a request (for metrics and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Message,
    Forward,
    PackedForward,
    CompressedPackedForward,
    Heartbeat,
}

impl Mode {
    /// Stable snake_case name for metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Message => "message",
            Mode::Forward => "forward",
            Mode::PackedForward => "packed_forward",
            Mode::CompressedPackedForward => "compressed_packed_forward",
            Mode::Heartbeat => "heartbeat",
        }
    }
}

/// What [`decode_frame`] found besides the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// Raw msgpack bytes of the `chunk` option value (to echo byte for byte), if any.
    pub chunk: Option<Bytes>,
    /// Number of events appended.
    pub events: usize,
    pub mode: Mode,
}

/// Why a frame (and so the connection) is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("request is not a msgpack array or nil")]
    NonArrayRoot,
    #[error("request larger than {limit_bytes} bytes")]
    FrameTooLarge { limit_bytes: usize },
    #[error("malformed msgpack: {0}")]
    Malformed(&'static str),
    #[error("request ends inside a msgpack value")]
    Incomplete,
    #[error("bytes after the end of the request")]
    TrailingBytes,
    #[error("request array has {len} elements, not valid for its mode")]
    BadArrayLength { len: u32 },
    #[error("tag is not a msgpack str")]
    TagNotString,
    #[error("second element is neither a time, an array nor a str/bin payload")]
    UnknownMode,
    #[error("options are neither nil nor a map")]
    BadOptions,
    #[error("unknown `compressed` option value")]
    UnknownCompression,
    #[error("{codec} payload cannot be decompressed: {detail}")]
    Decompress { codec: &'static str, detail: String },
    #[error("decompressed payload larger than {limit_bytes} bytes")]
    DecompressedTooLarge { limit_bytes: usize },
}

impl FrameError {
    /// Short stable name for the `reason` metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            FrameError::NonArrayRoot => "non_array_root",
            FrameError::FrameTooLarge { .. } => "frame_too_large",
            FrameError::Malformed(_) => "malformed_msgpack",
            FrameError::Incomplete => "incomplete_frame",
            FrameError::TrailingBytes => "trailing_bytes",
            FrameError::BadArrayLength { .. } => "bad_array_length",
            FrameError::TagNotString => "tag_not_string",
            FrameError::UnknownMode => "unknown_mode",
            FrameError::BadOptions => "bad_options",
            FrameError::UnknownCompression => "unknown_compression",
            FrameError::Decompress { .. } => "decompress_failed",
            FrameError::DecompressedTooLarge { .. } => "decompressed_too_large",
        }
    }
}

impl From<ReadError> for FrameError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Incomplete => FrameError::Incomplete,
            ReadError::Invalid(why) => FrameError::Malformed(why),
        }
    }
}

/// Decodes the complete frame `frame` (exactly one msgpack value, as measured by [`check_frame`]),
/// appending its events to `out`. On `Err`, `out` and `stats` are left as they were.
///
/// Decodes the whole frame at once (tests, benches, tools); the server decodes in bounded pieces
/// with [`open_frame`] and [`Entries::next`] instead.
pub fn decode_frame(
    frame: Bytes,
    limits: &DecodeLimits,
    tags: &mut TagCache,
    out: &mut Vec<Event>,
    stats: &mut DecodeStats,
) -> Result<FrameInfo, FrameError> {
    let (start, saved) = (out.len(), *stats);
    let result = open_request(&frame, usize::MAX, tags, out, stats).and_then(|opened| {
        Ok(match opened {
            Opened::Done { chunk, mode } => (chunk, mode),
            Opened::Entries { mut entries, chunk } => {
                out.reserve(entries.len_hint());
                let mode = match entries.left {
                    Some(_) => Mode::Forward,
                    None => Mode::PackedForward,
                };
                entries.next(out, usize::MAX, stats);
                (chunk, mode)
            }
            Opened::Compressed {
                codec,
                payload,
                tag,
                chunk,
            } => {
                let plain = decompress(codec, &payload, limits.max_decompressed_bytes)?;
                stats.decompressed_bytes += plain.len() as u64;
                Entries::packed(plain, tag).next(out, usize::MAX, stats);
                (chunk, Mode::CompressedPackedForward)
            }
        })
    });
    match result {
        Ok((chunk, mode)) => Ok(FrameInfo {
            chunk,
            events: out.len() - start,
            mode,
        }),
        Err(e) => {
            out.truncate(start);
            *stats = saved;
            Err(e)
        }
    }
}

/// A frame whose structure was checked, with what is left to do to read its events.
#[derive(Debug)]
pub enum Opened {
    /// Its events (if any) were appended already.
    Done { chunk: Option<Bytes>, mode: Mode },
    /// Its entries are still to be read, in as many pieces as the caller wants.
    Entries {
        entries: Entries,
        chunk: Option<Bytes>,
    },
    /// A CompressedPackedForward payload: decompress it (bounded by `max_decompressed_bytes`),
    /// then read its entries with [`Entries::packed`].
    Compressed {
        codec: Codec,
        payload: Bytes,
        tag: Arc<str>,
        chunk: Option<Bytes>,
    },
}

/// Checks the structure of the complete frame `frame` and appends its events if they fit in
/// `room` more events (a Message, a Forward array of at most `room` entries); otherwise returns
/// the entries to read later. Needs `room >= 1`. On `Err`, `out` and `stats` are as they were.
pub fn open_frame(
    frame: &Bytes,
    room: usize,
    tags: &mut TagCache,
    out: &mut Vec<Event>,
    stats: &mut DecodeStats,
) -> Result<Opened, FrameError> {
    let (start, saved) = (out.len(), *stats);
    let result = open_request(frame, room, tags, out, stats);
    if result.is_err() {
        out.truncate(start);
        *stats = saved;
    }
    result
}

/// Reads each element once when the events fit in `room`: the record of a Message, each Forward
/// entry and the options are scanned a single time, and the last element must end exactly at the
/// end of `frame`. A Forward array larger than `room` is skipped over first (to check the options
/// behind it) and read later.
fn open_request(
    frame: &Bytes,
    room: usize,
    tags: &mut TagCache,
    out: &mut Vec<Event>,
    stats: &mut DecodeStats,
) -> Result<Opened, FrameError> {
    let (root, tag_pos) = read_token(frame, 0)?;
    let len = match root {
        Token::Nil if frame.len() == 1 => {
            return Ok(Opened::Done {
                chunk: None,
                mode: Mode::Heartbeat,
            });
        }
        Token::Nil => return Err(FrameError::TrailingBytes),
        Token::Array(len) => len,
        _ => return Err(FrameError::NonArrayRoot),
    };
    if len < 2 {
        return Err(FrameError::BadArrayLength { len });
    }
    let (Token::Str(raw_tag), second) = read_token(frame, tag_pos)? else {
        return Err(FrameError::TagNotString);
    };
    let (second_tok, second_body) = read_token(frame, second)?;
    let min_len = match second_tok {
        Token::UInt(_) | Token::Int(_) | Token::Ext(..) | Token::F32(_) | Token::F64(_) => 3,
        Token::Array(_) | Token::Str(_) | Token::Bin(_) => 2,
        _ => return Err(FrameError::UnknownMode),
    };
    if len != min_len && len != min_len + 1 {
        return Err(FrameError::BadArrayLength { len });
    }
    let tag = tags.resolve(raw_tag);
    // Events of Message and Forward mode are read before the options that follow them; the caller
    // rolls them back if the options turn out to be bad.
    let (after_events, later) = match second_tok {
        Token::Array(count) if count as usize <= room => {
            let mut p = second_body;
            for _ in 0..count {
                p = push_entry(frame, p, &tag, out, stats)?;
            }
            (p, None)
        }
        Token::Array(count) => {
            let end = skip_value(frame, second)?;
            let entries = Entries {
                buf: frame.clone(),
                pos: second_body,
                end,
                left: Some(count),
                tag: Arc::clone(&tag),
            };
            (end, Some(entries))
        }
        Token::Str(payload) | Token::Bin(payload) => (
            second_body,
            Some(Entries::packed(
                frame.slice(second_body - payload.len()..second_body),
                Arc::clone(&tag),
            )),
        ),
        time_tok => {
            let (record, end) = record_at(frame, second_body)?;
            match (time_from_token(time_tok), record) {
                (Some(time), Some(record)) => out.push(Event {
                    tag: Arc::clone(&tag),
                    time,
                    record,
                }),
                _ => stats.invalid_events += 1,
            }
            (end, None)
        }
    };
    let (opts, end) = if len > min_len {
        parse_options(frame, after_events)?
    } else {
        (Options::default(), after_events)
    };
    if end != frame.len() {
        return Err(FrameError::TrailingBytes);
    }
    let chunk = opts.chunk;
    let Some(entries) = later else {
        let mode = match second_tok {
            Token::Array(_) => Mode::Forward,
            _ => Mode::Message,
        };
        return Ok(Opened::Done { chunk, mode });
    };
    if entries.left.is_some() {
        return Ok(Opened::Entries { entries, chunk });
    }
    let codec = match opts.compression {
        Compression::Gzip => Some(Codec::Gzip),
        Compression::Zstd => Some(Codec::Zstd),
        Compression::Text => None,
        Compression::Unspecified => Codec::sniff(&entries.buf),
    };
    Ok(match codec {
        None => Opened::Entries { entries, chunk },
        Some(codec) => Opened::Compressed {
            codec,
            payload: entries.buf,
            tag,
            chunk,
        },
    })
}

/// Appends the ack reply `{"ack": <chunk>}`: fixmap 1, fixstr "ack", then the chunk value's
/// msgpack bytes exactly as received.
pub fn encode_ack(chunk: &[u8], out: &mut Vec<u8>) {
    out.reserve(5 + chunk.len());
    out.extend_from_slice(&[0x81, 0xa3, b'a', b'c', b'k']);
    out.extend_from_slice(chunk);
}
