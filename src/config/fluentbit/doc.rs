//! What a Fluent Bit configuration file says, format-independent: the classic reader
//! (`classic.rs`) and the YAML reader (`yaml.rs`) both produce a [`Doc`], and `translate.rs`
//! turns a `Doc` into the TOML document the rest of the loader reads.
//!
//! Invariants: sections are in file order with included files spliced in where they were
//! included; keys are lower-cased (Fluent Bit keys are case-insensitive) and `raw_key` keeps the
//! spelling for messages; values are trimmed and already have `${VAR}` expanded; a key written
//! several times gives several entries, in order (`Record`, `Rule`, `Add` ... repeat).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::errors::Problem;

/// Where something was written: file (as shown to users) and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: usize,
}

impl Origin {
    pub fn new(file: &Arc<str>, line: usize) -> Self {
        Self {
            file: file.clone(),
            line,
        }
    }

    /// A problem at this place about `key` (empty for the section or the line itself).
    pub fn problem(&self, key: &str, message: impl Into<String>) -> Problem {
        Problem {
            origin: self.file.to_string(),
            line: Some(self.line),
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// The kind of a section: `[SERVICE]`, `[INPUT]` ... in classic files, `service:`,
/// `pipeline.inputs` ... in YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Service,
    Input,
    Filter,
    Output,
    Parser,
    MultilineParser,
}

impl SectionKind {
    /// The classic header name (`INPUT`), as messages show it.
    pub fn header(self) -> &'static str {
        match self {
            SectionKind::Service => "SERVICE",
            SectionKind::Input => "INPUT",
            SectionKind::Filter => "FILTER",
            SectionKind::Output => "OUTPUT",
            SectionKind::Parser => "PARSER",
            SectionKind::MultilineParser => "MULTILINE_PARSER",
        }
    }

    /// Reads a classic header name, in any case.
    pub fn from_header(name: &str) -> Option<Self> {
        [
            SectionKind::Service,
            SectionKind::Input,
            SectionKind::Filter,
            SectionKind::Output,
            SectionKind::Parser,
            SectionKind::MultilineParser,
        ]
        .into_iter()
        .find(|k| k.header().eq_ignore_ascii_case(name))
    }
}

/// A Fluent Bit section firelane does not read (classic `[STREAM_TASK]`, `[PLUGINS]`; YAML
/// `stream_processor`, `plugins`): whether it is an error, and what to say after "`name` is".
pub fn unsupported_section(name: &str) -> Option<(bool, &'static str)> {
    match name.to_ascii_lowercase().as_str() {
        "stream_task" | "stream_processor" => Some((
            true,
            "a Fluent Bit stream processor section (the kind a Streams_File holds): firelane does not support stream processing",
        )),
        "plugins" => Some((
            false,
            "a Fluent Bit external plugins section (the kind a Plugins_File holds): firelane cannot load external plugins, so it is ignored; a section using one of them is reported as an unsupported plugin",
        )),
        _ => None,
    }
}

/// One `key value` of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lower-cased key (`mem_buf_limit`).
    pub key: String,
    /// The key as written (`Mem_Buf_Limit`).
    pub raw_key: String,
    /// The value, trimmed, `${VAR}` expanded.
    pub value: String,
    pub at: Origin,
}

/// One section and its entries, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub kind: SectionKind,
    /// The header line (classic) or the list item / mapping start (YAML).
    pub at: Origin,
    pub entries: Vec<Entry>,
}

impl Section {
    /// The first value of `key` (lower-case).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// A whole configuration: every section of the root file and its includes, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doc {
    pub sections: Vec<Section>,
    /// The root file's directory: relative `Parsers_File` paths resolve against it.
    pub base_dir: PathBuf,
    /// Every text a `${VAR}` put into a value, where it was written: messages about that place
    /// show `${VAR}` instead (`redact.rs`).
    pub substitutions: Vec<Substitution>,
}

/// Text that a `${VAR}` expanded to (from `@SET`, a YAML `env:` or the environment; not a
/// `:-default`, which is written in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substitution {
    /// The line the `${VAR}` was written on.
    pub at: Origin,
    pub name: String,
    pub text: String,
}

impl Substitution {
    /// One per `(name, text)` of `found`, all at `at`.
    pub fn all_at(at: &Origin, found: Vec<(String, String)>) -> impl Iterator<Item = Self> + '_ {
        found.into_iter().map(|(name, text)| Substitution {
            at: at.clone(),
            name,
            text,
        })
    }
}

