//! Key paths (`inputs[0].port`) and where they are in the TOML text.
//!
//! The text is parsed a second time into a tree of byte spans only, through `toml::Spanned`; values
//! are not kept. If that pass fails (it should not once the text parsed), problems lose their line
//! numbers but are still reported.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path from the document root, shown as `outputs[1].match_regex`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Segment>);

impl KeyPath {
    pub fn root() -> Self {
        Self(Vec::new())
    }

    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_owned()));
        p
    }

    pub fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(index));
        p
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
enum Node {
    Table(Vec<(String, Spanned<Node>)>),
    Array(Vec<Spanned<Node>>),
    Leaf,
}

/// Byte spans of every key's value, and the line starts to turn them into line numbers.
#[derive(Debug)]
pub struct SpanIndex {
    root: Option<Node>,
    line_starts: Vec<usize>,
}

impl SpanIndex {
    pub fn new(text: &str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            root: toml::from_str::<Node>(text).ok(),
            line_starts,
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of_offset(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// Line of `path`'s value; when the path does not exist in the text (a default, a missing key),
    /// the line of its deepest existing ancestor (e.g. the `[[outputs]]` header).
    pub fn line(&self, path: &KeyPath) -> Option<usize> {
        let mut node = self.root.as_ref()?;
        let mut found: Option<usize> = None;
        for seg in &path.0 {
            let next = match (seg, node) {
                (Segment::Key(k), Node::Table(entries)) => {
                    entries.iter().find(|(name, _)| name == k).map(|(_, v)| v)
                }
                (Segment::Index(i), Node::Array(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(spanned) => {
                    found = Some(spanned.span().start);
                    node = spanned.get_ref();
                }
                None => break,
            }
        }
        found.map(|offset| self.line_of_offset(offset))
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            // toml hands a datetime over as a one-key map whose value carries no span; it is a
            // leaf for our purpose (and never a valid firelane value).
            if key.starts_with("$__toml_private") {
                map.next_value::<IgnoredAny>()?;
                return Ok(Node::Leaf);
            }
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Node::Table(entries))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[service]\nlog_level = \"x\"\n\n[[inputs]]\nname = \"forward\"\n\n[[inputs]]\nname = 'tcp'\nwhen = 1979-05-27\nports = [1,\n  2]\n";

    fn path(s: &[&str]) -> KeyPath {
        let mut p = KeyPath::root();
        for seg in s {
            p = match seg.parse::<usize>() {
                Ok(i) => p.index(i),
                Err(_) => p.key(seg),
            };
        }
        p
    }

    #[test]
    fn key_paths_display_like_the_toml_they_address() {
        assert_eq!(
            path(&["outputs", "1", "match_regex"]).to_string(),
            "outputs[1].match_regex"
        );
    }

    #[test]
    fn lines_of_keys_tables_and_missing_keys() {
        let idx = SpanIndex::new(TEXT);
        assert_eq!(idx.line(&path(&["service", "log_level"])), Some(2));
        assert_eq!(idx.line(&path(&["inputs", "1"])), Some(7));
        assert_eq!(idx.line(&path(&["inputs", "1", "name"])), Some(8));
        assert_eq!(idx.line(&path(&["inputs", "1", "when"])), Some(9));
        assert_eq!(idx.line(&path(&["inputs", "1", "ports", "1"])), Some(11));
        // A key that is not written points at its table's header.
        assert_eq!(idx.line(&path(&["inputs", "0", "port"])), Some(4));
        assert_eq!(idx.line(&path(&["outputs"])), None);
    }
}
