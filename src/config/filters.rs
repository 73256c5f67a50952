//! `[[filters]]` entries: each plugin's options, loading, and the checks that build the filter
//! once so that every mistake (a bad regex, an unknown parser) is reported at start.
//!
//! Option names are Fluent Bit's, lower-cased. Fluent Bit repeats a key for several rules
//! (`Regex`, `Record`, `Set`); here such a key takes a string or a list of strings.

use serde::Deserialize;

use super::common::{Check, entry_kinds, entry_options};
use super::errors::Issue;
use super::filter_options::{
    EcsConfig, MultilineFilterConfig, NestConfig, ParserFilterConfig, Parsers, RewriteTagConfig,
    ThrottleConfig,
};
use super::resolve::AliasCounter;
use super::spans::KeyPath;
use crate::filter::grep::{Grep, GrepKind, GrepRule, LogicalOp};
use crate::filter::modify::Modify;
use crate::filter::record_modifier::RecordModifier;

/// Filter plugins, as written in `name`.
pub const FILTER_PLUGINS: &[&str] = FilterConfig::PLUGINS;

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

entry_kinds! {
    /// One `[[filters]]` entry; `name` selects the plugin.
    #[derive(Debug, Clone)]
    pub enum FilterConfig {
        /// Keep or drop records by regexes on their values.
        Grep(GrepConfig: GrepConfig) = "grep",
        /// Set, add, remove, rename or copy keys, under conditions.
        Modify(ModifyConfig: ModifyConfig) = "modify",
        /// Append, remove or allowlist fields; add a UUID.
        RecordModifier(RecordModifierConfig: RecordModifierConfig) = "record_modifier",
        /// Move keys into a map, or a map's entries to the top.
        Nest(NestConfig: NestConfig) = "nest",
        /// Parse a field's text (json, regex, logfmt, ...) into fields.
        Parser(ParserFilterConfig: ParserFilterConfig) = "parser",
        /// Drop records above an average rate.
        Throttle(ThrottleConfig: ThrottleConfig) = "throttle",
        /// Re-emit matching records under a new tag.
        RewriteTag(RewriteTagConfig: RewriteTagConfig) = "rewrite_tag",
        /// Add ECS task metadata.
        Ecs(EcsConfig: EcsConfig) = "ecs",
        /// Join lines of one message; reassemble Docker's partial messages.
        Multiline(MultilineFilterConfig: MultilineFilterConfig) = "multiline",
    }
}

/// Filters are checked by building them against the configured parsers ([`check`]), not by
/// their options alone.
impl Check for GrepConfig {}
impl Check for ModifyConfig {}
impl Check for RecordModifierConfig {}
impl Check for NestConfig {}
impl Check for ParserFilterConfig {}
impl Check for ThrottleConfig {}
impl Check for RewriteTagConfig {}
impl Check for EcsConfig {}
impl Check for MultilineFilterConfig {}

entry_options! {
    /// `name = "grep"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct GrepConfig ["grep"] {
        /// `KEY REGEX`: keep records whose KEY (a record accessor such as `$kubernetes['labels']['app']`)
        /// matches REGEX.
        #[serde(default)]
        pub regex: StringList,
        /// `KEY REGEX`: drop records whose KEY matches REGEX.
        #[serde(default)]
        pub exclude: StringList,
        /// `legacy` (default: every regex matches and no exclude does), `AND` or `OR` (rules of one kind).
        pub logical_op: Option<String>,
    }
}

