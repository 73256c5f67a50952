//! Bracket classes, read with Onigmo's own state machine (`parse_char_class`,
//! `fetch_token_in_cc`): where a `-` is a range and where a literal, `[]a]`, `&&`, nested
//! classes, POSIX brackets.

use super::class::{Ctype, Item, Set};
use super::escape::{Value, escape_value, join_raw_bytes, property};
use super::syntax::{Reader, SyntaxError};

/// A token inside brackets (Onigmo's `fetch_token_in_cc`).
enum Tok {
    Char(char),
    Byte(u8),
    Close,
    Range,
    Class(Item),
    Posix,
    Open,
    And,
    End,
}

fn token(r: &mut Reader) -> Result<Tok, SyntaxError> {
    let Some(c) = r.next() else {
        return Ok(Tok::End);
    };
    Ok(match c {
        ']' => Tok::Close,
        '-' => Tok::Range,
        '\\' => {
            let ctype = match r.peek() {
                None => return Err(r.invalid("end pattern at escape")),
                Some('w') => Some((Ctype::Word, false)),
                Some('W') => Some((Ctype::Word, true)),
                Some('d') => Some((Ctype::Digit, false)),
                Some('D') => Some((Ctype::Digit, true)),
                Some('s') => Some((Ctype::Space, false)),
                Some('S') => Some((Ctype::Space, true)),
                Some('h') => Some((Ctype::XDigit, false)),
                Some('H') => Some((Ctype::XDigit, true)),
                Some(_) => None,
            };
            if let Some((ctype, negated)) = ctype {
                r.pos += 1;
                let set = Set::ctype(ctype, negated, r.opts.ascii_range);
                return Ok(Tok::Class(Item::Nested(set)));
            }
            if let Some(p @ ('p' | 'P')) = r.peek()
                && r.peek_at(1) == Some('{')
            {
                r.pos += 2;
                return Ok(Tok::Class(Item::Nested(property(r, p == 'P')?)));
            }
            match escape_value(r)? {
                Value::Char(c) => Tok::Char(c),
                Value::Byte(b) => Tok::Byte(b),
            }
        }
        '[' if r.peek() == Some(':') && posix_close_ahead(&r.rest()[1..]) => {
            r.pos += 1;
            Tok::Posix
        }
        '[' => Tok::Open,
        '&' if r.eat('&') => Tok::And,
        c => Tok::Char(c),
    })
}

/// Whether `:]` comes before an unescaped `]` (Onigmo's `str_exist_check_with_esc`).
fn posix_close_ahead(rest: &[char]) -> bool {
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            ':' if rest.get(i + 1) == Some(&']') => return true,
            ']' => return false,
            '\\' => i += 2,
            _ => i += 1,
        }
    }
    false
}

/// After `[:`: a POSIX bracket's set, or `None` when the text is not one (then the `[` was a
/// literal and the reader is back after it).
fn posix_bracket(r: &mut Reader) -> Result<Option<Set>, SyntaxError> {
    let start = r.pos;
    let negated = r.eat('^');
    if r.rest().len() >= 7 {
        let rest: String = r.rest().iter().take(8).collect();
        for name in [
            "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
            "space", "upper", "xdigit", "ascii", "word",
        ] {
            if rest.starts_with(name) {
                r.pos += name.chars().count();
                if !r.rest().starts_with(&[':', ']']) {
                    return Err(r.invalid("invalid POSIX bracket type"));
                }
                r.pos += 2;
                let ctype = Ctype::from_name(name).unwrap_or(Ctype::Ascii);
                let ascii = r.opts.posix_ascii();
                return Ok(Some(Set::of(
                    Item::Syntax(ctype.syntax(ascii).to_owned()),
                    negated,
                )));
            }
        }
    }
    // Not a known name: an error if it still looks like `[:name:]`, else a plain `[`.
    let mut i = 0;
    while let Some(c) = r.peek().filter(|c| *c != ':' && *c != ']') {
        let _ = c;
        r.pos += 1;
        i += 1;
        if i > 20 {
            break;
        }
    }
    if r.peek() == Some(':') && r.peek_at(1) == Some(']') {
        return Err(r.invalid("invalid POSIX bracket type"));
    }
    // Back to just after the `[`: its `:` is read as a character.
    r.pos = start - 1;
    Ok(None)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Value,
    Range,
    Complete,
}

