//! Which configuration to load and in which format: `-c FILE`, else `FIRELANE_CONFIG` (both
//! read by the CLI), else the file FireLens mounts when it exists, else the embedded default. The
//! format comes from the extension (`.toml`, `.yaml`/`.yml`), else from the first lines.

use std::path::{Path, PathBuf};

use super::errors::{ConfigErrors, Problem};
use super::fluentbit::doc::{RealFiles, SectionKind, unsupported_section};
use super::fluentbit::{self, Extras, FbFormat};
use super::load::load_str;
use super::model::{Config, InputConfig};
use crate::env::{Env, ProcessEnv};

/// The embedded default configuration (see `embedded_default`).
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");
/// Where FireLens expects the Forward Unix socket.
pub const FIRELENS_SOCKET_DIR: &str = "/var/run";
const FIRELENS_SOCKET_FILE: &str = "fluent.sock";
/// Where FireLens mounts the generated Fluent Bit config in the log-router container.
pub const FIRELENS_CONFIG: &str = "/fluent-bit/etc/fluent-bit.conf";

/// A configuration file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    /// Fluent Bit's classic `[SECTION]` format.
    Classic,
    /// Fluent Bit's YAML format.
    Yaml,
}

/// A loaded configuration and what it was loaded from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Keys accepted but ignored (Fluent Bit files), each with file and line.
    pub warnings: Vec<Problem>,
    /// The file, or `None` for the embedded default.
    pub source: Option<PathBuf>,
    pub format: Format,
}

/// The file to load when none was given: FireLens's, when it exists.
pub fn default_file() -> Option<PathBuf> {
    let p = Path::new(FIRELENS_CONFIG);
    p.is_file().then(|| p.to_path_buf())
}

/// Loads `path` (any format) or, without one, the FireLens file or the embedded default.
pub fn load(path: Option<&Path>) -> Result<Loaded, ConfigErrors> {
    load_with(path, &ProcessEnv, &Extras::default())
}

/// [`load`], reading `${VAR}` from `env`, with what start-up adds to a Fluent Bit file
/// (`extras`; init files need a classic file to be added to).
pub fn load_with(
    path: Option<&Path>,
    env: &dyn Env,
    extras: &Extras<'_>,
) -> Result<Loaded, ConfigErrors> {
    match path.map(Path::to_path_buf).or_else(default_file) {
        Some(p) => load_path_with(&p, env, extras),
        None if has_init_files(extras) => Err(ConfigErrors::single(
            FIRELENS_CONFIG,
            "init files (aws_fluent_bit_init_*) are added to the main configuration, and there is \
             none: give one with -c, or run where FireLens mounts its file",
        )),
        None => Ok(Loaded {
            config: embedded_default(),
            warnings: Vec::new(),
            source: None,
            format: Format::Toml,
        }),
    }
}

/// Loads `path` in the format it is written in.
pub fn load_path(path: &Path) -> Result<Loaded, ConfigErrors> {
    load_path_with(path, &ProcessEnv, &Extras::default())
}

fn has_init_files(extras: &Extras<'_>) -> bool {
    !extras.includes.is_empty() || !extras.parsers_files.is_empty()
}

/// [`load_path`], reading `${VAR}` from `env`, with `extras` (see [`load_with`]).
pub fn load_path_with(
    path: &Path,
    env: &dyn Env,
    extras: &Extras<'_>,
) -> Result<Loaded, ConfigErrors> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors::single(&origin, format!("cannot read the file: {e}")))?;
    let format = detect(path, &text);
    let lookup = |name: &str| env.var(name);
    let (config, warnings) = match format {
        Format::Toml if has_init_files(extras) => {
            return Err(ConfigErrors::single(
                &origin,
                "init files (aws_fluent_bit_init_*) are classic Fluent Bit files: they can only \
                 be added to a classic configuration, not to a TOML one",
            ));
        }
        Format::Toml => {
            let base = path.parent().unwrap_or(Path::new(""));
            (super::load::load_str_in(&text, &origin, base)?, Vec::new())
        }
        Format::Classic => {
            fluentbit::load_with(path, FbFormat::Classic, &RealFiles, &lookup, extras)?
        }
        Format::Yaml => fluentbit::load_with(path, FbFormat::Yaml, &RealFiles, &lookup, extras)?,
    };
    Ok(Loaded {
        config,
        warnings,
        source: Some(path.to_path_buf()),
        format,
    })
}

