//! The registry of named parsers that `parser` filters refer to: Fluent Bit's stock parsers
//! (see [`super::builtin`]) plus the user's, from our config ([`ParserDef`]) and from Fluent Bit
//! parsers files.
//!
//! Invariants: every parser in the set is compiled (a filter only looks names up); a user parser
//! with a built-in's name replaces the built-in; two user parsers with one name are an error
//! (whichever source each came from), since silently picking one would hide a mistake.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::file::{FileProblem, MultilineParserDef, ParsersFile, parse_parsers_file};
use super::{BUILTIN_PARSERS, Parser, ParserDef, ParserError, builtin};

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

/// Named, compiled parsers.
#[derive(Debug, Clone)]
pub struct ParserSet {
    parsers: HashMap<String, Arc<Parser>>,
    /// User-defined names and where each was defined (`config` or `file:line`).
    user: HashMap<String, String>,
}

impl ParserSet {
    /// The built-in parsers only.
    pub fn with_builtins() -> Self {
        let parsers = BUILTIN_PARSERS
            .iter()
            .filter_map(|name| {
                // Every built-in compiles (tested), so nothing is left out here.
                let parser = Parser::compile(&builtin(name)?).ok()?;
                Some(((*name).to_owned(), Arc::new(parser)))
            })
            .collect();
        Self {
            parsers,
            user: HashMap::new(),
        }
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

    /// The parser called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Parser>> {
        self.parsers.get(name)
    }

    /// Every name in the set, sorted (for error messages).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.parsers.keys().map(String::as_str).collect();
        names.sort_unstable();
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

impl Default for ParserSet {
    fn default() -> Self {
        Self::with_builtins()
    }
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;
