//! Loading TOML into the model, reporting every problem at once with file, line and key path.
//!
//! Steps: parse the text (a syntax error stops here, with its line); deserialize each section and
//! each `[[inputs]]` / `[[outputs]]` entry on its own, dispatching on `name` ourselves so that one
//! bad entry does not hide the others; run the semantic checks on what deserialized; attach lines
//! from the span index. A `Config` is returned only when there is no problem at all.

use std::path::Path;

use super::errors::{ConfigErrors, Issue, Problem};
use super::filter::{self, FILTER_PLUGINS, FilterConfig};
use super::filter::{MultilineParserConfig, ParserConfig};
use super::model::{Config, InputConfig, OutputConfig, ServiceConfig};
use super::resolve::AliasCounter;
use super::section::{deserialize_table, struct_fields, unknown_key_message};
use super::spans::{KeyPath, SpanIndex};
use super::validate::{self, Sections};

/// Input plugins, as written in `name`.
pub const INPUT_PLUGINS: &[&str] = InputConfig::PLUGINS;
/// Output plugins, as written in `name`.
pub const OUTPUT_PLUGINS: &[&str] = OutputConfig::PLUGINS;

/// Reads and loads a TOML file; `origin` in problems is the path as given.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors::single(&origin, format!("cannot read the file: {e}")))?;
    load_str_in(&text, &origin, path.parent().unwrap_or(Path::new("")))
}

/// Loads TOML text; `origin` names it in problems (usually the file name). After loading, every
/// input and output has its `alias` set (`<plugin>.<n>` unless given).
pub fn load_str(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
    load_str_in(text, origin, Path::new(""))
}

/// [`load_str`] for text read from a file in `base_dir`: relative `service.parsers_file` paths
/// are resolved against it (as Fluent Bit resolves them against its config file's directory).
pub fn load_str_in(text: &str, origin: &str, base_dir: &Path) -> Result<Config, ConfigErrors> {
    let mut table: toml::Table = text.parse().map_err(|e| syntax_error(&e, text, origin))?;
    resolve_parsers_files(&mut table, base_dir);
    let issues = match config_from_table(&table) {
        Ok(cfg) => return Ok(cfg),
        Err(issues) => issues,
    };
    let spans = SpanIndex::new(text);
    let mut problems: Vec<Problem> = issues
        .into_iter()
        .map(|issue| Problem {
            origin: origin.to_owned(),
            line: spans.line(&issue.path),
            key: issue.path.to_string(),
            message: issue.message,
        })
        .collect();
    // File order; problems without a line (missing sections) last. The sort is stable, so problems
    // on one line keep the order they were found in.
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    Err(ConfigErrors {
        problems,
        warnings: Vec::new(),
    })
}

/// Makes relative `service.parsers_file` strings relative to `base_dir` instead of the working
/// directory; leaves anything else (and mistakes, reported later) as it is.
fn resolve_parsers_files(table: &mut toml::Table, base_dir: &Path) {
    if base_dir.as_os_str().is_empty() {
        return;
    }
    let Some(toml::Value::Table(service)) = table.get_mut("service") else {
        return;
    };
    let resolve = |v: &mut toml::Value| {
        if let toml::Value::String(s) = v
            && Path::new(s.as_str()).is_relative()
        {
            *s = base_dir.join(s.as_str()).display().to_string();
        }
    };
    match service.get_mut("parsers_file") {
        Some(toml::Value::Array(items)) => items.iter_mut().for_each(resolve),
        Some(v) => resolve(v),
        None => {}
    }
}

/// Deserializes and checks a TOML document (from a TOML file, or translated from a Fluent Bit
/// one): the config, or every problem located by key path.
pub(crate) fn config_from_table(table: &toml::Table) -> Result<Config, Vec<Issue>> {
    let mut issues = Vec::new();
    let parsed = parse_sections(table, &mut issues);
    issues.extend(validate::check(&parsed.sections()));
    if issues.is_empty() {
        Ok(parsed.into_config())
    } else {
        Err(issues)
    }
}

