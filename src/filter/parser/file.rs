//! Reader for Fluent Bit's classic parsers files: `[PARSER]` sections (compiled into
//! [`Parser`]s) and `[MULTILINE_PARSER]` sections (returned as written, for the multiline filter).
//!
//! Format: one `Key value` per line, key and value separated by whitespace, keys and section names
//! in any case, any indentation; lines starting with `#` are comments (a `#` later in a line is
//! part of the value: regexes use it). Invariants: every problem in the file is reported, each
//! with `file:line`; a file with any problem yields no parsers at all.

use std::collections::HashMap;
use std::fmt;

use super::{Parser, ParserDef, ParserError};

/// One problem in a parsers file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The file name as given to the reader.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, one line.
    pub message: String,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// One `Rule "state" "regex" "next_state"` line of a `[MULTILINE_PARSER]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultilineRule {
    /// The state this rule applies in (`start_state` for the first line of a message).
    pub state: String,
    /// As written, `/.../` delimiters included if the file has them.
    pub regex: String,
    /// The state after a line matched.
    pub next_state: String,
    /// 1-based line number in the file.
    pub line: usize,
}

/// A `[MULTILINE_PARSER]` section, unchecked beyond its shape (the multiline filter validates it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultilineParserDef {
    /// `Name`, which multiline filters refer to.
    pub name: String,
    /// `Type` (Fluent Bit supports `regex`).
    pub kind: Option<String>,
    /// `Parser`: a parser applied before the rules.
    pub parser: Option<String>,
    /// `Key_Content`: the record field the rules read.
    pub key_content: Option<String>,
    /// `Flush_Timeout`, milliseconds.
    pub flush_timeout_ms: Option<u64>,
    /// `Rule` lines, in file order.
    pub rules: Vec<MultilineRule>,
    /// Any other `key value` lines (lower-cased keys), in file order.
    pub other: Vec<(String, String)>,
    /// The file it came from (as named to the reader).
    pub file: String,
    /// Line of the section header.
    pub line: usize,
}

/// The contents of a parsers file.
#[derive(Debug, Default)]
pub struct ParsersFile {
    /// Compiled `[PARSER]` sections, in file order, with the line of each section header.
    pub parsers: Vec<(Parser, usize)>,
    /// `[MULTILINE_PARSER]` sections, in file order.
    pub multiline: Vec<MultilineParserDef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SectionKind {
    Parser,
    Multiline,
    /// An unknown section (already reported); its lines are skipped.
    Other,
}

/// `(lower-cased key, value, line)`.
type Entry<'a> = (String, &'a str, usize);

/// A `[PARSER]` as written (not compiled), with the line of its header and of each key.
struct ReadParser {
    def: ParserDef,
    header: usize,
    lines: HashMap<String, usize>,
}

/// Reads a parsers file's text and compiles its parsers; `file_name` only labels problems.
pub fn parse_parsers_file(text: &str, file_name: &str) -> Result<ParsersFile, Vec<FileProblem>> {
    let (parsers, multiline, mut problems) = read(text, file_name);
    let mut result = ParsersFile {
        parsers: Vec::new(),
        multiline,
    };
    for p in parsers {
        match Parser::compile(&p.def) {
            Ok(parser) => result.parsers.push((parser, p.header)),
            Err(e) => {
                let at = |key: &str| p.lines.get(key).copied().unwrap_or(p.header);
                let line = match &e {
                    ParserError::UnknownFormat { .. } => at("format"),
                    ParserError::BadRegex { .. } => at("regex"),
                    ParserError::BadTimeFormat { .. } => at("time_format"),
                    ParserError::BadTimeOffset { .. } => at("time_offset"),
                    ParserError::BadType { .. } => at("types"),
                    ParserError::NoName
                    | ParserError::MissingRegex { .. }
                    | ParserError::Duplicate { .. } => p.header,
                };
                problems.push(FileProblem {
                    file: file_name.to_owned(),
                    line,
                    message: e.to_string(),
                });
            }
        }
    }
    problems.sort_by_key(|p| p.line);
    if problems.is_empty() {
        Ok(result)
    } else {
        Err(problems)
    }
}