/// The class after its `[`, up to and including the closing `]`.
pub(super) fn parse(r: &mut Reader) -> Result<Set, SyntaxError> {
    r.enter()?;
    let mut tok = token(r)?;
    let negated = matches!(tok, Tok::Char('^'));
    if negated {
        tok = token(r)?;
    }
    if matches!(tok, Tok::Close) {
        // `[]...]`: a `]` first is a literal if another `]` follows.
        if !posix_like_close_ahead(r.rest()) {
            return Err(r.invalid("empty char-class"));
        }
        tok = Tok::Char(']');
    }
    let mut parts: Vec<Vec<Item>> = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    let mut state = State::Start;
    // The pending value (a character waiting to see whether a `-` follows), or a class.
    let mut pending: Option<char> = None;
    loop {
        let mut fetched = None;
        match tok {
            Tok::Close => break,
            Tok::End => return Err(r.invalid("premature end of char-class")),
            Tok::Char(c) => value(r, c, &mut state, &mut pending, &mut items)?,
            Tok::Byte(b) => {
                let c = join_raw_bytes(r, b)?;
                value(r, c, &mut state, &mut pending, &mut items)?;
            }
            Tok::Posix => match posix_bracket(r)? {
                Some(set) => {
                    items.push(Item::Nested(set));
                    class_value(r, &mut state, &mut pending, &mut items)?;
                }
                None => value(r, '[', &mut state, &mut pending, &mut items)?,
            },
            Tok::Class(item) => {
                items.push(item);
                class_value(r, &mut state, &mut pending, &mut items)?;
            }
            Tok::Range => match state {
                State::Value => {
                    let next = token(r)?;
                    if matches!(next, Tok::Close | Tok::And) {
                        value(r, '-', &mut state, &mut pending, &mut items)?;
                    } else if pending.is_none() {
                        return Err(r.invalid("unmatched range specifier in char-class"));
                    } else {
                        state = State::Range;
                    }
                    fetched = Some(next);
                }
                State::Start => {
                    let next = token(r)?;
                    value(r, '-', &mut state, &mut pending, &mut items)?;
                    fetched = Some(next);
                }
                // `[!--x]`: the `-` is the end of the range.
                State::Range => value(r, '-', &mut state, &mut pending, &mut items)?,
                // `[a-b-]`, `[0-9-a]`: a literal `-`.
                State::Complete => {
                    let next = token(r)?;
                    value(r, '-', &mut state, &mut pending, &mut items)?;
                    fetched = Some(next);
                }
            },
            Tok::Open => items.push(Item::Nested(parse(r)?)),
            Tok::And => {
                if state == State::Value
                    && let Some(c) = pending.take()
                {
                    items.push(Item::Range(c, c));
                }
                parts.push(std::mem::take(&mut items));
                state = State::Start;
                pending = None;
            }
        }
        tok = match fetched {
            Some(t) => t,
            None => token(r)?,
        };
    }
    if state == State::Value
        && let Some(c) = pending.take()
    {
        items.push(Item::Range(c, c));
    }
    parts.push(items);
    r.leave();
    Ok(Set { negated, parts })
}

/// Onigmo's `code_exist_check(']')`: an unescaped `]` somewhere after.
fn posix_like_close_ahead(rest: &[char]) -> bool {
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            ']' => return true,
            '\\' => i += 2,
            _ => i += 1,
        }
    }
    false
}

/// Onigmo's `next_state_val` for a character `c`.
fn value(
    r: &Reader,
    c: char,
    state: &mut State,
    pending: &mut Option<char>,
    items: &mut Vec<Item>,
) -> Result<(), SyntaxError> {
    match *state {
        State::Value => {
            if let Some(p) = pending.take() {
                items.push(Item::Range(p, p));
            }
        }
        State::Range => {
            let from = pending.take().unwrap_or(c);
            if from > c {
                return Err(r.invalid("empty range in char class"));
            }
            items.push(Item::Range(from, c));
            *state = State::Complete;
            *pending = Some(c);
            return Ok(());
        }
        State::Start | State::Complete => *state = State::Value,
    }
    *pending = Some(c);
    Ok(())
}

/// Onigmo's `next_state_class`: a class item was added.
fn class_value(
    r: &Reader,
    state: &mut State,
    pending: &mut Option<char>,
    items: &mut Vec<Item>,
) -> Result<(), SyntaxError> {
    if *state == State::Range {
        return Err(r.invalid("char-class value at end of range"));
    }
    if *state == State::Value
        && let Some(p) = pending.take()
    {
        items.push(Item::Range(p, p));
    }
    *state = State::Value;
    *pending = None;
    Ok(())
}

#[cfg(test)]
mod tests;
