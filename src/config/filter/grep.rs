//! `name = "grep"`: the filter's options and how they build it.

use serde::Deserialize;

use super::StringList;
use crate::config::common::entry_options;
use crate::filter::grep::{Grep, GrepKind, GrepRule, LogicalOp};

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
