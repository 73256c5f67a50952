//! The Dockerfile read as data: instructions, stages, and what a stage inherits from the stages it
//! is built `FROM`, for tests/e2e/dockerfile.rs (its facts) and tests/e2e/image_rootfs.rs (its final stage run).

use std::path::Path;

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
pub fn instructions() -> Vec<String> {
    let text = read("Dockerfile");
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        let (body, cont) = match t.strip_suffix('\\') {
            Some(b) => (b.trim(), true),
            None => (t, false),
        };
        if open {
            let last = out.last_mut().unwrap();
            last.push(' ');
            last.push_str(body);
        } else {
            out.push(body.to_owned());
        }
        open = cont;
    }
    out
}

/// One `FROM` and the instructions after it.
#[derive(Debug, Clone)]
pub struct Stage {
    /// What it is built from: an image, or an earlier stage's name.
    pub base: String,
    /// `AS name`, if any.
    pub name: Option<String>,
    /// Its own instructions, without the `FROM`.
    pub own: Vec<String>,
}

pub fn stages() -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for i in instructions() {
        if let Some(from) = i.strip_prefix("FROM ") {
            let words: Vec<&str> = from.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                [_] => None,
                other => panic!("FROM form not understood: {other:?}"),
            };
            stages.push(Stage {
                base: words[0].to_owned(),
                name,
                own: Vec::new(),
            });
        } else {
            stages
                .last_mut()
                .expect("an instruction before FROM")
                .own
                .push(i);
        }
    }
    stages
}

/// The image stage `index` is ultimately built from (following stage names), and every
/// instruction in effect for it, inherited ones first.
pub fn resolved(stages: &[Stage], index: usize) -> (String, Vec<String>) {
    let stage = &stages[index];
    match stages[..index]
        .iter()
        .rposition(|s| s.name.as_deref() == Some(stage.base.as_str()))
    {
        Some(parent) => {
            let (root, mut all) = resolved(stages, parent);
            all.extend(stage.own.iter().cloned());
            (root, all)
        }
        None => (stage.base.clone(), stage.own.clone()),
    }
}

/// The default target (the last stage), resolved.
pub fn final_stage() -> (String, Vec<String>) {
    let stages = stages();
    resolved(&stages, stages.len() - 1)
}

/// The named stage, resolved.
pub fn named_stage(name: &str) -> (String, Vec<String>) {
    let stages = stages();
    let index = stages
        .iter()
        .position(|s| s.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no stage {name}"));
    resolved(&stages, index)
}

/// The last instruction starting with `word` (later ones override earlier ones), without the word.
pub fn last<'a>(instructions: &'a [String], word: &str) -> Option<&'a str> {
    instructions
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix(word)?.strip_prefix(' '))
}

/// An exec-form JSON array (`["a", "b"]`) as its strings.
pub fn exec_form(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not an exec-form array: {text}: {e}"))
}
