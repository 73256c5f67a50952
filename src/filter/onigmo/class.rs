//! Character classes in Onigmo's Ruby syntax: bracket classes read with Onigmo's own state
//! machine (`parse_char_class`: where a `-` is a range and where a literal, `[]a]`, `&&`,
//! nested classes, POSIX brackets), the class escapes (`\d` ... ASCII by default, POSIX brackets
//! and `\p{...}` Unicode), the escapes that stand for one character, and how each is written for
//! the Rust engines.
//!
//! Invariant: a [`Set`] is written as a class the `regex` crate reads with the same members
//! (ranges of characters, Unicode properties, nested classes, intersections).

use std::fmt::Write as _;

use super::syntax::{Reader, SyntaxError};

/// A class escape's or POSIX bracket's character type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctype {
    Word,
    Digit,
    Space,
    XDigit,
    Alnum,
    Alpha,
    Blank,
    Cntrl,
    Graph,
    Lower,
    Print,
    Punct,
    Upper,
    Ascii,
}

impl Ctype {
    /// The members as a Rust class item, ASCII only or Unicode as Onigmo defines them
    /// (`enc/unicode/name2ctype.h`: `Alpha` is `Alphabetic`, `Punct` is `gc=P`, `Cntrl` is
    /// `gc=Cc`, `Space` is `White_Space`...). `\h` and `[:xdigit:]` are ASCII either way.
    fn syntax(self, ascii: bool) -> &'static str {
        use Ctype::*;
        match (self, ascii) {
            (Word, true) => "[0-9A-Za-z_]",
            (Word, false) => r"\w",
            (Digit, true) => "[0-9]",
            (Digit, false) => r"\d",
            (Space, true) => r"[\t\n\x0B\x0C\r ]",
            (Space, false) => r"\s",
            (XDigit, _) => "[0-9A-Fa-f]",
            (Alnum, true) => "[0-9A-Za-z]",
            (Alnum, false) => r"[\p{Alphabetic}\p{Nd}]",
            (Alpha, true) => "[A-Za-z]",
            (Alpha, false) => r"\p{Alphabetic}",
            (Blank, true) => r"[\t ]",
            (Blank, false) => r"[\t\p{Zs}]",
            (Cntrl, true) => r"[\x00-\x1F\x7F]",
            (Cntrl, false) => r"\p{Cc}",
            (Graph, true) => "[!-~]",
            (Graph, false) => r"[^\s\p{Cc}\p{Cn}\p{Cs}]",
            (Lower, true) => "[a-z]",
            (Lower, false) => r"\p{Lowercase}",
            (Print, true) => "[ -~]",
            (Print, false) => r"[[^\s\p{Cc}\p{Cn}\p{Cs}]\p{Zs}]",
            (Punct, true) => r"[!-#%-*,-/:;?@\[-\]_{}]",
            (Punct, false) => r"\p{P}",
            (Upper, true) => "[A-Z]",
            (Upper, false) => r"\p{Uppercase}",
            (Ascii, _) => r"[\x00-\x7F]",
        }
    }

    /// A POSIX bracket or property name (`alpha`, `XDigit`...), compared as Onigmo does.
    fn from_name(name: &str) -> Option<Self> {
        use Ctype::*;
        Some(match name {
            "alnum" => Alnum,
            "alpha" => Alpha,
            "blank" => Blank,
            "cntrl" => Cntrl,
            "digit" => Digit,
            "graph" => Graph,
            "lower" => Lower,
            "print" => Print,
            "punct" => Punct,
            "space" => Space,
            "upper" => Upper,
            "xdigit" => XDigit,
            "ascii" => Ascii,
            "word" => Word,
            _ => return None,
        })
    }
}

/// One member of a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Item {
    Range(char, char),
    /// A Rust class item (`[0-9]`, `\p{Greek}`, `[^\s]`).
    Syntax(String),
    Nested(Set),
}

/// A class: the intersection of `parts` (`&&`), each the union of its items, maybe negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Set {
    negated: bool,
    parts: Vec<Vec<Item>>,
}

impl Set {
    fn of(item: Item, negated: bool) -> Self {
        Self {
            negated,
            parts: vec![vec![item]],
        }
    }

