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
/// nothing); the transcoder, which does recurse, enforces [`MAX_DEPTH`].
pub fn skip_value(buf: &[u8], pos: usize) -> Result<usize, ReadError> {
    let mut remaining: u64 = 1;
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
        // Every element takes at least one byte: a count beyond the bytes left cannot be complete
        // yet, and checking here keeps `remaining` small.
        if remaining + children > (buf.len() - p) as u64 {
            return Err(ReadError::Incomplete);
        }
        remaining += children;
    }
    Ok(p)
}

/// Looks up `key` in the msgpack map at the start of `record`; returns the value's byte range.
/// Non-map records and non-string keys never match. The last duplicate key wins, as in JSON parsers.
pub fn map_get<'a>(record: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let (tok, mut p) = read_token(record, 0).ok()?;
    let Token::Map(n) = tok else { return None };
    let mut found = None;
    for _ in 0..n {
        let key_end = skip_value(record, p).ok()?;
        let val_end = skip_value(record, key_end).ok()?;
        if let Ok((Token::Str(k), _)) = read_token(record, p)
            && k == key
        {
            found = Some(&record[key_end..val_end]);
        }
        p = val_end;
    }
    found
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
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn skips_message_vector_and_reports_incomplete_prefixes() {
        let v = hex("93a87461672e6e616d65ce55ece6f881a76d657373616765a3626172");
        assert_eq!(skip_value(&v, 0), Ok(v.len()));
        for cut in 0..v.len() {
            assert_eq!(
                skip_value(&v[..cut], 0),
                Err(ReadError::Incomplete),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn reads_every_integer_encoding() {
        let cases: &[(&str, Token)] = &[
            ("7f", Token::UInt(127)),
            ("ff", Token::Int(-1)),
            ("cc80", Token::UInt(128)),
            ("cd0100", Token::UInt(256)),
            ("ce55ece6f8", Token::UInt(1441588984)),
            ("cf0000000100000000", Token::UInt(1 << 32)),
            ("d0ff", Token::Int(-1)),
            ("d1ff00", Token::Int(-256)),
            ("d255ece6f8", Token::Int(1441588984)),
            ("d30000000055ece6f8", Token::Int(1441588984)),
        ];
        for (h, want) in cases {
            let b = hex(h);
            assert_eq!(read_token(&b, 0), Ok((*want, b.len())), "{h}");
        }
    }

    #[test]
    fn rejects_reserved_marker_and_skips_deep_nesting_without_recursion() {
        assert!(matches!(read_token(&[0xc1], 0), Err(ReadError::Invalid(_))));
        let mut deep = vec![0x91u8; 100_000];
        deep.push(0xc0);
        assert_eq!(skip_value(&deep, 0), Ok(deep.len()));
        assert_eq!(
            skip_value(&deep[..deep.len() - 1], 0),
            Err(ReadError::Incomplete)
        );
        assert!(matches!(
            skip_value(&[0x92, 0x01, 0xc1], 0),
            Err(ReadError::Invalid(_))
        ));
    }

    #[test]
    fn huge_container_count_is_incomplete_not_a_hang() {
        assert_eq!(
            skip_value(&[0xdd, 0xff, 0xff, 0xff, 0xff], 0),
            Err(ReadError::Incomplete)
        );
    }

    #[test]
    fn map_get_finds_string_keys_only() {
        // {"a": 1, 2: "x", "log": "hi"}
        let rec = hex("83a16101 02a178 a36c6f67a26869".replace(' ', "").as_str());
        assert_eq!(map_get(&rec, b"a"), Some(&[0x01][..]));
        assert_eq!(
            as_str_bytes(map_get(&rec, b"log").unwrap()),
            Some(&b"hi"[..])
        );
        assert_eq!(map_get(&rec, b"zz"), None);
        assert_eq!(map_get(&[0x92, 1, 2], b"a"), None);
    }
}
