//! `name = "parser"`: the filter's options and how they build it.

use serde::Deserialize;

use super::StringList;
use crate::config::common::entry_options;
use crate::config::units::Flag;
use crate::filter::parser::{ParserFilter, ParserSet};

entry_options! {
    /// `name = "parser"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ParserFilterConfig ["parser"] {
        /// The field whose text is parsed (e.g. `log`).
        #[serde(default)]
        pub key_name: String,
        /// Parser names (built-in, `[[parsers]]` or a parsers file), tried in order; the first that
        /// matches wins. No match leaves the record as it was.
        #[serde(default)]
        pub parser: StringList,
        /// Keep the record's other fields (default false: the record becomes the parsed fields).
        #[serde(default)]
        pub reserve_data: Flag,
        /// Keep the parsed field itself (default false).
        #[serde(default)]
        pub preserve_key: Flag,
    }
}

impl ParserFilterConfig {
    pub fn build(&self, set: &ParserSet) -> Result<ParserFilter, String> {
        ParserFilter::new(
            &self.key_name,
            &self.parser.0,
            self.reserve_data.0,
            self.preserve_key.0,
            set,
        )
        .map_err(|e| e.to_string())
    }
}