    /// `\d`, `\W`... with `ascii` from the options in force.
    pub fn ctype(ctype: Ctype, negated: bool, ascii: bool) -> Self {
        Self::of(Item::Syntax(ctype.syntax(ascii).to_owned()), negated)
    }

    /// Writes the class in the `regex` crate's syntax.
    pub fn write(&self, out: &mut String) {
        if let ([part], false) = (&self.parts[..], self.negated)
            && let [Item::Syntax(s)] = &part[..]
        {
            out.push_str(s);
            return;
        }
        out.push('[');
        if self.negated {
            out.push('^');
        }
        if let [part] = &self.parts[..] {
            write_items(part, out);
        } else {
            for (i, part) in self.parts.iter().enumerate() {
                if i > 0 {
                    out.push_str("&&");
                }
                out.push('[');
                write_items(part, out);
                out.push(']');
            }
        }
        out.push(']');
    }
}

fn write_items(items: &[Item], out: &mut String) {
    if items.is_empty() {
        // Nothing: an empty class, which the regex crate writes as an empty intersection.
        out.push_str("a&&b");
        return;
    }
    for item in items {
        match item {
            Item::Range(a, b) if a == b => push_literal(*a, out),
            Item::Range(a, b) => {
                push_literal(*a, out);
                out.push('-');
                push_literal(*b, out);
            }
            Item::Syntax(s) => out.push_str(s),
            Item::Nested(set) => {
                let mut inner = String::new();
                set.write(&mut inner);
                if inner.starts_with('[') {
                    out.push_str(&inner);
                } else {
                    let _ = write!(out, "[{inner}]");
                }
            }
        }
    }
}

/// Writes `c` so that both engines read it as that one character, in or out of a class.
pub(super) fn push_literal(c: char, out: &mut String) {
    if r"\.+*?()|[]{}^$#&-~".contains(c) {
        out.push('\\');
        out.push(c);
    } else if c == ' ' || !(c.is_control() || c.is_whitespace()) {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", u32::from(c));
    }
}

/// What an escape for one character gave.
pub(super) enum Value {
    Char(char),
    /// `\xHH` or an octal escape: a byte, joined with the next into one UTF-8 character.
    Byte(u8),
}

/// After `\` (at the position of the character after it): an escape standing for one character,
/// as Onigmo's `fetch_token` reads the ones it does not treat specially.
pub(super) fn escape_value(r: &mut Reader) -> Result<Value, SyntaxError> {
    let Some(c) = r.next() else {
        return Err(r.invalid("end pattern at escape"));
    };
    match c {
        'x' if r.peek() == Some('{') => {
            let save = r.pos;
            r.pos += 1;
            let digits = hex_digits(r, 8);
            if r.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                return Err(r.invalid("too long wide char value"));
            }
            if !digits.is_empty() && r.eat('}') {
                return code_point(r, u32::from_str_radix(&digits, 16).unwrap_or(u32::MAX));
            }
            // Not `\x{HEX}`: the `x` stands for itself and `{` is read next.
            r.pos = save;
            Ok(Value::Char('x'))
        }
        'x' => Ok(Value::Byte(
            u8::from_str_radix(&hex_digits(r, 2), 16).unwrap_or(0),
        )),
        'u' if r.peek().is_some() => {
            let digits = hex_digits(r, 4);
            if digits.len() < 4 {
                return Err(r.invalid("too short digits"));
            }
            code_point(r, u32::from_str_radix(&digits, 16).unwrap_or(u32::MAX))
        }
        '0'..='7' => {
            r.pos -= 1;
            let mut n = 0u32;
            for _ in 0..3 {
                match r.peek().and_then(|c| c.to_digit(8)) {
                    Some(d) => {
                        n = n * 8 + d;
                        r.pos += 1;
                    }
                    None => break,
                }
            }
            u8::try_from(n)
                .map(Value::Byte)
                .map_err(|_| r.invalid("too big number"))
        }
        'M' => {
            if r.next() != Some('-') {
                return Err(r.invalid("invalid meta-code syntax"));
            }
            let v = escaped_or_next(r)?;
            code_point(r, (v & 0xff) | 0x80)
        }
        'C' => {
            if r.next() != Some('-') {
                return Err(r.invalid("invalid control-code syntax"));
            }
            control(r)
        }
        'c' => control(r),
        'n' => Ok(Value::Char('\n')),
        't' => Ok(Value::Char('\t')),
        'r' => Ok(Value::Char('\r')),
        'f' => Ok(Value::Char('\x0C')),
        'a' => Ok(Value::Char('\x07')),
        'b' => Ok(Value::Char('\x08')),
        'e' => Ok(Value::Char('\x1B')),
        'v' => Ok(Value::Char('\x0B')),
        // Any other escaped character stands for itself (Onigmo warns for letters).
        c => Ok(Value::Char(c)),
    }
}