impl GrepConfig {
    pub fn build(&self) -> Result<Grep, String> {
        let rules = (self.regex.0.iter().map(|r| (GrepKind::Regex, r)))
            .chain(self.exclude.0.iter().map(|r| (GrepKind::Exclude, r)))
            .map(|(kind, r)| GrepRule::parse(kind, r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let op = match &self.logical_op {
            Some(op) => LogicalOp::parse(op).map_err(|e| e.to_string())?,
            None => LogicalOp::default(),
        };
        Grep::new(rules, op).map_err(|e| e.to_string())
    }
}

entry_options! {
    /// `name = "modify"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ModifyConfig ["modify"] {
        /// Rules applied in order, each as Fluent Bit writes it: `Set KEY VALUE`, `Add KEY VALUE`,
        /// `Remove KEY`, `Remove_wildcard PREFIX`, `Remove_regex REGEX`, `Rename KEY NEW`,
        /// `Hard_rename KEY NEW`, `Copy KEY NEW`, `Hard_copy KEY NEW`.
        #[serde(default)]
        pub rules: StringList,
        /// Conditions that must all hold for the rules to apply: `Key_exists KEY`,
        /// `Key_does_not_exist KEY`, `A_key_matches REGEX`, `No_key_matches REGEX`,
        /// `Key_value_equals KEY VALUE`, `Key_value_does_not_equal KEY VALUE`,
        /// `Key_value_matches KEY REGEX`, `Key_value_does_not_match KEY REGEX`,
        /// `Matching_keys_have_matching_values KEY_REGEX VALUE_REGEX`,
        /// `Matching_keys_do_not_have_matching_values KEY_REGEX VALUE_REGEX`.
        #[serde(default)]
        pub condition: StringList,
    }
}

impl ModifyConfig {
    pub fn build(&self) -> Result<Modify, String> {
        let rules: Vec<(&str, &str)> = self
            .rules
            .0
            .iter()
            .map(|r| {
                let r = r.trim();
                r.split_once(char::is_whitespace)
                    .map_or((r, ""), |(name, args)| (name, args.trim_start()))
            })
            .collect();
        if rules.is_empty() {
            return Err("no rules: set `rules`, e.g. [\"Set key value\"]".to_owned());
        }
        Modify::from_config(&rules, &self.condition.0).map_err(|e| e.to_string())
    }
}

entry_options! {
    /// `name = "record_modifier"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RecordModifierConfig ["record_modifier"] {
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
}

impl RecordModifierConfig {
    pub fn build(&self) -> Result<RecordModifier, String> {
        self.build_with(|name| std::env::var(name).ok())
    }

    /// `env` resolves the `${NAME}` references in `record` values.
    pub fn build_with(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<RecordModifier, String> {
        let mut allow = self.allowlist_key.0.clone();
        allow.extend(self.whitelist_key.0.iter().cloned());
        let records = self
            .record
            .0
            .iter()
            .map(|r| expand_env(r, &env))
            .collect::<Result<Vec<_>, _>>()?;
        RecordModifier::new(
            &records,
            &self.remove_key.0,
            &allow,
            self.uuid_key.as_deref(),
        )
        .map_err(|e| e.to_string())
    }
}

impl FilterConfig {
    /// The component name: its alias, or its plugin name if aliases were not resolved.
    pub fn alias(&self) -> &str {
        self.entry().common().alias.unwrap_or_else(|| self.plugin())
    }

