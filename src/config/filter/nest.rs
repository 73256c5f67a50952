//! `name = "nest"`: the filter's options and how they build it.

use serde::Deserialize;

use super::StringList;
use crate::config::common::entry_options;
use crate::filter::nest::Nest;

entry_options! {
    /// `name = "nest"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct NestConfig ["nest"] {
        /// `nest` (move matching keys into a map) or `lift` (move a map's entries to the top).
        #[serde(default)]
        pub operation: String,
        /// nest: keys to move, `*` at the end matching any suffix.
        #[serde(default)]
        pub wildcard: StringList,
        /// nest: the key of the new map.
        pub nest_under: Option<String>,
        /// lift: the key of the map whose entries move up.
        pub nested_under: Option<String>,
        /// A prefix added to the moved keys.
        pub add_prefix: Option<String>,
        /// A prefix removed from the moved keys.
        pub remove_prefix: Option<String>,
    }
}

impl NestConfig {
    pub fn build(&self) -> Result<Nest, String> {
        Nest::new(
            &self.operation,
            &self.wildcard.0,
            self.nest_under.as_deref(),
            self.nested_under.as_deref(),
            self.add_prefix.as_deref(),
            self.remove_prefix.as_deref(),
        )
        .map_err(|e| e.to_string())
    }
}
