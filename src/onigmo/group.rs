//! Groups in Onigmo's Ruby syntax (`parse_enclose`): captures, named or not, `(?:`, look-around,
//! atomic groups, and options, where `(?imx-imx)` without a colon covers the rest of the
//! enclosing group, alternatives included.

use super::syntax::{Exp, GroupKind, Node, Reader, SyntaxError};

impl Reader {
    /// After `(`.
    pub(super) fn group(&mut self, in_group: bool) -> Result<Exp, SyntaxError> {
        if !self.eat('?') {
            let mem = self.add_mem(None);
            return self.group_body(GroupKind::Capture { mem, name: None });
        }
        let Some(c) = self.next() else {
            return Err(self.invalid("end pattern in group"));
        };
        let kind = match c {
            ':' => GroupKind::NonCapture,
            '=' => GroupKind::LookAhead { negated: false },
            '!' => GroupKind::LookAhead { negated: true },
            '>' => GroupKind::Atomic,
            '~' => return Err(self.unsupported("the absent operator `(?~...)`")),
            '(' => return Err(self.unsupported("a conditional group `(?(...)...)`")),
            '<' if self.eat('=') => GroupKind::LookBehind { negated: false },
            '<' if self.eat('!') => GroupKind::LookBehind { negated: true },
            '<' | '\'' => {
                let name = self.group_name(if c == '<' { '>' } else { '\'' })?;
                let mem = self.add_mem(Some(name.clone()));
                GroupKind::Capture {
                    mem,
                    name: Some(name),
                }
            }
            '-' | 'i' | 'm' | 'x' | 'a' | 'd' | 'u' => {
                self.pos -= 1;
                return self.option_group(in_group);
            }
            _ => {
                self.pos -= 1;
                return Err(self.invalid("undefined group option"));
            }
        };
        self.group_body(kind)
    }

    fn group_body(&mut self, kind: GroupKind) -> Result<Exp, SyntaxError> {
        let body = self.alternation(true)?;
        self.pos += 1; // the `)` that `alternation` stopped at
        Ok(Exp::Atom(Node::Group {
            kind,
            body: Box::new(body),
        }))
    }

    /// `(?imx-imx)` or `(?imx-imx:...)` (and Ruby's `a`, `d`, `u`), after `(?`.
    fn option_group(&mut self, in_group: bool) -> Result<Exp, SyntaxError> {
        let outer = self.opts;
        let mut opts = self.opts;
        let mut neg = false;
        loop {
            let Some(c) = self.next() else {
                return Err(self.invalid("end pattern in group"));
            };
            match c {
                '-' => neg = true,
                'i' => opts.ignore_case = !neg,
                'm' => opts.dotall = !neg,
                'x' => opts.extended = !neg,
                'a' if !neg => {
                    opts.ascii_range = true;
                    opts.posix_all_range = false;
                    opts.word_bound_all_range = false;
                }
                'u' if !neg => {
                    opts.ascii_range = false;
                    opts.posix_all_range = false;
                    opts.word_bound_all_range = false;
                }
                'd' if !neg => {
                    opts.ascii_range = true;
                    opts.posix_all_range = true;
                    opts.word_bound_all_range = true;
                }
                ':' | ')' => {
                    self.opts = opts;
                    let body = if c == ':' {
                        let body = self.alternation(true)?;
                        self.pos += 1;
                        body
                    } else {
                        // Option only: it covers the rest of the enclosing group, alternatives
                        // included (Onigmo's parse_exp), so that group ends here.
                        self.alternation(in_group)?
                    };
                    self.opts = outer;
                    let body = if opts.ignore_case == outer.ignore_case {
                        body
                    } else {
                        Node::IgnoreCase {
                            on: opts.ignore_case,
                            body: Box::new(body),
                        }
                    };
                    let node = if c == ':' {
                        Node::Group {
                            kind: GroupKind::NonCapture,
                            body: Box::new(body),
                        }
                    } else {
                        body
                    };
                    return Ok(if c == ':' {
                        Exp::Atom(node)
                    } else {
                        Exp::RestOfGroup(node)
                    });
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.invalid("undefined group option"));
                }
            }
        }
    }

    fn add_mem(&mut self, name: Option<String>) -> usize {
        self.mems.push(name);
        self.mems.len()
    }

    /// A group name up to `end` (consumed): word characters, not starting with a digit.
    fn group_name(&mut self, end: char) -> Result<String, SyntaxError> {
        let start = self.pos;
        let mut name = String::new();
        loop {
            match self.next() {
                None => {
                    self.pos = start;
                    return Err(self.invalid("invalid group name"));
                }
                Some(c) if c == end => break,
                Some(')') => {
                    self.pos = start;
                    return Err(self.invalid("invalid group name"));
                }
                Some(c) => name.push(c),
            }
        }
        let mut chars = name.chars();
        match chars.next() {
            None => Err(self.invalid("group name is empty")),
            Some(first) if first.is_ascii_digit() || first == '-' => {
                Err(self.invalid("invalid group name"))
            }
            _ if !name.chars().all(is_word) => Err(self.invalid("invalid char in group name")),
            _ => Ok(name),
        }
    }
}

/// A word character for group names (Onigmo: letters, marks, digits, connector punctuation;
/// marks and connectors other than `_` are not recognised here).
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}
