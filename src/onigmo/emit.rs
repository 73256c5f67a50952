//! Writes a [`Tree`] in the syntax of one of the two engines: the `regex` crate (the fast one,
//! which refuses what needs backtracking and says why) or `fancy-regex` (its syntax plus
//! look-around, atomic groups, back-references, `\K`).
//!
//! Invariants: captures are numbered as Onigmo numbers them (only named groups when there is
//! one, else every plain group), so `$1` and group indices agree with Fluent Bit; `$` is
//! `(?m:$)`, which is Onigmo's `$` exactly. Onigmo's `^` is a line start that never matches at
//! the very end of a text ending in `\n`; the backtracking engine gets that exactly, with
//! look-around. The `regex` crate gets `(?m:^)`, which differs only there, and only for a
//! `^` that every path meets before consuming anything (checked here: [`Emitted::has_caret`]
//! tells the matcher to recheck an empty match at such an end, see `mod.rs`).

use super::class::push_literal;
use super::syntax::{Greed, GroupKind, Node, Tree};

/// Which engine the pattern is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// The `regex` crate: `^` as `(?m:^)`.
    Fast,
    /// The `regex` crate, with every `^` unable to match (the recheck at the end of a text).
    FastNoCaret,
    /// The `regex` crate, `^` as `\A`: for a pattern that [`starts_with_caret`], on a text with
    /// no line break before its last byte, where both mean the same (and `\A` is much faster
    /// when the text does not match).
    FastAnchored,
    /// `fancy-regex`.
    Backtracking,
}

/// A pattern written for an engine.
#[derive(Debug)]
pub(super) struct Emitted {
    pub pattern: String,
    /// The name of each capture group, from group 1 (`None`: an unnamed group that captures).
    pub groups: Vec<Option<String>>,
    /// The pattern has a `^` (all of them leading, for the fast target).
    pub has_caret: bool,
}

/// Writes `tree` for `target`; `Err` names the construct the fast engine cannot take.
pub(super) fn emit(tree: &Tree, target: Target) -> Result<Emitted, &'static str> {
    let mut w = Writer {
        out: String::new(),
        target,
        captures: Vec::new(),
        groups: Vec::new(),
        has_caret: false,
    };
    w.number(&tree.root, tree.named);
    if target != Target::Backtracking && leading(&tree.root, true).is_err() {
        return Err("a `^` that is not at the start of the pattern");
    }
    w.node(&tree.root)?;
    Ok(Emitted {
        pattern: w.out,
        groups: w.groups,
        has_caret: w.has_caret,
    })
}

/// Whether every match must begin with a `^` (each path's first step is one).
pub(super) fn starts_with_caret(node: &Node) -> bool {
    match node {
        Node::LineStart => true,
        Node::Concat(items) => items.first().is_some_and(starts_with_caret),
        Node::Alt(alts) => alts.iter().all(starts_with_caret),
        Node::Group {
            kind: GroupKind::Capture { .. } | GroupKind::NonCapture,
            body,
        }
        | Node::IgnoreCase { body, .. } => starts_with_caret(body),
        Node::Repeat { body, min, .. } => *min > 0 && starts_with_caret(body),
        _ => false,
    }
}

/// Checks that every `^` is met before anything is consumed on every path to it; `Ok(true)`
/// while nothing may have been consumed yet.
fn leading(node: &Node, at_start: bool) -> Result<bool, ()> {
    Ok(match node {
        Node::LineStart if at_start => true,
        Node::LineStart => return Err(()),
        Node::Empty
        | Node::LineEnd
        | Node::TextStart
        | Node::TextEnd
        | Node::SemiTextEnd
        | Node::WordBoundary { .. } => at_start,
        Node::Char(_)
        | Node::Set(_)
        | Node::Any { .. }
        | Node::LineBreak
        | Node::Backref(_)
        | Node::Keep => false,
        Node::Group {
            kind: GroupKind::LookAhead { .. } | GroupKind::LookBehind { .. },
            body,
        } => {
            leading(body, false)?;
            at_start
        }
        Node::Group { body, .. } | Node::IgnoreCase { body, .. } => leading(body, at_start)?,
        Node::Concat(items) => {
            let mut now = at_start;
            for item in items {
                now = leading(item, now)?;
            }
            now
        }
        Node::Alt(alts) => {
            let mut all = true;
            for alt in alts {
                all &= leading(alt, at_start)?;
            }
            all
        }
        Node::Repeat { body, min, max, .. } => {
            let after = leading(body, at_start)?;
            if *max != Some(1) && !after {
                leading(body, false)?;
            }
            if *min == 0 { at_start && after } else { after }
        }
    })
}

struct Writer {
    out: String,
    target: Target,
    /// Capture index of each group by `mem` - 1 (`None`: it does not capture).
    captures: Vec<Option<usize>>,
    groups: Vec<Option<String>>,
    has_caret: bool,
}

impl Writer {
    /// Numbers the capture groups in the order of their `(` (the tree's pre-order).
    fn number(&mut self, node: &Node, named: bool) {
        match node {
            Node::Group { kind, body } => {
                if let GroupKind::Capture { mem, name } = kind {
                    if self.captures.len() < *mem {
                        self.captures.resize(*mem, None);
                    }
                    if !named || name.is_some() {
                        self.groups.push(name.clone());
                        self.captures[mem - 1] = Some(self.groups.len());
                    }
                }
                self.number(body, named);
            }
            Node::IgnoreCase { body, .. } | Node::Repeat { body, .. } => self.number(body, named),
            Node::Concat(items) | Node::Alt(items) => {
                items.iter().for_each(|n| self.number(n, named));
            }
            _ => {}
        }
    }