/// The format of `text`, read from `path`.
pub fn detect(path: &Path, text: &str) -> Format {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("toml") => return Format::Toml,
        Some("yaml" | "yml") => return Format::Yaml,
        _ => {}
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let Some(first) = lines.next() else {
        return Format::Toml;
    };
    if first.starts_with('@') {
        return Format::Classic;
    }
    if first.starts_with("[[") {
        return Format::Toml;
    }
    if let Some(name) = first.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return match SectionKind::from_header(name.trim()) {
            // `[service]` starts TOML files too: TOML's next line is `key = value`.
            Some(SectionKind::Service) => match lines.next() {
                Some(next) if is_toml_assignment(next) => Format::Toml,
                Some(_) => Format::Classic,
                None => Format::Toml,
            },
            Some(_) => Format::Classic,
            // A Streams_File or Plugins_File given as the config: the classic reader says so.
            None if unsupported_section(name.trim()).is_some() => Format::Classic,
            // Any other `[NAME]` followed by a `Key value` line is a classic section too.
            None => match lines.next() {
                Some(next) if !next.starts_with('[') && !is_toml_assignment(next) => {
                    Format::Classic
                }
                _ => Format::Toml,
            },
        };
    }
    if first == "---" || first.ends_with(':') || first.contains(": ") {
        return Format::Yaml;
    }
    Format::Toml
}

/// `key = value` (TOML) rather than `key value` (classic).
fn is_toml_assignment(line: &str) -> bool {
    line.split_once('=').is_some_and(|(k, _)| {
        let k = k.trim();
        !k.is_empty() && !k.contains(char::is_whitespace)
    })
}

/// The embedded default: a Forward input on 127.0.0.1:24224 to a stdout output, plus FireLens's
/// Unix socket `/var/run/fluent.sock` on the same input when `/var/run` is writable now.
pub fn embedded_default() -> Config {
    embedded_default_in(Path::new(FIRELENS_SOCKET_DIR))
}

pub(crate) fn embedded_default_in(socket_dir: &Path) -> Config {
    #[allow(clippy::expect_used)] // A constant file, loaded by the `embedded_default_*` tests.
    let mut cfg = load_str(DEFAULT_TOML, "default.toml").expect("the embedded default loads");
    if dir_is_writable(socket_dir)
        && let Some(InputConfig::Forward(forward)) = cfg.inputs.first_mut()
    {
        forward.unix_path = Some(socket_dir.join(FIRELENS_SOCKET_FILE).display().to_string());
    }
    cfg
}

/// Permission bits do not tell about read-only mounts or the process's identity: try a file.
fn dir_is_writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".firelane-write-probe-{}", std::process::id()));
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .is_ok();
    if created {
        let _ = std::fs::remove_file(&probe);
    }
    created
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_comes_from_the_extension_then_the_first_lines() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(detect(&p("a.toml"), "[INPUT]\n"), Format::Toml);
        assert_eq!(detect(&p("a.YML"), ""), Format::Yaml);
        let conf = p("/fluent-bit/etc/fluent-bit.conf");
        assert_eq!(
            detect(&conf, "\n# x\n[INPUT]\n    Name forward\n"),
            Format::Classic
        );
        assert_eq!(detect(&conf, "@INCLUDE a.conf\n"), Format::Classic);
        assert_eq!(detect(&conf, "[SERVICE]\n    Flush 1\n"), Format::Classic);
        assert_eq!(detect(&conf, "[service]\ngrace = \"5s\"\n"), Format::Toml);
        assert_eq!(
            detect(&conf, "[[inputs]]\nname = \"forward\"\n"),
            Format::Toml
        );
        assert_eq!(detect(&conf, "service:\n  flush: 1\n"), Format::Yaml);
        assert_eq!(detect(&conf, "---\npipeline:\n"), Format::Yaml);
        assert_eq!(detect(&conf, ""), Format::Toml);
        // A Streams_File or Plugins_File, and any other `[NAME]` with a `Key value` under it.
        assert_eq!(
            detect(
                &conf,
                "[STREAM_TASK]\n    Name t\n    Exec CREATE STREAM s AS SELECT * FROM TAG:'a' WHERE x = 1;\n"
            ),
            Format::Classic
        );
        assert_eq!(detect(&conf, "[PLUGINS]\n"), Format::Classic);
        assert_eq!(
            detect(&conf, "[CUSTOM]\n    Name calyptia\n"),
            Format::Classic
        );
        assert_eq!(detect(&conf, "[inputs]\nname = \"x\"\n"), Format::Toml);
        assert_eq!(detect(&conf, "[table]\n[other]\n"), Format::Toml);
    }

    #[test]
    fn toml_assignments_are_told_from_classic_entries() {
        assert!(is_toml_assignment("flush = 1"));
        assert!(is_toml_assignment("http_port=2020"));
        assert!(!is_toml_assignment("Flush 1"));
        assert!(!is_toml_assignment("Regex log a=b"));
    }
}
