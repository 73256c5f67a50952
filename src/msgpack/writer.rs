//! msgpack encoding into a caller's buffer. JSON text -> msgpack lives in `json_in` and is
//! re-exported here, where its callers have always found it.

pub use super::json_in::{JsonSyntaxError, JsonToMsgpackError, json_object_to_msgpack};

/// Appends a str header and payload.
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    write_str_header(out, s.len());
    out.extend_from_slice(s);
}

/// Appends the header of a str whose payload is `n` bytes (the payload follows separately).
#[inline]
pub fn write_str_header(out: &mut Vec<u8>, n: usize) {
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else if n <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n.min(u32::MAX as usize) as u32).to_be_bytes());
    }
}

/// Appends the header of a bin whose payload is `n` bytes (the payload follows separately).
pub fn write_bin_header(out: &mut Vec<u8>, n: usize) {
    if n <= 0xff {
        out.extend_from_slice(&[0xc4, n as u8]);
    } else if n <= 0xffff {
        out.push(0xc5);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xc6);
        out.extend_from_slice(&(n.min(u32::MAX as usize) as u32).to_be_bytes());
    }
}

/// Appends a map header for `n` pairs.
pub fn write_map_len(out: &mut Vec<u8>, n: u32) {
    if n < 16 {
        out.push(0x80 | n as u8);
    } else if n <= 0xffff {
        out.push(0xde);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdf);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends an array header for `n` elements.
pub fn write_array_len(out: &mut Vec<u8>, n: u32) {
    if n < 16 {
        out.push(0x90 | n as u8);
    } else if n <= 0xffff {
        out.push(0xdc);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdd);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends the smallest unsigned encoding of `v` (positive fixint or uint64).
pub(crate) fn write_u64(out: &mut Vec<u8>, v: u64) {
    if v < 128 {
        out.push(v as u8);
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Appends `v` as `write_u64` when non-negative, else negative fixint or int64.
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        write_u64(out, v as u64);
    } else if v >= -32 {
        out.push(v as u8);
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Appends `v` as float64 (firelane never writes float32). Only tests write floats this way: the
/// JSON transcoder encodes its numbers itself (`json_in/number.rs`).
#[cfg(test)]
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgpack::reader::as_str_bytes;

    #[test]
    fn string_headers_pick_the_smallest_encoding() {
        for (n, marker) in [(5usize, 0xa5u8), (40, 0xd9), (300, 0xda), (70000, 0xdb)] {
            let mut out = Vec::new();
            write_str(&mut out, &vec![b'a'; n]);
            assert_eq!(out[0], marker);
            assert_eq!(as_str_bytes(&out).map(<[u8]>::len), Some(n));
        }
    }
}