    fn fast_refuses(&self, what: &'static str) -> Result<(), &'static str> {
        match self.target {
            Target::Backtracking => Ok(()),
            Target::Fast | Target::FastNoCaret | Target::FastAnchored => Err(what),
        }
    }

    fn node(&mut self, node: &Node) -> Result<(), &'static str> {
        match node {
            Node::Empty => {}
            Node::Char(c) => push_literal(*c, &mut self.out),
            Node::Set(set) => set.write(&mut self.out),
            Node::Any { dotall: false } => self.out.push('.'),
            Node::Any { dotall: true } => self.out.push_str("(?s:.)"),
            Node::LineStart => {
                self.has_caret = true;
                self.out.push_str(match self.target {
                    Target::Fast => "(?m:^)",
                    Target::FastNoCaret => "[a&&b]",
                    Target::FastAnchored => r"\A",
                    Target::Backtracking => r"(?:\A|(?<=\n)(?!\z))",
                });
            }
            Node::LineEnd => self.out.push_str("(?m:$)"),
            Node::TextStart => self.out.push_str(r"\A"),
            Node::TextEnd => self.out.push_str(r"\z"),
            Node::SemiTextEnd => {
                self.fast_refuses(r"`\Z`")?;
                self.out.push_str(r"(?=\n?\z)");
            }
            Node::WordBoundary { negated, ascii } => {
                let b = if *negated { r"\B" } else { r"\b" };
                if *ascii {
                    self.out.push_str("(?-u:");
                    self.out.push_str(b);
                    self.out.push(')');
                } else {
                    self.out.push_str(b);
                }
            }
            Node::Keep => {
                self.fast_refuses(r"`\K`")?;
                self.out.push_str(r"\K");
            }
            Node::LineBreak => {
                self.fast_refuses(r"`\R`")?;
                self.out
                    .push_str(r"(?>\r\n|[\n\x0B\x0C\r\x{85}\x{2028}\x{2029}])");
            }
            Node::Backref(mem) => {
                self.fast_refuses("a back-reference")?;
                let index = self.captures.get(mem - 1).copied().flatten();
                // A reference is to a group Onigmo captures (checked when reading), so `None`
                // cannot happen; if it did, the pattern would refer to group 0 and be refused.
                self.out.push_str(&format!("(?:\\{})", index.unwrap_or(0)));
            }
            Node::Group { kind, body } => {
                let open = match kind {
                    GroupKind::Capture { mem, .. } => {
                        if self.captures.get(mem - 1).copied().flatten().is_some() {
                            "("
                        } else {
                            "(?:"
                        }
                    }
                    GroupKind::NonCapture => "(?:",
                    GroupKind::Atomic => {
                        self.fast_refuses("an atomic group")?;
                        "(?>"
                    }
                    GroupKind::LookAhead { negated } => {
                        self.fast_refuses("a look-ahead")?;
                        if *negated { "(?!" } else { "(?=" }
                    }
                    GroupKind::LookBehind { negated } => {
                        self.fast_refuses("a look-behind")?;
                        if *negated { "(?<!" } else { "(?<=" }
                    }
                };
                self.out.push_str(open);
                self.node(body)?;
                self.out.push(')');
            }
            Node::IgnoreCase { on, body } => {
                self.out.push_str(if *on { "(?i:" } else { "(?-i:" });
                self.node(body)?;
                self.out.push(')');
            }
            Node::Repeat {
                body,
                min,
                max,
                greed,
            } => self.repeat(body, *min, *max, *greed)?,
            Node::Concat(items) => {
                for item in items {
                    if matches!(item, Node::Alt(_)) {
                        self.out.push_str("(?:");
                        self.node(item)?;
                        self.out.push(')');
                    } else {
                        self.node(item)?;
                    }
                }
            }
            Node::Alt(alts) => {
                for (i, alt) in alts.iter().enumerate() {
                    if i > 0 {
                        self.out.push('|');
                    }
                    self.node(alt)?;
                }
            }
        }
        Ok(())
    }

    fn repeat(
        &mut self,
        body: &Node,
        min: u32,
        max: Option<u32>,
        greed: Greed,
    ) -> Result<(), &'static str> {
        if greed == Greed::Possessive {
            self.fast_refuses("a possessive quantifier")?;
            self.out.push_str("(?>");
        }
        let single = matches!(
            body,
            Node::Char(_) | Node::Set(_) | Node::Any { .. } | Node::Group { .. } | Node::Backref(_)
        ) || matches!(body, Node::IgnoreCase { .. });
        if single {
            self.node(body)?;
        } else {
            self.out.push_str("(?:");
            self.node(body)?;
            self.out.push(')');
        }
        match (min, max) {
            (0, None) => self.out.push('*'),
            (1, None) => self.out.push('+'),
            (0, Some(1)) => self.out.push('?'),
            (n, None) => self.out.push_str(&format!("{{{n},}}")),
            (n, Some(m)) if n == m => self.out.push_str(&format!("{{{n}}}")),
            (n, Some(m)) => self.out.push_str(&format!("{{{n},{m}}}")),
        }
        match greed {
            Greed::Lazy => self.out.push('?'),
            Greed::Possessive => self.out.push(')'),
            Greed::Greedy => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
