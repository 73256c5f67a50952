//! `name = "stdout"`, `"file"` and `"null"`: the local outputs' options.
//!
//! `format` takes Fluent Bit's values for each plugin (see `output::format` for the exact shapes);
//! the defaults are firelane's (`json_lines`), not Fluent Bit's (`msgpack`, `out_file`).

use serde::Deserialize;

use crate::config::common::{Check, entry_options};
use crate::config::model::{DateFormat, DateKey};

/// `format` of the `stdout` output: how events are printed (Fluent Bit's option and values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StdoutFormat {
    /// One JSON object per line: `{"date":...,"tag":"...",<record>}` (firelane's default).
    #[default]
    JsonLines,
    /// Accepted for Fluent Bit configs; written exactly as `json_lines` (a valid JSON stream).
    JsonStream,
    /// Each batch as one JSON array of those objects, on one line.
    Json,
    /// Fluent Bit's default debug dump, one event per line:
    /// `[N] tag: [[1700000000.000000005, {}], {"key"=>"value"}]` (N counts from 0 per batch).
    Msgpack,
}

/// `format` of the `file` output: the shape of each line (Fluent Bit's option and values; Fluent
/// Bit's `csv`, `ltsv`, `template` and `msgpack` are not supported).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// `{"date":...,"tag":"...",<record>}` (firelane's default).
    #[default]
    JsonLines,
    /// Fluent Bit's default: `tag: [1700000000.000000005, {"key":"value"}]`.
    OutFile,
    /// The record alone: `{"key":"value"}`.
    Plain,
}

entry_options! {
    /// `name = "stdout"`.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct StdoutOutputConfig ["stdout"] {
        /// `json_lines` (default), `json_stream` (same as json_lines), `json` (one array per batch) or
        /// `msgpack` (Fluent Bit's debug dump; Fluent Bit's default).
        #[serde(default)]
        pub format: StdoutFormat,
        /// Key holding the event time (default `date`); `false` leaves it out. JSON formats only.
        #[serde(default = "default_date_key")]
        pub json_date_key: DateKey,
        /// `double` (default), `epoch`, `epoch_ms`, `iso8601`. JSON formats only.
        #[serde(default)]
        pub json_date_format: DateFormat,
        /// Key holding the tag (default `tag`); `false` leaves it out. JSON formats only.
        #[serde(default = "default_tag_key")]
        pub json_tag_key: DateKey,
    }
}

entry_options! {
    /// `name = "file"`.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct FileOutputConfig ["file"] {
        /// Directory of the output file (default: the working directory). Created if missing.
        pub path: Option<String>,
        /// File name (default: the event's tag, one file per tag).
        pub file: Option<String>,
        /// `json_lines` (default), `out_file` (Fluent Bit's default: `tag: [time, {record}]`) or
        /// `plain` (the record alone).
        #[serde(default)]
        pub format: FileFormat,
        /// Key holding the event time (default `date`); `false` leaves it out. `json_lines` only.
        #[serde(default = "default_date_key")]
        pub json_date_key: DateKey,
        /// `double` (default), `epoch`, `epoch_ms`, `iso8601`. `json_lines` only.
        #[serde(default)]
        pub json_date_format: DateFormat,
        /// Key holding the tag (default `tag`); `false` leaves it out. `json_lines` only.
        #[serde(default = "default_tag_key")]
        pub json_tag_key: DateKey,
    }
}

entry_options! {
    /// `name = "null"`.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct NullOutputConfig ["null"] {
    }
}

fn default_date_key() -> DateKey {
    DateKey(Some("date".to_owned()))
}
fn default_tag_key() -> DateKey {
    DateKey(Some("tag".to_owned()))
}

/// Nothing to check beyond the types: the file output's directory is made at start.
impl Check for StdoutOutputConfig {}
impl Check for FileOutputConfig {}
impl Check for NullOutputConfig {}
