//! The `parser` filter: parses one string field of each record with the first parser that matches
//! (Fluent Bit's `Key_Name`, `Parser` (repeatable), `Reserve_Data`, `Preserve_Key`).
//!
//! Invariants: a record that is not a map, lacks the field, has a non-string field, or that no
//! parser matches is left unchanged. A replaced record is the parsed fields first, then (in their
//! original order) the `Key_Name` field if `Preserve_Key`, and the other fields if
//! `Reserve_Data`, as Fluent Bit appends them. An original field whose key the parser also
//! produced is dropped: the parsed value wins and the record never holds a key twice (Fluent Bit
//! would emit both). A time the parser read replaces the event time; otherwise it is kept.

use std::sync::Arc;

use super::{Parser, ParserSet};
use crate::event::EventTime;
use crate::filter::RecordOutcome;
use crate::msgpack::reader::{MapEntries, as_str_bytes, key_eq, map_get};

/// Why a `parser` filter configuration cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParserFilterError {
    #[error("parser filter: key_name must be set")]
    NoKeyName,
    #[error("parser filter: at least one parser is required")]
    NoParser,
    #[error("parser filter: unknown parser `{name}` (known: {known})")]
    UnknownParser { name: String, known: String },
}

/// One configured `parser` filter.
#[derive(Debug, Clone)]
pub struct ParserFilter {
    key_name: Box<[u8]>,
    parsers: Vec<Arc<Parser>>,
    reserve_data: bool,
    preserve_key: bool,
}

impl ParserFilter {
    /// `parsers` are names in `set`, tried in order; the first that matches wins.
    pub fn new(
        key_name: &str,
        parsers: &[String],
        reserve_data: bool,
        preserve_key: bool,
        set: &ParserSet,
    ) -> Result<Self, ParserFilterError> {
        if key_name.is_empty() {
            return Err(ParserFilterError::NoKeyName);
        }
        if parsers.is_empty() {
            return Err(ParserFilterError::NoParser);
        }
        let parsers = parsers
            .iter()
            .map(|name| {
                let name = name.trim();
                set.get(name)
                    .ok_or_else(|| ParserFilterError::UnknownParser {
                        name: name.to_owned(),
                        known: set.names().join(", "),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            key_name: key_name.as_bytes().into(),
            parsers,
            reserve_data,
            preserve_key,
        })
    }

    /// Parses `record`'s `Key_Name` field. On [`RecordOutcome::Replaced`] `out` holds the new
    /// record (cleared first) and `time` is the parsed time if the parser read one. On
    /// [`RecordOutcome::Unchanged`] `time` is untouched and `out` holds nothing useful (it may
    /// have been cleared). `time` on entry is the event time (it gives year-less formats a year).
    /// Never drops.
    pub fn apply(&self, record: &[u8], time: &mut EventTime, out: &mut Vec<u8>) -> RecordOutcome {
        let Some(text) = map_get(record, &self.key_name).and_then(as_str_bytes) else {
            return RecordOutcome::Unchanged;
        };
        out.clear();
        let Some(parsed) = self.parsers.iter().find_map(|p| p.parse(text, *time, out)) else {
            return RecordOutcome::Unchanged;
        };
        // `out` is one map with a map32 header: entries start at byte 5.
        let fields_end = out.len();
        let mut entries = parsed.entries;
        if (self.reserve_data || self.preserve_key)
            && let Some(pairs) = MapEntries::new(record)
        {
            // The parsed keys, found once (not once per kept key); more than fit: walk each time.
            let mut keys = [(0usize, 0usize); FAST_KEYS];
            let known = key_spans(&out[5..fields_end], parsed.entries, &mut keys);
            for pair in pairs {
                let Ok(e) = pair else {
                    break;
                };
                let keep = if e.key.is_some_and(|k| key_eq(k, &self.key_name)) {
                    self.preserve_key
                } else {
                    self.reserve_data
                };
                let parsed_has = |k: &[u8]| match known {
                    Some(n) => keys[..n]
                        .iter()
                        .any(|&(s, e)| key_eq(&out[5 + s..5 + e], k)),
                    None => has_key(&out[5..fields_end], parsed.entries, k),
                };
                if keep && !e.key.is_some_and(parsed_has) {
                    out.extend_from_slice(&record[e.start..e.end]);
                    entries += 1;
                }
            }
        }
        out[1..5].copy_from_slice(&entries.to_be_bytes());
        if let Some(t) = parsed.time {
            *time = t;
        }
        RecordOutcome::Replaced
    }
}

/// Parsed keys remembered by position before falling back to a walk per lookup.
const FAST_KEYS: usize = 32;

/// The byte ranges of the string keys of `entries` msgpack pairs in `buf`, in `spans`; `None`
/// when there are more than `spans` holds or the pairs do not read.
fn key_spans(buf: &[u8], entries: u32, spans: &mut [(usize, usize)]) -> Option<usize> {
    if usize::try_from(entries).ok()? > spans.len() {
        return None;
    }
    let mut found = 0;
    for pair in MapEntries::at(buf, 0, entries) {
        let e = pair.ok()?;
        if let Some(k) = e.key {
            let start = e.value - k.len();
            spans[found] = (start, e.value);
            found += 1;
        }
    }
    Some(found)
}

/// Whether `entries` msgpack pairs in `buf` include the string key `key`.
fn has_key(buf: &[u8], entries: u32, key: &[u8]) -> bool {
    MapEntries::at(buf, 0, entries)
        .map_while(Result::ok)
        .any(|e| e.key.is_some_and(|k| key_eq(k, key)))
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
