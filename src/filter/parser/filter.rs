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
use crate::msgpack::index::{MapIndex, Slot};
use crate::msgpack::reader::{MapEntries, as_str_bytes, key_eq};

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
        self.apply_indexed(
            record,
            &mut MapIndex::new(),
            time,
            out,
            &mut MapIndex::new(),
        )
    }

    /// [`Self::apply`] with keys looked up in `index`, which describes `record` (or is not read
    /// yet); on [`RecordOutcome::Replaced`] `out_index` describes `out`.
    pub fn apply_indexed(
        &self,
        record: &[u8],
        index: &mut MapIndex,
        time: &mut EventTime,
        out: &mut Vec<u8>,
        out_index: &mut MapIndex,
    ) -> RecordOutcome {
        let Some(text) = index.get(record, &self.key_name).and_then(as_str_bytes) else {
            return RecordOutcome::Unchanged;
        };
        out.clear();
        let Some(parsed) = self
            .parsers
            .iter()
            .find_map(|p| p.parse_indexed(text, *time, out, out_index))
        else {
            return RecordOutcome::Unchanged;
        };
        // `out` is one map with a map32 header: entries start at byte 5. Its index holds the
        // parsed fields (or it cannot: more than it holds, then keys are found by walking).
        let fields_end = out.len();
        let parsed_fields = out_index.entries(out).map(<[Slot]>::len);
        let mut entries = parsed.entries;
        if self.reserve_data || self.preserve_key {
            let mut keep = |slot: Slot| {
                let key = slot.key(record);
                let keep = if key.is_some_and(|k| key_eq(k, &self.key_name)) {
                    self.preserve_key
                } else {
                    self.reserve_data
                };
                // (The index stops holding entries once more are copied than it holds.)
                let parsed_has =
                    |k: &[u8]| match parsed_fields.and_then(|n| out_index.slots().get(..n)) {
                        Some(slots) => {
                            out_index.may_have_key_len(k.len())
                                && slots.iter().any(|s| s.key_is(out, k))
                        }
                        None => has_key(&out[5..fields_end], parsed.entries, k),
                    };
                if keep && !key.is_some_and(parsed_has) {
                    let at = out.len();
                    out.extend_from_slice(slot.pair(record));
                    entries += 1;
                    out_index.push(slot.shifted(at as isize - slot.start as isize));
                }
            };
            match index.entries(record) {
                Some(slots) => {
                    for &s in slots {
                        keep(s);
                    }
                }
                None => {
                    for pair in MapEntries::new(record).into_iter().flatten() {
                        let Ok(e) = pair else {
                            break;
                        };
                        keep(Slot::of(&e));
                    }
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

/// Whether `entries` msgpack pairs in `buf` include the string key `key`.
fn has_key(buf: &[u8], entries: u32, key: &[u8]) -> bool {
    MapEntries::at(buf, 0, entries)
        .map_while(Result::ok)
        .any(|e| e.key.is_some_and(|k| key_eq(k, key)))
}

#[cfg(test)]
mod tests;
