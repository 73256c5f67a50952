//! The one lexer of every template dialect: what a `$` starts.
//!
//! Recognised, in this order, as far as the dialect allows:
//! - `$0`..`$9`: a regex capture (`captures`).
//! - `$TAG[n]` and `$TAG` (always; `$TAG` is a prefix, so `$TAGS` is the tag then `S`).
//! - `${key}`: a top-level record key (`braces`).
//! - one of the dialect's `words` (`$UUID`, `$INDEX`), also as prefixes.
//! - `$key['sub'][0]`: a record accessor (`fields`): the name is `[A-Za-z_][A-Za-z0-9_]*` and
//!   ends at the first other character, subscripts walk maps and arrays.
//!
//! Anything else leaves the `$` literal. Pure; never panics, whatever the text.

use crate::msgpack::accessor::{AccessorError, RecordAccessor, find_byte, parse_index};

/// Which variables a dialect has.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// `$key`, `$key['sub'][0]`.
    pub fields: bool,
    /// `$0`..`$9`.
    pub captures: bool,
    /// `${key}`.
    pub braces: bool,
    /// Named variables without subscripts, written without the `$` (`UUID`, `INDEX`).
    pub words: &'static [&'static str],
}

/// A variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    Tag,
    TagPiece(usize),
    Field(RecordAccessor),
    Capture(usize),
    Word(&'static str),
}

/// Why a variable cannot be read; offsets are bytes into the text given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexError {
    /// `$TAG[` (the `$` at `dollar`, the `[` at `bracket`) has no `]`.
    UnclosedTagIndex { dollar: usize, bracket: usize },
    /// `$TAG[found]` where `found` is not a non-negative integer.
    BadTagIndex {
        dollar: usize,
        bracket: usize,
        found: String,
    },
    /// `${` at `dollar` has no `}`.
    UnclosedBrace { dollar: usize },
    /// `${}` at `dollar`.
    EmptyBrace { dollar: usize },
    /// A record accessor's subscripts are malformed.
    Accessor(AccessorError),
}

/// Reads the variable whose `$` is at byte `at` of `text`: the variable and the byte after it, or
/// `None` when the `$` is literal.
pub fn variable(text: &str, at: usize, d: &Dialect) -> Result<Option<(Var, usize)>, LexError> {
    let b = text.as_bytes();
    let name = at + 1;
    let rest = text.get(name..).unwrap_or_default();
    match b.get(name) {
        Some(c) if d.captures && c.is_ascii_digit() => {
            return Ok(Some((Var::Capture(usize::from(c - b'0')), name + 1)));
        }
        _ if rest.starts_with("TAG") => return tag(b, at, name + 3).map(Some),
        Some(b'{') if d.braces => {
            let close = find_byte(b, name, b'}').ok_or(LexError::UnclosedBrace { dollar: at })?;
            let key = &b[name + 1..close];
            if key.is_empty() {
                return Err(LexError::EmptyBrace { dollar: at });
            }
            return Ok(Some((
                Var::Field(RecordAccessor::top_level(key)),
                close + 1,
            )));
        }
        _ => {}
    }
    if let Some(word) = d.words.iter().find(|w| rest.starts_with(**w)) {
        return Ok(Some((Var::Word(word), name + word.len())));
    }
    match b.get(name) {
        Some(c) if d.fields && (c.is_ascii_alphabetic() || *c == b'_') => {
            let (accessor, end) =
                RecordAccessor::parse_embedded(b, name).map_err(LexError::Accessor)?;
            Ok(Some((Var::Field(accessor), end)))
        }
        _ => Ok(None),
    }
}

