//! Fluent Forward codec, pure code: where a request ends ([`FrameScanner`], [`check_frame`]), its
//! events ([`decode_frame`]) and the ack reply ([`encode_ack`]).
//!
//! Invariants:
//! - Records are `Bytes` slices of the received frame (or of its decompressed payload): never
//!   copied, never re-encoded (non-UTF-8 bytes are preserved), no allocation per record.
//! - A frame whose structure is wrong returns `Err` and appends nothing; the caller closes the
//!   connection. A bad event inside a sound frame (bad time, non-map record, malformed entry,
//!   truncated packed tail) is skipped and counted in [`DecodeStats::invalid_events`], and the frame
//!   is still acked.
//! - Every size read from the peer is bounded by [`DecodeLimits`].
//!
//! Structure policy (fluentd and Fluent Bit close on these too): the root must be an array of
//! 3 or 4 elements in Message mode and 2 or 3 in Forward/PackedForward mode, its tag a str, its
//! options `nil` or a map. Inside a Forward array or a packed payload, an entry that is not a
//! 2-element `[time, record]` array is an invalid event, not a frame error: its bounds are known,
//! so the other events can still be delivered.

mod decompress;
mod entry;
mod options;
mod scan;
mod tags;

use bytes::Bytes;

use crate::event::Event;
use crate::msgpack::reader::{ReadError, Token, read_token, skip_value};

use decompress::{Codec, decompress};
use entry::{read_entry, read_record, time_from_token};
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
/// appending its events to `out`. On `Err`, `out` is unchanged.
pub fn decode_frame(
    frame: Bytes,
    limits: &DecodeLimits,
    tags: &mut TagCache,
    out: &mut Vec<Event>,
    stats: &mut DecodeStats,
) -> Result<FrameInfo, FrameError> {
    if skip_value(&frame, 0)? != frame.len() {
        return Err(FrameError::TrailingBytes);
    }
    let (root, tag_pos) = read_token(&frame, 0)?;
    let len = match root {
        Token::Nil => {
            return Ok(FrameInfo {
                chunk: None,
                events: 0,
                mode: Mode::Heartbeat,
            });
        }
        Token::Array(len) => len,
        _ => return Err(FrameError::NonArrayRoot),
    };
    if len < 2 {
        return Err(FrameError::BadArrayLength { len });
    }
    let Token::Str(raw_tag) = read_token(&frame, tag_pos)?.0 else {
        return Err(FrameError::TagNotString);
    };
    let second = skip_value(&frame, tag_pos)?;
    let after_second = skip_value(&frame, second)?;
    let (second_tok, second_body) = read_token(&frame, second)?;
    let mode = match second_tok {
        Token::UInt(_) | Token::Int(_) | Token::Ext(..) | Token::F32(_) | Token::F64(_) => {
            Mode::Message
        }
        Token::Array(_) => Mode::Forward,
        Token::Str(_) | Token::Bin(_) => Mode::PackedForward,
        _ => return Err(FrameError::UnknownMode),
    };
    let min_len = if mode == Mode::Message { 3 } else { 2 };
    if len != min_len && len != min_len + 1 {
        return Err(FrameError::BadArrayLength { len });
    }
    let opts = if len > min_len {
        // Message mode has the record between the time and the options.
        let options_pos = match mode {
            Mode::Message => skip_value(&frame, after_second)?,
            _ => after_second,
        };
        parse_options(&frame, options_pos)?
    } else {
        Options::default()
    };
    let start = out.len();
    let mode = match second_tok {
        Token::Array(count) => {
            let tag = tags.resolve(raw_tag);
            let mut p = second_body;
            for _ in 0..count {
                let end = skip_value(&frame, p)?;
                push_entry(&frame, p, end, &tag, out, stats);
                p = end;
            }
            mode
        }
        Token::Str(payload) | Token::Bin(payload) => {
            let payload = frame.slice(second_body - payload.len()..second_body);
            let codec = match opts.compression {
                Compression::Gzip => Some(Codec::Gzip),
                Compression::Zstd => Some(Codec::Zstd),
                Compression::Text => None,
                Compression::Unspecified => Codec::sniff(&payload),
            };
            let (payload, mode) = match codec {
                Some(codec) => {
                    let plain = decompress(codec, &payload, limits.max_decompressed_bytes)?;
                    stats.decompressed_bytes += plain.len() as u64;
                    (plain, Mode::CompressedPackedForward)
                }
                None => (payload, Mode::PackedForward),
            };
            let tag = tags.resolve(raw_tag);
            push_packed(&payload, &tag, out, stats);
            mode
        }
        time_tok => {
            let tag = tags.resolve(raw_tag);
            let time = time_from_token(time_tok);
            match (time, read_record(&frame, after_second)) {
                (Some(time), Some((record, _))) => out.push(Event { tag, time, record }),
                _ => stats.invalid_events += 1,
            }
            mode
        }
    };
    Ok(FrameInfo {
        chunk: opts.chunk,
        events: out.len() - start,
        mode,
    })
}

/// Appends the entries concatenated in a PackedForward payload. A truncated or malformed tail
/// cannot be resynchronised: it counts as one invalid event and ends the payload.
fn push_packed(
    payload: &Bytes,
    tag: &std::sync::Arc<str>,
    out: &mut Vec<Event>,
    stats: &mut DecodeStats,
) {
    let mut p = 0;
    while p < payload.len() {
        let Ok(end) = skip_value(payload, p) else {
            stats.invalid_events += 1;
            return;
        };
        push_entry(payload, p, end, tag, out, stats);
        p = end;
    }
}

fn push_entry(
    buf: &Bytes,
    pos: usize,
    end: usize,
    tag: &std::sync::Arc<str>,
    out: &mut Vec<Event>,
    stats: &mut DecodeStats,
) {
    match read_entry(buf, pos, end) {
        Some((time, record)) => out.push(Event {
            tag: std::sync::Arc::clone(tag),
            time,
            record,
        }),
        None => stats.invalid_events += 1,
    }
}

/// Appends the ack reply `{"ack": <chunk>}`: fixmap 1, fixstr "ack", then the chunk value's
/// msgpack bytes exactly as received.
pub fn encode_ack(chunk: &[u8], out: &mut Vec<u8>) {
    out.reserve(5 + chunk.len());
    out.extend_from_slice(&[0x81, 0xa3, b'a', b'c', b'k']);
    out.extend_from_slice(chunk);
}
