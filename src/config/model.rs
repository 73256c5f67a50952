//! The configuration model every config format (TOML here, Fluent Bit classic/YAML later) produces.
//!
//! Option names follow Fluent Bit's, lower-cased, so users can carry their settings over. Each
//! `///` comment is the user documentation of that key; `config/firelane.toml` mirrors it.

use std::time::Duration;

use serde::Deserialize;

use super::common::entry_kinds;
use super::filter::{FilterConfig, StringList};
use super::filter::{MultilineParserConfig, ParserConfig};
pub use super::input::Overflow;
pub use super::input::forward::{AckMode, ForwardInputConfig};
pub use super::input::tcp::{TcpFormat, TcpInputConfig};
use super::output::cloudwatch::CloudWatchOutputConfig;
use super::output::forward::ForwardOutputConfig;
pub use super::output::local::{
    FileFormat, FileOutputConfig, NullOutputConfig, StdoutFormat, StdoutOutputConfig,
};
use super::output::s3::S3OutputConfig;
use super::storage::ServiceStorage;
use super::units::{DurationValue, Flag, MemoryLimit};
pub use crate::telemetry::LogFormat;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Process-wide settings.
    #[serde(default)]
    pub service: ServiceConfig,
    /// Where events come from. At least one is required.
    #[serde(default)]
    pub inputs: Vec<InputConfig>,
    /// Filters (grep, modify, parser, ...), run in this order on the events their match selects.
    #[serde(skip)]
    pub filters: Vec<FilterConfig>,
    /// Parsers the `parser` filter can use besides the built-ins (Fluent Bit's `[PARSER]`).
    #[serde(default)]
    pub parsers: Vec<ParserConfig>,
    /// Multiline parsers the `multiline` filter can use besides the built-ins
    /// (Fluent Bit's `[MULTILINE_PARSER]`).
    #[serde(default)]
    pub multiline_parsers: Vec<MultilineParserConfig>,
    /// Where events go, chosen by tag with `match` / `match_regex`. At least one is required.
    #[serde(default)]
    pub outputs: Vec<OutputConfig>,
}

/// `[service]`: process-wide settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Time allowed after SIGTERM/SIGINT to drain and flush everything (default 25s, under ECS's 30s).
    #[serde(default = "default_grace")]
    pub grace: DurationValue,
    /// How often buffering outputs flush what they hold (default 1s; Fluent Bit's `Flush`). Read by
    /// the CloudWatch Logs and S3 outputs; stdout, file and null write as soon as batches arrive.
    #[serde(default = "default_flush")]
    pub flush: DurationValue,
    /// Own log level: error, warn, info, debug, trace (default info). `RUST_LOG` overrides it.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Own log format: `human` (default) or `json`.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Serve /health and /metrics (default true).
    #[serde(default = "default_true")]
    pub http_server: Flag,
    /// Address of the HTTP server (default 127.0.0.1: not reachable from other hosts).
    #[serde(default = "default_http_listen")]
    pub http_listen: String,
    /// Port of the HTTP server (default 2020, Fluent Bit's).
    #[serde(default = "default_http_port")]
    pub http_port: u16,
    /// An output with more than this many failed deliveries within `hc_period` makes /health 500 (default 5).
    #[serde(default = "default_hc_errors_count")]
    pub hc_errors_count: u32,
    /// Window for `hc_errors_count` (default 60s).
    #[serde(default = "default_hc_period")]
    pub hc_period: DurationValue,
    /// Fluent Bit parsers files (`[PARSER]` and `[MULTILINE_PARSER]` sections) to load; a relative
    /// path is relative to this configuration file's directory.
    #[serde(default)]
    pub parsers_file: StringList,
    /// Disk buffers: `storage.path` (their directory) and `storage.sync` (`normal` or `full`).
    #[serde(default)]
    pub storage: ServiceStorage,
    /// Bound of the process-wide memory account every input batch and load-dependent buffer
    /// charges: `auto` (default: sized from the container's memory limit so that RSS stays under
    /// 80 % of it, see `memory::sizing`; unbounded without one), `none`, or a size such as "48MiB".
    #[serde(default)]
    pub memory_limit: MemoryLimit,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            grace: default_grace(),
            flush: default_flush(),
            log_level: default_log_level(),
            log_format: LogFormat::default(),
            http_server: default_true(),
            http_listen: default_http_listen(),
            http_port: default_http_port(),
            hc_errors_count: default_hc_errors_count(),
            hc_period: default_hc_period(),
            parsers_file: StringList::default(),
            storage: ServiceStorage::default(),
            memory_limit: MemoryLimit::default(),
        }
    }
}

