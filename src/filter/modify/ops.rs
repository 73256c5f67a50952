//! `modify` rules and conditions: parsed from option values once, then applied to msgpack maps.
//! A rule either writes the whole changed map into its destination and returns true, or writes
//! nothing and returns false.

use super::ModifyError;
use crate::filter::args::split_words;
use crate::msgpack::accessor::RecordAccessor;
use crate::msgpack::edit::{Entry, MapEntries, MapWriter};
use crate::msgpack::reader::{Token, read_token};
use crate::onigmo::{self, Pattern};

/// A compiled rule.
#[derive(Debug)]
pub(super) enum Rule {
    Set(Box<[u8]>, Box<[u8]>),
    Add(Box<[u8]>, Box<[u8]>),
    Remove(Box<[u8]>),
    RemoveWildcard(Box<[u8]>),
    RemoveRegex(Pattern),
    Rename {
        from: Box<[u8]>,
        to: Box<[u8]>,
        hard: bool,
    },
    Copy {
        from: Box<[u8]>,
        to: Box<[u8]>,
        hard: bool,
    },
    Move {
        prefix: Box<[u8]>,
        to_start: bool,
    },
}

/// A compiled condition; the bool is false for the negated form.
#[derive(Debug)]
pub(super) enum Condition {
    Exists(RecordAccessor, bool),
    AKeyMatches(Pattern, bool),
    ValueEquals(RecordAccessor, Box<[u8]>, bool),
    ValueMatches(RecordAccessor, Pattern, bool),
    MatchingKeysHaveMatchingValues(Pattern, Pattern, bool),
}

/// Splits `args` and checks the word count; `option` is the text shown in errors.
fn words(option: &str, args: &str, usage: &str, count: usize) -> Result<Vec<String>, ModifyError> {
    let words = split_words(args).ok_or_else(|| ModifyError::UnterminatedQuote {
        option: option.to_owned(),
    })?;
    if words.len() != count {
        return Err(ModifyError::WrongArgs {
            option: option.to_owned(),
            usage: usage.to_owned(),
        });
    }
    Ok(words)
}

fn key(option: &str, k: &str) -> Result<Box<[u8]>, ModifyError> {
    if k.is_empty() {
        return Err(ModifyError::EmptyKey {
            option: option.to_owned(),
        });
    }
    Ok(k.as_bytes().into())
}

fn prefix(option: &str, p: &str) -> Result<Box<[u8]>, ModifyError> {
    key(option, p.strip_suffix('*').unwrap_or(p))
}

fn regex(option: &str, pattern: &str) -> Result<Pattern, ModifyError> {
    onigmo::compile(pattern).map_err(|e| ModifyError::BadRegex {
        option: option.to_owned(),
        reason: e.to_string(),
    })
}

fn accessor(option: &str, k: &str) -> Result<RecordAccessor, ModifyError> {
    RecordAccessor::parse(k).map_err(|source| ModifyError::BadKey {
        option: option.to_owned(),
        source,
    })
}

impl Rule {
    /// `name` is the option name (any case), `args` its value.
    pub(super) fn parse(name: &str, args: &str) -> Result<Self, ModifyError> {
        let option = format!("{name} {args}");
        let option = option.trim();
        let lower = name.trim().to_ascii_lowercase();
        let usage = |what: &str| format!("{} {what}", name.trim());
        let (count, usage) = match lower.as_str() {
            "set" | "add" | "add_if_not_present" => (2, usage("KEY VALUE")),
            "rename" | "hard_rename" | "copy" | "hard_copy" => (2, usage("KEY NEW_KEY")),
            "remove" => (1, usage("KEY")),
            "remove_wildcard" | "move_to_start" | "move_to_end" => (1, usage("PREFIX")),
            "remove_regex" => (1, usage("REGEX")),
            _ => return Err(ModifyError::UnknownRule(name.to_owned())),
        };
        let w = words(option, args, &usage, count)?;
        let (a, b) = (w[0].as_str(), w.get(1).map_or("", String::as_str));
        Ok(match lower.as_str() {
            "set" => Self::Set(key(option, a)?, b.as_bytes().into()),
            "add" | "add_if_not_present" => Self::Add(key(option, a)?, b.as_bytes().into()),
            "remove" => Self::Remove(key(option, a)?),
            "remove_wildcard" => Self::RemoveWildcard(prefix(option, a)?),
            "remove_regex" => Self::RemoveRegex(regex(option, a)?),
            "rename" | "hard_rename" => Self::Rename {
                from: key(option, a)?,
                to: key(option, b)?,
                hard: lower == "hard_rename",
            },
            "copy" | "hard_copy" => Self::Copy {
                from: key(option, a)?,
                to: key(option, b)?,
                hard: lower == "hard_copy",
            },
            _ => Self::Move {
                prefix: prefix(option, a)?,
                to_start: lower == "move_to_start",
            },
        })
    }

