//! Record accessors with Fluent Bit's syntax: `$key`, `$key['sub']['subsub']`, `$key[0]`, and the
//! bare form `key['sub']` that filter options accept. Parsed once, looked up many times.
//!
//! Subscripts: `['name']` walks into a map (a quote inside the name is doubled: `'it''s'`),
//! `[n]` indexes an array (ASCII digits, fits in u32). Any mix of the two may follow the key.
//! Lookup matches str keys only; the last duplicate key wins (as [`map_get`]).
//!
//! Invariants: parsing and lookup never panic, whatever the text or record bytes; lookup never
//! allocates and returns a sub-slice of the record (the whole msgpack value, header included).

use thiserror::Error;

use crate::msgpack::index::MapIndex;
use crate::msgpack::reader::{Token, map_get, read_token, skip_value};

/// A parsed record accessor: a top-level key and a path below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordAccessor {
    key: Box<[u8]>,
    path: Box<[Step]>,
}

/// One `[...]` after the top-level key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `['name']`: a key of a nested map.
    Key(Box<[u8]>),
    /// `[n]`: an element of an array.
    Index(u32),
}

/// Why an accessor cannot be parsed; `at` is the byte offset of the offending `[` or quote
/// (offsets count from the start of the text handed to the parser, `$` included).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum AccessorError {
    #[error("'[' at byte {at} has no matching ']'")]
    UnclosedBracket { at: usize },
    #[error("quote at byte {at} is never closed")]
    UnterminatedQuote { at: usize },
    #[error("subscript at byte {at} must be a quoted key like ['name'] or an index like [0]")]
    BadSubscript { at: usize },
    #[error("record accessor has an empty key name")]
    EmptyKey,
    #[error("unexpected text at byte {at} after a subscript")]
    TrailingText { at: usize },
}

impl RecordAccessor {
    /// Parses a whole option value: an optional `$`, then the key name (every byte up to the
    /// first `[`, so `Mem.used` or `kubernetes-host` are plain keys), then subscripts up to the end.
    pub fn parse(text: &str) -> Result<Self, AccessorError> {
        let b = text.as_bytes();
        let start = usize::from(b.first() == Some(&b'$'));
        let key_end = find_byte(b, start, b'[').unwrap_or(b.len());
        if key_end == start {
            return Err(AccessorError::EmptyKey);
        }
        let (path, end) = parse_path(b, key_end)?;
        if end != b.len() {
            return Err(AccessorError::TrailingText { at: end });
        }
        Ok(Self {
            key: b[start..key_end].into(),
            path,
        })
    }

    /// Parses an accessor embedded in a template: `pos` is at the first byte of the key name
    /// (after `$`), the name is `[A-Za-z0-9_]*` and subscripts follow it directly. Returns the
    /// accessor and the position just after it. Offsets in errors are offsets into `b`.
    pub fn parse_embedded(b: &[u8], pos: usize) -> Result<(Self, usize), AccessorError> {
        let mut end = pos;
        while b
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            end += 1;
        }
        if end == pos {
            return Err(AccessorError::EmptyKey);
        }
        let key: Box<[u8]> = b[pos..end].into();
        let (path, end) = parse_path(b, end)?;
        Ok((Self { key, path }, end))
    }

    /// An accessor for one top-level key, taken as is (no parsing).
    pub fn top_level(key: &[u8]) -> Self {
        Self {
            key: key.into(),
            path: Box::default(),
        }
    }

    /// The top-level key name.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The subscripts after the top-level key (empty for a plain key).
    pub fn path(&self) -> &[Step] {
        &self.path
    }

    /// The msgpack bytes of the value this accessor names in `record` (a msgpack map), or None
    /// when a key is missing, an index is out of range, or a step meets a non-container.
    pub fn get<'a>(&self, record: &'a [u8]) -> Option<&'a [u8]> {
        self.follow_path(map_get(record, &self.key)?)
    }

    /// [`Self::get`] with the top-level key looked up in `index`, which describes `record` (or is
    /// not read yet).
    pub fn get_indexed<'a>(&self, record: &'a [u8], index: &mut MapIndex) -> Option<&'a [u8]> {
        self.follow_path(index.get(record, &self.key)?)
    }

    /// The value the subscripts name in the top-level key's `value`.
    fn follow_path<'a>(&self, mut value: &'a [u8]) -> Option<&'a [u8]> {
        for step in self.path.iter() {
            value = match step {
                Step::Key(k) => map_get(value, k)?,
                Step::Index(i) => array_get(value, *i)?,
            };
        }
        Some(value)
    }
}

/// Parses subscripts while the next byte is `[`; returns them and the position after the last.
fn parse_path(b: &[u8], mut pos: usize) -> Result<(Box<[Step]>, usize), AccessorError> {
    let mut path = Vec::new();
    while b.get(pos) == Some(&b'[') {
        let (step, next) = parse_subscript(b, pos)?;
        path.push(step);
        pos = next;
    }
    Ok((path.into_boxed_slice(), pos))
}

