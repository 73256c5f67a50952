//! msgpack encoding into a caller's buffer, and JSON text -> msgpack without building a
//! `serde_json::Value` (serde's visitor writes msgpack as it parses).
//!
//! Invariant: on error, the buffer is truncated back to its length at entry.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// Appends a str header and payload.
pub fn write_str(out: &mut Vec<u8>, s: &[u8]) {
    write_str_header(out, s.len());
    out.extend_from_slice(s);
}

/// Appends the header of a str whose payload is `n` bytes (the payload follows separately).
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

fn write_u64(out: &mut Vec<u8>, v: u64) {
    if v < 128 {
        out.push(v as u8);
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        write_u64(out, v as u64);
    } else if v >= -32 {
        out.push(v as u8);
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Why a JSON line could not become a record.
#[derive(Debug, thiserror::Error)]
pub enum JsonToMsgpackError {
    #[error("invalid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    #[error("a record must be a JSON object")]
    NotAnObject,
}

/// Converts one JSON object (the whole of `json`, surrounding whitespace allowed) into a msgpack map
/// appended to `out`.
pub fn json_object_to_msgpack(json: &[u8], out: &mut Vec<u8>) -> Result<(), JsonToMsgpackError> {
    let start = out.len();
    let first = json.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(JsonToMsgpackError::NotAnObject);
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let res = Writer { out: &mut *out }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    res.map_err(|e| {
        out.truncate(start);
        JsonToMsgpackError::Syntax(e)
    })
}

/// A serde seed that writes whatever it visits as msgpack.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Writer<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Writer<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.push(0xc0);
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.out.push(if v { 0xc3 } else { 0xc2 });
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        write_u64(self.out, v);
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        write_i64(self.out, v);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.out.push(0xcb);
        self.out.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        write_str(self.out, v.as_bytes());
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // The length is unknown until the end: reserve a 32-bit header and patch it.
        let header = self.out.len();
        self.out.extend_from_slice(&[0xdd, 0, 0, 0, 0]);
        let mut n: u32 = 0;
        while seq
            .next_element_seed(Writer {
                out: &mut *self.out,
            })?
            .is_some()
        {
            n += 1;
        }
        self.out[header + 1..header + 5].copy_from_slice(&n.to_be_bytes());
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let header = self.out.len();
        self.out.extend_from_slice(&[0xdf, 0, 0, 0, 0]);
        let mut n: u32 = 0;
        while map
            .next_key_seed(Writer {
                out: &mut *self.out,
            })?
            .is_some()
        {
            map.next_value_seed(Writer {
                out: &mut *self.out,
            })?;
            n += 1;
        }
        self.out[header + 1..header + 5].copy_from_slice(&n.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgpack::reader::{Token, as_str_bytes, map_get, read_token, skip_value};

    #[test]
    fn json_object_becomes_one_msgpack_map() {
        let mut out = vec![0x01];
        json_object_to_msgpack(br#" {"log":"a \"q\"","n":-5,"big":18446744073709551615,"f":1.5,"arr":[true,null,{"x":"y"}]} "#, &mut out)
            .unwrap();
        let rec = &out[1..];
        assert_eq!(skip_value(rec, 0), Ok(rec.len()));
        assert_eq!(
            as_str_bytes(map_get(rec, b"log").unwrap()),
            Some(&b"a \"q\""[..])
        );
        assert_eq!(
            read_token(map_get(rec, b"n").unwrap(), 0).unwrap().0,
            Token::Int(-5)
        );
        assert_eq!(
            read_token(map_get(rec, b"big").unwrap(), 0).unwrap().0,
            Token::UInt(u64::MAX)
        );
        assert_eq!(
            read_token(map_get(rec, b"f").unwrap(), 0).unwrap().0,
            Token::F64(1.5)
        );
        assert_eq!(
            read_token(map_get(rec, b"arr").unwrap(), 0).unwrap().0,
            Token::Array(3)
        );
    }

    #[test]
    fn rejects_non_objects_and_bad_json_leaving_buffer_untouched() {
        let mut out = vec![7];
        assert!(matches!(
            json_object_to_msgpack(b"[1]", &mut out),
            Err(JsonToMsgpackError::NotAnObject)
        ));
        assert!(json_object_to_msgpack(br#"{"a": tru"#, &mut out).is_err());
        assert!(json_object_to_msgpack(br#"{"a":1} x"#, &mut out).is_err());
        assert_eq!(out, vec![7]);
    }

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
