//! The S3 dialect: object keys rendered from Fluent Bit's `s3_key_format` option. `$TAG` and
//! `$TAG[n]` are read by the shared lexer; `$UUID`, `$INDEX` and the `%` time conversions are
//! this dialect's own, and a `$TAG[n]` splits on `s3_key_format_tag_delimiters`.
//!
//! Syntax (everything not listed is literal text, copied as is):
//! - `$TAG`: the whole tag. As in Fluent Bit it is a prefix match: `$TAGS` is the tag then `S`.
//! - `$TAG[n]`: part `n` (0-based) of the tag split on any character of
//!   `s3_key_format_tag_delimiters`. Empty parts are skipped, as Fluent Bit's `strtok` does:
//!   `a..b` and `.a.b` both have parts `a`, `b`. An empty delimiter set leaves one part, the tag.
//! - `$UUID`: the caller's random string ([`random_uuid`]: 8 characters of `[0-9a-zA-Z]`, as
//!   Fluent Bit); every `$UUID` of one key gets the same string.
//! - `$INDEX`: the caller's sequential upload index, in decimal.
//! - `%Y %m %d %H %M %S %y %j %b %B %a %A %e %I %p %s %F %T` in UTC with glibc's C-locale
//!   output (`%Y` is not zero-padded, `%e` is space-padded); `%%` is a literal `%`.
//!
//! Decisions where Fluent Bit's behaviour is an accident rather than a feature:
//! - Any other `%` conversion (`%L`, `%Z`, `%q`, a lone `%` at the end) is a parse error that
//!   lists them all. Fluent Bit hands the format to the C `strftime`, which renders `%Z` as `GMT`
//!   but copies unknown ones like `%L` through verbatim; an error at load time beats keys that
//!   silently differ from the ones Fluent Bit made.
//! - `$TAG[` not followed by `digits]` is a parse error (Fluent Bit renders `$TAG[-1]` as the
//!   whole tag followed by `[-1]`). `$TAG[n]` works for any `n`; Fluent Bit stops at `$TAG[9]`.
//! - `$FILE_PATH` / `$FILE_NAME` (Fluent Bit's tail-file variables) are parse errors.
//! - An out-of-range `$TAG[n]` renders, like Fluent Bit, as the whole tag followed by `[n]`
//!   (tag `a.b`, `$TAG[5]` gives `a.b[5]`) and is reported in [`RenderInfo::missing_tag_part`].
//! - Substituted values are inserted as is: a `%` in a tag is not a time conversion (Fluent Bit
//!   substitutes before calling `strftime`), and `%s` is the true Unix time whatever the TZ.
//! - One leading `/` is dropped: Fluent Bit requires it and builds the request path as
//!   `/bucket` + format, so it is not part of the key. A format without it is accepted.
//! - Unless the format has `$UUID` or `$INDEX`, or `static_file_path` is on, `-object` and the
//!   caller's random string end the key (`x.gz-objectAbC12345`), as Fluent Bit does for
//!   PutObject. Fluent Bit skips it for multipart uploads and for keys over 1008 bytes; here it is
//!   always added, so two files sealed in the same second never overwrite each other.
//!
//! Invariants: `parse` and `render` never panic, whatever the input; a rendered key is at most
//! [`MAX_KEY_BYTES`] bytes, cut at a character boundary (before the random suffix, which is
//! kept whole) and reported in [`RenderInfo::truncated`]. Pure: no clock, no randomness inside.

use std::fmt::Write as _;

use thiserror::Error;

use super::lex::{self, Dialect, LexError, Var};
use crate::rng::Rng;

mod strftime;

use strftime::{CivilTime, TimeField};

/// S3's limit on an object key, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// Length of [`random_uuid`]'s string (Fluent Bit keeps 8 characters of its random name).
pub const UUID_LEN: usize = 8;

/// Put before the random string when Fluent Bit's automatic suffix applies.
const RANDOM_SUFFIX_PREFIX: &str = "-object";

const UUID_CHARSET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The time conversions a format may use, for error messages and documentation.
pub const SUPPORTED_CONVERSIONS: &str = "%Y %m %d %H %M %S %y %j %b %B %a %A %e %I %p %s %F %T %%";

/// A parsed `s3_key_format`; cheap to render many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    segments: Vec<Segment>,
    delimiters: Box<[char]>,
    random_suffix: bool,
    uses_index: bool,
    uses_uuid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Tag,
    TagPart(usize),
    Uuid,
    Index,
    Time(TimeField),
}

/// What a key is rendered from. `uuid` may be empty when [`KeyTemplate::needs_uuid`] is false.
#[derive(Debug, Clone, Copy)]
pub struct KeyContext<'a> {
    /// The tag of the records in the object.
    pub tag: &'a str,
    /// The time the `%` conversions show (UTC), in seconds since the Unix epoch.
    pub unix_secs: i64,
    /// The `$INDEX` value.
    pub index: u64,
    /// The random string for `$UUID` and the automatic suffix, normally from [`random_uuid`].
    pub uuid: &'a str,
}

