//! Reads a pattern in Onigmo's Ruby syntax (`ONIG_SYNTAX_RUBY`, UTF-8: what Fluent Bit compiles)
//! into a [`Tree`], following Onigmo's own parser (`regparse.c`: `fetch_token`, `parse_exp`,
//! `parse_enclose`, `fetch_range_quantifier`) rule by rule, so that a pattern means here what it
//! means in Fluent Bit: a `{` that does not start a valid interval is a literal, `{,n}` is
//! `{0,n}`, `x{n}?` is an optional `x{n}` (not a lazy one), `\h` is a hex digit, `\<` is `<`, an
//! unknown escape is the letter itself, `(?m)` is "dot matches newline", `(?i)` with no colon
//! covers the rest of its group including later alternatives, and with a named group in the
//! pattern plain groups do not capture.
//!
//! Invariants: the tree says what to match, not how to write it for an engine (that is
//! `emit.rs`); flags that only change how the pattern is read (`x`, `a`/`u`/`d`) are applied here,
//! and `m` is resolved on each `.`; only `i` stays in the tree, as a scope.

use super::bracket;
use super::class::Set;

/// Onigmo's largest repeat count (`ONIG_MAX_REPEAT_NUM`).
const MAX_REPEAT: u32 = 100_000;
/// Deepest nesting of groups and classes (Onigmo's `ParseDepthLimit` is 4096; ours guards the
/// recursion of this parser).
const MAX_DEPTH: usize = 256;

/// The options in force at a point of the pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Options {
    pub ignore_case: bool,
    /// Ruby's `m`: `.` matches a newline.
    pub dotall: bool,
    /// `x`: whitespace and `#` comments outside classes are ignored.
    pub extended: bool,
    /// `\d`, `\s`, `\w` (and `\h`) are ASCII only (Ruby's default).
    pub ascii_range: bool,
    /// POSIX brackets are Unicode even when `ascii_range` is on (Ruby's default).
    pub posix_all_range: bool,
    /// `\b` is a Unicode word boundary even when `ascii_range` is on (Ruby's default).
    pub word_bound_all_range: bool,
}

impl Options {
    /// Ruby syntax's defaults (`ONIG_OPTION_ASCII_RANGE | POSIX_BRACKET_ALL_RANGE |
    /// WORD_BOUND_ALL_RANGE`) plus the `/.../imx` flags Fluent Bit read.
    pub fn ruby(ignore_case: bool, dotall: bool, extended: bool) -> Self {
        Self {
            ignore_case,
            dotall,
            extended,
            ascii_range: true,
            posix_all_range: true,
            word_bound_all_range: true,
        }
    }

    /// Whether POSIX brackets are ASCII only here.
    pub fn posix_ascii(&self) -> bool {
        self.ascii_range && !self.posix_all_range
    }
}

/// How a quantifier repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Greed {
    Greedy,
    Lazy,
    /// `*+`, `++`, `?+`: no backtracking into the repeat.
    Possessive,
}

/// What a group does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GroupKind {
    /// A capturing group: `mem` counts every `(` and `(?<name>` from 1, as Onigmo numbers them
    /// while parsing; whether a plain one captures is decided once the whole pattern is read.
    Capture {
        mem: usize,
        name: Option<String>,
    },
    NonCapture,
    Atomic,
    LookAhead {
        negated: bool,
    },
    LookBehind {
        negated: bool,
    },
}

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    Empty,
    Char(char),
    /// A class: bracket, `\d`-like or `\p{...}`.
    Set(Set),
    /// `.`; `dotall` from `m`.
    Any {
        dotall: bool,
    },
    /// `^`: start of a line (after any `\n`, but not at the very end of the text).
    LineStart,
    /// `$`: end of a line (before any `\n`, or at the end).
    LineEnd,
    /// `\A`, and `\G` (Fluent Bit always searches from the start).
    TextStart,
    /// `\z`.
    TextEnd,
    /// `\Z`: the end, or before a final `\n`.
    SemiTextEnd,
    WordBoundary {
        negated: bool,
        ascii: bool,
    },
    /// `\K`: the reported match starts here.
    Keep,
    /// `\R`: a line break, `\r\n` taken whole.
    LineBreak,
    /// `\1`, `\k<name>`: the `mem` number of the group.
    Backref(usize),
    Group {
        kind: GroupKind,
        body: Box<Node>,
    },
    Repeat {
        body: Box<Node>,
        min: u32,
        max: Option<u32>,
        greed: Greed,
    },
    /// `(?i)` / `(?-i)` in force for `body`.
    IgnoreCase {
        on: bool,
        body: Box<Node>,
    },
    Concat(Vec<Node>),
    Alt(Vec<Node>),
}

