//! `name = "rewrite_tag"`: the filter's options and how they build it.

use serde::Deserialize;

use super::StringList;
use crate::config::common::entry_options;
use crate::filter::rewrite_tag::RewriteTag;

entry_options! {
    /// `name = "rewrite_tag"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RewriteTagConfig ["rewrite_tag"] {
        /// `KEY REGEX NEW_TAG KEEP`: a record whose KEY matches REGEX is re-emitted under NEW_TAG
        /// (`$1`, `$TAG`, `$TAG[n]`, `${field}`), and kept under its old tag if KEEP is true.
        #[serde(default)]
        pub rule: StringList,
        /// Fluent Bit's emitter name: accepted, not needed (re-emitted records go through the chain).
        pub emitter_name: Option<String>,
    }
}

impl RewriteTagConfig {
    pub fn build(&self) -> Result<RewriteTag, String> {
        RewriteTag::new(&self.rule.0).map_err(|e| e.to_string())
    }
}