/// What went wrong in a render that still produced a usable key; the caller counts these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct RenderInfo {
    /// A `$TAG[n]` named a part the tag does not have; it was rendered as `<tag>[n]`.
    pub missing_tag_part: bool,
    /// The key was longer than [`MAX_KEY_BYTES`] and was cut.
    pub truncated: bool,
}

/// Why an `s3_key_format` cannot be used; `at` is a byte offset in the format as written.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyTemplateError {
    #[error("the key format is empty: it needs at least one character after the leading '/'")]
    Empty,
    #[error("'$TAG[' at byte {at} has no closing ']'; write $TAG[0] for the first part of the tag")]
    UnclosedTagIndex { at: usize },
    #[error(
        "'$TAG[{found}]' at byte {at}: the part number must be a non-negative integer, \
         like $TAG[0] for the first part of the tag"
    )]
    BadTagIndex { at: usize, found: String },
    #[error(
        "${name} at byte {at} is not supported; the variables are $TAG, $TAG[n], $UUID and $INDEX"
    )]
    UnsupportedVariable { at: usize, name: &'static str },
    #[error(
        "unsupported time conversion {found}; the supported ones are {supported} \
         (write %% for a literal '%')",
        supported = SUPPORTED_CONVERSIONS
    )]
    UnsupportedConversions { found: String },
    #[error(
        "the fixed text of the key format is {bytes} bytes, over the {limit} bytes left for it \
         in an S3 key (at most {max} bytes, including the random suffix when one is added)",
        max = MAX_KEY_BYTES
    )]
    TooLong { bytes: usize, limit: usize },
}

impl KeyTemplate {
    /// Parses `format` (Fluent Bit's `s3_key_format`). `tag_delimiters` is the set of characters
    /// `$TAG[n]` splits on; `static_file_path` turns off the automatic random suffix.
    pub fn parse(
        format: &str,
        tag_delimiters: &str,
        static_file_path: bool,
    ) -> Result<Self, KeyTemplateError> {
        let base = usize::from(format.starts_with('/'));
        let body = format.get(base..).unwrap_or_default();
        if body.is_empty() {
            return Err(KeyTemplateError::Empty);
        }
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut bad_conversions: Vec<String> = Vec::new();
        let mut literal_start = 0;
        let mut i = 0;
        // Every syntax character is ASCII, so `i` only ever stops on character boundaries.
        while let Some(&byte) = body.as_bytes().get(i) {
            let rest = body.get(i..).unwrap_or_default();
            let (segment, len) = match byte {
                b'$' => match parse_variable(body, i, base)? {
                    Some(found) => found,
                    None => {
                        i += 1;
                        continue;
                    }
                },
                b'%' => match rest.chars().nth(1) {
                    Some('%') => (Segment::Literal("%".to_owned()), 2),
                    Some(c) => {
                        let len = 1 + c.len_utf8();
                        match TimeField::from_conversion(c) {
                            Some(field) => (Segment::Time(field), len),
                            None => {
                                push_unique(&mut bad_conversions, format!("%{c}"));
                                (Segment::Literal(String::new()), len)
                            }
                        }
                    }
                    None => {
                        push_unique(&mut bad_conversions, "a lone '%' at the end".to_owned());
                        (Segment::Literal(String::new()), 1)
                    }
                },
                _ => {
                    i += 1;
                    continue;
                }
            };
            literal.push_str(body.get(literal_start..i).unwrap_or_default());
            match segment {
                Segment::Literal(text) => literal.push_str(&text),
                other => {
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(other);
                }
            }
            i += len;
            literal_start = i;
        }
        literal.push_str(body.get(literal_start..).unwrap_or_default());
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        if !bad_conversions.is_empty() {
            return Err(KeyTemplateError::UnsupportedConversions {
                found: bad_conversions.join(", "),
            });
        }

        let uses_index = segments.contains(&Segment::Index);
        let uses_uuid = segments.contains(&Segment::Uuid);
        let random_suffix = !static_file_path && !uses_uuid && !uses_index;
        let fixed_bytes: usize = segments
            .iter()
            .map(|s| match s {
                Segment::Literal(text) => text.len(),
                _ => 0,
            })
            .sum();
        let limit = MAX_KEY_BYTES
            - if random_suffix {
                suffix_len(UUID_LEN)
            } else {
                0
            };
        if fixed_bytes > limit {
            return Err(KeyTemplateError::TooLong {
                bytes: fixed_bytes,
                limit,
            });
        }
        Ok(Self {
            segments,
            delimiters: tag_delimiters.chars().collect(),
            random_suffix,
            uses_index,
            uses_uuid,
        })
    }