/// `pos` is just after `$TAG` (whose `$` is at `dollar`): `$TAG[n]` or the whole tag.
fn tag(b: &[u8], dollar: usize, pos: usize) -> Result<(Var, usize), LexError> {
    if b.get(pos) != Some(&b'[') {
        return Ok((Var::Tag, pos));
    }
    let close = find_byte(b, pos + 1, b']').ok_or(LexError::UnclosedTagIndex {
        dollar,
        bracket: pos,
    })?;
    let inner = &b[pos + 1..close];
    match parse_index(inner) {
        Some(n) => Ok((Var::TagPiece(n), close + 1)),
        None => Err(LexError::BadTagIndex {
            dollar,
            bracket: pos,
            found: String::from_utf8_lossy(inner).into_owned(),
        }),
    }
}

/// A template split into literal text and variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Var(Var),
}

/// Splits `text` into pieces (adjacent literal text joined, no empty literal).
pub fn split(text: &str, d: &Dialect) -> Result<Vec<Piece>, LexError> {
    let mut pieces = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while let Some(at) = find_byte(text.as_bytes(), i, b'$') {
        let Some((var, end)) = variable(text, at, d)? else {
            i = at + 1;
            continue;
        };
        // `$` and the syntax bytes are ASCII, so these offsets are char boundaries.
        if literal_start < at {
            pieces.push(Piece::Literal(text[literal_start..at].to_owned()));
        }
        pieces.push(Piece::Var(var));
        i = end;
        literal_start = end;
    }
    if literal_start < text.len() {
        pieces.push(Piece::Literal(text[literal_start..].to_owned()));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Dialect = Dialect {
        fields: true,
        captures: true,
        braces: true,
        words: &["UUID"],
    };
    const NONE: Dialect = Dialect {
        fields: false,
        captures: false,
        braces: false,
        words: &[],
    };

    fn vars(text: &str, d: &Dialect) -> Vec<Piece> {
        split(text, d).unwrap()
    }

    #[test]
    fn each_dialect_reads_only_its_variables() {
        let text = "$1-${k}-$UUIDx-$name-$TAG[1]-$TAGS";
        let lit = |s: &str| Piece::Literal(s.to_owned());
        assert_eq!(
            vars(text, &ALL),
            [
                Piece::Var(Var::Capture(1)),
                lit("-"),
                Piece::Var(Var::Field(RecordAccessor::top_level(b"k"))),
                lit("-"),
                Piece::Var(Var::Word("UUID")),
                lit("x-"),
                Piece::Var(Var::Field(RecordAccessor::top_level(b"name"))),
                lit("-"),
                Piece::Var(Var::TagPiece(1)),
                lit("-"),
                Piece::Var(Var::Tag),
                lit("S"),
            ]
        );
        assert_eq!(
            vars(text, &NONE),
            [
                lit("$1-${k}-$UUIDx-$name-"),
                Piece::Var(Var::TagPiece(1)),
                lit("-"),
                Piece::Var(Var::Tag),
                lit("S"),
            ]
        );
        assert_eq!(vars("$$ $ $5 ${", &NONE), [lit("$$ $ $5 ${")]);
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(
            split("ab$TAG[1", &NONE),
            Err(LexError::UnclosedTagIndex {
                dollar: 2,
                bracket: 6
            })
        );
        assert_eq!(
            split("$TAG[-1]", &NONE),
            Err(LexError::BadTagIndex {
                dollar: 0,
                bracket: 4,
                found: "-1".to_owned()
            })
        );
        assert_eq!(
            split("x${a", &ALL),
            Err(LexError::UnclosedBrace { dollar: 1 })
        );
        assert_eq!(split("${}", &ALL), Err(LexError::EmptyBrace { dollar: 0 }));
        assert!(matches!(split("$a['b", &ALL), Err(LexError::Accessor(_))));
    }

    #[test]
    fn never_panics_on_any_text() {
        for text in [
            "$",
            "$T",
            "$TA",
            "$TAG[",
            "$TAG[]",
            "é$TAG[é]",
            "${é}",
            "$é",
            "$_",
        ] {
            let _ = split(text, &ALL);
            let _ = split(text, &NONE);
        }
    }
}
