//! Primitives to rebuild a msgpack map without decoding it: iterate the top-level entries as
//! (key bytes, value bytes) slices of the original, and write a new map from copied, renamed or
//! new entries; the header is fixed up at the end (smallest of fixmap / map16 / map32).
//!
//! Invariants: [`MapEntries`] yields whole msgpack values (sub-slices of the input, never copied)
//! in order and stops at the first malformed entry; [`MapWriter::finish`] always leaves exactly
//! one well-formed map in the buffer (given well-formed keys/values were pushed).

use crate::msgpack::reader::{self, ReadError, Token, read_token, skip_value};
use crate::msgpack::writer::write_str;

/// One top-level entry of a map: the whole msgpack key and the whole msgpack value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The key, msgpack-encoded (header included).
    pub key: &'a [u8],
    /// The value, msgpack-encoded (header included).
    pub value: &'a [u8],
}

impl<'a> Entry<'a> {
    /// The key's bytes when it is a str or bin (Fluent Bit compares both as text).
    pub fn key_text(&self) -> Option<&'a [u8]> {
        match read_token(self.key, 0).ok()?.0 {
            Token::Str(s) | Token::Bin(s) => Some(s),
            _ => None,
        }
    }

    /// The key's bytes when it is a str (regex matching, as Fluent Bit, ignores bin keys).
    pub fn key_str(&self) -> Option<&'a [u8]> {
        match read_token(self.key, 0).ok()?.0 {
            Token::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Iterator over the entries of the map at the start of a buffer.
#[derive(Debug, Clone)]
pub struct MapEntries<'a> {
    buf: &'a [u8],
    pairs: reader::MapEntries<'a>,
}

impl<'a> MapEntries<'a> {
    /// Starts iterating the map at the start of `map`; an error when it is not a map header.
    pub fn new(map: &'a [u8]) -> Result<Self, ReadError> {
        read_token(map, 0)?;
        let pairs = reader::MapEntries::new(map).ok_or(ReadError::Invalid("not a map"))?;
        Ok(Self { buf: map, pairs })
    }

    /// Number of entries not yet yielded (as the header says).
    pub fn remaining(&self) -> u32 {
        self.pairs.len()
    }
}

impl<'a> Iterator for MapEntries<'a> {
    type Item = Entry<'a>;

    /// Stops at the first pair that does not read.
    fn next(&mut self) -> Option<Entry<'a>> {
        let e = self.pairs.next()?.ok()?;
        Some(Entry {
            key: &self.buf[e.start..e.value],
            value: &self.buf[e.value..e.end],
        })
    }
}

/// Appends one str whose payload is the concatenation of `parts` (a prefixed key, no copy).
pub fn write_str_parts(out: &mut Vec<u8>, parts: &[&[u8]]) {
    crate::msgpack::writer::write_str_header(out, parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| out.extend_from_slice(p));
}

/// True when `map` is one whole well-formed map (every entry readable).
pub fn is_whole_map(map: &[u8]) -> bool {
    matches!(read_token(map, 0), Ok((Token::Map(_), _))) && skip_value(map, 0) == Ok(map.len())
}

/// Writes a new map into a buffer: entries are appended, the header is written by [`finish`].
///
/// [`finish`]: MapWriter::finish
#[derive(Debug)]
pub struct MapWriter<'o> {
    out: &'o mut Vec<u8>,
    header_at: usize,
    count: u32,
}

/// Room reserved for the header: the map32 form (marker + u32).
const MAX_HEADER_BYTES: usize = 5;