/// `\cX` / `\C-X` after the prefix.
fn control(r: &mut Reader) -> Result<Value, SyntaxError> {
    if r.eat('?') {
        return Ok(Value::Char('\x7F'));
    }
    let v = escaped_or_next(r)?;
    code_point(r, v & 0x9f)
}

/// The next character, or the value of an escape there (for `\M-\C-x` and the like).
fn escaped_or_next(r: &mut Reader) -> Result<u32, SyntaxError> {
    match r.next() {
        None => Err(r.invalid("end pattern at control")),
        Some('\\') => match escape_value(r)? {
            Value::Char(c) => Ok(u32::from(c)),
            Value::Byte(b) => Ok(u32::from(b)),
        },
        Some(c) => Ok(u32::from(c)),
    }
}

fn code_point(r: &Reader, v: u32) -> Result<Value, SyntaxError> {
    char::from_u32(v)
        .map(Value::Char)
        .ok_or_else(|| r.invalid("invalid code point value"))
}

fn hex_digits(r: &mut Reader, max: usize) -> String {
    let mut s = String::new();
    while s.len() < max
        && let Some(c) = r.peek().filter(char::is_ascii_hexdigit)
    {
        s.push(c);
        r.pos += 1;
    }
    s
}

/// Joins raw bytes written as escapes (`\xE2\x82\xAC`) into the UTF-8 character they encode,
/// reading the escapes after `first` as Onigmo does (they must follow at once).
pub(super) fn join_raw_bytes(r: &mut Reader, first: u8) -> Result<char, SyntaxError> {
    let len = match first {
        0x00..=0x7F => return Ok(char::from(first)),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return Err(r.unsupported(&format!("a byte `\\x{first:02X}` that is not UTF-8"))),
    };
    let mut bytes = vec![first];
    while bytes.len() < len {
        let save = r.pos;
        let byte = if r.eat('\\') && matches!(r.peek(), Some('x' | '0'..='7')) {
            match escape_value(r)? {
                Value::Byte(b) => Some(b),
                Value::Char(_) => None,
            }
        } else {
            None
        };
        match byte {
            Some(b) => bytes.push(b),
            None => {
                r.pos = save;
                return Err(r.invalid("too short multibyte code string"));
            }
        }
    }
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.chars().next())
        .ok_or_else(|| r.unsupported("escaped bytes that are not UTF-8"))
}

/// `\p{...}` / `\P{...}` after the `{`.
pub(super) fn property(r: &mut Reader, negated: bool) -> Result<Set, SyntaxError> {
    let negated = negated != r.eat('^');
    let mut name = String::new();
    loop {
        match r.next() {
            None => return Err(r.invalid("invalid character property name")),
            Some('}') => break,
            Some('(' | ')' | '{' | '|') => return Err(r.invalid("invalid character property name")),
            Some(c) => name.push(c),
        }
    }
    let loose: String = (name.chars())
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    let item = match Ctype::from_name(&loose) {
        Some(ctype) => ctype.syntax(false).to_owned(),
        None if loose == "any" => r"[\x{0}-\x{10FFFF}]".to_owned(),
        None if loose == "assigned" => r"\P{Cn}".to_owned(),
        None if name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _-=.".contains(c)) =>
        {
            format!(r"\p{{{name}}}")
        }
        None => return Err(r.invalid("invalid character property name")),
    };
    Ok(Set::of(Item::Syntax(item), negated))
}

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
#[path = "class_tests.rs"]
mod tests;
