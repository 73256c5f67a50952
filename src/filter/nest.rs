//! The `nest` filter (Fluent Bit semantics): move top-level keys into a new map (`nest`), or the
//! entries of a map up to the top level (`lift`).
//!
//! - `nest`: the entries whose key matches a `Wildcard` are removed from where they are and put,
//!   in their order, into a new map under `Nest_under`, appended at the end of the record. A
//!   `Wildcard` ending in `*` matches keys starting with what comes before it (`Mem.*`; a lone
//!   `*` matches every key); without `*` it matches the key exactly. An existing `Nest_under`
//!   entry that no wildcard matches is kept, so the record then holds that key twice (as in
//!   Fluent Bit).
//! - `lift`: every top-level entry named `Nested_under` whose value is a map is replaced by that
//!   map's entries, appended at the end of the record in order; other entries keep their place.
//!   A `Nested_under` value that is not a map is left alone.
//! - `Add_prefix` / `Remove_prefix` (exclusive) rename only the moved keys: the nested ones for
//!   `nest`, the lifted ones for `lift`. `Remove_prefix` changes only keys that start with it.
//!   Keys are compared byte for byte (case-sensitive); str and bin keys are matched, and a
//!   renamed key is written as str; other keys never match.
//!
//! Invariants: a record that is not one whole msgpack map, or has nothing to move, is passed
//! through unchanged and `out` is not touched; `apply` never panics and allocates only through
//! `out`.

use thiserror::Error;

use crate::filter::RecordOutcome;
use crate::msgpack::edit::{Entry, MapEntries, is_whole_map, write_str_parts};
use crate::msgpack::reader::{Token, read_token};
use crate::msgpack::writer::{write_map_len, write_str};

/// Why a nest filter cannot be built.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NestError {
    /// `Operation` is neither `nest` nor `lift`.
    #[error("Operation {0:?}: expected nest or lift")]
    BadOperation(String),
    /// `nest` without any `Wildcard`.
    #[error("Operation nest needs at least one Wildcard")]
    NoWildcard,
    /// `nest` without `Nest_under`.
    #[error("Operation nest needs Nest_under (the key to nest under)")]
    NoNestUnder,
    /// `lift` without `Nested_under`.
    #[error("Operation lift needs Nested_under (the key of the map to lift)")]
    NoNestedUnder,
    /// Both prefix options.
    #[error("Add_prefix and Remove_prefix are exclusive")]
    BothPrefixes,
    /// An option set to an empty value.
    #[error("{0} must not be empty")]
    Empty(&'static str),
}

/// Which way entries move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NestOperation {
    /// Matching top-level keys go into a new map.
    Nest,
    /// A map's entries go to the top level.
    Lift,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Prefix {
    None,
    Add(Box<[u8]>),
    Remove(Box<[u8]>),
}

/// One `Wildcard`: a key, or a key prefix when it ended in `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wildcard {
    text: Box<[u8]>,
    is_prefix: bool,
}

/// A configured nest filter.
#[derive(Debug, Clone)]
pub struct Nest {
    operation: NestOperation,
    wildcards: Vec<Wildcard>,
    /// `Nest_under` for nest, `Nested_under` for lift.
    key: Box<[u8]>,
    prefix: Prefix,
}

fn non_empty(value: Option<&str>, option: &'static str) -> Result<Option<Box<[u8]>>, NestError> {
    match value {
        Some("") => Err(NestError::Empty(option)),
        other => Ok(other.map(|v| v.as_bytes().into())),
    }
}