    /// True when the format has `$INDEX`: the caller keeps (and persists) the sequence.
    pub fn uses_index(&self) -> bool {
        self.uses_index
    }

    /// True when [`KeyContext::uuid`] is used (`$UUID`, or the automatic random suffix).
    pub fn needs_uuid(&self) -> bool {
        self.uses_uuid || self.random_suffix
    }

    /// True when keys end with `-object` and the random string (Fluent Bit's suffix rule).
    pub fn appends_random_suffix(&self) -> bool {
        self.random_suffix
    }

    /// Replaces `out`'s contents with the key for `ctx` (no leading `/`, at most
    /// [`MAX_KEY_BYTES`] bytes) and says what had to be papered over.
    pub fn render(&self, ctx: &KeyContext<'_>, out: &mut String) -> RenderInfo {
        out.clear();
        let mut info = RenderInfo::default();
        let time = CivilTime::from_unix(ctx.unix_secs);
        for segment in &self.segments {
            // Writing to a String cannot fail, so the fmt::Results below are ignored.
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Tag => out.push_str(ctx.tag),
                Segment::TagPart(n) => match self.tag_part(ctx.tag, *n) {
                    Some(part) => out.push_str(part),
                    None => {
                        info.missing_tag_part = true;
                        let _ = write!(out, "{}[{n}]", ctx.tag);
                    }
                },
                Segment::Uuid => out.push_str(ctx.uuid),
                Segment::Index => {
                    let _ = write!(out, "{}", ctx.index);
                }
                Segment::Time(field) => time.write(*field, out),
            }
        }
        let reserved = if self.random_suffix {
            suffix_len(ctx.uuid.len())
        } else {
            0
        };
        info.truncated |= truncate_at_char_boundary(out, MAX_KEY_BYTES.saturating_sub(reserved));
        if self.random_suffix {
            out.push_str(RANDOM_SUFFIX_PREFIX);
            out.push_str(ctx.uuid);
            // Only an oversized caller-supplied uuid can still overflow here.
            info.truncated |= truncate_at_char_boundary(out, MAX_KEY_BYTES);
        }
        info
    }

    /// Part `n` of `tag`, with empty parts skipped like `strtok` does.
    fn tag_part<'t>(&self, tag: &'t str, n: usize) -> Option<&'t str> {
        tag.split(|c: char| self.delimiters.contains(&c))
            .filter(|part| !part.is_empty())
            .nth(n)
    }
}

/// A random string for `$UUID` and the automatic suffix: [`UUID_LEN`] characters of
/// `[0-9a-zA-Z]`, the same alphabet and length Fluent Bit uses.
pub fn random_uuid(rng: &mut Rng) -> String {
    (0..UUID_LEN)
        .map(|_| {
            let max = (UUID_CHARSET.len() - 1) as u64;
            // below_or_eq(61) is at most 61, so the index is in range; the fallback is unreachable.
            let index = usize::try_from(rng.below_or_eq(max)).unwrap_or_default();
            char::from(UUID_CHARSET.get(index).copied().unwrap_or(b'0'))
        })
        .collect()
}

fn suffix_len(uuid_len: usize) -> usize {
    RANDOM_SUFFIX_PREFIX.len() + uuid_len
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// `$TAG`, `$TAG[n]` and the words below; no record fields.
const DIALECT: Dialect = Dialect {
    fields: false,
    captures: false,
    braces: false,
    words: &["UUID", "INDEX", "FILE_PATH", "FILE_NAME"],
};

/// Recognises a variable whose `$` is at byte `i` of `body` (the format after `base` bytes of
/// leading `/`); `None` means the `$` is literal. Returns the segment and its length in bytes.
fn parse_variable(
    body: &str,
    i: usize,
    base: usize,
) -> Result<Option<(Segment, usize)>, KeyTemplateError> {
    let at = base + i;
    let found = lex::variable(body, i, &DIALECT).map_err(|e| match e {
        LexError::BadTagIndex { found, .. } => KeyTemplateError::BadTagIndex { at, found },
        _ => KeyTemplateError::UnclosedTagIndex { at },
    })?;
    let Some((var, end)) = found else {
        return Ok(None);
    };
    let segment = match var {
        Var::Tag => Segment::Tag,
        Var::TagPiece(n) => Segment::TagPart(n),
        Var::Word("UUID") => Segment::Uuid,
        Var::Word("INDEX") => Segment::Index,
        Var::Word(name) => return Err(KeyTemplateError::UnsupportedVariable { at, name }),
        // Not in this dialect.
        Var::Field(_) | Var::Capture(_) => return Ok(None),
    };
    Ok(Some((segment, end - i)))
}

/// Cuts `s` to at most `max` bytes at a character boundary; true if anything was removed.
fn truncate_at_char_boundary(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

#[cfg(test)]
mod tests;
