//! The CloudWatch dialect: log group and log stream name templates (`log_group_template` /
//! `log_stream_template`), with the syntax of Fluent Bit's `cloudwatch_logs` record accessor
//! templates. The sanitizers that make a rendered name acceptable to CloudWatch Logs are the
//! output's (`output::cloudwatch::naming`).
//!
//! Syntax (everything not listed here is literal text, copied as is):
//! - `$TAG`: the whole tag. `$TAG[n]`: the n-th part (0-based) of the tag split on `.`.
//!   As in Fluent Bit, `$TAG` is recognised as a prefix: `$TAGS` is the tag followed by `S`.
//! - `$key`: the value of a top-level record key. The name is `[A-Za-z_][A-Za-z0-9_]*` and ends
//!   at the first other character, so `$a-$b`, `$a.$b` and `$a/x` all work. Fluent Bit's lexer
//!   uses the same identifier characters but only lets `.`, `,`, space or end of text follow a
//!   variable; every template Fluent Bit accepts therefore renders the same here.
//! - `$key['sub']['subsub']` walks nested maps, `$key[0]` indexes an array (any mix of the two).
//!   Keys are in single quotes, a quote inside a key is doubled (`'it''s'`), as in Fluent Bit.
//! - `$` followed by anything else (`$5`, `${`, `$$`, a trailing `$`) is a literal `$`
//!   (Fluent Bit's `$0`..`$9` regex captures have no meaning in a name template).
//!
//! Rendering is all-or-nothing: a missing or non-scalar field, or a `$TAG[n]` past the last part,
//! makes [`NameTemplate::render`] return false so the caller uses its static name (Fluent Bit
//! logs an error and falls back to `log_group_name` / `log_stream_name` the same way). Unlike
//! Fluent Bit, a nil or map value is not rendered as `null` / JSON text: it falls back too.
//! Invariants: `parse` and `render` never panic, whatever the template or record bytes; `render`
//! allocates nothing beyond growing `out`.

use thiserror::Error;

use super::lex::{self, Dialect, LexError, Piece, Var};
use super::push_scalar;
use crate::msgpack::accessor::{AccessorError, RecordAccessor};

/// `$TAG`, `$TAG[n]` and record accessors; no captures, no `${key}`.
const DIALECT: Dialect = Dialect {
    fields: true,
    captures: false,
    braces: false,
    words: &[],
};

/// A parsed name template; cheap to render many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Tag,
    TagPiece(usize),
    Field(RecordAccessor),
}

/// Why a template cannot be used; `at` is the byte offset of the offending `[` or quote.
#[derive(Debug, Error, PartialEq)]
pub enum TemplateError {
    #[error("'[' at byte {at} has no matching ']'")]
    UnclosedBracket { at: usize },
    #[error("quote at byte {at} is never closed")]
    UnterminatedQuote { at: usize },
    #[error("subscript at byte {at} must be a quoted key like ['name'] or an index like [0]")]
    BadSubscript { at: usize },
    #[error("$TAG[n] at byte {at} needs a non-negative integer n")]
    BadTagIndex { at: usize },
}

impl From<AccessorError> for TemplateError {
    fn from(e: AccessorError) -> Self {
        match e {
            AccessorError::UnclosedBracket { at } => Self::UnclosedBracket { at },
            AccessorError::UnterminatedQuote { at } => Self::UnterminatedQuote { at },
            // An embedded accessor starts at an identifier byte and ends wherever the identifier
            // and its subscripts end, so these two cannot occur; they map to the closest kind.
            AccessorError::BadSubscript { at } | AccessorError::TrailingText { at } => {
                Self::BadSubscript { at }
            }
            AccessorError::EmptyKey => Self::BadSubscript { at: 0 },
        }
    }
}

impl From<LexError> for TemplateError {
    fn from(e: LexError) -> Self {
        match e {
            LexError::UnclosedTagIndex { bracket, .. } => Self::UnclosedBracket { at: bracket },
            LexError::BadTagIndex { bracket, .. } => Self::BadTagIndex { at: bracket },
            LexError::Accessor(e) => e.into(),
            // The dialect has no `${key}`.
            LexError::UnclosedBrace { dollar } | LexError::EmptyBrace { dollar } => {
                Self::BadSubscript { at: dollar }
            }
        }
    }
}

impl NameTemplate {
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let parts = lex::split(template, &DIALECT)?
            .into_iter()
            .map(|piece| match piece {
                Piece::Literal(text) => Part::Literal(text),
                Piece::Var(Var::TagPiece(n)) => Part::TagPiece(n),
                Piece::Var(Var::Field(accessor)) => Part::Field(accessor),
                // The dialect has no captures or words: only `$TAG` is left.
                Piece::Var(Var::Tag | Var::Capture(_) | Var::Word(_)) => Part::Tag,
            })
            .collect();
        Ok(Self { parts })
    }

    /// True when rendering reads the record (else the result depends only on the tag: callers cache per tag).
    pub fn uses_record(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Field(_)))
    }

    /// Appends the rendered name to `out` (cleared first). `record` is one msgpack map (bytes).
    /// Returns false when a referenced field is missing or not a scalar, or `$TAG[n]` is out of range:
    /// the caller then uses its static fallback name. Str/bin values are inserted raw (lossy UTF-8),
    /// ints/floats/bools as text; nil, maps and arrays count as missing.
    /// On false, `out` is left empty.
    pub fn render(&self, tag: &str, record: &[u8], out: &mut String) -> bool {
        out.clear();
        for part in &self.parts {
            let found = match part {
                Part::Literal(text) => {
                    out.push_str(text);
                    true
                }
                Part::Tag => {
                    out.push_str(tag);
                    true
                }
                Part::TagPiece(n) => match tag.split('.').nth(*n) {
                    Some(piece) => {
                        out.push_str(piece);
                        true
                    }
                    None => false,
                },
                Part::Field(accessor) => accessor
                    .get(record)
                    .is_some_and(|value| push_scalar(value, out)),
            };
            if !found {
                out.clear();
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests;
