//! Zero-copy msgpack reader: one token at a time over a byte slice.
//!
//! Invariants: never allocates, never panics on arbitrary input, never reads past the slice.
//! "Not enough bytes yet" ([`ReadError::Incomplete`]) is distinct from "these bytes can never be
//! msgpack" ([`ReadError::Invalid`]), so framing code can wait for more input on the first and close
//! the connection on the second.

use thiserror::Error;

/// Nesting depth beyond which a value is rejected (protects the stack from `[[[[...]]]]` bombs).
pub const MAX_DEPTH: usize = 128;

/// Why a token could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReadError {
    /// The slice ends inside a value: more bytes may complete it.
    #[error("incomplete msgpack value")]
    Incomplete,
    /// The bytes are not valid msgpack (reserved marker 0xc1, or nesting deeper than [`MAX_DEPTH`]).
    #[error("invalid msgpack: {0}")]
    Invalid(&'static str),
}

/// One msgpack token. Containers report their element count; their elements follow as tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token<'a> {
    Nil,
    Bool(bool),
    /// Any unsigned encoding (positive fixint, uint8..uint64).
    UInt(u64),
    /// Any signed encoding (negative fixint, int8..int64), including non-negative values sent signed.
    Int(i64),
    F32(f32),
    F64(f64),
    /// A str payload: raw bytes, not checked for UTF-8 (invalid bytes are preserved).
    Str(&'a [u8]),
    Bin(&'a [u8]),
    /// An array header with its element count.
    Array(u32),
    /// A map header with its pair count.
    Map(u32),
    Ext(i8, &'a [u8]),
}

/// Reads the token that starts at `pos`; returns it and the position just after its header/payload.
/// For arrays and maps only the header is consumed.
#[inline]
pub fn read_token(buf: &[u8], pos: usize) -> Result<(Token<'_>, usize), ReadError> {
    let marker = *buf.get(pos).ok_or(ReadError::Incomplete)?;
    let p = pos + 1;
    let tok = match marker {
        0x00..=0x7f => return Ok((Token::UInt(u64::from(marker)), p)),
        0x80..=0x8f => return Ok((Token::Map(u32::from(marker & 0x0f)), p)),
        0x90..=0x9f => return Ok((Token::Array(u32::from(marker & 0x0f)), p)),
        0xa0..=0xbf => {
            let len = usize::from(marker & 0x1f);
            let s = take(buf, p, len)?;
            return Ok((Token::Str(s), p + len));
        }
        0xe0..=0xff => return Ok((Token::Int(i64::from(marker as i8)), p)),
        0xc0 => (Token::Nil, p),
        0xc1 => return Err(ReadError::Invalid("reserved marker 0xc1")),
        0xc2 => (Token::Bool(false), p),
        0xc3 => (Token::Bool(true), p),
        0xc4..=0xc6 => {
            let (len, p) = read_len(buf, p, marker - 0xc4)?;
            let b = take(buf, p, len)?;
            (Token::Bin(b), p + len)
        }
        0xc7..=0xc9 => {
            let (len, p) = read_len(buf, p, marker - 0xc7)?;
            let ty = *buf.get(p).ok_or(ReadError::Incomplete)? as i8;
            let data = take(buf, p + 1, len)?;
            (Token::Ext(ty, data), p + 1 + len)
        }
        0xca => {
            let b = be::<4>(buf, p)?;
            (Token::F32(f32::from_be_bytes(b)), p + 4)
        }
        0xcb => {
            let b = be::<8>(buf, p)?;
            (Token::F64(f64::from_be_bytes(b)), p + 8)
        }
        0xcc => (Token::UInt(u64::from(be::<1>(buf, p)?[0])), p + 1),
        0xcd => (
            Token::UInt(u64::from(u16::from_be_bytes(be(buf, p)?))),
            p + 2,
        ),
        0xce => (
            Token::UInt(u64::from(u32::from_be_bytes(be(buf, p)?))),
            p + 4,
        ),
        0xcf => (Token::UInt(u64::from_be_bytes(be(buf, p)?)), p + 8),
        0xd0 => (Token::Int(i64::from(be::<1>(buf, p)?[0] as i8)), p + 1),
        0xd1 => (
            Token::Int(i64::from(i16::from_be_bytes(be(buf, p)?))),
            p + 2,
        ),
        0xd2 => (
            Token::Int(i64::from(i32::from_be_bytes(be(buf, p)?))),
            p + 4,
        ),
        0xd3 => (Token::Int(i64::from_be_bytes(be(buf, p)?)), p + 8),
        0xd4..=0xd8 => {
            let len = 1usize << (marker - 0xd4);
            let ty = *buf.get(p).ok_or(ReadError::Incomplete)? as i8;
            let data = take(buf, p + 1, len)?;
            (Token::Ext(ty, data), p + 1 + len)
        }
        0xd9..=0xdb => {
            let (len, p) = read_len(buf, p, marker - 0xd9)?;
            let s = take(buf, p, len)?;
            (Token::Str(s), p + len)
        }
        0xdc => (
            Token::Array(u32::from(u16::from_be_bytes(be(buf, p)?))),
            p + 2,
        ),
        0xdd => (Token::Array(u32::from_be_bytes(be(buf, p)?)), p + 4),
        0xde => (
            Token::Map(u32::from(u16::from_be_bytes(be(buf, p)?))),
            p + 2,
        ),
        0xdf => (Token::Map(u32::from_be_bytes(be(buf, p)?)), p + 4),
    };
    Ok(tok)
}

/// Returns the position just after the whole value starting at `pos` (containers included),
/// without allocating or recursing: one counter of values still to skip is enough, since every
/// container just adds its elements to it. Nesting depth is therefore not limited here (it costs
/// nothing); the transcoder, which does recurse, enforces [`MAX_DEPTH`], and
/// [`skip_value_checking_depth`] finds the values it would refuse.
#[inline]
pub fn skip_value(buf: &[u8], pos: usize) -> Result<usize, ReadError> {
    match skip_scalar(buf, pos) {
        Some(end) => Ok(end),
        None => skip_any(buf, pos).map(|(end, _)| end),
    }
}

/// [`skip_value`], and whether the value nests containers more than [`MAX_DEPTH`] levels deep
/// (the value itself being level 1), which the JSON transcoder refuses. Only a value holding more
/// than `MAX_DEPTH` containers can be that deep, so only such a value is walked a second time.
#[inline]
pub fn skip_value_checking_depth(buf: &[u8], pos: usize) -> Result<(usize, bool), ReadError> {
    if let Some(end) = skip_scalar(buf, pos) {
        return Ok((end, false));
    }
    let (end, containers) = skip_any(buf, pos)?;
    let too_deep = containers > MAX_DEPTH as u64 && nests_deeper_than(&buf[..end], pos, MAX_DEPTH);
    Ok((end, too_deep))
}

/// Whether the complete value at `pos` has a container more than `limit` levels deep.
fn nests_deeper_than(buf: &[u8], pos: usize, limit: usize) -> bool {
    // Elements still to read in each open container; the bottom entry stands for the value.
    let mut open: Vec<u64> = vec![1];
    let mut p = pos;
    while let Some(left) = open.last_mut() {
        if *left == 0 {
            open.pop();
            continue;
        }
        *left -= 1;
        let Ok((tok, next)) = read_token(buf, p) else {
            return false;
        };
        p = next;
        let children = match tok {
            Token::Array(n) => u64::from(n),
            Token::Map(n) => 2 * u64::from(n),
            _ => continue,
        };
        // This container is at level `open.len()`.
        if open.len() > limit {
            return true;
        }
        open.push(children);
    }
    false
}

/// The end of the value at `pos` when it is a scalar (not a container or ext) and complete; `None`
/// otherwise (the general walk decides, and reports the error).
#[inline(always)]
fn skip_scalar(buf: &[u8], pos: usize) -> Option<usize> {
    let m = *buf.get(pos)?;
    let at = |i: usize| buf.get(pos + i).map(|b| usize::from(*b));
    let end = match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => pos + 1,
        0xa0..=0xbf => pos + 1 + usize::from(m & 0x1f),
        0xcc | 0xd0 => pos + 2,
        0xcd | 0xd1 => pos + 3,
        0xca | 0xce | 0xd2 => pos + 5,
        0xcb | 0xcf | 0xd3 => pos + 9,
        0xd9 | 0xc4 => pos + 2 + at(1)?,
        0xda | 0xc5 => pos + 3 + (at(1)? << 8 | at(2)?),
        _ => return None,
    };
    (end <= buf.len()).then_some(end)
}

/// The end of the value at `pos`, and how many containers it holds (itself included).
fn skip_any(buf: &[u8], pos: usize) -> Result<(usize, u64), ReadError> {
    let mut remaining: u64 = 1;
    let mut containers: u64 = 0;
    let mut p = pos;
    while remaining > 0 {
        let (tok, next) = read_token(buf, p)?;
        p = next;
        remaining -= 1;
        let children = match tok {
            Token::Array(n) => u64::from(n),
            Token::Map(n) => 2 * u64::from(n),
            _ => continue,
        };
        containers += 1;
        // Every element takes at least one byte: a count beyond the bytes left cannot be complete
        // yet, and checking here keeps `remaining` small.
        if remaining + children > (buf.len() - p) as u64 {
            return Err(ReadError::Incomplete);
        }
        remaining += children;
    }
    Ok((p, containers))
}

/// Looks up `key` in the msgpack map at the start of `record`; returns the value's byte range.
/// Non-map records and non-string keys never match. The last duplicate key wins, as in JSON parsers.
pub fn map_get<'a>(record: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut found = None;
    for entry in MapEntries::new(record)? {
        let e = entry.ok()?;
        if e.key.is_some_and(|k| key_eq(k, key)) {
            found = Some(&record[e.value..e.end]);
        }
    }
    found
}