    /// Writes the changed map into `dst` and returns true, or writes nothing and returns false.
    pub(super) fn apply(&self, map: &[u8], dst: &mut Vec<u8>) -> bool {
        let is = |e: &Entry<'_>, key: &[u8]| e.key_text() == Some(key);
        let has_prefix = |e: &Entry<'_>, p: &[u8]| e.key_text().is_some_and(|k| k.starts_with(p));
        match self {
            Self::Set(key, value) => {
                let mut w = MapWriter::new(dst);
                entries(map).filter(|e| !is(e, key)).for_each(|e| w.push(e));
                w.push_str_pair(key, value);
                w.finish();
            }
            Self::Add(key, value) => {
                if count_key(map, key) > 0 {
                    return false;
                }
                let mut w = MapWriter::new(dst);
                entries(map).for_each(|e| w.push(e));
                w.push_str_pair(key, value);
                w.finish();
            }
            Self::Remove(key) => return remove_where(map, dst, |e| is(e, key)),
            Self::RemoveWildcard(p) => return remove_where(map, dst, |e| has_prefix(e, p)),
            Self::RemoveRegex(re) => {
                return remove_where(map, dst, |e| e.key_str().is_some_and(|k| re.is_match(k)));
            }
            Self::Rename { from, to, hard } => {
                let targets = count_key(map, to);
                if from == to || count_key(map, from) == 0 || (targets > 0 && !hard) {
                    return false;
                }
                let mut w = MapWriter::new(dst);
                for e in entries(map) {
                    if is(&e, from) {
                        w.push_str_key(to, e.value);
                    } else if !is(&e, to) {
                        w.push(e);
                    }
                }
                w.finish();
            }
            Self::Copy { from, to, hard } => {
                let targets = count_key(map, to);
                if from == to || count_key(map, from) != 1 || (targets > 0 && !hard) || targets > 1
                {
                    return false;
                }
                let mut w = MapWriter::new(dst);
                for e in entries(map).filter(|e| !is(e, to)) {
                    w.push(e);
                    if is(&e, from) {
                        w.push_str_key(to, e.value);
                    }
                }
                w.finish();
            }
            Self::Move { prefix, to_start } => {
                if !entries(map).any(|e| has_prefix(&e, prefix)) {
                    return false;
                }
                let mut w = MapWriter::new(dst);
                for moved in [*to_start, !*to_start] {
                    for e in entries(map).filter(|e| has_prefix(e, prefix) == moved) {
                        w.push(e);
                    }
                }
                w.finish();
            }
        }
        true
    }
}

