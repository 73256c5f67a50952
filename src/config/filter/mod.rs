//! `[[filters]]` entries: each plugin's options, loading, and the checks that build the filter
//! once so that every mistake (a bad regex, an unknown parser) is reported at start.
//!
//! Option names are Fluent Bit's, lower-cased. Fluent Bit repeats a key for several rules
//! (`Regex`, `Record`, `Set`); here such a key takes a string or a list of strings.

use serde::Deserialize;

use super::common::{Check, entry_kinds};
use super::errors::Issue;
use super::resolve::AliasCounter;
use super::spans::KeyPath;

/// `name = "ecs"`.
pub mod ecs;
/// `name = "grep"`.
pub mod grep;
/// `name = "modify"`.
pub mod modify;
/// `name = "multiline"`.
pub mod multiline;
/// `name = "nest"`.
pub mod nest;
/// `name = "parser"`.
pub mod parser;
/// Parser definitions: `[[parsers]]`, `[[multiline_parsers]]`, parsers files.
pub mod parsers;
/// `name = "record_modifier"`.
pub mod record_modifier;
/// `name = "rewrite_tag"`.
pub mod rewrite_tag;
/// `name = "throttle"`.
pub mod throttle;

pub use ecs::EcsConfig;
pub use grep::GrepConfig;
pub use modify::ModifyConfig;
pub use multiline::MultilineFilterConfig;
pub use nest::NestConfig;
pub use parser::ParserFilterConfig;
pub use parsers::{MultilineParserConfig, ParserConfig, ParserProblemAt, Parsers, parser_set};
pub use record_modifier::{RecordModifierConfig, expand_env};
pub use rewrite_tag::RewriteTagConfig;
pub use throttle::ThrottleConfig;

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