/// Errors (the config is refused) and warnings (it runs; the user should know), every one with
/// its file and line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl Findings {
    pub fn extend(&mut self, other: Findings) {
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
    }
}

/// The file system as the readers see it, so includes and globs are testable in memory.
pub trait Files {
    /// The whole text of `path`.
    fn read(&self, path: &Path) -> std::io::Result<String>;
    /// The names of the entries of directory `dir`.
    fn list(&self, dir: &Path) -> std::io::Result<Vec<String>>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFiles;

impl Files for RealFiles {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn list(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect()
    }
}

/// Expands `${VAR}` and `${VAR:-default}` in `value`: from `vars` (`@SET` / YAML `env`) first,
/// then `env`. An unset variable without a default becomes empty, as in Fluent Bit, and is named
/// in `unset` so the caller can warn. A `${` without its `}` is kept as written. Each variable
/// that gave text is pushed to `found` with that text, so messages can hide it.
pub fn expand_vars(
    value: &str,
    vars: &[(String, String)],
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    found: &mut Vec<(String, String)>,
) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        let value_of = vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| env(name));
        match (value_of, default) {
            (Some(v), _) => {
                out.push_str(&v);
                if !v.is_empty() {
                    found.push((name.to_owned(), v));
                }
            }
            (None, Some(d)) => out.push_str(d),
            (None, None) => unset.push(name.to_owned()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether `name` matches the glob `pattern` (`*` any run, `?` one character; no separators).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The files `pattern` names: itself when it has no wildcard, else every match (wildcards
/// allowed in any component), sorted. `pattern` is already absolute or relative to the caller's
/// base directory.
pub fn expand_glob(files: &dyn Files, pattern: &Path) -> std::io::Result<Vec<PathBuf>> {
    let text = pattern.to_string_lossy();
    if !text.contains(['*', '?']) {
        return Ok(vec![pattern.to_path_buf()]);
    }
    let mut found = vec![PathBuf::new()];
    for comp in pattern.components() {
        let part = comp.as_os_str().to_string_lossy();
        if !part.contains(['*', '?']) {
            for f in &mut found {
                f.push(comp.as_os_str());
            }
            continue;
        }
        let mut next = Vec::new();
        for dir in &found {
            let listing = if dir.as_os_str().is_empty() {
                files.list(Path::new("."))
            } else {
                files.list(dir)
            };
            // A directory that cannot be listed matches nothing; only the whole result can fail.
            let Ok(mut names) = listing else { continue };
            names.sort();
            next.extend(
                names
                    .iter()
                    .filter(|n| !n.starts_with('.') && glob_match(&part, n))
                    .map(|n| dir.join(n)),
            );
        }
        found = next;
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_expand_from_set_then_env_with_defaults() {
        let vars = vec![("A".to_owned(), "set".to_owned())];
        let env = |n: &str| (n == "B" || n == "A").then(|| format!("env-{n}"));
        let (mut unset, mut found) = (Vec::new(), Vec::new());
        assert_eq!(
            expand_vars(
                "${A}/${B}/${C:-dflt}/${D}",
                &vars,
                &env,
                &mut unset,
                &mut found
            ),
            "set/env-B/dflt/"
        );
        assert_eq!(unset, ["D"]);
        let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        assert_eq!(found, [pair("A", "set"), pair("B", "env-B")]);
        let mut more = Vec::new();
        assert_eq!(
            expand_vars("x ${open", &vars, &env, &mut unset, &mut more),
            "x ${open"
        );
        assert_eq!(
            expand_vars("$A plain", &vars, &env, &mut unset, &mut more),
            "$A plain"
        );
        assert!(more.is_empty());
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("*.conf", "extra.conf"));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(!glob_match("*.conf", "extra.yaml"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("x", ""));
        assert!(glob_match("*a*b", "xxaxxb"));
    }

    #[test]
    fn headers_read_in_any_case() {
        assert_eq!(SectionKind::from_header("input"), Some(SectionKind::Input));
        assert_eq!(
            SectionKind::from_header("Multiline_Parser"),
            Some(SectionKind::MultilineParser)
        );
        assert_eq!(SectionKind::from_header("PLUGINS"), None);
    }
}