impl<'o> MapWriter<'o> {
    /// Starts a map at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        let header_at = out.len();
        out.extend_from_slice(&[0; MAX_HEADER_BYTES]);
        Self {
            out,
            header_at,
            count: 0,
        }
    }

    /// Copies an entry as it is.
    pub fn push(&mut self, entry: Entry<'_>) {
        self.push_raw(entry.key, entry.value);
    }

    /// Appends an already-encoded key and value.
    pub fn push_raw(&mut self, key: &[u8], value: &[u8]) {
        self.out.extend_from_slice(key);
        self.out.extend_from_slice(value);
        self.count = self.count.saturating_add(1);
    }

    /// Appends a str key with an already-encoded value (a rename keeps the value bytes).
    pub fn push_str_key(&mut self, key: &[u8], value: &[u8]) {
        write_str(self.out, key);
        self.out.extend_from_slice(value);
        self.count = self.count.saturating_add(1);
    }

    /// Appends a str key with a str value.
    pub fn push_str_pair(&mut self, key: &[u8], value: &[u8]) {
        write_str(self.out, key);
        write_str(self.out, value);
        self.count = self.count.saturating_add(1);
    }

    /// Entries pushed so far.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Writes the header in its smallest form (moving the body back over unused header bytes)
    /// and returns the number of entries.
    pub fn finish(self) -> u32 {
        let n = self.count;
        let mut header = [0u8; MAX_HEADER_BYTES];
        let header_len = if n < 16 {
            header[0] = 0x80 | n as u8;
            1
        } else if n <= 0xffff {
            header[0] = 0xde;
            header[1..3].copy_from_slice(&(n as u16).to_be_bytes());
            3
        } else {
            header[0] = 0xdf;
            header[1..5].copy_from_slice(&n.to_be_bytes());
            5
        };
        let body = self.header_at + MAX_HEADER_BYTES;
        let start = body - header_len;
        self.out[start..body].copy_from_slice(&header[..header_len]);
        if start > self.header_at {
            self.out.copy_within(start.., self.header_at);
            let new_len = self.out.len() - (start - self.header_at);
            self.out.truncate(new_len);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgpack::json::{TranscodeStats, write_value};
    use crate::msgpack::writer::{json_object_to_msgpack, write_map_len};
    use proptest::prelude::*;

    fn rec(json: &str) -> Vec<u8> {
        let mut out = Vec::new();
        json_object_to_msgpack(json.as_bytes(), &mut out).unwrap();
        out
    }

    #[test]
    fn rebuild_skips_renames_and_appends_in_order() {
        let r = rec(r#"{"a":1,"b":{"x":[1,2]},"c":"z"}"#);
        let mut out = vec![0xff]; // bytes already in the buffer are kept
        let mut w = MapWriter::new(&mut out);
        for e in MapEntries::new(&r).unwrap() {
            match e.key_text() {
                Some(b"a") => {}
                Some(b"b") => w.push_str_key(b"B", e.value),
                _ => w.push(e),
            }
        }
        w.push_str_pair(b"new", b"v");
        assert_eq!(w.finish(), 3);
        assert_eq!(out[0], 0xff);
        let mut text = Vec::new();
        let used = write_value(&out[1..], &mut text, &mut TranscodeStats::default()).unwrap();
        assert_eq!(used, out.len() - 1);
        assert_eq!(text, br#"{"B":{"x":[1,2]},"c":"z","new":"v"}"#);
        assert_eq!(out[1], 0x83, "smallest header");
    }

    #[test]
    fn header_grows_to_map16_and_map32() {
        for (n, marker) in [(15u32, 0x8f), (16, 0xde), (70_000, 0xdf)] {
            let mut out = Vec::new();
            let mut w = MapWriter::new(&mut out);
            for i in 0..n {
                w.push_raw(&[0xa0], &[(i % 100) as u8]);
            }
            assert_eq!(w.finish(), n);
            assert_eq!(out[0], marker, "{n}");
            assert!(is_whole_map(&out), "{n}");
            assert_eq!(MapEntries::new(&out).unwrap().count() as u32, n);
        }
    }

    #[test]
    fn iteration_stops_at_truncated_entries_and_rejects_non_maps() {
        let r = rec(r#"{"a":1,"b":"long value"}"#);
        let cut = &r[..r.len() - 2];
        assert_eq!(MapEntries::new(cut).unwrap().count(), 1);
        assert!(!is_whole_map(cut));
        assert!(MapEntries::new(&[0x91, 0x01]).is_err());
        assert!(MapEntries::new(&[]).is_err());
    }

    #[test]
    fn str_parts_match_one_write_str() {
        for (a, b) in [(3usize, 4usize), (20, 20), (200, 100), (60_000, 10_000)] {
            let (x, y) = (vec![b'x'; a], vec![b'y'; b]);
            let mut joined = Vec::new();
            write_str(&mut joined, &[x.clone(), y.clone()].concat());
            let mut parts = Vec::new();
            write_str_parts(&mut parts, &[&x, &y]);
            assert_eq!(parts, joined, "{a}+{b}");
        }
    }

    fn arb_value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<u8>().prop_map(|b| vec![b & 0x7f]),
            "[a-z]{0,40}".prop_map(|s| {
                let mut v = Vec::new();
                write_str(&mut v, s.as_bytes());
                v
            }),
            Just(vec![0x92, 0x01, 0xc0]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn rebuilt_maps_parse_and_keep_order(
            entries in proptest::collection::vec(("[a-z]{0,8}", arb_value()), 0..40),
            skip in proptest::collection::vec(any::<bool>(), 40),
            extra in proptest::collection::vec("[a-z]{1,4}", 0..5),
        ) {
            let mut input = Vec::new();
            write_map_len(&mut input, entries.len() as u32);
            for (k, v) in &entries {
                write_str(&mut input, k.as_bytes());
                input.extend_from_slice(v);
            }
            let mut out = Vec::new();
            let mut w = MapWriter::new(&mut out);
            let mut want = Vec::new();
            for (i, e) in MapEntries::new(&input).unwrap().enumerate() {
                if !skip[i] {
                    w.push(e);
                    want.push((e.key.to_vec(), e.value.to_vec()));
                }
            }
            for k in &extra {
                w.push_str_pair(k.as_bytes(), b"x");
                let (mut kb, mut vb) = (Vec::new(), Vec::new());
                write_str(&mut kb, k.as_bytes());
                write_str(&mut vb, b"x");
                want.push((kb, vb));
            }
            prop_assert_eq!(w.finish() as usize, want.len());
            prop_assert!(is_whole_map(&out));
            let got: Vec<_> = MapEntries::new(&out)
                .unwrap()
                .map(|e| (e.key.to_vec(), e.value.to_vec()))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
