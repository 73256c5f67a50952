//! Parser definitions a config can refer to: `[[parsers]]`, `[[multiline_parsers]]` and
//! parsers files, gathered into [`Parsers`] with every problem found.

use serde::Deserialize;

use super::StringList;
use crate::config::units::Flag;
use crate::filter::multiline::ParserDef as MlParserDef;
use crate::filter::parser::{ParserDef, ParserSet};

/// One `[[parsers]]` definition (Fluent Bit's `[PARSER]` section).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParserConfig {
    /// The name `parser` filters use.
    #[serde(default)]
    pub name: String,
    /// `json`, `regex` or `logfmt`.
    #[serde(default)]
    pub format: String,
    /// regex: the pattern with named groups, `(?<name>...)`.
    pub regex: Option<String>,
    /// The field holding the time (default `time` when `time_format` is set).
    pub time_key: Option<String>,
    /// strptime-like format of the time field (`%Y-%m-%dT%H:%M:%S.%L%z`).
    pub time_format: Option<String>,
    /// A fixed UTC offset for times without a zone (`+0200`).
    pub time_offset: Option<String>,
    /// Keep the time field in the record (default false).
    #[serde(default)]
    pub time_keep: Flag,
    /// Conversions, `name:integer name2:float name3:bool`.
    pub types: Option<String>,
    /// regex: leave out empty captures (default true).
    pub skip_empty_values: Option<Flag>,
}

impl ParserConfig {
    pub fn def(&self) -> ParserDef {
        let mut d = ParserDef::new(self.name.clone(), self.format.clone());
        d.regex = self.regex.clone();
        d.time_key = self.time_key.clone();
        d.time_format = self.time_format.clone();
        d.time_offset = self.time_offset.clone();
        d.time_keep = self.time_keep.0;
        d.types = self.types.clone();
        if let Some(skip) = self.skip_empty_values {
            d.skip_empty_values = skip.0;
        }
        d
    }
}

/// One `[[multiline_parsers]]` definition (Fluent Bit's `[MULTILINE_PARSER]`, type regex).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilineParserConfig {
    /// The name `multiline_parser` refers to.
    #[serde(default)]
    pub name: String,
    /// `regex` (the only type).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Milliseconds an unfinished group waits (default: the filter's `flush_ms`).
    pub flush_timeout: Option<u64>,
    /// Rules as Fluent Bit writes them: `"start_state" "/regex/" "cont"`.
    #[serde(default)]
    pub rule: StringList,
}

/// Where a problem with the parser definitions is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParserProblemAt {
    /// `[[parsers]]` entry `i`.
    Entry(usize),
    /// `[[multiline_parsers]]` entry `i`.
    Multiline(usize),
    /// `service.parsers_file` entry `i`.
    File(usize),
}

/// Every parser a config can refer to.
#[derive(Debug, Clone)]
pub struct Parsers {
    /// For the `parser` filter: built-ins plus the user's.
    pub set: ParserSet,
    /// User multiline parsers (the built-ins are looked up by the filter).
    pub multiline: Vec<MlParserDef>,
}

/// The built-in parsers plus the user's: `[[parsers]]` / `[[multiline_parsers]]` entries, then
/// parsers files (relative paths are taken from the working directory). Every problem is
/// returned.
pub fn parser_set(
    parsers: &[(usize, &ParserConfig)],
    multiline: &[(usize, &MultilineParserConfig)],
    files: &[String],
) -> (Parsers, Vec<(ParserProblemAt, String)>) {
    let mut set = ParserSet::with_builtins();
    let mut ml = Vec::new();
    let mut problems = Vec::new();
    for &(i, p) in parsers {
        if let Err(e) = set.add(&p.def()) {
            problems.push((ParserProblemAt::Entry(i), e.to_string()));
        }
    }
    for &(i, p) in multiline {
        let kind = p.kind.as_deref().unwrap_or("regex");
        let def = if kind.eq_ignore_ascii_case("regex") {
            MlParserDef::regex(&p.name, &p.rule.0, p.flush_timeout).map_err(|e| e.to_string())
        } else {
            Err(format!("type `{kind}` is not supported (only regex)"))
        };
        match def {
            Ok(d) => ml.push(d),
            Err(e) => problems.push((ParserProblemAt::Multiline(i), e)),
        }
    }
    for (i, f) in files.iter().enumerate() {
        match set.load_file(std::path::Path::new(f)) {
            Ok(defs) => {
                for d in defs {
                    let rules: Vec<String> = d
                        .rules
                        .iter()
                        .map(|r| format!("\"{}\" \"{}\" \"{}\"", r.state, r.regex, r.next_state))
                        .collect();
                    match MlParserDef::regex(&d.name, &rules, d.flush_timeout_ms) {
                        Ok(def) => ml.push(def),
                        Err(e) => problems.push((
                            ParserProblemAt::File(i),
                            format!("{}:{}: {e}", d.file, d.line),
                        )),
                    }
                }
            }
            Err(e) => problems.push((ParserProblemAt::File(i), e.to_string())),
        }
    }
    (Parsers { set, multiline: ml }, problems)
}
