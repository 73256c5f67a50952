//! Reader for Fluent Bit's YAML configuration format (`service`, `pipeline`, `parsers`,
//! `multiline_parsers`, `includes`, `env`) into the format-independent [`Doc`].
//!
//! Two passes: the first reads the root file and its includes (depth first, in order), collects
//! every `env` variable and lists the top-level blocks in the order their sections appear, an
//! included file's blocks spliced in where its `includes` is; the second turns the blocks into
//! sections, so a `${VAR}` can use an `env` variable written anywhere. Nothing here panics on
//! any input: every problem becomes a finding with its file and line.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::doc::{Doc, Files, Findings, Origin, Substitution, expand_glob, expand_vars};
use crate::config::errors::Problem;

mod rules;
mod sections;
mod tree;

use sections::Build;
use tree::Node;

/// Includes nested deeper than this are refused (a cycle is caught before; this bounds the rest).
const MAX_INCLUDE_DEPTH: usize = 16;

const TOP_LEVEL_KEYS: &str = "service, pipeline, parsers, multiline_parsers, includes, env";

/// Reads the YAML config at `root` and every file it includes. `env` is the process
/// environment; `env:` variables of the files take priority over it.
pub fn read_yaml(
    root: &Path,
    files: &dyn Files,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Doc, Findings) {
    let base_dir = root.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut loader = Loader {
        files,
        env,
        base_dir: base_dir.clone(),
        findings: Findings::default(),
        loaded: Vec::new(),
        blocks: Vec::new(),
        vars: Vec::new(),
        chain: Vec::new(),
        substitutions: Vec::new(),
    };
    loader.load(root, root.display().to_string().into(), None);
    let mut build = Build {
        vars: &loader.vars,
        env,
        findings: &mut loader.findings,
        sections: Vec::new(),
        substitutions: std::mem::take(&mut loader.substitutions),
    };
    for &(file, pair) in &loader.blocks {
        let loaded = &loader.loaded[file];
        let (key, value) = &loaded.pairs[pair];
        build.block(&loaded.file, key, value);
    }
    let doc = Doc {
        sections: build.sections,
        base_dir,
        substitutions: build.substitutions,
    };
    (doc, loader.findings)
}

/// One file read, its top-level `key: value` pairs kept for the second pass.
struct Loaded {
    file: Arc<str>,
    pairs: Vec<(Node, Node)>,
}

struct Loader<'a> {
    files: &'a dyn Files,
    env: &'a dyn Fn(&str) -> Option<String>,
    base_dir: PathBuf,
    findings: Findings,
    loaded: Vec<Loaded>,
    /// `(index in loaded, index in its pairs)` of every section block, in section order.
    blocks: Vec<(usize, usize)>,
    /// `env:` variables of every file, in reading order (a later one wins).
    vars: Vec<(String, String)>,
    /// The files being read, root first: an include of one of them is a cycle.
    chain: Vec<PathBuf>,
    /// What `${VAR}`s in `includes` expanded to.
    substitutions: Vec<Substitution>,
}