/// `open` is at a `[`: parses `['key']` or `[n]`, returns the step and the position after `]`.
fn parse_subscript(b: &[u8], open: usize) -> Result<(Step, usize), AccessorError> {
    let unclosed = AccessorError::UnclosedBracket { at: open };
    let bad = AccessorError::BadSubscript { at: open };
    let first = open + 1;
    if b.get(first) == Some(&b'\'') {
        let mut key = Vec::new();
        let mut p = first + 1;
        loop {
            match b.get(p) {
                None => return Err(AccessorError::UnterminatedQuote { at: first }),
                Some(b'\'') if b.get(p + 1) == Some(&b'\'') => {
                    key.push(b'\'');
                    p += 2;
                }
                Some(b'\'') => break,
                Some(c) => {
                    key.push(*c);
                    p += 1;
                }
            }
        }
        return match b.get(p + 1) {
            Some(b']') => Ok((Step::Key(key.into_boxed_slice()), p + 2)),
            None => Err(unclosed),
            Some(_) => Err(bad),
        };
    }
    let close = find_byte(b, first, b']').ok_or(unclosed)?;
    let index = parse_index(&b[first..close])
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(bad)?;
    Ok((Step::Index(index), close + 1))
}

/// Position of the first `byte` at or after `from`.
pub(crate) fn find_byte(b: &[u8], from: usize, byte: u8) -> Option<usize> {
    b.get(from..)?
        .iter()
        .position(|c| *c == byte)
        .map(|off| from + off)
}

/// ASCII digits only: no sign, no spaces, not empty.
pub(crate) fn parse_index(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The `index`-th element of the msgpack array at the start of `value`.
fn array_get(value: &[u8], index: u32) -> Option<&[u8]> {
    let (Token::Array(len), mut p) = read_token(value, 0).ok()? else {
        return None;
    };
    if index >= len {
        return None;
    }
    for _ in 0..index {
        p = skip_value(value, p).ok()?;
    }
    let end = skip_value(value, p).ok()?;
    value.get(p..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgpack::reader::as_str_bytes;
    use crate::msgpack::writer::json_object_to_msgpack;
    use proptest::prelude::*;

    fn rec(json: &str) -> Vec<u8> {
        let mut out = Vec::new();
        json_object_to_msgpack(json.as_bytes(), &mut out).unwrap();
        out
    }

    fn get_str(acc: &str, record: &[u8]) -> Option<String> {
        let v = RecordAccessor::parse(acc).unwrap().get(record)?;
        as_str_bytes(v).map(|s| String::from_utf8_lossy(s).into_owned())
    }

    #[test]
    fn dollar_and_bare_forms_walk_maps_and_arrays() {
        let r = rec(
            r#"{"log":"x","kubernetes":{"labels":{"app":"web","it's":"q"}},"list":[{"a":"first"},"second"],"Mem.used":"7"}"#,
        );
        assert_eq!(get_str("$log", &r).as_deref(), Some("x"));
        assert_eq!(get_str("log", &r).as_deref(), Some("x"));
        assert_eq!(
            get_str("$kubernetes['labels']['app']", &r).as_deref(),
            Some("web")
        );
        assert_eq!(
            get_str("kubernetes['labels']['it''s']", &r).as_deref(),
            Some("q")
        );
        assert_eq!(get_str("$list[0]['a']", &r).as_deref(), Some("first"));
        assert_eq!(get_str("$list[1]", &r).as_deref(), Some("second"));
        assert_eq!(get_str("Mem.used", &r).as_deref(), Some("7"));
        assert_eq!(get_str("$list[2]", &r), None);
        assert_eq!(get_str("$log['sub']", &r), None);
        assert_eq!(get_str("$absent", &r), None);
        // A nested map is returned whole.
        let labels = RecordAccessor::parse("$kubernetes['labels']")
            .unwrap()
            .get(&r)
            .unwrap();
        assert_eq!(labels, &rec(r#"{"app":"web","it's":"q"}"#)[..]);
    }

    #[test]
    fn rejects_malformed_accessors() {
        use AccessorError::*;
        let cases = [
            ("", EmptyKey),
            ("$", EmptyKey),
            ("$['a']", EmptyKey),
            ("$k['x'", UnclosedBracket { at: 2 }),
            ("k['x", UnterminatedQuote { at: 2 }),
            ("$k[x]", BadSubscript { at: 2 }),
            ("$k[1]x", TrailingText { at: 5 }),
        ];
        for (t, want) in cases {
            assert_eq!(RecordAccessor::parse(t), Err(want), "{t}");
        }
    }

    #[test]
    fn embedded_parse_stops_at_non_identifier_bytes() {
        let (acc, end) = RecordAccessor::parse_embedded(b"$ab['c']-x", 1).unwrap();
        assert_eq!(acc.key(), b"ab");
        assert_eq!(acc.path(), &[Step::Key(b"c"[..].into())]);
        assert_eq!(end, 8);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn never_panics(text in ".{0,24}", bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(acc) = RecordAccessor::parse(&text) {
                let _ = acc.get(&bytes);
            }
        }
    }
}
