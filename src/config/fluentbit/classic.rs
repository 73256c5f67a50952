//! Reader for Fluent Bit's classic configuration format (what the ECS agent generates for
//! FireLens and mounts at `/fluent-bit/etc/fluent-bit.conf`).
//!
//! Format: `[SECTION]` headers at column 0; entries indented, the first indented line of a file
//! fixing the indent every other entry of that file must use; `key value` split at the first
//! whitespace, the value trimmed and never quoted; `#` starts a comment only as a line's first
//! non-indent character; `@INCLUDE path` (globs allowed, relative to the root file's directory)
//! and `@SET KEY=VALUE`; `${VAR}` / `${VAR:-default}` expanded from `@SET` then the environment.
//!
//! Invariants: every problem of every file is reported with its file and line, reading goes on
//! after one; an include cycle or a missing include never loops or stops the rest; nothing
//! panics on any text.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::doc::{
    Doc, Entry, Files, Findings, Origin, Section, SectionKind, Substitution, expand_glob,
    unsupported_section,
};

/// Deepest chain of `@INCLUDE`s followed.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads `root` and everything it includes.
pub fn read_classic(
    root: &Path,
    files: &dyn Files,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Doc, Findings) {
    read_classic_with_includes(root, &[], files, env)
}

/// Reads `root`, then each of `includes` in order, as `@INCLUDE` lines after the end of `root`
/// would (what the aws-for-fluent-bit init process writes: a main config that `@INCLUDE`s the
/// ECS-generated one and then each init file). `@SET` variables carry over, as with `@INCLUDE`.
pub fn read_classic_with_includes(
    root: &Path,
    includes: &[PathBuf],
    files: &dyn Files,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Doc, Findings) {
    let base_dir = root.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut reader = Reader {
        files,
        env,
        vars: Vec::new(),
        chain: Vec::new(),
        doc: Doc {
            base_dir,
            ..Doc::default()
        },
        findings: Findings::default(),
    };
    let shown: Arc<str> = root.display().to_string().into();
    reader.read_file(root, &shown, None);
    for include in includes {
        let include = normalize(&reader.doc.base_dir.join(include));
        let shown: Arc<str> = include.display().to_string().into();
        reader.read_file(&include, &shown, None);
    }
    (reader.doc, reader.findings)
}

struct Reader<'a> {
    files: &'a dyn Files,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// `@SET` variables, in the order set (a later one wins).
    vars: Vec<(String, String)>,
    /// The files being read, outermost first, to find include cycles.
    chain: Vec<PathBuf>,
    doc: Doc,
    findings: Findings,
}

/// Where entries of the current line go.
enum Target {
    /// Before any header, or after an `@INCLUDE`.
    None,
    /// `doc.sections[i]`.
    Section(usize),
    /// An unknown section (already reported): its entries are skipped.
    Skip,
}

