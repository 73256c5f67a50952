//! The `grep` filter (Fluent Bit semantics): keep or drop a record by regular expressions on the
//! values its record accessors name.
//!
//! - `Regex KEY REGEX` keeps records whose value at `KEY` matches; `Exclude KEY REGEX` drops them.
//!   The value is split at the first space: the key, then the regular expression (which may hold
//!   spaces). `KEY` is a record accessor: `log`, `$log`, `$kubernetes['labels']['app']`.
//! - `Logical_Op` unset or `legacy` (the default): a record is kept when every `Regex` rule
//!   matches and no `Exclude` rule matches, as Fluent Bit documents it (AND over includes, OR over
//!   excludes). Fluent Bit's code stops at the first rule that matches, so there the order of
//!   rules matters and a matching `Regex` hides later rules; we follow the documentation, where it
//!   does not. `AND` / `OR`: all rules must be of one kind (Fluent Bit refuses a mix); `Regex`
//!   keeps when all (AND) / any (OR) match, `Exclude` drops when all (AND) / any (OR) match.
//! - Only str values are matched, as in Fluent Bit's record accessor: a missing key, a number,
//!   bool, nil, bin, map or array never matches. So `Regex` on a numeric field drops the record
//!   and `Exclude` keeps it.
//! - A match is a search anywhere in the value (use `^...$` to anchor). Patterns are Fluent Bit's
//!   (Onigmo syntax, see [`crate::onigmo`]).
//!
//! Invariant: [`Grep::apply`] only reads the record: it never copies or allocates, never panics,
//! and keeps ([`RecordOutcome::Unchanged`]) a record that is not a msgpack map.

use std::fmt;

use thiserror::Error;

use crate::filter::RecordOutcome;
use crate::msgpack::accessor::{AccessorError, RecordAccessor};
use crate::msgpack::index::MapIndex;
use crate::msgpack::reader::{Token, read_token};
use crate::onigmo::{self, Pattern};

/// Whether a rule keeps or drops the records it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrepKind {
    /// `Regex`: keep records whose value matches.
    Regex,
    /// `Exclude`: drop records whose value matches.
    Exclude,
}

impl fmt::Display for GrepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Regex => "Regex",
            Self::Exclude => "Exclude",
        })
    }
}

/// One configured rule, split into its key and pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrepRule {
    /// Regex or Exclude.
    pub kind: GrepKind,
    /// A record accessor: `log`, `$log`, `$kubernetes['labels']['app']`.
    pub key: String,
    /// The regular expression.
    pub pattern: String,
}

impl GrepRule {
    /// Splits an option value `KEY REGEX` at its first run of spaces.
    pub fn parse(kind: GrepKind, value: &str) -> Result<Self, GrepError> {
        let value_trimmed = value.trim();
        let split = value_trimmed
            .split_once(char::is_whitespace)
            .map(|(k, p)| (k, p.trim_start()));
        match split {
            Some((key, pattern)) if !pattern.is_empty() => Ok(Self {
                kind,
                key: key.to_owned(),
                pattern: pattern.to_owned(),
            }),
            _ => Err(GrepError::NotKeyAndRegex {
                kind,
                value: value.to_owned(),
            }),
        }
    }
}

/// `Logical_Op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogicalOp {
    /// All `Regex` rules match and no `Exclude` rule matches.
    #[default]
    Legacy,
    /// Every rule must match (rules all of one kind).
    And,
    /// At least one rule must match (rules all of one kind).
    Or,
}

impl LogicalOp {
    /// `AND`, `OR` or `legacy`, in any case.
    pub fn parse(text: &str) -> Result<Self, GrepError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "and" => Ok(Self::And),
            "or" => Ok(Self::Or),
            "legacy" => Ok(Self::Legacy),
            _ => Err(GrepError::BadLogicalOp(text.to_owned())),
        }
    }
}

