//! Fluent Bit's `rewrite_tag`: `Rule $KEY REGEX NEW_TAG KEEP` (repeatable). Rules are tried in
//! order; the first whose KEY holds a string matching REGEX wins: the record is to be emitted
//! again under NEW_TAG, and the original kept only if KEEP is true. Re-emitting is the caller's
//! job (the record enters the pipeline again, so a NEW_TAG the same filter matches loops).
//!
//! - KEY is a record accessor (`$name`, `$kubernetes['labels']['app']`, `$list[0]`). Only string
//!   values can match: numbers, booleans, maps, arrays and missing keys never do.
//! - REGEX is a Fluent Bit regex ([`crate::onigmo`]), searched in the value, unanchored as
//!   in Fluent Bit; `$1`..`$9` are its groups as Onigmo numbers them. Parts are split on spaces as Fluent Bit does; one with spaces can be quoted
//!   (`"a b"` or `'a b'`, with `\"`, `\'`, `\\` inside).
//! - NEW_TAG is a template: `$0`..`$9` are regex captures, `$TAG` the whole tag (a prefix, as in
//!   Fluent Bit: `$TAGS` is the tag then `S`), `$TAG[n]` its n-th `.`-separated part (0-based),
//!   `$name['sub']` / `${name}` a record value (strings as is, numbers and booleans as text).
//!   Anything missing renders as nothing. `${VAR}` environment variables are expanded by the
//!   config loader before this module sees the rule; any `${name}` left is a record key.
//!   Any other `$` is a literal `$`. A rule whose NEW_TAG renders empty is treated as not matched.
//! - KEEP is `true` or `false` (also `on`/`off`, `yes`/`no`); it is mandatory.
//!
//! Invariants: rules are parsed and regexes compiled once; a record that no rule matches costs
//! one accessor lookup and one regex search per rule and allocates nothing; any input bytes are
//! safe (a non-map record matches nothing).

use std::fmt::Write as _;

use thiserror::Error;

use super::args::split_words;
use crate::msgpack::accessor::{AccessorError, RecordAccessor, find_byte, parse_index};
use crate::msgpack::reader::{Token, read_token};
use crate::onigmo::{self, Pattern};

/// Why a `rewrite_tag` configuration cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RewriteTagError {
    #[error("rewrite_tag needs at least one Rule")]
    NoRules,
    #[error("rule `{0}` must have four parts: KEY REGEX NEW_TAG KEEP")]
    Parts(String),
    #[error("rule `{rule}`: key: {err}")]
    Key { rule: String, err: AccessorError },
    #[error("rule `{0}` has a quote that is never closed")]
    Quote(String),
    #[error("rule `{rule}`: {err}")]
    Regex { rule: String, err: String },
    #[error("rule `{rule}`: new tag: {err}")]
    NewTag { rule: String, err: String },
    #[error("rule `{rule}`: KEEP must be true or false, not `{value}`")]
    Keep { rule: String, value: String },
}

/// Configured rules.
#[derive(Debug, Clone)]
pub struct RewriteTag {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    key: RecordAccessor,
    regex: Pattern,
    new_tag: Vec<Part>,
    /// Whether `new_tag` uses `$0`..`$9` (else a match needs no capture positions).
    uses_captures: bool,
    keep: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Capture(usize),
    Tag,
    TagPiece(usize),
    Field(RecordAccessor),
}