entry_kinds! {
    /// One `[[inputs]]` entry; `name` selects the plugin.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(tag = "name", rename_all = "snake_case")]
    pub enum InputConfig {
        /// Fluent Forward protocol over TCP and/or a Unix socket (Docker's fluentd driver, FireLens).
        Forward(ForwardInputConfig: ForwardInputConfig) = "forward",
        /// Newline-delimited JSON or text over TCP.
        Tcp(TcpInputConfig: TcpInputConfig) = "tcp",
    }
}

entry_kinds! {
    /// One `[[outputs]]` entry; `name` selects the plugin.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(tag = "name", rename_all = "snake_case")]
    pub enum OutputConfig {
        /// Events on standard output (JSON lines, a JSON array per batch, or Fluent Bit's dump).
        Stdout(StdoutOutputConfig: StdoutOutputConfig) = "stdout",
        /// Events appended to a file (JSON lines, Fluent Bit's `out_file` or `plain`).
        File(FileOutputConfig: FileOutputConfig) = "file",
        /// Discards events (counted). Used for health-check traffic and benchmarks.
        Null(NullOutputConfig: NullOutputConfig) = "null",
        /// CloudWatch Logs via PutLogEvents (`cloudwatch` is accepted too, the older FireLens name).
        CloudwatchLogs(Box<CloudWatchOutputConfig>: CloudWatchOutputConfig) = "cloudwatch_logs" | "cloudwatch",
        /// S3 objects from files staged on local disk.
        S3(Box<S3OutputConfig>: S3OutputConfig) = "s3",
        /// Fluent Forward to one or more aggregators (fluentd, Fluent Bit, firelane).
        Forward(Box<ForwardOutputConfig>: ForwardOutputConfig) = "forward",
    }
}

impl OutputConfig {
    /// The output's `match` and `match_regex`.
    pub fn match_rules(&self) -> (Option<&str>, Option<&str>) {
        let c = self.entry().common();
        (c.match_, c.match_regex)
    }
}

/// How the time of an event is written under `json_date_key`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    /// Seconds as a float with nanosecond digits: `1700000000.123456789`.
    #[default]
    Double,
    /// Whole seconds.
    Epoch,
    /// Milliseconds.
    EpochMs,
    /// `2023-11-14T22:13:20.123456Z`.
    Iso8601,
}

/// An optional key name: a string, or `false` / "" for none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateKey(pub Option<String>);

impl<'de> Deserialize<'de> for DateKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            B(bool),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::B(false) => Ok(DateKey(None)),
            Raw::B(true) => Err(serde::de::Error::custom("expected a key name or false")),
            Raw::S(s)
                if s.is_empty()
                    || s.eq_ignore_ascii_case("false")
                    || s.eq_ignore_ascii_case("off") =>
            {
                Ok(DateKey(None))
            }
            Raw::S(s) => Ok(DateKey(Some(s))),
        }
    }
}

impl ServiceConfig {
    pub fn grace(&self) -> Duration {
        self.grace.0
    }
}

fn default_grace() -> DurationValue {
    DurationValue(Duration::from_secs(25))
}
fn default_flush() -> DurationValue {
    DurationValue(Duration::from_secs(1))
}
fn default_log_level() -> String {
    "info".to_owned()
}
fn default_true() -> Flag {
    Flag(true)
}
fn default_http_listen() -> String {
    "127.0.0.1".to_owned()
}
fn default_http_port() -> u16 {
    2020
}
fn default_hc_errors_count() -> u32 {
    5
}
fn default_hc_period() -> DurationValue {
    DurationValue(Duration::from_secs(60))
}
