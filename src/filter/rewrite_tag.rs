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

use thiserror::Error;

use super::args::split_words;
use crate::msgpack::accessor::{AccessorError, RecordAccessor};
use crate::msgpack::reader::{Token, read_token};
use crate::onigmo::{self, Pattern};
use crate::template::rewrite::NewTag;

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
    new_tag: NewTag,
    keep: bool,
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
            let captures = if rule.new_tag.uses_captures() {
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
            (rule.new_tag).render(tag, record, captures.as_ref(), new_tag);
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
        let new_tag = NewTag::parse(new_tag).map_err(|err| RewriteTagError::NewTag {
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
            new_tag,
            keep,
        })
    }
}

#[cfg(test)]
mod tests;