impl Loader<'_> {
    /// Reads one file; `included_at` is where it was included (`None` for the root).
    fn load(&mut self, path: &Path, file: Arc<str>, included_at: Option<&Origin>) {
        let problem = |message: String| match included_at {
            Some(at) => at.problem("includes", message),
            None => Problem {
                origin: file.to_string(),
                line: None,
                key: String::new(),
                message,
            },
        };
        let key = normalize(path);
        if self.chain.contains(&key) {
            let msg = format!("include cycle: `{file}` is already being read (it includes itself)");
            self.findings.errors.push(problem(msg));
            return;
        }
        if self.chain.len() > MAX_INCLUDE_DEPTH {
            let msg = format!("includes nested more than {MAX_INCLUDE_DEPTH} deep");
            self.findings.errors.push(problem(msg));
            return;
        }
        let text = match self.files.read(path) {
            Ok(text) => text,
            Err(e) => {
                let msg = format!("cannot read `{file}`: {e}");
                self.findings.errors.push(problem(msg));
                return;
            }
        };
        let pairs = match tree::parse(&text) {
            Ok(Some(Node::Map { pairs, .. })) => pairs,
            Ok(None) => return,
            Ok(Some(other)) => {
                let msg = format!("the top level must be a map of sections ({TOP_LEVEL_KEYS})");
                let at = Origin::new(&file, other.line());
                self.findings.errors.push(at.problem("", msg));
                return;
            }
            Err(e) => {
                let at = Origin::new(&file, e.line);
                let msg = format!("YAML syntax error: {}", e.message);
                self.findings.errors.push(at.problem("", msg));
                return;
            }
        };
        let index = self.loaded.len();
        self.loaded.push(Loaded { file, pairs });
        self.read_env(index);
        self.chain.push(key);
        for pair in 0..self.loaded[index].pairs.len() {
            let (name, value) = &self.loaded[index].pairs[pair];
            match name.as_text().map(str::to_ascii_lowercase).as_deref() {
                Some("env") => {}
                Some("includes") => {
                    let value = value.clone();
                    let file = self.loaded[index].file.clone();
                    self.read_includes(&file, &value);
                }
                _ => self.blocks.push((index, pair)),
            }
        }
        self.chain.pop();
    }

    /// Collects the `env:` map of file `index`.
    fn read_env(&mut self, index: usize) {
        let loaded = &self.loaded[index];
        for (name, value) in &loaded.pairs {
            if !name
                .as_text()
                .is_some_and(|n| n.eq_ignore_ascii_case("env"))
            {
                continue;
            }
            let Node::Map { pairs, .. } = value else {
                let at = Origin::new(&loaded.file, value.line());
                let msg = "env must be a map of `NAME: value`";
                self.findings.errors.push(at.problem("env", msg));
                continue;
            };
            for (var, val) in pairs {
                let at = Origin::new(&loaded.file, var.line());
                match (var.as_text(), val) {
                    (Some(var), Node::Scalar { text, .. }) => self
                        .vars
                        .push((var.trim().to_owned(), text.trim().to_owned())),
                    (Some(var), _) => {
                        let msg = "an env value must be plain text";
                        self.findings.errors.push(at.problem(var, msg));
                    }
                    (None, _) => {
                        let msg = "env names must be plain text";
                        self.findings.errors.push(at.problem("env", msg));
                    }
                }
            }
        }
    }

    /// Reads every file an `includes:` list names, relative to the root file's directory.
    fn read_includes(&mut self, file: &Arc<str>, value: &Node) {
        let Node::List { items, .. } = value else {
            let at = Origin::new(file, value.line());
            let msg = "includes must be a list of file paths";
            self.findings.errors.push(at.problem("includes", msg));
            return;
        };
        for item in items {
            let at = Origin::new(file, item.line());
            let Some(text) = item.as_text() else {
                let msg = "each include must be a file path";
                self.findings.errors.push(at.problem("includes", msg));
                continue;
            };
            let (mut unset, mut found) = (Vec::new(), Vec::new());
            let text = expand_vars(text.trim(), &self.vars, self.env, &mut unset, &mut found);
            warn_unset(&mut self.findings, &at, "includes", unset);
            self.substitutions.extend(Substitution::all_at(&at, found));
            let pattern = self.base_dir.join(&text);
            let paths = match expand_glob(self.files, &pattern) {
                Ok(paths) => paths,
                Err(e) => {
                    let msg = format!("cannot list `{}`: {e}", pattern.display());
                    self.findings.errors.push(at.problem("includes", msg));
                    continue;
                }
            };
            if paths.is_empty() {
                let msg = format!("`{}` matches no file", pattern.display());
                self.findings.warnings.push(at.problem("includes", msg));
            }
            for path in paths {
                self.load(&path, path.display().to_string().into(), Some(&at));
            }
        }
    }
}

/// `a/./b/../c` -> `a/c`, without touching the disk, so a cycle is seen however it is spelled.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// One warning per variable that was neither set nor given a default.
fn warn_unset(findings: &mut Findings, at: &Origin, key: &str, unset: Vec<String>) {
    for name in unset {
        let msg = format!("`${{{name}}}` is not set: the value is empty");
        findings.warnings.push(at.problem(key, msg));
    }
}

#[cfg(test)]
mod include_rule_tests;
#[cfg(test)]
mod tests;