impl Reader<'_> {
    fn read_file(&mut self, path: &Path, shown: &Arc<str>, included_at: Option<&Origin>) {
        let text = match self.files.read(path) {
            Ok(t) => t,
            Err(e) => {
                let message = format!("cannot read `{}`: {e}", path.display());
                self.findings.errors.push(match included_at {
                    Some(at) => at.problem("@INCLUDE", message),
                    None => crate::config::errors::Problem {
                        origin: shown.to_string(),
                        line: None,
                        key: String::new(),
                        message: format!("cannot read the file: {e}"),
                    },
                });
                return;
            }
        };
        self.chain.push(normalize(path));
        self.read_text(&text, shown);
        self.chain.pop();
    }

    fn read_text(&mut self, text: &str, file: &Arc<str>) {
        // Editors on Windows may start a file with a byte-order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // The indent of the first indented line, and that line's number.
        let mut indent: Option<(&str, usize)> = None;
        let mut target = Target::None;
        for (i, raw) in text.split('\n').enumerate() {
            let at = Origin::new(file, i + 1);
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let content = line.trim_start_matches([' ', '\t']);
            let content = content.trim_end();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let lead = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
            if content.starts_with('@') {
                self.command(content, &at);
                target = Target::None;
                continue;
            }
            if content.starts_with('[') {
                if !lead.is_empty() {
                    self.error(
                        &at,
                        "",
                        "a section header must start at the beginning of the line",
                    );
                }
                target = self.header(content, &at);
                continue;
            }
            if lead.is_empty() {
                self.error(
                    &at,
                    "",
                    format!("`{content}`: entries must be indented under a [SECTION] header"),
                );
                continue;
            }
            match indent {
                None => indent = Some((lead, at.line)),
                Some((first, first_line)) if first != lead => {
                    self.error(
                        &at,
                        "",
                        format!(
                            "indentation {} differs from the {} this file uses since line {first_line}",
                            describe_indent(lead),
                            describe_indent(first)
                        ),
                    );
                }
                Some(_) => {}
            }
            let section = match target {
                Target::Section(s) => s,
                Target::Skip => continue,
                Target::None => {
                    self.error(
                        &at,
                        "",
                        "entry outside a section: add a [SECTION] header above it",
                    );
                    continue;
                }
            };
            let (raw_key, value) = match content.split_once([' ', '\t']) {
                Some((k, v)) => (k, v.trim()),
                None => (content, ""),
            };
            if value.is_empty() {
                self.error(&at, raw_key, format!("`{raw_key}` has no value"));
                continue;
            }
            let value = self.expand(value, &at, raw_key);
            self.doc.sections[section].entries.push(Entry {
                key: raw_key.to_ascii_lowercase(),
                raw_key: raw_key.to_owned(),
                value,
                at,
            });
        }
    }

    fn header(&mut self, content: &str, at: &Origin) -> Target {
        let Some(name) = content
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .map(str::trim)
        else {
            self.error(at, "", format!("`{content}`: a section header is `[NAME]`"));
            return Target::Skip;
        };
        let Some(kind) = SectionKind::from_header(name) else {
            if let Some((is_error, what)) = unsupported_section(name) {
                let message = format!("[{name}] is {what}");
                match is_error {
                    true => self.error(at, "", message),
                    false => self.warn(at, "", message),
                }
                return Target::Skip;
            }
            self.error(
                at,
                "",
                format!(
                    "unknown section [{name}]; known: SERVICE, INPUT, FILTER, OUTPUT, PARSER, MULTILINE_PARSER"
                ),
            );
            return Target::Skip;
        };
        self.doc.sections.push(Section {
            kind,
            at: at.clone(),
            entries: Vec::new(),
        });
        Target::Section(self.doc.sections.len() - 1)
    }

    fn command(&mut self, content: &str, at: &Origin) {
        let (name, arg) = match content.split_once([' ', '\t']) {
            Some((n, a)) => (n, a.trim()),
            None => (content, ""),
        };
        if name.eq_ignore_ascii_case("@SET") {
            match arg.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    let v = self.expand(v.trim(), at, "@SET");
                    self.vars.push((k.trim().to_owned(), v));
                }
                _ => self.error(at, "@SET", "expected `@SET KEY=VALUE`"),
            }
        } else if name.eq_ignore_ascii_case("@INCLUDE") {
            if arg.is_empty() {
                self.error(at, "@INCLUDE", "expected `@INCLUDE PATH`");
                return;
            }
            let arg = self.expand(arg, at, "@INCLUDE");
            self.include(&arg, at);
        } else {
            self.error(
                at,
                name,
                format!("unknown command `{name}`; known: @INCLUDE, @SET"),
            );
        }
    }

    fn include(&mut self, pattern: &str, at: &Origin) {
        let path = self.doc.base_dir.join(pattern);
        let targets = match expand_glob(self.files, &path) {
            Ok(t) => t,
            Err(e) => {
                self.error(at, "@INCLUDE", format!("cannot list `{pattern}`: {e}"));
                return;
            }
        };
        if targets.is_empty() {
            self.warn(at, "@INCLUDE", format!("`{pattern}` matches no file"));
        }
        for target in targets {
            let target = normalize(&target);
            let key = target.clone();
            if let Some(pos) = self.chain.iter().position(|p| *p == key) {
                let cycle: Vec<String> = self.chain[pos..]
                    .iter()
                    .chain(std::iter::once(&key))
                    .map(|p| p.display().to_string())
                    .collect();
                self.error(
                    at,
                    "@INCLUDE",
                    format!("include cycle: {}", cycle.join(" -> ")),
                );
                continue;
            }
            if self.chain.len() >= MAX_INCLUDE_DEPTH {
                self.error(
                    at,
                    "@INCLUDE",
                    format!("includes nested deeper than {MAX_INCLUDE_DEPTH} files"),
                );
                return;
            }
            let shown: Arc<str> = target.display().to_string().into();
            self.read_file(&target, &shown, Some(at));
        }
    }

    fn expand(&mut self, value: &str, at: &Origin, key: &str) -> String {
        let (mut unset, mut found) = (Vec::new(), Vec::new());
        let out = super::doc::expand_vars(value, &self.vars, self.env, &mut unset, &mut found);
        let subs = Substitution::all_at(at, found);
        self.doc.substitutions.extend(subs);
        for name in unset {
            self.warn(
                at,
                key,
                format!("`${{{name}}}` is not set: it is replaced by an empty value"),
            );
        }
        out
    }

    fn error(&mut self, at: &Origin, key: &str, message: impl Into<String>) {
        self.findings.errors.push(at.problem(key, message));
    }

    fn warn(&mut self, at: &Origin, key: &str, message: impl Into<String>) {
        self.findings.warnings.push(at.problem(key, message));
    }
}

/// "4 spaces", "1 tab", "2 spaces and a tab".
fn describe_indent(lead: &str) -> String {
    let spaces = lead.chars().filter(|&c| c == ' ').count();
    let tabs = lead.len() - spaces;
    let plural = |n: usize, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    match (spaces, tabs) {
        (s, 0) => plural(s, "space"),
        (0, t) => plural(t, "tab"),
        (s, t) => format!("{} and {}", plural(s, "space"), plural(t, "tab")),
    }
}

/// `a/./b/../c` -> `a/c`, without touching the file system (cycles are found by name).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests;