/// Whether two keys are equal, comparing lengths and first bytes before calling `memcmp` (most
/// keys a filter compares differ in one of those).
#[inline(always)]
pub fn key_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.first() == b.first() && a == b
}

/// One key/value pair of a map, as positions in the map's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The key's payload when it is a str (other key types: `None`).
    pub key: Option<&'a [u8]>,
    /// Where the pair (its key) starts.
    pub start: usize,
    /// Where the value starts.
    pub value: usize,
    /// Just after the value.
    pub end: usize,
}

/// The pairs of the msgpack map at the start of a buffer, each read once (the key's token gives
/// its end, so only the value is skipped). Yields an error, then stops, at a pair that does not read.
#[derive(Debug, Clone)]
pub struct MapEntries<'a> {
    buf: &'a [u8],
    pos: usize,
    left: u32,
}

impl<'a> MapEntries<'a> {
    /// `None` when `buf` does not start with a map header.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Option<Self> {
        match read_token(buf, 0) {
            Ok((Token::Map(n), pos)) => Some(Self { buf, pos, left: n }),
            _ => None,
        }
    }

    /// The `n` pairs that start at `pos` in `buf` (a map whose header was read elsewhere).
    pub fn at(buf: &'a [u8], pos: usize, n: u32) -> Self {
        Self { buf, pos, left: n }
    }

    /// Pairs not yet yielded.
    pub fn len(&self) -> u32 {
        self.left
    }

    /// Where the next pair starts (after the last: the map's end).
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.left == 0
    }
}