fn syntax_error(e: &toml::de::Error, text: &str, origin: &str) -> ConfigErrors {
    let (line, column) = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            (
                Some(before.matches('\n').count() + 1),
                Some(before[line_start..].chars().count() + 1),
            )
        }
        None => (None, None),
    };
    let detail = e.message().trim().replace('\n', "; ");
    let message = match column {
        Some(col) => format!("TOML syntax error at column {col}: {detail}"),
        None => format!("TOML syntax error: {detail}"),
    };
    ConfigErrors {
        problems: vec![Problem {
            origin: origin.to_owned(),
            line,
            key: String::new(),
            message,
        }],
        warnings: Vec::new(),
    }
}

/// What deserialized, by file index.
#[derive(Default)]
struct Parsed {
    service: Option<ServiceConfig>,
    inputs: Vec<(usize, InputConfig)>,
    filters: Vec<(usize, FilterConfig)>,
    parsers: Vec<(usize, ParserConfig)>,
    multiline_parsers: Vec<(usize, MultilineParserConfig)>,
    outputs: Vec<(usize, OutputConfig)>,
    input_entries: usize,
    output_entries: usize,
}

impl Parsed {
    fn sections(&self) -> Sections<'_> {
        Sections {
            service: self.service.as_ref(),
            inputs: self.inputs.iter().map(|(i, c)| (*i, c)).collect(),
            filters: self.filters.iter().map(|(i, c)| (*i, c)).collect(),
            parsers: self.parsers.iter().map(|(i, c)| (*i, c)).collect(),
            multiline_parsers: self
                .multiline_parsers
                .iter()
                .map(|(i, c)| (*i, c))
                .collect(),
            outputs: self.outputs.iter().map(|(i, c)| (*i, c)).collect(),
            input_entries: self.input_entries,
            output_entries: self.output_entries,
        }
    }

    fn into_config(self) -> Config {
        Config {
            service: self.service.unwrap_or_default(),
            inputs: self.inputs.into_iter().map(|(_, c)| c).collect(),
            filters: self.filters.into_iter().map(|(_, c)| c).collect(),
            parsers: self.parsers.into_iter().map(|(_, c)| c).collect(),
            multiline_parsers: self.multiline_parsers.into_iter().map(|(_, c)| c).collect(),
            outputs: self.outputs.into_iter().map(|(_, c)| c).collect(),
        }
    }
}

fn parse_sections(doc: &toml::Table, issues: &mut Vec<Issue>) -> Parsed {
    let root = KeyPath::root();
    let mut parsed = Parsed {
        service: Some(ServiceConfig::default()),
        ..Parsed::default()
    };
    for (key, value) in doc {
        let path = root.key(key);
        match key.as_str() {
            "service" => {
                parsed.service = as_table(value, &path, "a table: [service]", issues)
                    .and_then(|t| deserialize_table::<ServiceConfig>(t, &path, issues));
            }
            "inputs" => {
                let entries = as_entries(value, &path, "inputs", issues);
                // A malformed section still counts as one entry: "at least one" would mislead.
                parsed.input_entries = if value.is_array() { entries.len() } else { 1 };
                let mut aliases = AliasCounter::default();
                for (i, entry) in entries {
                    let entry_path = path.index(i);
                    if let Some(input) = parse_input(entry, &entry_path, &mut aliases, issues) {
                        parsed.inputs.push((i, input));
                    }
                }
            }
            "outputs" => {
                let entries = as_entries(value, &path, "outputs", issues);
                // A malformed section still counts as one entry: "at least one" would mislead.
                parsed.output_entries = if value.is_array() { entries.len() } else { 1 };
                let mut aliases = AliasCounter::default();
                for (i, entry) in entries {
                    let entry_path = path.index(i);
                    if let Some(output) = parse_output(entry, &entry_path, &mut aliases, issues) {
                        parsed.outputs.push((i, output));
                    }
                }
            }
            "parsers" => {
                for (i, entry) in as_entries(value, &path, "parsers", issues) {
                    if let Some(p) =
                        deserialize_table::<ParserConfig>(entry, &path.index(i), issues)
                    {
                        parsed.parsers.push((i, p));
                    }
                }
            }
            "multiline_parsers" => {
                for (i, entry) in as_entries(value, &path, "multiline_parsers", issues) {
                    if let Some(p) =
                        deserialize_table::<MultilineParserConfig>(entry, &path.index(i), issues)
                    {
                        parsed.multiline_parsers.push((i, p));
                    }
                }
            }
            "filters" => {
                let mut aliases = AliasCounter::default();
                for (i, entry) in as_entries(value, &path, "filters", issues) {
                    let entry_path = path.index(i);
                    if let Some((plugin, rest)) =
                        plugin_name(entry, &entry_path, "filter", FILTER_PLUGINS, issues)
                        && let Some(f) =
                            filter::parse(plugin, &rest, &entry_path, &mut aliases, issues)
                    {
                        parsed.filters.push((i, f));
                    }
                }
            }
            other => {
                let known = struct_fields::<Config>().unwrap_or(&[]);
                issues.push(Issue::new(path.clone(), unknown_key_message(other, known)));
            }
        }
    }
    parsed
}