/// The `[PARSER]` definitions of a parsers file, not compiled (the built-ins are read this way
/// and compiled on first use).
pub(super) fn parser_defs(text: &str, file_name: &str) -> Result<Vec<ParserDef>, Vec<FileProblem>> {
    let (parsers, _, problems) = read(text, file_name);
    if problems.is_empty() {
        Ok(parsers.into_iter().map(|p| p.def).collect())
    } else {
        Err(problems)
    }
}

/// Reads the sections of a parsers file: parsers as written, multiline sections, problems.
fn read(
    text: &str,
    file_name: &str,
) -> (Vec<ReadParser>, Vec<MultilineParserDef>, Vec<FileProblem>) {
    let mut problems = Vec::new();
    let mut parsers = Vec::new();
    let mut multiline = Vec::new();
    let mut section: Option<(SectionKind, usize, Vec<Entry<'_>>)> = None;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut report = |line: usize, message: String| {
        problems.push(FileProblem {
            file: file_name.to_owned(),
            line,
            message,
        })
    };
    let mut finish = |section: Option<(SectionKind, usize, Vec<Entry<'_>>)>,
                      report: &mut dyn FnMut(usize, String)| {
        match section {
            Some((SectionKind::Parser, line, entries)) => {
                if let Some(p) = build_parser(line, &entries, &mut seen, report) {
                    parsers.push(p);
                }
            }
            Some((SectionKind::Multiline, line, entries)) => {
                if let Some(m) = build_multiline(line, entries, file_name, report) {
                    multiline.push(m);
                }
            }
            Some((SectionKind::Other, ..)) | None => {}
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[') {
            finish(section.take(), &mut report);
            let Some(name) = inner.strip_suffix(']') else {
                report(
                    line_no,
                    format!("section header `{line}` has no closing `]`"),
                );
                section = Some((SectionKind::Other, line_no, Vec::new()));
                continue;
            };
            let kind = match name.trim().to_ascii_uppercase().as_str() {
                "PARSER" => SectionKind::Parser,
                "MULTILINE_PARSER" => SectionKind::Multiline,
                _ => {
                    report(
                        line_no,
                        format!(
                            "unknown section [{}] (a parsers file holds [PARSER] and [MULTILINE_PARSER])",
                            name.trim()
                        ),
                    );
                    SectionKind::Other
                }
            };
            section = Some((kind, line_no, Vec::new()));
            continue;
        }
        if line.starts_with('@') {
            let directive = line.split_whitespace().next().unwrap_or(line);
            report(
                line_no,
                format!("`{directive}` is not supported in a parsers file"),
            );
            continue;
        }
        let (key, value) = match line.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (line, ""),
        };
        match &mut section {
            None => report(
                line_no,
                format!("`{key}` is outside any [PARSER] or [MULTILINE_PARSER] section"),
            ),
            Some((_, _, _)) if value.is_empty() => {
                report(line_no, format!("`{key}` has no value"));
            }
            Some((_, _, entries)) => entries.push((key.to_ascii_lowercase(), value, line_no)),
        }
    }
    finish(section.take(), &mut report);
    // Section problems are found when the section ends: put them back in line order.
    problems.sort_by_key(|p| p.line);
    (parsers, multiline, problems)
}

/// Reads one `[PARSER]`; reports problems and returns `None` on any.
fn build_parser(
    header: usize,
    entries: &[Entry<'_>],
    seen: &mut HashMap<String, usize>,
    report: &mut dyn FnMut(usize, String),
) -> Option<ReadParser> {
    let mut def = ParserDef::new("", "");
    let mut lines: HashMap<String, usize> = HashMap::new();
    let mut ok = true;
    for (key, value, line) in entries {
        let value = (*value).to_owned();
        let known = match key.as_str() {
            "name" => {
                def.name = value;
                true
            }
            "format" => {
                def.format = value;
                true
            }
            "regex" => set(&mut def.regex, value),
            "time_key" => set(&mut def.time_key, value),
            "time_format" => set(&mut def.time_format, value),
            "time_offset" => set(&mut def.time_offset, value),
            "types" => set(&mut def.types, value),
            "time_keep" => set_flag(&mut def.time_keep, key, &value, *line, report),
            "skip_empty_values" => set_flag(&mut def.skip_empty_values, key, &value, *line, report),
            "logfmt_no_bare_keys" => {
                set_flag(&mut def.logfmt_no_bare_keys, key, &value, *line, report)
            }
            // Checked, then ignored: our time parsing is lenient about text after the format.
            "time_strict" => set_flag(&mut false, key, &value, *line, report),
            "decode_field" | "decode_field_as" | "time_system_timezone" => {
                report(*line, format!("`{key}` is not supported"));
                false
            }
            _ => {
                report(*line, format!("unknown key `{key}` in [PARSER]"));
                false
            }
        };
        ok &= known;
        if let Some(first) = lines.insert(key.clone(), *line) {
            report(
                *line,
                format!("`{key}` is set twice (first on line {first})"),
            );
            ok = false;
        }
    }
    if def.name.is_empty() {
        report(header, "[PARSER] has no Name".to_owned());
        return None;
    }
    if def.format.is_empty() {
        report(header, format!("parser `{}` has no Format", def.name));
        return None;
    }
    if let Some(first) = seen.insert(def.name.clone(), header) {
        report(
            header,
            format!(
                "parser `{}` is defined twice (first on line {first})",
                def.name
            ),
        );
        ok = false;
    }
    ok.then_some(ReadParser { def, header, lines })
}

/// Builds one `[MULTILINE_PARSER]` (shape only); reports problems and returns `None` on any.
fn build_multiline(
    header: usize,
    entries: Vec<Entry<'_>>,
    file: &str,
    report: &mut dyn FnMut(usize, String),
) -> Option<MultilineParserDef> {
    let mut def = MultilineParserDef {
        name: String::new(),
        kind: None,
        parser: None,
        key_content: None,
        flush_timeout_ms: None,
        rules: Vec::new(),
        other: Vec::new(),
        file: file.to_owned(),
        line: header,
    };
    let mut ok = true;
    for (key, value, line) in entries {
        match key.as_str() {
            "name" => def.name = value.to_owned(),
            "type" => def.kind = Some(value.to_owned()),
            "parser" => def.parser = Some(value.to_owned()),
            "key_content" => def.key_content = Some(value.to_owned()),
            "flush_timeout" => match value.parse() {
                Ok(ms) => def.flush_timeout_ms = Some(ms),
                Err(_) => {
                    report(
                        line,
                        format!("flush_timeout `{value}` is not a number of milliseconds"),
                    );
                    ok = false;
                }
            },
            "rule" => match rule_tokens(value).as_deref() {
                Some([state, regex, next_state]) => def.rules.push(MultilineRule {
                    state: state.clone(),
                    regex: regex.clone(),
                    next_state: next_state.clone(),
                    line,
                }),
                _ => {
                    report(
                        line,
                        "a rule needs three quoted values: \"state\" \"/regex/\" \"next_state\""
                            .to_owned(),
                    );
                    ok = false;
                }
            },
            _ => def.other.push((key, value.to_owned())),
        }
    }
    if def.name.is_empty() {
        report(header, "[MULTILINE_PARSER] has no Name".to_owned());
        return None;
    }
    ok.then_some(def)
}

/// Splits a rule value into tokens: `"double quoted"` (where `\"` is a quote and any other
/// backslash is kept, so regex escapes survive) or bare words. `None` on an unterminated quote.
fn rule_tokens(value: &str) -> Option<Vec<String>> {
    let mut tokens = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(first) = chars.next() else {
            return Some(tokens);
        };
        let mut token = String::new();
        if first == '"' {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' if chars.peek() == Some(&'"') => {
                        chars.next();
                        token.push('"');
                    }
                    c => token.push(c),
                }
            }
        } else {
            token.push(first);
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                token.push(c);
            }
        }
        tokens.push(token);
    }
}

fn set(target: &mut Option<String>, value: String) -> bool {
    *target = Some(value);
    true
}

/// Sets a boolean option; reports and returns false if `value` is not one.
fn set_flag(
    target: &mut bool,
    key: &str,
    value: &str,
    line: usize,
    report: &mut dyn FnMut(usize, String),
) -> bool {
    match parse_bool(value) {
        Some(b) => {
            *target = b;
            true
        }
        None => {
            report(line, format!("`{key}` must be on or off, not `{value}`"));
            false
        }
    }
}

/// Fluent Bit's booleans: on/off, true/false, yes/no (any case).
fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
