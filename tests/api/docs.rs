//! The documents that describe the code, checked against it so that they cannot go stale
//! silently: docs/ARCHITECTURE.md names every folder of src/ and indexes every module whose doc
//! states invariants; docs/reference/metrics.md lists exactly the metrics src/telemetry.rs
//! describes. (docs/reference/config.md is checked by a unit test, src/config/reference_tests.rs,
//! which can read the config structs' fields.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Sub-folders of `dir`, sorted.
fn folders(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// Whether `path` (a `.rs` file) holds tests only: `tests.rs`, `*_tests.rs`, or anything under
/// a `tests/` folder (the convention: `foo.rs` keeps its long tests in `foo/tests.rs`).
fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name == "tests.rs"
        || name.ends_with("_tests.rs")
        || path.components().any(|c| c.as_os_str() == "tests")
}

/// Whether every `.rs` file under `dir` (a folder of `src`) holds tests only. Paths are judged
/// relative to `src`, so where the repository is checked out does not matter.
fn is_test_folder(src: &Path, dir: &Path) -> bool {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    files
        .iter()
        .all(|f| is_test_file(f.strip_prefix(src).unwrap()))
}

/// Every folder under src/, at any depth (`input/`, `input/forward/codec/`), as paths relative
/// to src/. Test data folders and folders holding only tests are not code.
fn src_folders() -> Vec<String> {
    let src = root().join("src");
    let mut out = Vec::new();
    let mut todo = folders(&src);
    while let Some(dir) = todo.pop() {
        if dir.file_name().is_some_and(|n| n == "testdata") || is_test_folder(&src, &dir) {
            continue;
        }
        todo.extend(folders(&dir));
        out.push(
            dir.strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    out.sort();
    out
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Modules (not test files) whose `//!` doc states invariants, as paths relative to src/.
fn modules_stating_invariants() -> BTreeSet<String> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .filter(|f| {
            let name = f.file_name().unwrap().to_string_lossy();
            !name.ends_with("tests.rs")
        })
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .any(|l| l.starts_with("//!") && l.to_ascii_lowercase().contains("invariant"))
        })
        .map(|f| f.strip_prefix(&src).unwrap().to_string_lossy().into_owned())
        .collect()
}

/// The index at the end of docs/ARCHITECTURE.md: lines `- \`src/dir/\`: \`a.rs\`, \`b.rs\``,
/// as paths relative to src/.
fn invariants_index(doc: &str) -> BTreeSet<String> {
    let start = doc
        .find("## Where the invariants are written")
        .expect("docs/ARCHITECTURE.md has its invariants index");
    let mut out = BTreeSet::new();
    for line in doc[start..].lines() {
        let Some(rest) = line.strip_prefix("- `src/") else {
            continue;
        };
        let (dir, files) = rest.split_once("`:").expect("- `src/dir/`: `file.rs`, ...");
        for file in files.split('`').skip(1).step_by(2) {
            out.insert(format!("{dir}{file}"));
        }
    }
    out
}

#[test]
fn every_src_folder_is_in_the_architecture_map() {
    let doc = read("docs/ARCHITECTURE.md");
    let start = doc
        .find("## Module map")
        .expect("docs/ARCHITECTURE.md has its module map");
    let map = &doc[start..];
    let map = &map[..map[1..].find("\n## ").map_or(map.len(), |i| i + 1)];
    let missing: Vec<String> = src_folders()
        .into_iter()
        .filter(|rel| !map.contains(&format!("`src/{rel}/`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md does not name these folders (write `src/<folder>/`, in backticks, in its module map): {missing:?}"
    );
}

#[test]
fn every_module_stating_invariants_is_in_the_architecture_index() {
    let doc = read("docs/ARCHITECTURE.md");
    let indexed = invariants_index(&doc);
    let stated = modules_stating_invariants();
    let missing: Vec<&String> = stated.difference(&indexed).collect();
    let stale: Vec<&String> = indexed.difference(&stated).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/ARCHITECTURE.md, \"Where the invariants are written\": add {missing:?}; remove {stale:?} (no such file, or its //! doc states no invariants)"
    );
}

/// Collects the names `describe_metrics` describes.
#[derive(Default)]
struct Described(Mutex<BTreeSet<String>>);

impl Described {
    fn add(&self, key: KeyName) {
        self.0.lock().unwrap().insert(key.as_str().to_owned());
    }
}

impl Recorder for Described {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.add(key);
    }
    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.add(key);
    }
    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.add(key);
    }
    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::noop()
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// The metric names src/telemetry.rs declares: its `pub const NAME: &str = "...";` lines.
fn declared_metrics() -> BTreeSet<String> {
    read("src/telemetry.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.split_once(": &str = \""))
        .map(|(_, value)| value.trim_end_matches("\";").to_owned())
        .collect()
}