fn as_table<'a>(
    value: &'a toml::Value,
    path: &KeyPath,
    expected: &str,
    issues: &mut Vec<Issue>,
) -> Option<&'a toml::Table> {
    match value {
        toml::Value::Table(t) => Some(t),
        other => {
            issues.push(Issue::new(
                path.clone(),
                format!("expected {expected}, found {}", other.type_str()),
            ));
            None
        }
    }
}

/// The tables of an array of tables (`[[inputs]]`), with their indexes; non-tables are reported.
fn as_entries<'a>(
    value: &'a toml::Value,
    path: &KeyPath,
    section: &str,
    issues: &mut Vec<Issue>,
) -> Vec<(usize, &'a toml::Table)> {
    let toml::Value::Array(items) = value else {
        issues.push(Issue::new(
            path.clone(),
            format!(
                "expected an array of tables: [[{section}]], found {}",
                value.type_str()
            ),
        ));
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            as_table(
                item,
                &path.index(i),
                &format!("a table: [[{section}]]"),
                issues,
            )
            .map(|t| (i, t))
        })
        .collect()
}

/// The entry's plugin name (one of `known`) and its other keys.
fn plugin_name(
    entry: &toml::Table,
    path: &KeyPath,
    kind: &str,
    known: &[&'static str],
    issues: &mut Vec<Issue>,
) -> Option<(&'static str, toml::Table)> {
    let known_list = known.join(", ");
    let name = match entry.get("name") {
        None => {
            issues.push(Issue::new(
                path.clone(),
                format!("missing `name`: the {kind} plugin, one of {known_list}"),
            ));
            return None;
        }
        Some(toml::Value::String(s)) => s.as_str(),
        Some(other) => {
            issues.push(Issue::new(
                path.key("name"),
                format!(
                    "expected a plugin name (one of {known_list}), found {}",
                    other.type_str()
                ),
            ));
            return None;
        }
    };
    let Some(plugin) = known.iter().find(|k| **k == name) else {
        issues.push(Issue::new(
            path.key("name"),
            format!("unknown {kind} plugin `{name}`; known: {known_list}"),
        ));
        return None;
    };
    let mut rest = entry.clone();
    rest.remove("name");
    Some((plugin, rest))
}

fn parse_input(
    entry: &toml::Table,
    path: &KeyPath,
    aliases: &mut AliasCounter,
    issues: &mut Vec<Issue>,
) -> Option<InputConfig> {
    let (plugin, rest) = plugin_name(entry, path, "input", INPUT_PLUGINS, issues)?;
    let mut c = InputConfig::parse(plugin, &rest, path, issues)?;
    let entry = c.entry_mut();
    let default = aliases.next(entry.alias_stem());
    entry.alias_mut().get_or_insert(default);
    Some(c)
}

fn parse_output(
    entry: &toml::Table,
    path: &KeyPath,
    aliases: &mut AliasCounter,
    issues: &mut Vec<Issue>,
) -> Option<OutputConfig> {
    let (plugin, rest) = plugin_name(entry, path, "output", OUTPUT_PLUGINS, issues)?;
    let mut c = OutputConfig::parse(plugin, &rest, path, issues)?;
    // The default alias follows the name as written (`cloudwatch.0` for `Name cloudwatch`, as
    // Fluent Bit names it), unless the plugin has a stem of its own (`forward_out`).
    let stem = match c.entry().alias_stem() {
        stem if stem == c.plugin() => plugin,
        stem => stem,
    };
    let default = aliases.next(stem);
    c.entry_mut().alias_mut().get_or_insert(default);
    Some(c)
}

#[cfg(test)]
mod tests;
