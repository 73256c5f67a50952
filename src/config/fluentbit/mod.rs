//! Fluent Bit configuration files (classic and YAML), read into the same `Config` the TOML
//! loader produces, so a FireLens task can swap the log-router image and keep its config.

pub mod classic;
pub mod doc;
pub mod go_cloudwatch;
pub mod keys;
pub mod redact;
pub mod repeats;
pub mod translate;
pub mod upstream_file;
pub mod values;
pub mod yaml;

#[cfg(test)]
pub(crate) mod memfs;

use std::path::{Path, PathBuf};

use self::doc::Files;
use self::translate::Translated;
use crate::config::errors::{ConfigErrors, Issue, Problem};
use crate::config::load::config_from_table;
use crate::config::model::Config;
use crate::ecs::task::TaskMetadata;

/// A Fluent Bit file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FbFormat {
    Classic,
    Yaml,
}

/// What start-up adds to a Fluent Bit configuration: the aws-for-fluent-bit init process's files
/// and the ECS task (see `crate::init`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// Classic files read after the root file, in order, as if `@INCLUDE`d after its end
    /// (classic roots only).
    pub includes: &'a [PathBuf],
    /// Parsers files loaded after the configuration's own `Parsers_File`s.
    pub parsers_files: &'a [PathBuf],
    /// The ECS task read at start, for the Go `cloudwatch` plugin's `$(ecs_*)` variables.
    pub task: Option<&'a TaskMetadata>,
}

/// Reads the Fluent Bit file `root` (and its includes): the config and its warnings, or every
/// error and warning, each with file and line.
pub fn load(
    root: &Path,
    format: FbFormat,
    files: &dyn Files,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Vec<Problem>), ConfigErrors> {
    load_with(root, format, files, env, &Extras::default())
}

/// [`load`], with what start-up adds (`extras`).
pub fn load_with(
    root: &Path,
    format: FbFormat,
    files: &dyn Files,
    env: &dyn Fn(&str) -> Option<String>,
    extras: &Extras<'_>,
) -> Result<(Config, Vec<Problem>), ConfigErrors> {
    let (mut doc, mut findings) = match format {
        FbFormat::Classic => classic::read_classic_with_includes(root, extras.includes, files, env),
        FbFormat::Yaml => yaml::read_yaml(root, files, env),
    };
    if format == FbFormat::Yaml && !extras.includes.is_empty() {
        findings.errors.push(Problem {
            origin: root.display().to_string(),
            line: None,
            key: String::new(),
            message: "init files (aws_fluent_bit_init_*) are classic Fluent Bit files: they can \
                      only be added to a classic configuration, not to a YAML one"
                .to_owned(),
        });
    }
    let redactor = redact::Redactor::new(&doc);
    go_cloudwatch::resolve_ecs(&mut doc, extras.task);
    let mut translated = translate::translate(&doc);
    findings.extend(std::mem::take(&mut translated.findings));
    upstream_file::expand(&mut translated, files, &mut findings);
    drop_image_parsers_files(&mut translated, files, &mut findings.warnings);
    add_parsers_files(&mut translated, extras.parsers_files);
    let root_shown = root.display().to_string();
    let mut problems = findings.errors;
    redactor.redact(&mut findings.warnings);
    match config_from_table(&translated.table) {
        Ok(cfg) if problems.is_empty() => return Ok((cfg, findings.warnings)),
        Ok(_) => {}
        Err(issues) => {
            let located: Vec<Problem> = issues
                .iter()
                .map(|i| locate(&translated, i, &root_shown))
                .collect();
            problems.extend(located);
            in_file_order(&mut problems);
        }
    }
    redactor.redact(&mut problems);
    Err(ConfigErrors {
        problems,
        warnings: findings.warnings,
    })
}

/// Sorts `problems` by line within each file, the files in the order they first appear.
fn in_file_order(problems: &mut [Problem]) {
    let mut files: Vec<String> = Vec::new();
    for p in problems.iter() {
        if !files.contains(&p.origin) {
            files.push(p.origin.clone());
        }
    }
    problems.sort_by_key(|p| {
        let file = files.iter().position(|f| *f == p.origin);
        (file, p.line.unwrap_or(usize::MAX))
    });
}

/// The parsers files the Fluent Bit images ship; configs written for those images name them.
const IMAGE_PARSERS_FILES: [&str; 2] = [
    "/fluent-bit/parsers/parsers.conf",
    "/fluent-bit/etc/parsers.conf",
];

/// Leaves out a Fluent Bit image's own parsers file when it is not there (firelane's image does
/// not have it): firelane's built-in parsers stand in for it, with a warning.
fn drop_image_parsers_files(t: &mut Translated, files: &dyn Files, warnings: &mut Vec<Problem>) {
    let at = t
        .locate("service.parsers_file")
        .map(|(at, _, raw)| (at.clone(), raw.clone()));
    let Some(toml::Value::Table(service)) = t.table.get_mut("service") else {
        return;
    };
    let Some(value) = service.get_mut("parsers_file") else {
        return;
    };
    let mut paths = match std::mem::replace(value, toml::Value::Array(Vec::new())) {
        toml::Value::Array(items) => items,
        single => vec![single],
    };
    paths.retain(|p| {
        let Some(path) = p.as_str().filter(|p| IMAGE_PARSERS_FILES.contains(p)) else {
            return true;
        };
        if files.read(Path::new(path)).is_ok() {
            return true;
        }
        if let Some((at, raw)) = &at {
            warnings.push(at.problem(
                raw,
                format!(
                    "`{path}` (the Fluent Bit image's parsers file) is not here: firelane's built-in parsers are used instead ({})",
                    crate::filter::parser::builtin_names()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        false
    });
    *value = toml::Value::Array(paths);
}

/// Appends `paths` to `service.parsers_file`.
fn add_parsers_files(t: &mut Translated, paths: &[PathBuf]) {
    if paths.is_empty() {
        return;
    }
    let service = t
        .table
        .entry("service")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let toml::Value::Table(service) = service else {
        return;
    };
    let list = service
        .entry("parsers_file")
        .or_insert_with(|| toml::Value::Array(Vec::new()));
    if let toml::Value::String(single) = list {
        *list = toml::Value::Array(vec![toml::Value::String(std::mem::take(single))]);
    }
    if let toml::Value::Array(items) = list {
        items.extend(
            paths
                .iter()
                .map(|p| toml::Value::String(p.display().to_string())),
        );
    }
}

/// A loader issue (found on the translated TOML) placed at the Fluent Bit line it came from,
/// named by the key as written there.
fn locate(t: &Translated, issue: &Issue, root: &str) -> Problem {
    let path = issue.path.to_string();
    let message = issue
        .message
        .replace("[[inputs]]", "[INPUT] section")
        .replace("[[outputs]]", "[OUTPUT] section");
    let Some((at, prefix, raw)) = t.locate(&path) else {
        return Problem {
            origin: root.to_owned(),
            line: None,
            key: String::new(),
            message,
        };
    };
    let rest = path[prefix.len()..].trim_start_matches('.');
    let key = if rest.is_empty() {
        raw.clone()
    } else {
        format!("{raw} {rest}")
    };
    at.problem(&key, message)
}