/// Why a grep filter cannot be built.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum GrepError {
    /// No rule at all.
    #[error("grep needs at least one Regex or Exclude rule")]
    NoRules,
    /// A rule value without a pattern.
    #[error("{kind} {value:?}: expected KEY REGEX (a key, a space, then a regular expression)")]
    NotKeyAndRegex { kind: GrepKind, value: String },
    /// A key that is not a valid record accessor.
    #[error("{kind} key {key:?}: {source}")]
    BadKey {
        kind: GrepKind,
        key: String,
        source: AccessorError,
    },
    /// A pattern that does not compile.
    #[error("{kind} {key}: {reason}")]
    BadRegex {
        kind: GrepKind,
        key: String,
        reason: String,
    },
    /// `Logical_Op` other than AND, OR, legacy.
    #[error("Logical_Op {0:?}: expected AND, OR or legacy")]
    BadLogicalOp(String),
    /// `Regex` and `Exclude` together under AND/OR.
    #[error("Logical_Op AND/OR needs all rules to be Regex or all to be Exclude, not a mix")]
    MixedKindsWithLogicalOp,
}

#[derive(Debug)]
struct CompiledRule {
    kind: GrepKind,
    key: RecordAccessor,
    pattern: Pattern,
}

/// A compiled grep filter.
#[derive(Debug)]
pub struct Grep {
    rules: Vec<CompiledRule>,
    op: LogicalOp,
}

impl Grep {
    /// Builds the filter from option values as users write them: `rules` are (`Regex` or
    /// `Exclude`, `"KEY REGEX"`) in config order, `logical_op` the `Logical_Op` value if set.
    pub fn from_config(
        rules: &[(GrepKind, impl AsRef<str>)],
        logical_op: Option<&str>,
    ) -> Result<Self, GrepError> {
        let op = logical_op.map(LogicalOp::parse).transpose()?;
        let rules = rules
            .iter()
            .map(|(kind, value)| GrepRule::parse(*kind, value.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(rules, op.unwrap_or_default())
    }

    /// Compiles split rules; reports the first bad one.
    pub fn new(rules: Vec<GrepRule>, logical_op: LogicalOp) -> Result<Self, GrepError> {
        let Some(first) = rules.first() else {
            return Err(GrepError::NoRules);
        };
        if logical_op != LogicalOp::Legacy && rules.iter().any(|r| r.kind != first.kind) {
            return Err(GrepError::MixedKindsWithLogicalOp);
        }
        let mut compiled = Vec::with_capacity(rules.len());
        for rule in rules {
            let key = RecordAccessor::parse(&rule.key).map_err(|source| GrepError::BadKey {
                kind: rule.kind,
                key: rule.key.clone(),
                source,
            })?;
            let pattern = onigmo::compile(&rule.pattern).map_err(|e| GrepError::BadRegex {
                kind: rule.kind,
                key: rule.key.clone(),
                reason: e.to_string(),
            })?;
            compiled.push(CompiledRule {
                kind: rule.kind,
                key,
                pattern,
            });
        }
        Ok(Self {
            rules: compiled,
            op: logical_op,
        })
    }

    /// Keeps ([`RecordOutcome::Unchanged`]) or drops ([`RecordOutcome::Dropped`]) one record.
    pub fn apply(&self, record: &[u8]) -> RecordOutcome {
        self.apply_indexed(record, &mut MapIndex::new())
    }

    /// [`Self::apply`] with keys looked up in `index`, which describes `record` (or is not read
    /// yet).
    pub fn apply_indexed(&self, record: &[u8], index: &mut MapIndex) -> RecordOutcome {
        if !matches!(read_token(record, 0), Ok((Token::Map(_), _))) || self.keeps(record, index) {
            RecordOutcome::Unchanged
        } else {
            RecordOutcome::Dropped
        }
    }

    fn keeps(&self, record: &[u8], index: &mut MapIndex) -> bool {
        let mut matches = |rule: &CompiledRule| {
            rule.key
                .get_indexed(record, index)
                .and_then(str_value)
                .is_some_and(|s| rule.pattern.is_match(s))
        };
        // Rules are all one kind in AND/OR mode (checked in `new`).
        let excluding = self.rules.first().map(|r| r.kind) == Some(GrepKind::Exclude);
        match self.op {
            LogicalOp::Legacy => self.rules.iter().all(|rule| match rule.kind {
                GrepKind::Regex => matches(rule),
                GrepKind::Exclude => !matches(rule),
            }),
            LogicalOp::And => self.rules.iter().all(matches) != excluding,
            LogicalOp::Or => self.rules.iter().any(matches) != excluding,
        }
    }
}

/// The payload of a str value; None for every other type.
fn str_value(value: &[u8]) -> Option<&[u8]> {
    match read_token(value, 0).ok()?.0 {
        Token::Str(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