/// Metric names a document writes between backticks.
fn documented_metrics(doc: &str) -> BTreeSet<String> {
    doc.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("firelane_") || s.starts_with("process_"))
        .filter(|s| {
            s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_metrics_reference_lists_exactly_the_described_metrics() {
    let declared = declared_metrics();
    let described = Described::default();
    metrics::with_local_recorder(&described, firelane::telemetry::describe_metrics);
    let described = described.0.into_inner().unwrap();
    assert!(
        declared.len() > 40,
        "the name list was not found: {declared:?}"
    );
    let undescribed: Vec<&String> = declared.difference(&described).collect();
    let undeclared: Vec<&String> = described.difference(&declared).collect();
    assert!(
        undescribed.is_empty() && undeclared.is_empty(),
        "src/telemetry.rs: no describe_* line for {undescribed:?}; described without a name constant: {undeclared:?}"
    );
    let documented = documented_metrics(&read("docs/reference/metrics.md"));
    let missing: Vec<&String> = declared.difference(&documented).collect();
    let unknown: Vec<&String> = documented.difference(&declared).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/reference/metrics.md: add {missing:?}; not metrics firelane registers: {unknown:?}"
    );
}

/// The top-level module `rel` (a path under src/) belongs to: `config` for `config/load.rs`,
/// `time` for `time.rs`.
fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// The code of a source file as the layering counts it: comments cut, and nothing from a
/// `#[cfg(test)]` module on (tests may use any module).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        out.push_str(line.split("//").next().unwrap());
        out.push('\n');
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules `code` names through `crate::` (`crate::a::b`, `crate::{a, b::c}`).
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut start) = (0, 0);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident_at(group[start..i].trim()).to_owned());
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident_at(group[start..i].trim()).to_owned());
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident_at(rest).to_owned());
        }
    }
    out.remove("");
    out
}

/// Which top-level module uses which (outside tests), with one file that does it.
fn module_imports() -> std::collections::BTreeMap<(String, String), String> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges = std::collections::BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let name = rel.file_name().unwrap().to_string_lossy();
        if name == "tests.rs" || name.ends_with("_tests.rs") || name == "lib.rs" {
            continue;
        }
        let from = top_module(rel);
        for to in crate_modules(&code_of(&std::fs::read_to_string(&file).unwrap())) {
            if to != from {
                edges
                    .entry((from.clone(), to))
                    .or_insert_with(|| rel.display().to_string());
            }
        }
    }
    edges
}

/// The layers of docs/ARCHITECTURE.md's "Layers" table, bottom first, and the upward imports
/// its "Exceptions" list names.
fn documented_layers(doc: &str) -> (Vec<Vec<String>>, BTreeSet<(String, String)>) {
    let section = doc
        .split("\n## Layers\n")
        .nth(1)
        .expect("a `## Layers` section");
    let section = section.split("\n## ").next().unwrap();
    let ticked =
        |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    let layers = (section.lines())
        .filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
        .map(|l| ticked(l.split('|').nth(2).unwrap()))
        .collect();
    let exceptions = (section.lines())
        .filter(|l| l.starts_with("- `") && l.contains("` -> `"))
        .map(|l| {
            let t = ticked(l);
            (t[0].clone(), t[1].clone())
        })
        .collect();
    (layers, exceptions)
}

#[test]
fn modules_use_only_their_layer_and_those_below_and_no_import_circles() {
    let (layers, exceptions) = documented_layers(&read("docs/ARCHITECTURE.md"));
    let layer_of = |m: &str| layers.iter().position(|l| l.iter().any(|x| x == m));
    let lib = read("src/lib.rs");
    let mut modules: BTreeSet<String> = (lib.lines())
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_owned())
        .collect();
    modules.insert("main".to_owned());
    let unplaced: Vec<_> = modules.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "modules missing from the Layers table of docs/ARCHITECTURE.md: {unplaced:?}"
    );
    let imports = module_imports();
    let upward: BTreeSet<(String, String)> = (imports.keys())
        .filter(|(from, to)| layer_of(to) > layer_of(from))
        .cloned()
        .collect();
    let unexplained: Vec<_> = (upward.difference(&exceptions))
        .map(|(f, t)| format!("{f} -> {t} ({})", imports[&(f.clone(), t.clone())]))
        .collect();
    assert!(
        unexplained.is_empty(),
        "imports from a lower layer to a higher one, not among the exceptions: {unexplained:?}"
    );
    let stale: Vec<_> = exceptions.difference(&upward).collect();
    assert!(
        stale.is_empty(),
        "exceptions that no longer occur: {stale:?}"
    );
    assert!(
        exceptions.len() <= 2,
        "at most two upward imports: {exceptions:?}"
    );
    // No circles: walk from each module; coming back to it would be one.
    for start in &modules {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&String> = vec![start];
        while let Some(m) = todo.pop() {
            for ((from, to), file) in &imports {
                if from == m {
                    assert_ne!(
                        to, start,
                        "an import circle through {start} ({file} -> {to})"
                    );
                    if seen.insert(to) {
                        todo.push(to);
                    }
                }
            }
        }
    }
}

#[test]
fn the_import_scanner_reads_paths_groups_and_skips_comments_and_tests() {
    let code = code_of(
        "use crate::a::b;\nuse crate::{c, d::e, f::{g, h}};\n// crate::x\nlet y = crate::i::j(); \
         // crate::z\n#[cfg(test)]\nmod tests {\n    use crate::k;\n}\n",
    );
    let found: Vec<_> = crate_modules(&code).into_iter().collect();
    assert_eq!(found, ["a", "c", "d", "f", "i"]);
}
