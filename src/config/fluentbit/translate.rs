//! Turns a Fluent Bit [`Doc`] into the TOML document the loader reads, so both formats go through
//! the same deserialization and checks, and remembers where each key was written so that every
//! problem found later points at the Fluent Bit file and line.
//!
//! Invariants: sections keep their order; an unsupported plugin is an error naming it and is left
//! out (so its keys are not also blamed); a key is either passed on (the loader reports it if it
//! is unknown), accepted with one warning (it changes nothing we must honour), or refused with
//! the reason (ignoring it would change what is delivered or who may send).

use std::collections::HashMap;

use super::doc::{Doc, Entry, Findings, Origin, Section, SectionKind};
use super::go_cloudwatch;
use super::keys::{self, KeyRule};
use super::{repeats, values};
use crate::config::filter::FILTER_PLUGINS;
use crate::config::load::{INPUT_PLUGINS, OUTPUT_PLUGINS};

/// Output plugins Fluent Bit users write that firelane does not have, with what to do instead.
const MISSING_OUTPUTS: [(&str, &str); 6] = [
    ("kinesis_firehose", "Kinesis Data Firehose is not supported"),
    ("firehose", "Kinesis Data Firehose is not supported"),
    ("kinesis_streams", "Kinesis Data Streams is not supported"),
    ("kinesis", "Kinesis Data Streams is not supported"),
    ("opensearch", "OpenSearch is not supported"),
    ("es", "Elasticsearch is not supported"),
];

/// The TOML document, where its keys came from, and what translating found.
#[derive(Debug, Clone, Default)]
pub struct Translated {
    pub table: toml::Table,
    /// `outputs[1]` / `outputs[1].region` -> where it was written and the key as written.
    pub locations: HashMap<String, (Origin, String)>,
    pub findings: Findings,
}

impl Translated {
    /// Where the problem at `path` (`outputs[1].region`, `service.parsers_file[0]`) was written:
    /// the longest prefix of the path that is known.
    /// Returns the place, the prefix found and the key as written there.
    pub fn locate<'p>(&self, path: &'p str) -> Option<(&Origin, &'p str, &String)> {
        let mut p = path;
        loop {
            if let Some((at, raw)) = self.locations.get(p) {
                return Some((at, p, raw));
            }
            p = &p[..p.rfind(['.', '['])?];
        }
    }
}

/// Translates `doc`.
pub fn translate(doc: &Doc) -> Translated {
    let mut t = Translated::default();
    let mut service = toml::Table::new();
    let mut arrays: [(SectionKind, &str, Vec<toml::Value>); 5] = [
        (SectionKind::Input, "inputs", Vec::new()),
        (SectionKind::Filter, "filters", Vec::new()),
        (SectionKind::Output, "outputs", Vec::new()),
        (SectionKind::Parser, "parsers", Vec::new()),
        (
            SectionKind::MultilineParser,
            "multiline_parsers",
            Vec::new(),
        ),
    ];
    // Every [SERVICE] section sets the one service (flb_config_set_property), so they are read
    // as one: a key repeated across them takes its last value, as within one.
    let mut services = doc
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Service);
    if let Some(first) = services.next() {
        let merged = Section {
            kind: SectionKind::Service,
            at: first.at.clone(),
            entries: std::iter::once(first)
                .chain(services)
                .flat_map(|s| s.entries.iter().cloned())
                .collect(),
        };
        t.locations.insert(
            "service".to_owned(),
            (first.at.clone(), "[SERVICE]".to_owned()),
        );
        translate_entries(&merged, "", "service", &mut service, doc, &mut t);
    }
    for section in &doc.sections {
        if section.kind == SectionKind::Service {
            continue;
        }
        let Some((_, name, items)) = arrays.iter_mut().find(|(k, _, _)| *k == section.kind) else {
            continue;
        };
        let path = format!("{name}[{}]", items.len());
        if let Some(table) = plugin_section(section, &path, doc, &mut t) {
            t.locations.insert(
                path,
                (section.at.clone(), format!("[{}]", section.kind.header())),
            );
            items.push(toml::Value::Table(table));
        }
    }
    if !service.is_empty() {
        t.table
            .insert("service".to_owned(), toml::Value::Table(service));
    }
    for (_, name, items) in arrays {
        if !items.is_empty() {
            t.table.insert(name.to_owned(), toml::Value::Array(items));
        }
    }
    t
}

