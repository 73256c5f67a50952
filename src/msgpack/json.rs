//! msgpack to JSON, written straight into a caller's buffer without building a value tree.
//!
//! Mapping (the JSON a user sees):
//! - nil, bool, ints (full u64 and i64 range), str, arrays and maps map to their JSON twins;
//! - f32/f64: shortest round-trip digits; NaN and infinities become `null`;
//! - str: JSON-escaped; each invalid UTF-8 sequence becomes U+FFFD and is counted in [`TranscodeStats`];
//! - bin: a base64 string (standard alphabet, padded);
//! - ext type 0 with 8 bytes (Fluent EventTime) and nanoseconds below 1e9: the time in seconds as an
//!   exact decimal number `secs.nnnnnnnnn`;
//! - any other ext: an object `{"type":<ext type>,"data":"<base64 of the payload>"}`;
//! - map keys that are not strings become string keys: nil/bool/numbers/EventTime as their JSON text
//!   (`1` -> `"1"`), bin as base64, arrays/maps/other ext as their JSON text escaped into a string.
//!   Duplicate keys are written as they come (JSON readers usually keep the last).
//!
//! The same text can be written escaped as the content of a JSON string ([`write_value_escaped`]),
//! for documents that carry a record as a string, in one pass instead of two.
//!
//! Invariants: never panics on arbitrary bytes; nesting deeper than [`MAX_DEPTH`] containers is an
//! error; on any error the output buffer and the stats are left exactly as they were on entry.

mod escape;
mod number;
mod sink;
#[cfg(test)]
mod tests;

use thiserror::Error;

use super::reader::{MAX_DEPTH, ReadError, Token, read_token};
pub(crate) use escape::stop_bytes;
pub use escape::{write_str, write_str_content, write_str_content_valid, write_str_valid};
pub use number::{write_f32, write_f64, write_int, write_padded, write_seconds_nanos};
use sink::{Escaped, Plain, Sink};

/// Counters of lossy repairs made while transcoding (callers turn them into metrics).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TranscodeStats {
    pub invalid_utf8_sequences: u64,
}

/// Why a msgpack value could not be written as JSON. Nothing was written when this is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TranscodeError {
    /// The bytes are truncated or not msgpack.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// More than [`MAX_DEPTH`] nested arrays/maps.
    #[error("msgpack nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// [`write_map_entries`] was given something other than a map.
    #[error("record is not a msgpack map")]
    NotAMap,
}

/// What [`write_value_escaped`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscapedJson {
    /// msgpack bytes consumed.
    pub consumed: usize,
    /// Length of the plain JSON text (what [`write_value`] would have written).
    pub plain_len: usize,
}

/// Ext type of Fluent's EventTime.
const EVENT_TIME_EXT: i8 = 0;

/// Writes the msgpack value at the start of `value` as JSON; returns bytes consumed.
pub fn write_value(
    value: &[u8],
    out: &mut Vec<u8>,
    stats: &mut TranscodeStats,
) -> Result<usize, TranscodeError> {
    let (consumed, _) = transactional(value, Plain(out), stats, |w| w.value(0, 0))?;
    Ok(consumed)
}

/// Writes the msgpack value at the start of `value` as JSON text escaped as the content of a JSON
/// string (no enclosing quotes), in one pass: exactly what [`write_str_valid`] makes of the
/// [`write_value`] text, between its quotes. Invalid UTF-8 is counted as by [`write_value`].
pub fn write_value_escaped(
    value: &[u8],
    out: &mut Vec<u8>,
    stats: &mut TranscodeStats,
) -> Result<EscapedJson, TranscodeError> {
    let start = out.len();
    let sink = Escaped { out, added: 0 };
    let (consumed, sink) = transactional(value, sink, stats, |w| w.value(0, 0))?;
    Ok(EscapedJson {
        consumed,
        plain_len: sink.out.len() - start - sink.added,
    })
}

/// Writes the pairs of the msgpack map `map` as `"k":v` separated by commas, WITHOUT braces, so
/// callers can add their own keys (e.g. "date", "tag") in the same object. Returns the number of
/// pairs written. A value that is not a map is [`TranscodeError::NotAMap`].
pub fn write_map_entries(
    map: &[u8],
    out: &mut Vec<u8>,
    stats: &mut TranscodeStats,
) -> Result<usize, TranscodeError> {
    let (pairs, _) = transactional(map, Plain(out), stats, |w| {
        let (tok, p) = read_token(w.buf, 0)?;
        let Token::Map(pairs) = tok else {
            return Err(TranscodeError::NotAMap);
        };
        w.entries(p, pairs, 1)?;
        Ok(pairs as usize)
    })?;
    Ok(pairs)
}

