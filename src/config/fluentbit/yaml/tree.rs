//! A YAML document as a small tree whose every node keeps its 1-based line, built from
//! `yaml-rust2`'s event parser (its own tree type drops positions).
//!
//! Invariants: nesting is capped at [`MAX_DEPTH`] so neither building nor dropping a tree can
//! exhaust the stack on hostile input; anchors are not resolved (an alias is its own node, which
//! the reader refuses), so a file cannot expand into an exponentially large tree.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deeper than any Fluent Bit config needs (the deepest, `multiline_parsers[].rules[].regex`,
/// is four levels); past it the file is refused.
pub const MAX_DEPTH: usize = 32;

/// One YAML value and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A scalar as written: like Fluent Bit, no YAML typing (`true`, `1.5`, `null`, `~` keep
    /// their text); `null` is set only for a value not written at all (`key:`).
    Scalar {
        text: String,
        null: bool,
        line: usize,
    },
    List {
        items: Vec<Node>,
        line: usize,
    },
    /// Pairs in the order written; keys are nodes because YAML allows any key.
    Map {
        pairs: Vec<(Node, Node)>,
        line: usize,
    },
    /// `*name`: an alias to an anchor.
    Alias {
        line: usize,
    },
}

impl Node {
    pub fn line(&self) -> usize {
        match self {
            Node::Scalar { line, .. }
            | Node::List { line, .. }
            | Node::Map { line, .. }
            | Node::Alias { line } => *line,
        }
    }

    /// The text of a non-null scalar.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Node::Scalar {
                text, null: false, ..
            } => Some(text),
            _ => None,
        }
    }
}

/// Why a text is not a usable YAML document: 1-based line and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// A container being filled while its events arrive.
enum Open {
    List(Vec<Node>, usize),
    /// Pairs so far and a key waiting for its value.
    Map(Vec<(Node, Node)>, Option<Node>, usize),
}

/// Parses `text` (one YAML document) into a tree; `Ok(None)` for a file with no document.
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut open: Vec<Open> = Vec::new();
    let mut document: Option<Node> = None;
    let mut documents = 0;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| SyntaxError {
            line: line_of(e.marker()),
            message: e.info().to_owned(),
        })?;
        let line = line_of(&mark);
        let done = match event {
            Event::StreamEnd => return Ok(document),
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => continue,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        line,
                        message: "a second YAML document (`---`): a config file holds one"
                            .to_owned(),
                    });
                }
                continue;
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if open.len() >= MAX_DEPTH {
                    return Err(SyntaxError {
                        line,
                        message: format!("nested more than {MAX_DEPTH} levels deep"),
                    });
                }
                open.push(match event {
                    Event::SequenceStart(..) => Open::List(Vec::new(), line),
                    _ => Open::Map(Vec::new(), None, line),
                });
                continue;
            }
            Event::Scalar(text, style, _, _) => {
                let null = style == TScalarStyle::Plain && text.is_empty();
                Node::Scalar { text, null, line }
            }
            Event::Alias(_) => Node::Alias { line },
            Event::SequenceEnd => match open.pop() {
                Some(Open::List(items, line)) => Node::List { items, line },
                _ => return Err(unbalanced(line)),
            },
            Event::MappingEnd => match open.pop() {
                Some(Open::Map(pairs, None, line)) => Node::Map { pairs, line },
                _ => return Err(unbalanced(line)),
            },
        };
        match open.last_mut() {
            None => document = Some(done),
            Some(Open::List(items, _)) => items.push(done),
            Some(Open::Map(pairs, key, _)) => match key.take() {
                None => *key = Some(done),
                Some(k) => pairs.push((k, done)),
            },
        }
    }
}

/// The parser never sends an end without its start; this keeps a broken promise from panicking.
fn unbalanced(line: usize) -> SyntaxError {
    SyntaxError {
        line,
        message: "unbalanced YAML structure".to_owned(),
    }
}

/// `yaml-rust2` lines are 1-based already; an error at the very start may say 0.
fn line_of(mark: &Marker) -> usize {
    mark.line().max(1)
}
