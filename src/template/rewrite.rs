//! The `rewrite_tag` dialect: the NEW_TAG of a rule. `$0`..`$9` are the rule's regex captures,
//! `$TAG` / `$TAG[n]` the record's tag, `${key}` a top-level key and `$key['sub'][0]` a record
//! accessor.
//!
//! Differences from the CloudWatch dialect (`log_name`), as Fluent Bit's plugins have them: a
//! missing field, a nil or a container renders as nothing (the rest of the tag is still made;
//! an empty result means the rule does not apply), where a CloudWatch name falls back whole.
//! Pure; never panics.

use super::lex::{self, Dialect, LexError, Piece, Var};
use super::{push_lossy, push_scalar};
use crate::onigmo::Captures;

/// Captures, `$TAG`, `${key}` and record accessors.
const DIALECT: Dialect = Dialect {
    fields: true,
    captures: true,
    braces: true,
    words: &[],
};

/// A parsed NEW_TAG; cheap to render many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTag {
    pieces: Vec<Piece>,
    uses_captures: bool,
}

impl NewTag {
    /// Parses a NEW_TAG; the error says what and where (byte offsets).
    pub fn parse(template: &str) -> Result<Self, String> {
        let pieces = lex::split(template, &DIALECT).map_err(|e| match e {
            LexError::UnclosedTagIndex { bracket, .. } => {
                format!("'[' at byte {bracket} has no matching ']'")
            }
            LexError::BadTagIndex { bracket, .. } => {
                format!("$TAG[n] at byte {bracket} needs a non-negative integer n")
            }
            LexError::UnclosedBrace { dollar } => format!("`${{` at byte {dollar} has no `}}`"),
            LexError::EmptyBrace { dollar } => format!("`${{}}` at byte {dollar} names no key"),
            LexError::Accessor(e) => e.to_string(),
        })?;
        let uses_captures = (pieces.iter()).any(|p| matches!(p, Piece::Var(Var::Capture(_))));
        Ok(Self {
            pieces,
            uses_captures,
        })
    }

    /// Whether rendering needs the regex's capture positions.
    pub fn uses_captures(&self) -> bool {
        self.uses_captures
    }

    /// Appends the tag made for `record` (tagged `tag`, matched with `captures`) to `out`.
    pub fn render(
        &self,
        tag: &str,
        record: &[u8],
        captures: Option<&Captures<'_>>,
        out: &mut String,
    ) {
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Var(Var::Capture(i)) => {
                    if let Some(m) = captures.and_then(|c| c.get(*i)) {
                        push_lossy(m, out);
                    }
                }
                Piece::Var(Var::Tag) => out.push_str(tag),
                Piece::Var(Var::TagPiece(n)) => out.push_str(tag.split('.').nth(*n).unwrap_or("")),
                Piece::Var(Var::Field(accessor)) => {
                    if let Some(v) = accessor.get(record) {
                        push_scalar(v, out);
                    }
                }
                Piece::Var(Var::Word(_)) => {}
            }
        }
    }
}
