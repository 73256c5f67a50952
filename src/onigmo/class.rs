//! Character classes as read from Onigmo's Ruby syntax (bracket classes, see `bracket.rs`; the
//! class escapes `\d`... ASCII by default; POSIX brackets and `\p{...}` Unicode) and how each is
//! written for the Rust engines.
//!
//! Invariant: a [`Set`] is written as a class the `regex` crate reads with the same members
//! (ranges of characters, Unicode properties, nested classes, intersections).

use std::fmt::Write as _;

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
    pub(super) fn syntax(self, ascii: bool) -> &'static str {
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
    pub(super) fn from_name(name: &str) -> Option<Self> {
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
    pub(super) negated: bool,
    pub(super) parts: Vec<Vec<Item>>,
}

impl Set {
    pub(super) fn of(item: Item, negated: bool) -> Self {
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
