//! Log group and log stream name templates (`log_group_template` / `log_stream_template`), with
//! the syntax of Fluent Bit's `cloudwatch_logs` record accessor templates, and the sanitizers
//! that make a rendered name acceptable to CloudWatch Logs.
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

use std::fmt::Write as _;

use thiserror::Error;

use crate::msgpack::accessor::{AccessorError, RecordAccessor, find_byte, parse_index};
use crate::msgpack::reader::{Token, read_token};

/// CloudWatch Logs limit for log group and log stream names (the API counts characters; after
/// [`sanitize_group`] they are ASCII, and a stream name cut at 512 bytes is at most 512 chars).
pub const MAX_NAME_BYTES: usize = 512;

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

impl NameTemplate {
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let b = template.as_bytes();
        let mut parts = Vec::new();
        let mut literal_start = 0;
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' {
                i += 1;
                continue;
            }
            let name_start = i + 1;
            let (part, end) = if b[name_start..].starts_with(b"TAG") {
                parse_tag(b, name_start + 3)?
            } else if b
                .get(name_start)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
            {
                let (accessor, end) = RecordAccessor::parse_embedded(b, name_start)?;
                (Part::Field(accessor), end)
            } else {
                i += 1;
                continue;
            };
            // `$` and brackets are ASCII, so these offsets are char boundaries.
            push_literal(&mut parts, &template[literal_start..i]);
            parts.push(part);
            i = end;
            literal_start = end;
        }
        push_literal(&mut parts, &template[literal_start..]);
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

fn push_literal(parts: &mut Vec<Part>, text: &str) {
    if !text.is_empty() {
        parts.push(Part::Literal(text.to_owned()));
    }
}

/// `pos` is just after `$TAG`; returns the part and the position after it.
fn parse_tag(b: &[u8], pos: usize) -> Result<(Part, usize), TemplateError> {
    if b.get(pos) != Some(&b'[') {
        return Ok((Part::Tag, pos));
    }
    let close = find_byte(b, pos + 1, b']').ok_or(TemplateError::UnclosedBracket { at: pos })?;
    let index = parse_index(&b[pos + 1..close]).ok_or(TemplateError::BadTagIndex { at: pos })?;
    Ok((Part::TagPiece(index), close + 1))
}

/// Appends a scalar as text; false for nil, containers, ext and unreadable bytes.
fn push_scalar(value: &[u8], out: &mut String) -> bool {
    let Ok((token, _)) = read_token(value, 0) else {
        return false;
    };
    // Writing into a String cannot fail, so the fmt::Results below are ignored.
    match token {
        Token::Str(s) | Token::Bin(s) => push_lossy(s, out),
        Token::UInt(n) => _ = write!(out, "{n}"),
        Token::Int(n) => _ = write!(out, "{n}"),
        Token::F32(x) => _ = write!(out, "{x}"),
        Token::F64(x) => _ = write!(out, "{x}"),
        Token::Bool(v) => out.push_str(if v { "true" } else { "false" }),
        Token::Nil | Token::Array(_) | Token::Map(_) | Token::Ext(..) => return false,
    }
    true
}

/// Like `String::from_utf8_lossy`, without its temporary allocation for invalid input.
fn push_lossy(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// CloudWatch log group names: 1-512 chars of `[\.\-_/#A-Za-z0-9]`. Replaces each other char with '_'
/// (one '_' per char, not per byte), truncates to 512 bytes. Returns false if the result is empty.
pub fn sanitize_group(name: &mut String) -> bool {
    if !name.bytes().all(is_group_byte) {
        // Compact in place: every char becomes one byte, so the write index never passes the
        // read index. Continuation bytes (10xxxxxx) are skipped, lead bytes become '_'.
        let mut bytes = std::mem::take(name).into_bytes();
        let mut len = 0;
        for read in 0..bytes.len() {
            let byte = bytes[read];
            if byte & 0xc0 == 0x80 {
                continue;
            }
            bytes[len] = if is_group_byte(byte) { byte } else { b'_' };
            len += 1;
        }
        bytes.truncate(len);
        // Only ASCII is left, which is always valid UTF-8: the default is never used.
        *name = String::from_utf8(bytes).unwrap_or_default();
    }
    name.truncate(MAX_NAME_BYTES);
    !name.is_empty()
}

fn is_group_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'#')
}

/// Log stream names: 1-512 chars, no ':' or '*' (replaced with '_'), truncated to 512 bytes at a char boundary.
pub fn sanitize_stream(name: &mut String) -> bool {
    if name.len() > MAX_NAME_BYTES {
        let mut end = MAX_NAME_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    // Bounded by the truncation above; same-length ASCII swaps keep the String in place.
    while let Some(at) = name.find([':', '*']) {
        name.replace_range(at..at + 1, "_");
    }
    !name.is_empty()
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