/// Runs `f` and undoes its output and stats changes if it fails; gives the sink back on success.
fn transactional<S: Sink, T>(
    buf: &[u8],
    mut sink: S,
    stats: &mut TranscodeStats,
    f: impl FnOnce(&mut Writer<'_, '_, S>) -> Result<T, TranscodeError>,
) -> Result<(T, S), TranscodeError> {
    let out_len = sink.out().len();
    let stats_before = *stats;
    let mut w = Writer { buf, sink, stats };
    match f(&mut w) {
        Ok(v) => Ok((v, w.sink)),
        Err(err) => {
            w.sink.out().truncate(out_len);
            *w.stats = stats_before;
            Err(err)
        }
    }
}

struct Writer<'b, 's, S> {
    buf: &'b [u8],
    sink: S,
    stats: &'s mut TranscodeStats,
}

impl<S: Sink> Writer<'_, '_, S> {
    /// Writes the value at `pos`, which sits inside `depth` containers; returns the end position.
    fn value(&mut self, pos: usize, depth: usize) -> Result<usize, TranscodeError> {
        let (tok, mut p) = read_token(self.buf, pos)?;
        match tok {
            Token::Nil => self.sink.out().extend_from_slice(b"null"),
            Token::Bool(true) => self.sink.out().extend_from_slice(b"true"),
            Token::Bool(false) => self.sink.out().extend_from_slice(b"false"),
            Token::UInt(v) => write_int(v, self.sink.out()),
            Token::Int(v) => write_int(v, self.sink.out()),
            Token::F32(v) => write_f32(v, self.sink.out()),
            Token::F64(v) => write_f64(v, self.sink.out()),
            Token::Str(s) => self.sink.str(s, self.stats),
            Token::Bin(b) => self.sink.base64(b),
            Token::Ext(ty, data) => self.ext(ty, data),
            Token::Array(n) => {
                check_depth(depth)?;
                self.sink.out().push(b'[');
                for i in 0..n {
                    if i > 0 {
                        self.sink.out().push(b',');
                    }
                    p = self.value(p, depth + 1)?;
                }
                self.sink.out().push(b']');
            }
            Token::Map(n) => {
                check_depth(depth)?;
                self.sink.out().push(b'{');
                p = self.entries(p, n, depth + 1)?;
                self.sink.out().push(b'}');
            }
        }
        Ok(p)
    }

    /// Writes `pairs` key/value pairs starting at `pos`, at nesting `depth`; returns the end position.
    fn entries(
        &mut self,
        mut pos: usize,
        pairs: u32,
        depth: usize,
    ) -> Result<usize, TranscodeError> {
        for i in 0..pairs {
            if i > 0 {
                self.sink.out().push(b',');
            }
            pos = self.key(pos, depth)?;
            self.sink.out().push(b':');
            pos = self.value(pos, depth)?;
        }
        Ok(pos)
    }

    /// Writes a map key as a JSON string, whatever its msgpack type.
    fn key(&mut self, pos: usize, depth: usize) -> Result<usize, TranscodeError> {
        if let (Token::Str(s), end) = read_token(self.buf, pos)? {
            self.sink.str(s, self.stats);
            return Ok(end);
        }
        let (buf, stats) = (self.buf, &mut *self.stats);
        if let Some(out) = self.sink.plain() {
            return Writer {
                buf,
                sink: Plain(out),
                stats,
            }
            .non_string_key(pos, depth);
        }
        // Escaped: make the plain key, then escape it (non-string keys are rare).
        let mut key = Vec::new();
        let end = Writer {
            buf,
            sink: Plain(&mut key),
            stats,
        }
        .non_string_key(pos, depth)?;
        self.sink.json(&key);
        Ok(end)
    }

    fn ext(&mut self, ty: i8, data: &[u8]) {
        if ty == EVENT_TIME_EXT
            && let Ok(bytes) = <[u8; 8]>::try_from(data)
        {
            let secs = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let nanos = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
            if nanos < 1_000_000_000 {
                write_seconds_nanos(i64::from(secs), nanos, self.sink.out());
                return;
            }
        }
        self.sink.json(b"{\"type\":");
        write_int(ty, self.sink.out());
        self.sink.json(b",\"data\":");
        self.sink.base64(data);
        self.sink.out().push(b'}');
    }
}

impl Writer<'_, '_, Plain<'_>> {
    /// Writes a map key that is not a msgpack str as a JSON string, editing the plain text in place.
    fn non_string_key(&mut self, pos: usize, depth: usize) -> Result<usize, TranscodeError> {
        let start = self.sink.0.len();
        let end = self.value(pos, depth)?;
        let out = &mut *self.sink.0;
        let text = &out[start..];
        if text.first() == Some(&b'"') {
            // bin: already a base64 string.
        } else if !text.iter().any(|&b| b == b'"' || b == b'\\') {
            // nil, bool, numbers: their text is a valid string body; quote it in place.
            out.insert(start, b'"');
            out.push(b'"');
        } else {
            // Arrays, maps, ext objects as keys are rare enough to afford a copy.
            let json = out.split_off(start);
            write_str(&json, out, self.stats);
        }
        Ok(end)
    }
}

#[inline]
fn check_depth(depth: usize) -> Result<(), TranscodeError> {
    if depth >= MAX_DEPTH {
        Err(TranscodeError::TooDeep)
    } else {
        Ok(())
    }
}
