//! The YAML reader's second pass: top-level blocks (`service`, `pipeline`, `parsers`,
//! `multiline_parsers`) into [`Section`]s, every value trimmed and `${VAR}` expanded.

use std::sync::Arc;

use super::super::doc::{
    Entry, Findings, Origin, Section, SectionKind, Substitution, expand_vars, unsupported_section,
};
use super::tree::Node;
use super::{TOP_LEVEL_KEYS, rules, warn_unset};

/// The second pass: blocks into sections.
pub(super) struct Build<'a> {
    pub vars: &'a [(String, String)],
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub findings: &'a mut Findings,
    pub sections: Vec<Section>,
    /// What the `${VAR}`s of the values expanded to.
    pub substitutions: Vec<Substitution>,
}

impl Build<'_> {
    fn error(&mut self, file: &Arc<str>, line: usize, key: &str, message: impl Into<String>) {
        let problem = Origin::new(file, line).problem(key, message);
        self.findings.errors.push(problem);
    }

    /// One top-level `key: value` other than `env` and `includes`.
    pub fn block(&mut self, file: &Arc<str>, key: &Node, value: &Node) {
        let Some(name) = key.as_text() else {
            return self.error(file, key.line(), "", "top-level keys must be plain text");
        };
        match name.to_ascii_lowercase().as_str() {
            "service" => match value {
                Node::Map { pairs, .. } => {
                    self.section(SectionKind::Service, file, key.line(), pairs)
                }
                _ => self.error(
                    file,
                    value.line(),
                    name,
                    "service must be a map of `key: value`",
                ),
            },
            "pipeline" => {
                let Node::Map { pairs, .. } = value else {
                    let msg = "pipeline must be a map with inputs, filters and outputs";
                    return self.error(file, value.line(), name, msg);
                };
                for (kind, list) in [
                    ("inputs", SectionKind::Input),
                    ("filters", SectionKind::Filter),
                    ("outputs", SectionKind::Output),
                ] {
                    for (k, v) in pairs {
                        if k.as_text().is_some_and(|k| k.eq_ignore_ascii_case(kind)) {
                            self.plugins(list, file, kind, v);
                        }
                    }
                }
                for (k, _) in pairs {
                    let known = ["inputs", "filters", "outputs"];
                    match k.as_text() {
                        Some(k2) if known.iter().any(|n| n.eq_ignore_ascii_case(k2)) => {}
                        Some(k2) => {
                            let msg = format!(
                                "pipeline.{k2} is not supported (inputs, filters, outputs)"
                            );
                            self.error(file, k.line(), k2, msg);
                        }
                        None => self.error(file, k.line(), "pipeline", "keys must be plain text"),
                    }
                }
            }
            "parsers" => self.plugins(SectionKind::Parser, file, name, value),
            "multiline_parsers" => self.plugins(SectionKind::MultilineParser, file, name, value),
            other if unsupported_section(other).is_some() => {
                let (is_error, what) = unsupported_section(other).unwrap_or_default();
                let problem =
                    Origin::new(file, key.line()).problem(name, format!("`{name}` is {what}"));
                match is_error {
                    true => self.findings.errors.push(problem),
                    false => self.findings.warnings.push(problem),
                }
            }
            _ => {
                let msg = format!("`{name}` is not supported (top-level keys: {TOP_LEVEL_KEYS})");
                self.error(file, key.line(), name, msg);
            }
        }
    }

    /// A list of plugin maps (`- name: forward ...`), one section each.
    fn plugins(&mut self, kind: SectionKind, file: &Arc<str>, what: &str, value: &Node) {
        let Node::List { items, .. } = value else {
            let msg = format!("{what} must be a list of maps (`- name: ...`)");
            return self.error(file, value.line(), what, msg);
        };
        for item in items {
            match item {
                Node::Map { pairs, line } => self.section(kind, file, *line, pairs),
                _ => {
                    let msg = format!("each item of {what} must be a map (`- name: ...`)");
                    self.error(file, item.line(), what, msg);
                }
            }
        }
    }

    /// One section from a map of `key: value`.
    fn section(&mut self, kind: SectionKind, file: &Arc<str>, line: usize, pairs: &[(Node, Node)]) {
        let mut section = Section {
            kind,
            at: Origin::new(file, line),
            entries: Vec::new(),
        };
        for (key, value) in pairs {
            let Some(raw_key) = key.as_text() else {
                self.error(file, key.line(), "", "keys must be plain text");
                continue;
            };
            let raw_key = raw_key.trim();
            let lower = raw_key.to_ascii_lowercase();
            match (lower.as_str(), value) {
                ("processors", _) => {
                    self.error(file, key.line(), raw_key, "processors are not supported")
                }
                ("rules", Node::List { items, .. }) if kind == SectionKind::MultilineParser => {
                    for rule in items {
                        let at = Origin::new(file, rule.line());
                        match rules::classic_rule(rule, self.vars, self.env) {
                            Ok((value, unset, found)) => {
                                warn_unset(self.findings, &at, raw_key, unset);
                                self.substitutions.extend(Substitution::all_at(&at, found));
                                section.entries.push(entry("rule", raw_key, value, at));
                            }
                            Err(msg) => self.findings.errors.push(at.problem(raw_key, msg)),
                        }
                    }
                }
                (_, Node::List { items, .. }) if items.is_empty() => {
                    self.error(file, key.line(), raw_key, "missing value")
                }
                (_, Node::List { items, .. }) => {
                    for item in items {
                        if let Some(v) = self.scalar(file, raw_key, item, item.line()) {
                            section.entries.push(entry(
                                &lower,
                                raw_key,
                                v,
                                Origin::new(file, item.line()),
                            ));
                        }
                    }
                }
                _ => {
                    if let Some(v) = self.scalar(file, raw_key, value, key.line()) {
                        section.entries.push(entry(
                            &lower,
                            raw_key,
                            v,
                            Origin::new(file, key.line()),
                        ));
                    }
                }
            }
        }
        self.sections.push(section);
    }

    /// The text of a scalar value written at `line`, trimmed and expanded; `None` (reported)
    /// for anything else.
    fn scalar(
        &mut self,
        file: &Arc<str>,
        raw_key: &str,
        node: &Node,
        line: usize,
    ) -> Option<String> {
        let message = match node {
            Node::Scalar {
                text, null: false, ..
            } if !text.trim().is_empty() => {
                let (mut unset, mut found) = (Vec::new(), Vec::new());
                let value = expand_vars(text.trim(), self.vars, self.env, &mut unset, &mut found);
                let at = Origin::new(file, line);
                warn_unset(self.findings, &at, raw_key, unset);
                self.substitutions.extend(Substitution::all_at(&at, found));
                return Some(value);
            }
            Node::Scalar { .. } => "missing value",
            Node::Map { .. } => "nested maps are not supported here",
            Node::List { .. } => "nested lists are not supported here",
            Node::Alias { .. } => "YAML aliases (`*name`) are not supported",
        };
        self.error(file, line, raw_key, message);
        None
    }
}

fn entry(key: &str, raw_key: &str, value: String, at: Origin) -> Entry {
    Entry {
        key: key.to_owned(),
        raw_key: raw_key.to_owned(),
        value,
        at,
    }
}
