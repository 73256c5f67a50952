//! Escapes in Onigmo's Ruby syntax (`fetch_token`, `fetch_escaped_value`): class escapes and
//! anchors outside brackets, back-references (`\\1`, `\\k<name>`) or octal bytes, `\\p{...}`,
//! and the escapes that stand for one character (`\\n`, `\\x41`, `\\u00e9`, `\\012`, `\\cA`,
//! `\\M-a`, any other escaped character as itself), with raw bytes joined into UTF-8 characters.

use super::class::{Ctype, Item, Set};
use super::syntax::{Node, Reader, SyntaxError};

impl Reader {
    /// After `\` outside a class.
    pub(super) fn escape(&mut self) -> Result<Node, SyntaxError> {
        let at = self.pos;
        let Some(c) = self.next() else {
            return Err(self.invalid("end pattern at escape"));
        };
        let ascii = self.opts.ascii_range;
        let ctype = |ctype: Ctype, negated: bool| Ok(Node::Set(Set::ctype(ctype, negated, ascii)));
        match c {
            'w' => ctype(Ctype::Word, false),
            'W' => ctype(Ctype::Word, true),
            's' => ctype(Ctype::Space, false),
            'S' => ctype(Ctype::Space, true),
            'd' => ctype(Ctype::Digit, false),
            'D' => ctype(Ctype::Digit, true),
            'h' => ctype(Ctype::XDigit, false),
            'H' => ctype(Ctype::XDigit, true),
            'b' | 'B' => Ok(Node::WordBoundary {
                negated: c == 'B',
                ascii: self.opts.ascii_range && !self.opts.word_bound_all_range,
            }),
            'A' | 'G' => Ok(Node::TextStart),
            'Z' => Ok(Node::SemiTextEnd),
            'z' => Ok(Node::TextEnd),
            'K' => Ok(Node::Keep),
            'R' => Ok(Node::LineBreak),
            'X' => Err(self.unsupported("`\\X` (extended grapheme cluster)")),
            'p' | 'P' if self.peek() == Some('{') => {
                self.pos += 1;
                Ok(Node::Set(property(self, c == 'P')?))
            }
            'k' if matches!(self.peek(), Some('<' | '\'')) => self.named_backref(),
            'g' if matches!(self.peek(), Some('<' | '\'')) => {
                Err(self.unsupported("a subexpression call `\\g<...>`"))
            }
            '1'..='9' => self.numbered_backref_or_octal(c, at),
            _ => {
                self.pos = at;
                self.escaped_char()
            }
        }
    }

    /// `\1`..: a back-reference when the number is at most 9 or names a group opened so far;
    /// else an octal byte, or for `8`/`9` the digit itself (Onigmo, after GNU regex).
    fn numbered_backref_or_octal(&mut self, first: char, at: usize) -> Result<Node, SyntaxError> {
        self.pos = at;
        let n = self.number().ok().flatten().unwrap_or(u32::MAX);
        if n <= 9 || (n as usize) <= self.mems.len() {
            if n as usize > self.mems.len() {
                self.pos = at;
                return Err(self.invalid("invalid backref number/name"));
            }
            self.numbered_backref_at.get_or_insert(at);
            return Ok(Node::Backref(n as usize));
        }
        self.pos = at;
        if matches!(first, '8' | '9') {
            self.pos += 1;
            return Ok(Node::Char(first));
        }
        self.pos = at;
        self.escaped_char()
    }

    /// `\k<name>`, `\k'name'`, `\k<n>`, `\k<-n>` (after `\k`).
    fn named_backref(&mut self) -> Result<Node, SyntaxError> {
        let open = self.next().unwrap_or('<');
        let end = if open == '<' { '>' } else { '\'' };
        let start = self.pos;
        let mut text = String::new();
        loop {
            match self.next() {
                Some(c) if c == end => break,
                None | Some(')') => {
                    self.pos = start;
                    return Err(self.invalid("invalid group name"));
                }
                Some(c) => text.push(c),
            }
        }
        if text.is_empty() {
            return Err(self.invalid("group name is empty"));
        }
        let numeric = text.strip_prefix('-').unwrap_or(&text);
        if numeric.chars().all(|c| c.is_ascii_digit()) {
            let n: usize = numeric.parse().unwrap_or(usize::MAX);
            let n = if text.starts_with('-') {
                (self.mems.len() + 1).saturating_sub(n)
            } else {
                n
            };
            if n == 0 || n > self.mems.len() {
                return Err(self.invalid("invalid backref number/name"));
            }
            self.numbered_backref_at.get_or_insert(start);
            return Ok(Node::Backref(n));
        }
        if text.contains(['+', '-']) {
            return Err(self.unsupported("a back-reference with a nest level"));
        }
        let groups: Vec<usize> = (self.mems.iter().enumerate())
            .filter(|(_, name)| name.as_deref() == Some(text.as_str()))
            .map(|(i, _)| i + 1)
            .collect();
        match groups[..] {
            [] => Err(self.invalid(&format!("undefined name <{text}> reference"))),
            [mem] => Ok(Node::Backref(mem)),
            _ => Err(self.unsupported("a back-reference to a name that several groups have")),
        }
    }

    /// A character from an escape that is neither a class nor an anchor: `\n`, `\x41`,
    /// `\u00e9`, `\012`, `\cA`, `\C-a`, or an escaped character standing for itself. Raw bytes
    /// (`\xHH`, octal) of one UTF-8 character are joined as Onigmo joins them.
    fn escaped_char(&mut self) -> Result<Node, SyntaxError> {
        match escape_value(self)? {
            Value::Char(c) => Ok(Node::Char(c)),
            Value::Byte(b) => Ok(Node::Char(join_raw_bytes(self, b)?)),
        }
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