impl Nest {
    /// Builds the filter from option values as users write them: `Operation`, every `Wildcard`,
    /// `Nest_under`, `Nested_under`, `Add_prefix`, `Remove_prefix` (None when not set). Options
    /// that do not apply to the operation are ignored, as in Fluent Bit.
    pub fn new(
        operation: &str,
        wildcards: &[impl AsRef<str>],
        nest_under: Option<&str>,
        nested_under: Option<&str>,
        add_prefix: Option<&str>,
        remove_prefix: Option<&str>,
    ) -> Result<Self, NestError> {
        let operation = match operation.trim().to_ascii_lowercase().as_str() {
            "nest" => NestOperation::Nest,
            "lift" => NestOperation::Lift,
            _ => return Err(NestError::BadOperation(operation.to_owned())),
        };
        let prefix = match (
            non_empty(add_prefix, "Add_prefix")?,
            non_empty(remove_prefix, "Remove_prefix")?,
        ) {
            (Some(_), Some(_)) => return Err(NestError::BothPrefixes),
            (Some(p), None) => Prefix::Add(p),
            (None, Some(p)) => Prefix::Remove(p),
            (None, None) => Prefix::None,
        };
        let (key, wildcards) = match operation {
            NestOperation::Nest => {
                let key = non_empty(nest_under, "Nest_under")?.ok_or(NestError::NoNestUnder)?;
                let wildcards = wildcards
                    .iter()
                    .map(|w| match w.as_ref() {
                        "" => Err(NestError::Empty("Wildcard")),
                        w => Ok(match w.strip_suffix('*') {
                            Some(p) => Wildcard {
                                text: p.as_bytes().into(),
                                is_prefix: true,
                            },
                            None => Wildcard {
                                text: w.as_bytes().into(),
                                is_prefix: false,
                            },
                        }),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if wildcards.is_empty() {
                    return Err(NestError::NoWildcard);
                }
                (key, wildcards)
            }
            NestOperation::Lift => {
                let key =
                    non_empty(nested_under, "Nested_under")?.ok_or(NestError::NoNestedUnder)?;
                (key, Vec::new())
            }
        };
        Ok(Self {
            operation,
            wildcards,
            key,
            prefix,
        })
    }

    /// Applies the filter to one record. [`RecordOutcome::Replaced`]: `out` holds exactly the
    /// new record (cleared first). [`RecordOutcome::Unchanged`]: `out` was not touched. Never
    /// [`RecordOutcome::Dropped`].
    pub fn apply(&self, record: &[u8], out: &mut Vec<u8>) -> RecordOutcome {
        if !is_whole_map(record) {
            return RecordOutcome::Unchanged;
        }
        let changed = match self.operation {
            NestOperation::Nest => self.nest(record, out),
            NestOperation::Lift => self.lift(record, out),
        };
        if changed {
            RecordOutcome::Replaced
        } else {
            RecordOutcome::Unchanged
        }
    }

    fn to_nest(&self, e: &Entry<'_>) -> bool {
        e.key_text().is_some_and(|k| {
            self.wildcards.iter().any(|w| {
                if w.is_prefix {
                    k.starts_with(&w.text)
                } else {
                    *k == *w.text
                }
            })
        })
    }

    fn nest(&self, record: &[u8], out: &mut Vec<u8>) -> bool {
        let (mut total, mut nested) = (0u32, 0u32);
        for e in entries(record) {
            total += 1;
            nested += u32::from(self.to_nest(&e));
        }
        if nested == 0 {
            return false;
        }
        out.clear();
        // `nested` >= 1, so the count stays within the input's u32 header.
        write_map_len(out, total - nested + 1);
        for e in entries(record).filter(|e| !self.to_nest(e)) {
            out.extend_from_slice(e.key);
            out.extend_from_slice(e.value);
        }
        write_str(out, &self.key);
        write_map_len(out, nested);
        for e in entries(record).filter(|e| self.to_nest(e)) {
            self.write_moved(e, out);
        }
        true
    }

    /// The entry count of the map to lift from this entry, None when it is not one.
    fn to_lift(&self, e: &Entry<'_>) -> Option<u32> {
        if e.key_text() != Some(&self.key[..]) {
            return None;
        }
        match read_token(e.value, 0) {
            Ok((Token::Map(n), _)) => Some(n),
            _ => None,
        }
    }

    fn lift(&self, record: &[u8], out: &mut Vec<u8>) -> bool {
        let (mut total, mut lifted_maps) = (0u64, 0u64);
        for e in entries(record) {
            total += 1;
            if let Some(n) = self.to_lift(&e) {
                lifted_maps += 1;
                total += u64::from(n);
            }
        }
        let Ok(total) = u32::try_from(total - lifted_maps) else {
            return false;
        };
        if lifted_maps == 0 {
            return false;
        }
        out.clear();
        write_map_len(out, total);
        for e in entries(record).filter(|e| self.to_lift(e).is_none()) {
            out.extend_from_slice(e.key);
            out.extend_from_slice(e.value);
        }
        for e in entries(record).filter(|e| self.to_lift(e).is_some()) {
            for inner in entries(e.value) {
                self.write_moved(inner, out);
            }
        }
        true
    }

    /// Writes an entry with its key renamed by the prefix option.
    fn write_moved(&self, e: Entry<'_>, out: &mut Vec<u8>) {
        match (&self.prefix, e.key_text()) {
            (Prefix::Add(p), Some(k)) => write_str_parts(out, &[p, k]),
            (Prefix::Remove(p), Some(k)) if k.starts_with(p) => write_str(out, &k[p.len()..]),
            (Prefix::Remove(_), Some(k)) => write_str(out, k),
            _ => out.extend_from_slice(e.key),
        }
        out.extend_from_slice(e.value);
    }
}

/// Entries of a map already checked to be whole (an empty iterator for a non-map).
fn entries(map: &[u8]) -> impl Iterator<Item = Entry<'_>> {
    MapEntries::new(map).into_iter().flatten()
}

#[cfg(test)]
mod tests;