impl Condition {
    /// Parses a `Condition` value: the condition name (any case), then its arguments.
    pub(super) fn parse(text: &str) -> Result<Self, ModifyError> {
        let option = format!("Condition {}", text.trim());
        let all = split_words(text).ok_or_else(|| ModifyError::UnterminatedQuote {
            option: option.clone(),
        })?;
        let Some(name) = all.first() else {
            return Err(ModifyError::UnknownCondition(String::new()));
        };
        let lower = name.to_ascii_lowercase();
        let usage = |what: &str| format!("Condition {name} {what}");
        let (count, usage) = match lower.as_str() {
            "key_exists" | "key_does_not_exist" => (1, usage("KEY")),
            "a_key_matches" | "no_key_matches" => (1, usage("REGEX")),
            "key_value_equals" | "key_value_does_not_equal" => (2, usage("KEY VALUE")),
            "key_value_matches" | "key_value_does_not_match" => (2, usage("KEY REGEX")),
            "matching_keys_have_matching_values" | "matching_keys_do_not_have_matching_values" => {
                (2, usage("KEY_REGEX VALUE_REGEX"))
            }
            _ => return Err(ModifyError::UnknownCondition(name.clone())),
        };
        if all.len() != count + 1 {
            return Err(ModifyError::WrongArgs { option, usage });
        }
        let (a, b) = (all[1].as_str(), all.get(2).map_or("", String::as_str));
        let o = option.as_str();
        Ok(match lower.as_str() {
            "key_exists" => Self::Exists(accessor(o, a)?, true),
            "key_does_not_exist" => Self::Exists(accessor(o, a)?, false),
            "a_key_matches" => Self::AKeyMatches(regex(o, a)?, true),
            "no_key_matches" => Self::AKeyMatches(regex(o, a)?, false),
            "key_value_equals" => Self::ValueEquals(accessor(o, a)?, b.as_bytes().into(), true),
            "key_value_does_not_equal" => {
                Self::ValueEquals(accessor(o, a)?, b.as_bytes().into(), false)
            }
            "key_value_matches" => Self::ValueMatches(accessor(o, a)?, regex(o, b)?, true),
            "key_value_does_not_match" => Self::ValueMatches(accessor(o, a)?, regex(o, b)?, false),
            "matching_keys_have_matching_values" => {
                Self::MatchingKeysHaveMatchingValues(regex(o, a)?, regex(o, b)?, true)
            }
            _ => Self::MatchingKeysHaveMatchingValues(regex(o, a)?, regex(o, b)?, false),
        })
    }

    pub(super) fn holds(&self, record: &[u8]) -> bool {
        match self {
            Self::Exists(key, want) => key.get(record).is_some() == *want,
            Self::AKeyMatches(re, want) => {
                entries(record).any(|e| e.key_str().is_some_and(|k| re.is_match(k))) == *want
            }
            // The negated forms need the key to exist too (Fluent Bit).
            Self::ValueEquals(key, value, want) => key
                .get(record)
                .is_some_and(|v| (text_value(v) == Some(&value[..])) == *want),
            Self::ValueMatches(key, re, want) => key
                .get(record)
                .is_some_and(|v| value_matches(v, re) == *want),
            Self::MatchingKeysHaveMatchingValues(keys, values, want) => {
                entries(record)
                    .filter(|e| e.key_str().is_some_and(|k| keys.is_match(k)))
                    .all(|e| value_matches(e.value, values))
                    == *want
            }
        }
    }
}

/// Entries of a record already checked to be a whole map (an empty iterator otherwise).
fn entries(record: &[u8]) -> impl Iterator<Item = Entry<'_>> {
    MapEntries::new(record).into_iter().flatten()
}

/// str or bin payload.
fn text_value(value: &[u8]) -> Option<&[u8]> {
    match read_token(value, 0).ok()?.0 {
        Token::Str(s) | Token::Bin(s) => Some(s),
        _ => None,
    }
}

/// Regex on a value: str as is, bools as `true`/`false`, anything else never matches.
fn value_matches(value: &[u8], re: &Pattern) -> bool {
    match read_token(value, 0) {
        Ok((Token::Str(s), _)) => re.is_match(s),
        Ok((Token::Bool(b), _)) => re.is_match(if b { b"true" } else { b"false" }),
        _ => false,
    }
}

fn count_key(map: &[u8], key: &[u8]) -> usize {
    entries(map).filter(|e| e.key_text() == Some(key)).count()
}

/// Copies the entries for which `drop` is false; writes nothing when it is false for all.
fn remove_where(map: &[u8], dst: &mut Vec<u8>, drop: impl Fn(&Entry<'_>) -> bool) -> bool {
    if !entries(map).any(|e| drop(&e)) {
        return false;
    }
    let mut w = MapWriter::new(dst);
    entries(map).filter(|e| !drop(e)).for_each(|e| w.push(e));
    w.finish();
    true
}
