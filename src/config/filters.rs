//! `[[filters]]` entries: each plugin's options, loading, and the checks that build the filter
//! once so that every mistake (a bad regex, an unknown parser) is reported at start.
//!
//! Option names are Fluent Bit's, lower-cased. Fluent Bit repeats a key for several rules
//! (`Regex`, `Record`, `Set`); here such a key takes a string or a list of strings.

use serde::Deserialize;

use super::errors::Issue;
use super::resolve::AliasCounter;
use super::section::deserialize_table;
use super::spans::KeyPath;
use crate::filter::record_modifier::RecordModifier;

/// Filter plugins, as written in `name`.
pub const FILTER_PLUGINS: [&str; 1] = ["record_modifier"];

/// A string or a list of strings (`record = "k v"` or `record = ["k v", "k2 v2"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a string or a list of strings")]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::One(s) => StringList(vec![s]),
            Raw::Many(v) => StringList(v),
        })
    }
}

/// One `[[filters]]` entry; `name` selects the plugin.
#[derive(Debug, Clone)]
pub enum FilterConfig {
    /// Append, remove or allowlist fields; add a UUID.
    RecordModifier(RecordModifierConfig),
}

/// `name = "record_modifier"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordModifierConfig {
    /// Component name (default `record_modifier.<index>`).
    pub alias: Option<String>,
    /// Fluent Bit `Match`: tags this filter applies to.
    #[serde(rename = "match")]
    pub match_: Option<String>,
    /// A regex matched against the tag from its start.
    pub match_regex: Option<String>,
    /// `KEY VALUE` pairs appended to every record (a key the record has keeps its value).
    #[serde(default)]
    pub record: StringList,
    /// Keys removed from every record.
    #[serde(default)]
    pub remove_key: StringList,
    /// Only these keys are kept (Fluent Bit's `Allowlist_key`).
    #[serde(default)]
    pub allowlist_key: StringList,
    /// The older name of `allowlist_key`.
    #[serde(default)]
    pub whitelist_key: StringList,
    /// A key that gets a random UUID (version 4) in every record.
    pub uuid_key: Option<String>,
}

impl RecordModifierConfig {
    pub fn build(&self) -> Result<RecordModifier, String> {
        let mut allow = self.allowlist_key.0.clone();
        allow.extend(self.whitelist_key.0.iter().cloned());
        RecordModifier::new(
            &self.record.0,
            &self.remove_key.0,
            &allow,
            self.uuid_key.as_deref(),
        )
        .map_err(|e| e.to_string())
    }
}

impl FilterConfig {
    /// Plugin name, as written in `name`.
    pub fn plugin(&self) -> &'static str {
        match self {
            FilterConfig::RecordModifier(_) => "record_modifier",
        }
    }

    /// The component name: the alias, or the plugin name when aliases were not resolved.
    pub fn alias(&self) -> &str {
        let alias = match self {
            FilterConfig::RecordModifier(c) => c.alias.as_deref(),
        };
        alias.unwrap_or_else(|| self.plugin())
    }

    fn alias_slot(&mut self) -> &mut Option<String> {
        match self {
            FilterConfig::RecordModifier(c) => &mut c.alias,
        }
    }

    /// The filter's `match` and `match_regex`.
    pub fn match_rules(&self) -> (Option<&str>, Option<&str>) {
        let (glob, regex) = match self {
            FilterConfig::RecordModifier(c) => (&c.match_, &c.match_regex),
        };
        (glob.as_deref(), regex.as_deref())
    }
}

/// Gives every filter without an alias its default one (`<plugin>.<n>`).
pub fn resolve_aliases(filters: &mut [FilterConfig]) {
    let mut aliases = AliasCounter::default();
    for f in filters {
        let default = aliases.next(f.plugin());
        f.alias_slot().get_or_insert(default);
    }
}

/// Deserializes one entry whose plugin `name` was already checked to be in [`FILTER_PLUGINS`].
pub(crate) fn parse(
    plugin: &'static str,
    rest: &toml::Table,
    path: &KeyPath,
    aliases: &mut AliasCounter,
    issues: &mut Vec<Issue>,
) -> Option<FilterConfig> {
    let default_alias = aliases.next(plugin);
    let mut f = match plugin {
        "record_modifier" => deserialize_table::<RecordModifierConfig>(rest, path, issues)
            .map(FilterConfig::RecordModifier)?,
        other => {
            issues.push(Issue::new(
                path.key("name"),
                format!("filter plugin `{other}` has no options model"),
            ));
            return None;
        }
    };
    f.alias_slot().get_or_insert(default_alias);
    Some(f)
}

/// Checks one filter: its matcher, and that the filter can be built from its options.
pub(crate) fn check(c: &FilterConfig, path: &KeyPath, issues: &mut Vec<Issue>) {
    let built = match c {
        FilterConfig::RecordModifier(f) => f.build().map(|_| ()),
    };
    if let Err(message) = built {
        issues.push(Issue::new(path.clone(), message));
    }
}
