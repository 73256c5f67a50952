//! The `modify` filter (Fluent Bit semantics): rules that set, add, remove, rename, copy and
//! move top-level keys, applied only when every condition holds.
//!
//! - Option values are split into words as Fluent Bit does: spaces separate words, and a word in
//!   `"..."` or `'...'` may hold spaces (`Set msg "hello world"`). Rule and condition names are
//!   case-insensitive; their arguments are not.
//! - Conditions are all evaluated on the incoming record; if one is false nothing changes.
//!   Condition keys are record accessors (`$a['b']`, or a bare `Mem.used`).
//! - Rules run in configured order, each on the result of the previous one. Rule keys are plain
//!   top-level keys, compared byte for byte (case-sensitive) with str or bin keys.
//! - Where entries land, as in Fluent Bit: `Set` removes every existing entry of the key and
//!   appends the new one at the end; `Add` appends; `Rename`/`Hard_rename` keep the entry's
//!   position; `Copy`/`Hard_copy` put the copy right after the source entry; the `Hard_` forms
//!   first remove entries with the target key. `Copy`/`Hard_copy` do nothing when the source key
//!   appears more than once. Values written by `Set`/`Add` are strings. Renaming or copying a
//!   key onto itself changes nothing (Fluent Bit's `Hard_` forms would delete the key).
//! - `Remove_wildcard` / `Move_to_start` / `Move_to_end` take a key prefix (`Mem`; a single
//!   trailing `*`, as in `Mem*`, is accepted and ignored). `Remove_regex` and the `*_matches`
//!   conditions search str keys with Fluent Bit's regexes ([`crate::onigmo`], unanchored).
//! - Value comparisons, as in Fluent Bit: `Key_value_equals` compares str/bin bytes exactly; the
//!   `*_match*` conditions match str values, and bools as `true`/`false`; other types (numbers
//!   too) never match. The negated value conditions need the key to exist.
//!   `Matching_keys_do_not_have_matching_values` is the negation of
//!   `Matching_keys_have_matching_values` (true when some matching key has a value that does not
//!   match), which is what Fluent Bit's code does.
//!
//! Invariants: a record that is not one whole msgpack map is passed through unchanged; when no
//! rule changes anything the record is not copied and `out` is not touched; `apply` never panics
//! and, once warmed up, does not allocate (a second buffer per thread is reused).

use std::cell::RefCell;

use thiserror::Error;

use crate::filter::RecordOutcome;
use crate::msgpack::accessor::AccessorError;
use crate::msgpack::edit::is_whole_map;

mod ops;

use ops::{Condition, Rule};

/// Why a modify filter cannot be built; `option` is the offending option as written.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModifyError {
    /// An option name that is no rule.
    #[error(
        "unknown modify rule {0:?} (expected Set, Add, Remove, Remove_wildcard, Remove_regex, \
         Rename, Hard_rename, Copy, Hard_copy, Move_to_start or Move_to_end)"
    )]
    UnknownRule(String),
    /// A `Condition` whose first word is no condition.
    #[error(
        "unknown modify condition {0:?} (expected Key_exists, Key_does_not_exist, A_key_matches, \
         No_key_matches, Key_value_equals, Key_value_does_not_equal, Key_value_matches, \
         Key_value_does_not_match, Matching_keys_have_matching_values or \
         Matching_keys_do_not_have_matching_values)"
    )]
    UnknownCondition(String),
    /// The wrong number of arguments.
    #[error("`{option}`: expected {usage} (quote a value that holds spaces)")]
    WrongArgs { option: String, usage: String },
    /// A quoted word that is never closed.
    #[error("`{option}`: a quote is never closed")]
    UnterminatedQuote { option: String },
    /// A condition key that is not a valid record accessor.
    #[error("`{option}`: {source}")]
    BadKey {
        option: String,
        source: AccessorError,
    },
    /// A regular expression that does not compile.
    #[error("`{option}`: {reason}")]
    BadRegex { option: String, reason: String },
    /// An empty key or prefix (`""`).
    #[error("`{option}`: the key must not be empty")]
    EmptyKey { option: String },
}

thread_local! {
    /// The second buffer for records that several rules change, reused across records.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A compiled modify filter.
#[derive(Debug)]
pub struct Modify {
    rules: Vec<Rule>,
    conditions: Vec<Condition>,
}

impl Modify {
    /// Builds the filter from option values as users write them: `rules` are (option name,
    /// value) pairs in config order, e.g. `("Rename", "Key2 RenamedKey")`; `conditions` are the
    /// values of `Condition` options, e.g. `"Key_value_equals cpustats UNKNOWN"`.
    pub fn from_config(
        rules: &[(impl AsRef<str>, impl AsRef<str>)],
        conditions: &[impl AsRef<str>],
    ) -> Result<Self, ModifyError> {
        let rules = rules
            .iter()
            .map(|(name, args)| Rule::parse(name.as_ref(), args.as_ref()))
            .collect::<Result<_, _>>()?;
        let conditions = conditions
            .iter()
            .map(|c| Condition::parse(c.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { rules, conditions })
    }

    /// Applies the filter to one record. [`RecordOutcome::Replaced`]: `out` holds exactly the
    /// new record (whatever it held before is gone). [`RecordOutcome::Unchanged`]: `out` was not
    /// touched. Never [`RecordOutcome::Dropped`].
    pub fn apply(&self, record: &[u8], out: &mut Vec<u8>) -> RecordOutcome {
        if self.rules.is_empty() || !is_whole_map(record) {
            return RecordOutcome::Unchanged;
        }
        if !self.conditions.iter().all(|c| c.holds(record)) {
            return RecordOutcome::Unchanged;
        }
        // Until a rule changes something the current map is `record` itself. A rule writes
        // nothing when it changes nothing.
        let mut rules = self.rules.iter();
        loop {
            let Some(rule) = rules.next() else {
                return RecordOutcome::Unchanged;
            };
            let before = out.len();
            if rule.apply(record, out) {
                out.drain(..before);
                break;
            }
        }
        // From then on the current map is `out`; a changing rule writes into the scratch buffer
        // and the two are swapped.
        SCRATCH.with_borrow_mut(|scratch| {
            for rule in rules {
                scratch.clear();
                if rule.apply(out, scratch) {
                    std::mem::swap(out, scratch);
                }
            }
        });
        RecordOutcome::Replaced
    }
}

#[cfg(test)]
mod tests;