    /// The filter's `match` and `match_regex`.
    pub fn match_rules(&self) -> (Option<&str>, Option<&str>) {
        let c = self.entry().common();
        (c.match_, c.match_regex)
    }
}

/// Gives every filter without an alias its default one (`<plugin>.<n>`).
pub fn resolve_aliases(filters: &mut [FilterConfig]) {
    let mut aliases = AliasCounter::default();
    for f in filters {
        let entry = f.entry_mut();
        let default = aliases.next(entry.alias_stem());
        entry.alias_mut().get_or_insert(default);
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
    let mut f = FilterConfig::parse(plugin, rest, path, issues)?;
    f.entry_mut().alias_mut().get_or_insert(default_alias);
    Some(f)
}

/// Checks one filter: its matcher, and that the filter can be built from its options.
pub(crate) fn check(c: &FilterConfig, parsers: &Parsers, path: &KeyPath, issues: &mut Vec<Issue>) {
    let built = match c {
        FilterConfig::Multiline(f) => f.build(&parsers.multiline).map(|_| ()),
        FilterConfig::Nest(f) => f.build().map(|_| ()),
        FilterConfig::Parser(f) => f.build(&parsers.set).map(|_| ()),
        FilterConfig::Throttle(f) => f.build().map(|_| ()),
        FilterConfig::RewriteTag(f) => f.build().map(|_| ()),
        FilterConfig::Ecs(f) => f.rules().map(|_| ()),
        FilterConfig::Grep(f) => f.build().map(|_| ()),
        FilterConfig::Modify(f) => f.build().map(|_| ()),
        FilterConfig::RecordModifier(f) => f.build().map(|_| ()),
    };
    if let Err(message) = built {
        let at = match blamed_key(c, &message) {
            Some(key) => path.key(key),
            None => path.clone(),
        };
        issues.push(Issue::new(at, message));
    }
}

/// The key a build error is about, so the problem points at its line: the first key the entry
/// sets whose hint the message contains (an empty hint always matches).
fn blamed_key(c: &FilterConfig, message: &str) -> Option<&'static str> {
    let set = |v: &StringList| !v.0.is_empty();
    let candidates: Vec<(&'static str, bool, &str)> = match c {
        FilterConfig::Grep(f) => vec![
            ("logical_op", f.logical_op.is_some(), "Logical_Op"),
            ("exclude", set(&f.exclude), "Exclude"),
            ("regex", set(&f.regex), "Regex"),
        ],
        FilterConfig::Modify(f) => vec![
            ("condition", set(&f.condition), "condition"),
            ("rules", set(&f.rules), ""),
        ],
        FilterConfig::RecordModifier(f) => vec![
            ("allowlist_key", set(&f.allowlist_key), "allowlist"),
            ("record", set(&f.record), "record"),
        ],
        FilterConfig::Nest(f) => vec![
            ("wildcard", set(&f.wildcard), "Wildcard"),
            ("nest_under", f.nest_under.is_some(), "Nest_under"),
            ("nested_under", f.nested_under.is_some(), "Nested_under"),
            ("add_prefix", f.add_prefix.is_some(), "Add_prefix"),
            ("remove_prefix", f.remove_prefix.is_some(), "Remove_prefix"),
            ("operation", !f.operation.is_empty(), "Operation"),
        ],
        FilterConfig::Parser(f) => vec![
            ("key_name", !f.key_name.is_empty(), "key_name"),
            ("parser", set(&f.parser), "parser"),
        ],
        FilterConfig::Throttle(f) => vec![
            ("interval", f.interval.is_some(), "interval"),
            ("window", f.window.is_some(), "window"),
            ("rate", true, "rate"),
        ],
        FilterConfig::RewriteTag(f) => vec![("rule", set(&f.rule), "")],
        FilterConfig::Ecs(f) => vec![("add", set(&f.add), "")],
        FilterConfig::Multiline(f) => vec![
            ("mode", f.mode.is_some(), "mode"),
            ("key_content", f.key_content.is_some(), "key_content"),
            (
                "max_total_bytes",
                f.max_total_bytes.is_some(),
                "max_total_bytes",
            ),
            (
                "max_group_bytes",
                f.max_group_bytes.is_some(),
                "max_group_bytes",
            ),
            ("multiline_parser", f.multiline_parser.is_some(), ""),
        ],
    };
    candidates
        .into_iter()
        .find(|(_, is_set, hint)| *is_set && message.contains(hint))
        .map(|(key, _, _)| key)
}

/// Replaces each `${NAME}` in `text` with the variable's value; an unset variable is an error
/// naming it (Fluent Bit would silently write an empty value).
pub fn expand_env(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`{text}`: `${{` without a closing `}}`"));
        };
        let name = &after[..end];
        match env(name) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(format!(
                    "`{text}`: environment variable `{name}` is not set"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_are_expanded_and_unset_ones_named() {
        let env = |n: &str| (n == "HOSTNAME").then(|| "web-1".to_owned());
        assert_eq!(expand_env("host ${HOSTNAME}", env).unwrap(), "host web-1");
        assert_eq!(
            expand_env("a ${HOSTNAME}-${HOSTNAME} b", env).unwrap(),
            "a web-1-web-1 b"
        );
        assert_eq!(expand_env("plain $x", env).unwrap(), "plain $x");
        assert_eq!(
            expand_env("k ${NOPE}", env).unwrap_err(),
            "`k ${NOPE}`: environment variable `NOPE` is not set"
        );
        assert!(expand_env("k ${OPEN", env).is_err());
        let cfg = RecordModifierConfig {
            record: StringList(vec!["host ${HOSTNAME}".to_owned()]),
            ..Default::default()
        };
        assert!(cfg.build_with(env).is_ok());
    }
}
