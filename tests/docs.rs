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

/// Every folder under src/, at any depth (`input/`, `input/forward/codec/`), as paths relative
/// to src/. Test data folders are not code.
fn src_folders() -> Vec<String> {
    let src = root().join("src");
    let mut out = Vec::new();
    let mut todo = folders(&src);
    while let Some(dir) = todo.pop() {
        if dir.file_name().is_some_and(|n| n == "testdata") {
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
