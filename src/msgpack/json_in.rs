//! JSON text -> msgpack in one pass, without serde: the hot path of the tcp input and of the `json`
//! parser filter.
//!
//! Output contract (the `parser` filter patches headers in place): maps get map32 and arrays array32
//! headers, patched once the count is known; strings the smallest str header; integers that fit u64
//! (or, negative, i64) go through `write_u64` / `write_i64`; any other number (fraction, exponent,
//! `-0`, out of range) is an f64. Duplicate keys are kept in order. It accepts exactly what
//! `serde_json::from_slice` accepts (RFC 8259, serde_json's nesting limit, no lone surrogates, UTF-8
//! only, numbers overflowing f64 rejected), except that floats are parsed with `str::parse::<f64>`,
//! correctly rounded, where serde_json's default parser can be an ULP off on rare inputs (and may call
//! a number a hair below `f64::MAX` out of range).
//!
//! Invariant: on error, `out` is truncated back to its length at entry. Nothing is allocated besides
//! growing `out`: escapes are decoded straight into it.
//!
//! Two paths write the same bytes: `fast.rs`, one loop with its state in locals, takes documents of
//! up to 64 KiB nested up to 16 deep; anything else, and every invalid document, goes to the checked
//! path here (recursive descent), which also says where and why the input is not JSON.

use self::escape::escape;
use self::number::number;
use self::scan::plain_run_end;
use super::index::MapIndex;
use super::writer::write_str_header;

/// Deepest nesting of objects and arrays accepted (the top-level object counts as 1). serde_json's
/// recursion limit of 128 fails on the 128th level.
const MAX_DEPTH: u32 = 127;

/// Where and why JSON text was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {offset}: {reason}")]
pub struct JsonSyntaxError {
    /// Offset in the input of the byte where parsing stopped (the input length at end of input).
    pub offset: usize,
    pub reason: &'static str,
}

/// Why a JSON line could not become a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JsonToMsgpackError {
    #[error(transparent)]
    Syntax(#[from] JsonSyntaxError),
    #[error("a record must be a JSON object")]
    NotAnObject,
}

/// Converts one JSON object (the whole of `json`, surrounding whitespace allowed) into a msgpack map
/// appended to `out`.
pub fn json_object_to_msgpack(json: &[u8], out: &mut Vec<u8>) -> Result<(), JsonToMsgpackError> {
    transcode(json, out, None)
}

/// [`json_object_to_msgpack`] that also describes the map's entries in `index`, positions counted
/// from the map's first byte (what `out` held before is not part of it). On error `index` holds
/// nothing useful.
pub fn json_object_to_msgpack_indexed(
    json: &[u8],
    out: &mut Vec<u8>,
    index: &mut MapIndex,
) -> Result<(), JsonToMsgpackError> {
    index.begin();
    transcode(json, out, Some(index))
}

fn transcode(
    json: &[u8],
    out: &mut Vec<u8>,
    mut index: Option<&mut MapIndex>,
) -> Result<(), JsonToMsgpackError> {
    // Which error a non-object gets is decided with `is_ascii_whitespace` (it includes form feed, which
    // JSON does not): "\x0c[1]" has always been `NotAnObject`, "\x0c{}" a syntax error.
    let first = json.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(JsonToMsgpackError::NotAnObject);
    }
    if fast::transcode(json, out, index.as_deref_mut()).is_ok() {
        return Ok(());
    }
    if let Some(index) = index.as_deref_mut() {
        index.begin();
    }
    Ok(checked(json, out, index)?)
}

/// The checked path: what the fast path writes, for any document, or where and why it is not
/// JSON.
fn checked(json: &[u8], out: &mut Vec<u8>, index: Option<&mut MapIndex>) -> Step {
    let start = out.len();
    // One reservation up front: msgpack is about as long as its JSON, so `out` rarely grows again.
    out.reserve(json.len());
    let mut transcoder = Transcoder {
        src: json,
        pos: 0,
        out: &mut *out,
        base: start,
        index,
    };
    let result = transcoder.document();
    if result.is_err() {
        out.truncate(start);
    }
    result
}

type Step<T = ()> = Result<T, JsonSyntaxError>;

fn fail<T>(offset: usize, reason: &'static str) -> Step<T> {
    Err(JsonSyntaxError { offset, reason })
}

/// Recursive descent over `src`; `pos` never exceeds `src.len()`.
struct Transcoder<'a> {
    src: &'a [u8],
    pos: usize,
    out: &'a mut Vec<u8>,
    /// Where the document's map starts in `out`.
    base: usize,
    /// Where the top-level map's entries are described, if anywhere.
    index: Option<&'a mut MapIndex>,
}