impl<'a> Iterator for MapEntries<'a> {
    type Item = Result<Entry<'a>, ReadError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let start = self.pos;
        let read = read_entry(self.buf, start);
        match read {
            Ok(e) => {
                self.left -= 1;
                self.pos = e.end;
                Some(Ok(e))
            }
            Err(e) => {
                self.left = 0;
                Some(Err(e))
            }
        }
    }
}

/// Reads the key/value pair at `start`: a fixstr key (the usual case) without the general token
/// reader.
#[inline(always)]
fn read_entry(buf: &[u8], start: usize) -> Result<Entry<'_>, ReadError> {
    let fixstr = buf.get(start).filter(|m| (0xa0..=0xbf).contains(*m));
    let (key, value) = match fixstr {
        Some(m) => {
            let value = start + 1 + usize::from(m & 0x1f);
            (
                Some(buf.get(start + 1..value).ok_or(ReadError::Incomplete)?),
                value,
            )
        }
        None => match read_token(buf, start)? {
            (Token::Str(k), next) => (Some(k), next),
            _ => (None, skip_value(buf, start)?),
        },
    };
    let end = skip_value(buf, value)?;
    Ok(Entry {
        key,
        start,
        value,
        end,
    })
}

/// Reads a string value (str or bin) as bytes.
pub fn as_str_bytes(value: &[u8]) -> Option<&[u8]> {
    match read_token(value, 0).ok()?.0 {
        Token::Str(s) | Token::Bin(s) => Some(s),
        _ => None,
    }
}

fn read_len(buf: &[u8], p: usize, width_code: u8) -> Result<(usize, usize), ReadError> {
    Ok(match width_code {
        0 => (usize::from(be::<1>(buf, p)?[0]), p + 1),
        1 => (usize::from(u16::from_be_bytes(be(buf, p)?)), p + 2),
        _ => (u32::from_be_bytes(be(buf, p)?) as usize, p + 4),
    })
}

#[inline]
fn take(buf: &[u8], p: usize, len: usize) -> Result<&[u8], ReadError> {
    let end = p
        .checked_add(len)
        .ok_or(ReadError::Invalid("length overflow"))?;
    buf.get(p..end).ok_or(ReadError::Incomplete)
}

#[inline]
fn be<const N: usize>(buf: &[u8], p: usize) -> Result<[u8; N], ReadError> {
    let s = buf.get(p..p + N).ok_or(ReadError::Incomplete)?;
    let mut out = [0u8; N];
    out.copy_from_slice(s);
    Ok(out)
}

#[cfg(test)]
mod tests;
