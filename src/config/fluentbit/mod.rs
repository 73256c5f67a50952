//! Fluent Bit configuration files (classic and YAML), read into the same `Config` the TOML
//! loader produces, so a FireLens task can swap the log-router image and keep its config.

pub mod classic;
pub mod doc;
pub mod go_cloudwatch;
pub mod keys;
pub mod redact;
pub mod translate;
pub mod upstream_file;
pub mod yaml;

#[cfg(test)]
pub(crate) mod memfs;

use std::path::Path;

use self::doc::Files;
use self::translate::Translated;
use crate::config::errors::{ConfigErrors, Issue, Problem};
use crate::config::load::config_from_table;
use crate::config::model::Config;

/// A Fluent Bit file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FbFormat {
    Classic,
    Yaml,
}

/// Reads the Fluent Bit file `root` (and its includes): the config and its warnings, or every
/// error and warning, each with file and line.
pub fn load(
    root: &Path,
    format: FbFormat,
    files: &dyn Files,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Vec<Problem>), ConfigErrors> {
    let seen = redact::EnvSeen::default();
    let env = seen.recording(env);
    let (doc, mut findings) = match format {
        FbFormat::Classic => classic::read_classic(root, files, &env),
        FbFormat::Yaml => yaml::read_yaml(root, files, &env),
    };
    let mut translated = translate::translate(&doc);
    findings.extend(std::mem::take(&mut translated.findings));
    upstream_file::expand(&mut translated, files, &mut findings);
    drop_image_parsers_files(&mut translated, files, &mut findings.warnings);
    let root_shown = root.display().to_string();
    let mut problems = findings.errors;
    seen.redact(&mut findings.warnings);
    match config_from_table(&translated.table) {
        Ok(cfg) if problems.is_empty() => return Ok((cfg, findings.warnings)),
        Ok(_) => {}
        Err(issues) => {
            let mut located: Vec<Problem> = issues
                .iter()
                .map(|i| locate(&translated, i, &root_shown))
                .collect();
            located.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
            problems.extend(located);
        }
    }
    seen.redact(&mut problems);
    Err(ConfigErrors {
        problems,
        warnings: findings.warnings,
    })
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