impl RewriteTag {
    /// `rules` are Fluent Bit `Rule` values, `KEY REGEX NEW_TAG KEEP`.
    pub fn new(rules: &[String]) -> Result<Self, RewriteTagError> {
        if rules.is_empty() {
            return Err(RewriteTagError::NoRules);
        }
        let rules = rules
            .iter()
            .map(|r| Rule::parse(r))
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// Tries the rules on `record` (one msgpack map) tagged `tag`. None: no rule matched, the
    /// record goes on unchanged. Some(keep): `new_tag` (cleared first) holds the tag to emit a
    /// copy under, and `keep` says whether the original goes on too.
    pub fn apply(&self, tag: &str, record: &[u8], new_tag: &mut String) -> Option<bool> {
        for rule in &self.rules {
            let Some(value) = rule.key.get(record) else {
                continue;
            };
            let Ok((Token::Str(text), _)) = read_token(value, 0) else {
                continue;
            };
            // Capture positions are only asked for (and allocated) when the tag uses them.
            let captures = if rule.uses_captures {
                let Some(captures) = rule.regex.captures(text) else {
                    continue;
                };
                Some(captures)
            } else if rule.regex.is_match(text) {
                None
            } else {
                continue;
            };
            new_tag.clear();
            for part in &rule.new_tag {
                match part {
                    Part::Literal(s) => new_tag.push_str(s),
                    Part::Capture(i) => {
                        if let Some(m) = captures.as_ref().and_then(|c| c.get(*i)) {
                            push_lossy(m, new_tag);
                        }
                    }
                    Part::Tag => new_tag.push_str(tag),
                    Part::TagPiece(n) => new_tag.push_str(tag.split('.').nth(*n).unwrap_or("")),
                    Part::Field(accessor) => {
                        if let Some(v) = accessor.get(record) {
                            push_scalar(v, new_tag);
                        }
                    }
                }
            }
            if !new_tag.is_empty() {
                return Some(rule.keep);
            }
        }
        None
    }
}

impl Rule {
    fn parse(rule: &str) -> Result<Self, RewriteTagError> {
        let parts = split_words(rule).ok_or_else(|| RewriteTagError::Quote(rule.to_owned()))?;
        let [key, regex, new_tag, keep] = parts.as_slice() else {
            return Err(RewriteTagError::Parts(rule.to_owned()));
        };
        let key = RecordAccessor::parse(key).map_err(|err| RewriteTagError::Key {
            rule: rule.to_owned(),
            err,
        })?;
        let regex = onigmo::compile(regex).map_err(|e| RewriteTagError::Regex {
            rule: rule.to_owned(),
            err: e.to_string(),
        })?;
        let new_tag = parse_new_tag(new_tag).map_err(|err| RewriteTagError::NewTag {
            rule: rule.to_owned(),
            err,
        })?;
        let keep = match keep.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" => true,
            "false" | "off" | "no" => false,
            _ => {
                return Err(RewriteTagError::Keep {
                    rule: rule.to_owned(),
                    value: keep.clone(),
                });
            }
        };
        Ok(Self {
            key,
            regex,
            uses_captures: new_tag.iter().any(|p| matches!(p, Part::Capture(_))),
            new_tag,
            keep,
        })
    }
}

fn parse_new_tag(template: &str) -> Result<Vec<Part>, String> {
    let b = template.as_bytes();
    let mut parts = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let name = i + 1;
        let (part, end) = match b.get(name) {
            Some(d) if d.is_ascii_digit() => (Part::Capture(usize::from(d - b'0')), name + 1),
            _ if b[name..].starts_with(b"TAG") => parse_tag(b, name + 3)?,
            Some(b'{') => {
                let close =
                    find_byte(b, name, b'}').ok_or(format!("`${{` at byte {i} has no `}}`"))?;
                let key = &template[name + 1..close];
                if key.is_empty() {
                    return Err(format!("`${{}}` at byte {i} names no key"));
                }
                (
                    Part::Field(RecordAccessor::top_level(key.as_bytes())),
                    close + 1,
                )
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let (accessor, end) =
                    RecordAccessor::parse_embedded(b, name).map_err(|e| e.to_string())?;
                (Part::Field(accessor), end)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        // `$`, `{`, `}` and brackets are ASCII, so these offsets are char boundaries.
        if literal_start < i {
            parts.push(Part::Literal(template[literal_start..i].to_owned()));
        }
        parts.push(part);
        i = end;
        literal_start = end;
    }
    if literal_start < b.len() {
        parts.push(Part::Literal(template[literal_start..].to_owned()));
    }
    Ok(parts)
}

/// `pos` is just after `$TAG`: `$TAG[n]` or the whole tag.
fn parse_tag(b: &[u8], pos: usize) -> Result<(Part, usize), String> {
    if b.get(pos) != Some(&b'[') {
        return Ok((Part::Tag, pos));
    }
    let close =
        find_byte(b, pos + 1, b']').ok_or(format!("'[' at byte {pos} has no matching ']'"))?;
    let n = parse_index(&b[pos + 1..close]).ok_or(format!(
        "$TAG[n] at byte {pos} needs a non-negative integer n"
    ))?;
    Ok((Part::TagPiece(n), close + 1))
}

/// Appends a str/bin value raw (lossy UTF-8), numbers and booleans as text; others add nothing.
fn push_scalar(value: &[u8], out: &mut String) {
    // Writing into a String cannot fail.
    match read_token(value, 0) {
        Ok((Token::Str(s) | Token::Bin(s), _)) => push_lossy(s, out),
        Ok((Token::UInt(n), _)) => _ = write!(out, "{n}"),
        Ok((Token::Int(n), _)) => _ = write!(out, "{n}"),
        Ok((Token::F32(x), _)) => _ = write!(out, "{x}"),
        Ok((Token::F64(x), _)) => _ = write!(out, "{x}"),
        Ok((Token::Bool(v), _)) => out.push_str(if v { "true" } else { "false" }),
        _ => {}
    }
}

/// Like `String::from_utf8_lossy`, without its temporary allocation.
fn push_lossy(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

#[cfg(test)]
#[path = "rewrite_tag_tests.rs"]
mod tests;
