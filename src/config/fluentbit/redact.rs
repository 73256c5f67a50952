//! Keeps values that came from `${VAR}` out of config messages: they often hold secrets (shared
//! keys, passwords), and `firelane validate` output ends up in CI logs.
//!
//! Only text a `${VAR}` produced is hidden, not text that merely equals it: a problem about a
//! place (a file and line) is rewritten with the substitutions made in that place's section (or
//! on that line, for `@SET`, `@INCLUDE` and YAML `includes`), so `Name kinesis_streams` in an
//! output is shown as written even when an input's `Tag ${OUTPUT_PLUGIN}` expanded to `kinesis`.
//! A problem the reader cannot place (no line, or a line outside the document, such as a parsers
//! file's) is rewritten with every substitution.
//!
//! Invariant: within that scope, each substituted text is written as `${VAR}` wherever it
//! appears quoted (`"v"`, `` `v` ``, `'v'`) or, for texts of at least `MIN_BARE_LEN` characters,
//! anywhere. Shorter texts are replaced only when quoted, because a bare `1` or `on` cannot be
//! told apart from the message's own words.

use std::collections::HashMap;

use super::doc::{Doc, Substitution};
use crate::config::errors::Problem;

/// A bare (unquoted) value is replaced only from this length on.
const MIN_BARE_LEN: usize = 4;

/// The substitutions of one document and the section each line belongs to.
#[derive(Debug, Default)]
pub struct Redactor {
    substitutions: Vec<Substitution>,
    /// `(file, line)` of every section header and entry -> the section's index.
    section_of: HashMap<(String, usize), usize>,
}

impl Redactor {
    pub fn new(doc: &Doc) -> Self {
        let mut section_of = HashMap::new();
        for (i, section) in doc.sections.iter().enumerate() {
            let lines = std::iter::once(&section.at).chain(section.entries.iter().map(|e| &e.at));
            for at in lines {
                section_of.insert((at.file.to_string(), at.line), i);
            }
        }
        let mut substitutions = doc.substitutions.clone();
        // Longest first, so a text containing another is replaced whole.
        substitutions.sort_by_key(|s| std::cmp::Reverse(s.text.len()));
        Self {
            substitutions,
            section_of,
        }
    }

    /// Rewrites each problem's message and key with `${VAR}` in place of the texts substituted
    /// where it is.
    pub fn redact(&self, problems: &mut [Problem]) {
        for p in problems {
            let here: Vec<&Substitution> = (self.substitutions.iter())
                .filter(|s| self.applies(s, p))
                .collect();
            for s in here {
                p.message = redact_value(&p.message, &s.name, &s.text);
                p.key = redact_value(&p.key, &s.name, &s.text);
            }
        }
    }

    /// Whether `s` was made where `p` is: on its line or in its section; for a problem placed
    /// nowhere in the document, always.
    fn applies(&self, s: &Substitution, p: &Problem) -> bool {
        let Some(line) = p.line else {
            return true;
        };
        let same_line = *s.at.file == *p.origin && s.at.line == line;
        let section = self.section_of.get(&(p.origin.clone(), line));
        let known = section.is_some()
            || self
                .substitutions
                .iter()
                .any(|o| *o.at.file == *p.origin && o.at.line == line);
        if !known {
            return true;
        }
        same_line
            || section.is_some_and(|sec| {
                self.section_of.get(&(s.at.file.to_string(), s.at.line)) == Some(sec)
            })
    }
}