impl Node {
    /// Onigmo refuses a quantifier on an anchor (`^*`, `\b+`, `(?=a)?`).
    fn is_anchor(&self) -> bool {
        matches!(
            self,
            Node::LineStart
                | Node::LineEnd
                | Node::TextStart
                | Node::TextEnd
                | Node::SemiTextEnd
                | Node::WordBoundary { .. }
                | Node::Keep
                | Node::Group {
                    kind: GroupKind::LookAhead { .. } | GroupKind::LookBehind { .. },
                    ..
                }
        )
    }
}

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tree {
    pub root: Node,
    /// True when the pattern has a named group: then only named groups capture.
    pub named: bool,
}

/// Why a pattern cannot be used. Messages follow Onigmo's where it refuses the pattern too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// Fluent Bit (Onigmo) refuses the pattern as well.
    #[error("{message} (at character {at})")]
    Invalid { message: String, at: usize },
    /// Onigmo accepts it, firelane does not support it.
    #[error("{what} is not supported by firelane (at character {at})")]
    Unsupported { what: String, at: usize },
}

/// Reads `pattern` (without `/.../` delimiters) with `options` in force at its start.
pub(super) fn parse(pattern: &str, options: Options) -> Result<Tree, SyntaxError> {
    let mut p = Reader {
        chars: pattern.chars().collect(),
        pos: 0,
        opts: options,
        mems: Vec::new(),
        depth: 0,
        numbered_backref_at: None,
    };
    let root = p.alternation(false)?;
    if p.pos < p.chars.len() {
        return Err(p.invalid("unmatched close parenthesis"));
    }
    // An `i` flag from `/.../i` is in force from the start: the tree carries it as a scope.
    let root = if options.ignore_case {
        Node::IgnoreCase {
            on: true,
            body: Box::new(root),
        }
    } else {
        root
    };
    let named = p.mems.iter().any(Option::is_some);
    if named && let Some(at) = p.numbered_backref_at {
        return Err(SyntaxError::Invalid {
            message: "numbered backref/call is not allowed. (use name)".into(),
            at,
        });
    }
    Ok(Tree { root, named })
}

/// What one expression turned out to be.
pub(super) enum Exp {
    Atom(Node),
    /// An option-only group `(?i)`: it took the rest of the enclosing group.
    RestOfGroup(Node),
}

pub(super) struct Reader {
    pub(super) chars: Vec<char>,
    pub(super) pos: usize,
    pub(super) opts: Options,
    /// Name of each group by `mem` number - 1 (`None` for a plain group).
    pub(super) mems: Vec<Option<String>>,
    pub(super) depth: usize,
    /// Where the first numbered back-reference is (refused once a named group exists).
    pub(super) numbered_backref_at: Option<usize>,
}

impl Reader {
    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    pub(super) fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    pub(super) fn eat(&mut self, c: char) -> bool {
        let yes = self.peek() == Some(c);
        if yes {
            self.pos += 1;
        }
        yes
    }

    /// The characters from the current position on.
    pub(super) fn rest(&self) -> &[char] {
        &self.chars[self.pos.min(self.chars.len())..]
    }

    pub(super) fn invalid(&self, message: &str) -> SyntaxError {
        SyntaxError::Invalid {
            message: message.to_owned(),
            at: self.pos,
        }
    }

