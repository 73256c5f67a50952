//! The registry of named parsers that `parser` filters refer to: Fluent Bit's stock parsers
//! (see [`super::builtin`]) plus the user's, from our config ([`ParserDef`]) and from Fluent Bit
//! parsers files.
//!
//! Invariants: every user parser is compiled when added (so its errors are reported with the
//! config); a built-in is compiled on its first lookup and then shared, so a config that uses no
//! `parser` filter compiles no regex at start-up (idle memory); a user parser with a built-in's
//! name replaces the built-in; two user parsers with one name are an error (whichever source each
//! came from), since silently picking one would hide a mistake.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use super::builtin::{builtin_count, builtin_index, builtin_names};
use super::file::{FileProblem, MultilineParserDef, ParsersFile, parse_parsers_file};
use super::{Parser, ParserDef, ParserError, builtin};

/// Why a parsers file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ParsersFileError {
    #[error("cannot read parsers file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Every problem found, each with its `file:line`.
    #[error("{}", join(.0))]
    Problems(Vec<FileProblem>),
}

fn join(problems: &[FileProblem]) -> String {
    let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
    all.join("; ")
}

/// Named parsers: the user's (compiled) and the built-ins (compiled when first looked up).
#[derive(Debug, Clone)]
pub struct ParserSet {
    parsers: HashMap<String, Arc<Parser>>,
    /// User-defined names and where each was defined (`config` or `file:line`).
    user: HashMap<String, String>,
    /// The built-ins, by their index in [`builtin_names`]; `None` once a compile failed.
    builtins: Vec<OnceLock<Option<Arc<Parser>>>>,
}

impl Default for ParserSet {
    fn default() -> Self {
        Self {
            parsers: HashMap::new(),
            user: HashMap::new(),
            builtins: (0..builtin_count()).map(|_| OnceLock::new()).collect(),
        }
    }
}

impl ParserSet {
    /// The built-in parsers only.
    pub fn with_builtins() -> Self {
        Self::default()
    }

    /// Adds a parser defined in our config (replacing a built-in of the same name).
    pub fn add(&mut self, def: &ParserDef) -> Result<(), ParserError> {
        let parser = Parser::compile(def)?;
        self.insert_user(parser, "config".to_owned())
    }

    /// Reads a Fluent Bit parsers file and adds its `[PARSER]`s; returns its
    /// `[MULTILINE_PARSER]` sections for the multiline filter. On error nothing is added.
    pub fn load_file(&mut self, path: &Path) -> Result<Vec<MultilineParserDef>, ParsersFileError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ParsersFileError::Read {
            path: name.clone(),
            source,
        })?;
        let file = parse_parsers_file(&text, &name).map_err(ParsersFileError::Problems)?;
        self.add_file(file, &name)
    }

    /// Adds the parsers of an already read file (see [`parse_parsers_file`]); returns its
    /// multiline sections. On error (a name defined before) nothing is added.
    pub fn add_file(
        &mut self,
        file: ParsersFile,
        file_name: &str,
    ) -> Result<Vec<MultilineParserDef>, ParsersFileError> {
        let problems: Vec<FileProblem> = file
            .parsers
            .iter()
            .filter_map(|(p, line)| {
                let first = self.user.get(p.name())?;
                Some(FileProblem {
                    file: file_name.to_owned(),
                    line: *line,
                    message: format!("parser `{}` is defined twice (first in {first})", p.name()),
                })
            })
            .collect();
        if !problems.is_empty() {
            return Err(ParsersFileError::Problems(problems));
        }
        for (parser, line) in file.parsers {
            // Names are unique within a file and were just checked against earlier sources.
            let _ = self.insert_user(parser, format!("{file_name}:{line}"));
        }
        Ok(file.multiline)
    }

    /// The parser called `name`: the user's, else the built-in (compiled on first use).
    pub fn get(&self, name: &str) -> Option<Arc<Parser>> {
        if let Some(parser) = self.parsers.get(name) {
            return Some(Arc::clone(parser));
        }
        let i = builtin_index(name)?;
        self.builtins
            .get(i)?
            .get_or_init(|| {
                // Every built-in compiles (tested), so `None` is not expected here.
                let parser = Parser::compile(&builtin(name)?).ok()?;
                Some(Arc::new(parser))
            })
            .clone()
    }

    /// Every name in the set, sorted (for error messages).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.parsers.keys().map(String::as_str).collect();
        names.extend(builtin_names().map(|n| -> &str { n }));
        names.sort_unstable();
        names.dedup();
        names
    }

    fn insert_user(&mut self, parser: Parser, origin: String) -> Result<(), ParserError> {
        let name = parser.name().to_owned();
        if let Some(first) = self.user.get(&name) {
            return Err(ParserError::Duplicate {
                parser: name,
                first: first.clone(),
            });
        }
        self.user.insert(name.clone(), origin);
        self.parsers.insert(name, Arc::new(parser));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