/// `text` with `value` written as `${name}`.
fn redact_value(text: &str, name: &str, value: &str) -> String {
    let shown = format!("${{{name}}}");
    let mut out = text.to_owned();
    for (open, close) in [('"', '"'), ('`', '`'), ('\'', '\'')] {
        let quoted = format!("{open}{value}{close}");
        if out.contains(&quoted) {
            out = out.replace(&quoted, &format!("{open}{shown}{close}"));
        }
        // serde quotes with Debug escaping: a value holding `"` or `\` appears escaped.
        let escaped = format!("{value:?}");
        if out.contains(&escaped) {
            out = out.replace(&escaped, &format!("\"{shown}\""));
        }
    }
    if value.chars().count() >= MIN_BARE_LEN && out.contains(value) {
        out = out.replace(value, &shown);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::fluentbit::doc::{Entry, Origin, Section, SectionKind};

    const FILE: &str = "f.conf";

    fn problem(line: Option<usize>, message: &str) -> Problem {
        Problem {
            origin: FILE.into(),
            line,
            key: "Port".into(),
            message: message.into(),
        }
    }

    /// Two sections, lines 1-3 and 4-6; `subs` are `(line, name, text)`.
    fn redactor(subs: &[(usize, &str, &str)]) -> Redactor {
        let file: Arc<str> = FILE.into();
        let section = |header: usize| Section {
            kind: SectionKind::Input,
            at: Origin::new(&file, header),
            entries: (header + 1..header + 3)
                .map(|line| Entry {
                    key: "k".into(),
                    raw_key: "K".into(),
                    value: String::new(),
                    at: Origin::new(&file, line),
                })
                .collect(),
        };
        let doc = Doc {
            sections: vec![section(1), section(4)],
            substitutions: subs
                .iter()
                .map(|&(line, name, text)| Substitution {
                    at: Origin::new(&file, line),
                    name: name.into(),
                    text: text.into(),
                })
                .collect(),
            ..Doc::default()
        };
        Redactor::new(&doc)
    }

    #[test]
    fn quoted_and_bare_values_become_references() {
        let r = redactor(&[(2, "PORT", "hunter2"), (3, "KEY", "sw0rdfish")]);
        let mut p = [
            problem(Some(2), "invalid type: string \"hunter2\", expected u16"),
            problem(Some(1), "`hunter2` is not a size"),
            problem(Some(3), "prefix /ecs/sw0rdfish/x is too long"),
        ];
        r.redact(&mut p);
        assert_eq!(
            p[0].message,
            "invalid type: string \"${PORT}\", expected u16"
        );
        assert_eq!(p[1].message, "`${PORT}` is not a size");
        assert_eq!(p[2].message, "prefix /ecs/${KEY}/x is too long");
    }

    #[test]
    fn short_values_are_replaced_only_when_quoted() {
        let r = redactor(&[(2, "N", "16")]);
        let mut p = [problem(
            Some(2),
            "invalid type: string \"16\", expected 16 bits",
        )];
        r.redact(&mut p);
        assert_eq!(
            p[0].message,
            "invalid type: string \"${N}\", expected 16 bits"
        );
    }

    #[test]
    fn values_with_quotes_are_found_in_their_escaped_form() {
        let r = redactor(&[(2, "K", "a\"b")]);
        let mut p = [problem(
            Some(2),
            "invalid value: string \"a\\\"b\", expected x",
        )];
        r.redact(&mut p);
        assert_eq!(p[0].message, "invalid value: string \"${K}\", expected x");
    }

    #[test]
    fn text_equal_to_a_value_substituted_elsewhere_is_shown_as_written() {
        // An input's `Tag ${OUTPUT_PLUGIN}` (line 2) is `kinesis`; the output's plugin is not.
        let r = redactor(&[(2, "OUTPUT_PLUGIN", "kinesis")]);
        let mut p = [
            problem(Some(5), "output plugin `kinesis_streams` is not supported"),
            problem(Some(4), "output plugin `kinesis` is not supported"),
            problem(Some(1), "tag `kinesis` of the input"),
            problem(None, "no output matches `kinesis`"),
            problem(Some(40), "parsers file line about `kinesis`"),
        ];
        r.redact(&mut p);
        let shown: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            shown,
            [
                "output plugin `kinesis_streams` is not supported",
                "output plugin `kinesis` is not supported",
                "tag `${OUTPUT_PLUGIN}` of the input",
                "no output matches `${OUTPUT_PLUGIN}`",
                "parsers file line about `${OUTPUT_PLUGIN}`",
            ]
        );
    }

    #[test]
    fn a_substitution_outside_any_section_covers_its_own_line() {
        // `@INCLUDE ${DIR}/x.conf` on line 8, outside the sections.
        let r = redactor(&[(8, "DIR", "/s3cret")]);
        let mut p = [
            problem(Some(8), "cannot read `/s3cret/x.conf`"),
            problem(Some(2), "`/s3cret` is a path"),
        ];
        r.redact(&mut p);
        assert_eq!(p[0].message, "cannot read `${DIR}/x.conf`");
        assert_eq!(p[1].message, "`/s3cret` is a path");
    }
}