    pub(super) fn unsupported(&self, what: &str) -> SyntaxError {
        SyntaxError::Unsupported {
            what: what.to_owned(),
            at: self.pos,
        }
    }

    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub(super) fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.invalid("parse depth limit over"));
        }
        Ok(())
    }

    /// Skips what `fetch_token` skips before a token: `(?#...)` comments, and with `x`
    /// whitespace and `#` comments to the end of the line.
    fn skip_trivia(&mut self) -> Result<(), SyntaxError> {
        loop {
            if self.rest().starts_with(&['(', '?', '#']) {
                self.pos += 3;
                loop {
                    match self.next() {
                        None => return Err(self.invalid("end pattern in group")),
                        Some('\\') => {
                            self.next();
                        }
                        Some(')') => break,
                        Some(_) => {}
                    }
                }
            } else if self.opts.extended
                && matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r' | '\x0c'))
            {
                self.pos += 1;
            } else if self.opts.extended && self.peek() == Some('#') {
                while let Some(c) = self.next() {
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    /// Branches separated by `|`, up to `)` (left unread) when `in_group`, else to the end.
    pub(super) fn alternation(&mut self, in_group: bool) -> Result<Node, SyntaxError> {
        self.enter()?;
        let mut alts = Vec::new();
        loop {
            alts.push(self.branch(in_group)?);
            match self.peek() {
                Some('|') => self.pos += 1,
                Some(')') if in_group => break,
                None if !in_group => break,
                None => return Err(self.invalid("end pattern with unmatched parenthesis")),
                Some(_) => return Err(self.invalid("unmatched close parenthesis")),
            }
        }
        self.leave();
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(alts)
        })
    }

    fn branch(&mut self, in_group: bool) -> Result<Node, SyntaxError> {
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                None | Some('|') => break,
                Some(')') if in_group => break,
                Some(')') => return Err(self.invalid("unmatched close parenthesis")),
                Some(_) => {}
            }
            match self.expression(in_group)? {
                Exp::Atom(node) => items.push(node),
                Exp::RestOfGroup(node) => {
                    items.push(node);
                    break;
                }
            }
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    /// One atom and the quantifiers after it.
    fn expression(&mut self, in_group: bool) -> Result<Exp, SyntaxError> {
        let start = self.pos;
        let mut node = match self.next() {
            Some('\\') => self.escape()?,
            Some('.') => Node::Any {
                dotall: self.opts.dotall,
            },
            Some('^') => Node::LineStart,
            Some('$') => Node::LineEnd,
            Some('[') => Node::Set(bracket::parse(self)?),
            Some('(') => match self.group(in_group)? {
                Exp::Atom(node) => node,
                rest @ Exp::RestOfGroup(_) => return Ok(rest),
            },
            Some('*' | '+' | '?') => {
                self.pos = start;
                return Err(self.invalid("target of repeat operator is not specified"));
            }
            Some('{') => {
                if self.interval()?.is_some() {
                    self.pos = start;
                    return Err(self.invalid("target of repeat operator is not specified"));
                }
                Node::Char('{')
            }
            Some(c) => Node::Char(c),
            None => return Err(self.invalid("end of pattern")),
        };
        loop {
            self.skip_trivia()?;
            let at = self.pos;
            let Some((min, max, greed)) = self.quantifier()? else {
                break;
            };
            if node.is_anchor() {
                self.pos = at;
                return Err(self.invalid("target of repeat operator is invalid"));
            }
            node = Node::Repeat {
                body: Box::new(node),
                min,
                max,
                greed,
            };
        }
        Ok(Exp::Atom(node))
    }

    /// A quantifier at the current position, consumed; `None` (nothing consumed) if there is
    /// none. `max` None is unbounded.
    fn quantifier(&mut self) -> Result<Option<(u32, Option<u32>, Greed)>, SyntaxError> {
        let (min, max, interval, fixed) = match self.peek() {
            Some('*') => (0, None, false, false),
            Some('+') => (1, None, false, false),
            Some('?') => (0, Some(1), false, false),
            Some('{') => {
                let save = self.pos;
                self.pos += 1;
                match self.interval()? {
                    Some((min, max, fixed)) => (min, max, true, fixed),
                    None => {
                        self.pos = save;
                        return Ok(None);
                    }
                }
            }
            _ => return Ok(None),
        };
        if !interval {
            self.pos += 1;
        }
        // `{n}` is greedy only (Ruby's FIXED_INTERVAL_IS_GREEDY_ONLY): a `?` after it is another
        // quantifier; `+` after any interval is another quantifier, not a possessive mark.
        let greed = if !fixed && self.peek() == Some('?') {
            self.pos += 1;
            Greed::Lazy
        } else if !interval && self.peek() == Some('+') {
            self.pos += 1;
            Greed::Possessive
        } else {
            Greed::Greedy
        };
        Ok(Some((min, max, greed)))
    }

    /// After a `{`: an interval `{n}`, `{n,}`, `{,m}`, `{n,m}` up to and including its `}`
    /// (with whether it is a fixed `{n}`), or `None` with the position unchanged when the text
    /// is not one (then `{` is a literal).
    fn interval(&mut self) -> Result<Option<(u32, Option<u32>, bool)>, SyntaxError> {
        let save = self.pos;
        let too_big = |r: &Self| r.invalid("too big number for repeat range");
        let low = self.number().map_err(|()| too_big(self))?;
        let (low, no_low) = match low {
            Some(n) if n > MAX_REPEAT => return Err(too_big(self)),
            Some(n) => (n, false),
            None => (0, true),
        };
        let fixed = self.peek() != Some(',');
        let max = if self.eat(',') {
            match self.number().map_err(|()| too_big(self))? {
                Some(n) if n > MAX_REPEAT => return Err(too_big(self)),
                Some(n) => Some(n),
                None if no_low => {
                    self.pos = save;
                    return Ok(None);
                }
                None => None,
            }
        } else if no_low {
            self.pos = save;
            return Ok(None);
        } else {
            Some(low)
        };
        if !self.eat('}') {
            self.pos = save;
            return Ok(None);
        }
        if max.is_some_and(|m| low > m) {
            return Err(self.invalid("upper bound must be greater than lower bound"));
        }
        Ok(Some((low, max, fixed)))
    }

    /// Decimal digits; `Err` on overflow.
    pub(super) fn number(&mut self) -> Result<Option<u32>, ()> {
        let mut n: Option<u32> = None;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            self.pos += 1;
            let v = n
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|v| v.checked_add(d));
            n = Some(v.filter(|v| *v <= i32::MAX as u32).ok_or(())?);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