impl Transcoder<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    /// Skips JSON whitespace and returns the next byte, not consumed.
    fn next_byte(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
        self.peek()
    }

    fn document(&mut self) -> Step {
        self.next_byte();
        self.value(0)?;
        if self.next_byte().is_some() {
            return fail(self.pos, "trailing characters after the object");
        }
        Ok(())
    }

    /// Transcodes the value at `pos` (whitespace already skipped), nested in `depth` containers.
    fn value(&mut self, depth: u32) -> Step {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.string()
            }
            Some(b'{') => self.container(depth + 1, 0xdf, b'}', Self::member),
            Some(b'[') => self.container(depth + 1, 0xdd, b']', Self::value),
            Some(b'-' | b'0'..=b'9') => {
                let (encoded, next) = number(self.src, self.pos)?;
                self.out.extend_from_slice(encoded.as_slice());
                self.pos = next;
                Ok(())
            }
            Some(b't') => self.literal(b"true", 0xc3),
            Some(b'f') => self.literal(b"false", 0xc2),
            Some(b'n') => self.literal(b"null", 0xc0),
            Some(_) => fail(self.pos, "expected a value"),
            None => fail(self.pos, "unexpected end of input"),
        }
    }

    fn literal(&mut self, word: &[u8], marker: u8) -> Step {
        if self.src.get(self.pos..self.pos + word.len()) != Some(word) {
            return fail(self.pos, "expected a value");
        }
        self.pos += word.len();
        self.out.push(marker);
        Ok(())
    }

    /// Transcodes an object or array at `pos` (its bracket) nested `depth` deep: a 32-bit header
    /// patched at the end, then `element`s separated by commas up to `close`.
    fn container<F>(&mut self, depth: u32, marker: u8, close: u8, element: F) -> Step
    where
        F: Fn(&mut Self, u32) -> Step,
    {
        if depth > MAX_DEPTH {
            return fail(self.pos, "recursion limit exceeded");
        }
        self.pos += 1;
        let header = self.out.len();
        self.out.extend_from_slice(&[marker, 0, 0, 0, 0]);
        let mut n: u32 = 0;
        if self.next_byte() != Some(close) {
            loop {
                element(self, depth)?;
                n = n.wrapping_add(1);
                match self.next_byte() {
                    Some(b',') => self.pos += 1,
                    Some(b) if b == close => break,
                    Some(_) if close == b'}' => return fail(self.pos, "expected `,` or `}`"),
                    Some(_) => return fail(self.pos, "expected `,` or `]`"),
                    None => return fail(self.pos, "unexpected end of input"),
                }
                self.next_byte();
            }
        }
        self.pos += 1;
        self.out[header + 1..header + 5].copy_from_slice(&n.to_be_bytes());
        Ok(())
    }

    /// One `"key": value` pair of an object.
    fn member(&mut self, depth: u32) -> Step {
        match self.peek() {
            Some(b'"') => self.pos += 1,
            Some(_) => return fail(self.pos, "expected a string key"),
            None => return fail(self.pos, "unexpected end of input"),
        }
        let start = self.out.len();
        self.string()?;
        let value = self.out.len();
        match self.next_byte() {
            Some(b':') => self.pos += 1,
            Some(_) => return fail(self.pos, "expected `:`"),
            None => return fail(self.pos, "unexpected end of input"),
        }
        self.next_byte();
        self.value(depth)?;
        if depth == 1
            && let Some(index) = self.index.as_deref_mut()
        {
            let base = self.base;
            index.push_str_key(
                start - base,
                value - start - str_header_len(self.out[start]),
                value - base,
                self.out.len() - base,
            );
        }
        Ok(())
    }

    /// Transcodes a string whose opening quote has been consumed. Inlined into its callers: most
    /// strings are short and plain, and a call per key and value showed in profiles.
    #[inline(always)]
    fn string(&mut self) -> Step {
        let start = self.pos;
        let end = plain_run_end(self.src, start)?;
        if self.src.get(end) == Some(&b'"') {
            // No escapes: the common case, the length is known before writing.
            let run = &self.src[start..end];
            if run.len() < 32 {
                // Most keys and short values: a fixstr header, written here, not by a call.
                self.out.push(0xa0 | run.len() as u8);
            } else {
                write_str_header(self.out, run.len());
            }
            // A short run is copied as 16 bytes (one move, no `memcpy` call) and the surplus
            // cut off, when the input has them.
            let chunk = self
                .src
                .get(start..start + 16)
                .and_then(|c| <&[u8; 16]>::try_from(c).ok());
            match chunk {
                Some(chunk) if run.len() <= 16 => {
                    let keep = self.out.len() + run.len();
                    self.out.extend_from_slice(chunk);
                    self.out.truncate(keep);
                }
                _ => self.out.extend_from_slice(run),
            }
            self.pos = end + 1;
            return Ok(());
        }
        self.escaped_string(start, end)
    }

    /// [`Self::string`] from `start` when the plain run ends at `end` with an escape (or an error).
    #[inline(never)]
    fn escaped_string(&mut self, start: usize, end: usize) -> Step {
        // Decode into a str32 placeholder, then fix the header.
        let header = self.out.len();
        self.out.extend_from_slice(&[0xdb, 0, 0, 0, 0]);
        let payload = self.out.len();
        let mut run = start;
        let mut end = end;
        loop {
            self.out.extend_from_slice(&self.src[run..end]);
            match self.src.get(end) {
                Some(b'"') => break,
                Some(b'\\') => {
                    let (decoded, next) = escape(self.src, end + 1)?;
                    self.out.extend_from_slice(decoded.as_slice());
                    run = next;
                }
                Some(_) => return fail(end, "control character in a string"),
                None => return fail(end, "unterminated string"),
            }
            end = plain_run_end(self.src, run)?;
        }
        self.pos = end + 1;
        let len = self.out.len() - payload;
        // The real header may be shorter than the placeholder: write it after the payload, slide the
        // payload back over the placeholder's surplus, then copy the header in front.
        let tail = self.out.len();
        write_str_header(self.out, len);
        let header_len = self.out.len() - tail;
        self.out
            .copy_within(payload..payload + len, header + header_len);
        self.out.copy_within(tail..tail + header_len, header);
        self.out.truncate(header + header_len + len);
        Ok(())
    }
}

/// The length of the str header starting with `marker` (one the transcoder wrote).
fn str_header_len(marker: u8) -> usize {
    match marker {
        0xd9 => 2,
        0xda => 3,
        0xdb => 5,
        _ => 1,
    }
}

mod escape;
mod fast;
mod number;
mod scan;

#[cfg(test)]
mod tests;