/// One input, filter, output, parser or multiline parser as a TOML table, or `None` (reported)
/// when its plugin is missing or unsupported.
fn plugin_section(
    section: &Section,
    path: &str,
    doc: &Doc,
    t: &mut Translated,
) -> Option<toml::Table> {
    let header = section.kind.header();
    let mut table = toml::Table::new();
    let plugin = match section.kind {
        SectionKind::Parser | SectionKind::MultilineParser => String::new(),
        kind => {
            let Some(name) = section.get("name") else {
                t.findings.errors.push(
                    section
                        .at
                        .problem("", format!("[{header}] without `Name` (the plugin)")),
                );
                return None;
            };
            let plugin = name.value.to_ascii_lowercase();
            let supported: &[&str] = match kind {
                SectionKind::Input => INPUT_PLUGINS,
                SectionKind::Filter => FILTER_PLUGINS,
                _ => OUTPUT_PLUGINS,
            };
            if !supported.contains(&plugin.as_str()) {
                let why = MISSING_OUTPUTS
                    .iter()
                    .find(|(p, _)| kind == SectionKind::Output && *p == plugin)
                    .map_or(String::new(), |(_, why)| format!(" ({why})"));
                t.findings.errors.push(name.at.problem(
                    &name.raw_key,
                    format!(
                        "{} plugin `{}` is not supported{why}; firelane has: {}",
                        header.to_ascii_lowercase(),
                        name.value,
                        supported.join(", ")
                    ),
                ));
                return None;
            }
            table.insert("name".to_owned(), toml::Value::String(plugin.clone()));
            plugin
        }
    };
    translate_entries(section, &plugin, path, &mut table, doc, t);
    if plugin == "tcp" {
        values::tcp_buffer(section, path, &mut table, t);
    }
    if plugin == "cloudwatch" {
        let has_ecs_filter = doc.sections.iter().any(|s| {
            s.kind == SectionKind::Filter
                && s.get("name")
                    .is_some_and(|n| n.value.eq_ignore_ascii_case("ecs"))
        });
        go_cloudwatch::rewrite(section, &mut table, has_ecs_filter, t);
    }
    // Fluent Bit's own defaults where firelane's TOML defaults differ, so output looks the same.
    let fluent_bit_format = match plugin.as_str() {
        "stdout" => Some("msgpack"),
        "file" => Some("out_file"),
        _ => None,
    };
    if let Some(format) = fluent_bit_format {
        table
            .entry("format")
            .or_insert_with(|| toml::Value::String(format.to_owned()));
    }
    Some(table)
}

/// Adds `section`'s entries (but `name` of plugin sections) to `table` under `path`.
fn translate_entries(
    section: &Section,
    plugin: &str,
    path: &str,
    table: &mut toml::Table,
    doc: &Doc,
    t: &mut Translated,
) {
    let plugin_section = !matches!(
        section.kind,
        SectionKind::Service | SectionKind::Parser | SectionKind::MultilineParser
    );
    let kept = repeats::kept(section, plugin, &mut t.findings);
    for (entry, _) in section.entries.iter().zip(kept).filter(|(_, keep)| *keep) {
        if plugin_section && entry.key == "name" {
            continue;
        }
        let rule = keys::rule(section.kind, plugin, entry);
        let Some(entry) = values::apply(section.kind, plugin, entry, &mut t.findings) else {
            continue;
        };
        translate_entry(rule, &entry, path, table, doc, t);
    }
}

/// Adds `entry` to `table` (under `path`) as `rule` says.
fn translate_entry(
    rule: KeyRule,
    entry: &Entry,
    path: &str,
    table: &mut toml::Table,
    doc: &Doc,
    t: &mut Translated,
) {
    let (parent, key, value) = match rule {
        KeyRule::Pass => (None, entry.key.clone(), entry.value.clone()),
        KeyRule::Rename(to) => (None, to.to_owned(), entry.value.clone()),
        KeyRule::Rule(to) => (
            None,
            to.to_owned(),
            format!("{} {}", entry.raw_key, entry.value),
        ),
        KeyRule::Path => (None, entry.key.clone(), resolve_path(doc, entry)),
        KeyRule::Value(to, v) => (None, to.to_owned(), v),
        KeyRule::Sub(parent, child) => (Some(parent), child.to_owned(), entry.value.clone()),
        KeyRule::SubValue(parent, child, v) => (Some(parent), child.to_owned(), v),
        KeyRule::Join(to) => {
            if let Some(toml::Value::String(s)) = table.get_mut(to) {
                s.push(',');
                s.push_str(&entry.value);
                return;
            }
            (None, to.to_owned(), entry.value.clone())
        }
        KeyRule::Skip => return,
        KeyRule::Ignore(why) => {
            t.findings.warnings.push(entry.at.problem(
                &entry.raw_key,
                format!("`{}` is accepted and ignored: {why}", entry.raw_key),
            ));
            return;
        }
        KeyRule::Refuse(why) => {
            t.findings
                .errors
                .push(entry.at.problem(&entry.raw_key, why));
            return;
        }
    };
    let (key_path, target) = match parent {
        None => (format!("{path}.{key}"), table),
        Some(parent) => {
            let sub = table
                .entry(parent)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(sub) = sub else {
                return;
            };
            (format!("{path}.{parent}.{key}"), sub)
        }
    };
    t.locations
        .entry(key_path)
        .or_insert_with(|| (entry.at.clone(), entry.raw_key.clone()));
    add_value(target, key, value);
}

/// Sets `key`, or makes it a list when it is given again (`Record`, `Rule`, `Regex` repeat; a
/// single-valued key's repeats are already resolved by `repeats::kept`).
fn add_value(table: &mut toml::Table, key: String, value: String) {
    match table.get_mut(&key) {
        None => {
            table.insert(key, toml::Value::String(value));
        }
        Some(toml::Value::Array(items)) => items.push(toml::Value::String(value)),
        Some(first) => {
            let first = std::mem::replace(first, toml::Value::Boolean(false));
            table.insert(
                key,
                toml::Value::Array(vec![first, toml::Value::String(value)]),
            );
        }
    }
}

/// A relative path resolved against the root file's directory, as Fluent Bit does.
fn resolve_path(doc: &Doc, entry: &Entry) -> String {
    let p = std::path::Path::new(&entry.value);
    if p.is_absolute() || doc.base_dir.as_os_str().is_empty() {
        entry.value.clone()
    } else {
        doc.base_dir.join(p).display().to_string()
    }
}

#[cfg(test)]
mod tests;
