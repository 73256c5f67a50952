//! `name = "multiline"`: the filter's options and how they build it.

use serde::Deserialize;

use crate::config::common::entry_options;
use crate::filter::multiline::{MultilineConfig, MultilineFilter, ParserDef as MlParserDef};

entry_options! {
    /// `name = "multiline"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct MultilineFilterConfig ["multiline"] {
        /// `parser` (default: join lines with `multiline_parser`) or `partial_message` (reassemble
        /// Docker's 16 KiB pieces).
        pub mode: Option<String>,
        /// Fluent Bit's `multiline.parser`: comma-separated names, built-in (`java`, `python`, `go`,
        /// `docker`, `cri`) or `[[multiline_parsers]]` / `[MULTILINE_PARSER]`.
        pub multiline_parser: Option<String>,
        /// Fluent Bit's `multiline.key_content`: the field holding the text (default `log`).
        pub key_content: Option<String>,
        /// An unfinished group is emitted after this many milliseconds (default 2000).
        pub flush_ms: Option<u64>,
        /// Largest text of one joined record; more is emitted as a record of its own (default 2MiB).
        pub max_group_bytes: Option<crate::config::units::ByteSize>,
        /// Most bytes held in unfinished groups; past it the oldest are emitted (default 16MiB).
        pub max_total_bytes: Option<crate::config::units::ByteSize>,
    }
}

impl MultilineFilterConfig {
    pub fn build(&self, user: &[MlParserDef]) -> Result<MultilineFilter, String> {
        let mut config = MultilineConfig::default();
        if let Some(k) = &self.key_content {
            config.key_content = k.clone();
        }
        if let Some(ms) = self.flush_ms {
            config.flush_ms = ms;
        }
        if let Some(b) = self.max_group_bytes {
            config.max_group_bytes = b.as_usize();
        }
        if let Some(b) = self.max_total_bytes {
            config.max_total_bytes = b.as_usize();
        }
        MultilineFilter::new(
            self.mode.as_deref(),
            self.multiline_parser.as_deref(),
            user,
            config,
        )
        .map_err(|e| e.to_string())
    }
}
