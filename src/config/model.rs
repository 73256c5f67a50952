//! The configuration model every config format (TOML here, Fluent Bit classic/YAML later) produces.
//!
//! Option names follow Fluent Bit's, lower-cased, so users can carry their settings over. Each
//! `///` comment is the user documentation of that key; `config/firelane.toml` mirrors it.

use std::time::Duration;

use serde::Deserialize;

use super::common::{entry_kinds, entry_options};
use super::filter_options::{MultilineParserConfig, ParserConfig};
use super::filters::{FilterConfig, StringList};
use super::forward_auth::ForwardSecurity;
use super::output::cloudwatch::CloudWatchOutputConfig;
use super::output::forward::ForwardOutputConfig;
pub use super::output::local::{
    FileFormat, FileOutputConfig, NullOutputConfig, StdoutFormat, StdoutOutputConfig,
};
use super::output::s3::S3OutputConfig;
use super::storage::{InputStorage, ServiceStorage};
use super::tls::ServerTls;
use super::units::{ByteSize, DurationValue, Flag, MemoryLimit};
use crate::secret::Secret;
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

/// What an input does when its memory budget is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Stop reading sockets until memory frees up: the sender is slowed by TCP flow control.
    #[default]
    Block,
    /// Discard the incoming batch, counted in `firelane_input_dropped_records_total{reason="buffer_full"}`.
    DropNewest,
}

/// When a Forward `chunk` ack is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    /// Once the events are in the pipeline's memory: fast, but a crash before delivery loses them.
    #[default]
    Accepted,
    /// Once every output they were routed to has delivered them (or given up, counted).
    Delivered,
    /// Once the events are fsync'd to the input's disk buffer (`storage.type = "filesystem"`): a
    /// crash after the ack loses nothing (they are replayed at the next start).
    Durable,
}

entry_options! {
    /// `name = "forward"`.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ForwardInputConfig ["forward", input] {
        /// TCP listen address (default 0.0.0.0 when `port` is set or no `unix_path` is given).
        pub listen: Option<String>,
        /// TCP port (default 24224). With only `unix_path` set, no TCP listener is opened.
        pub port: Option<u16>,
        /// Unix socket path (FireLens: /var/run/fluent.sock). A stale file is replaced; removed on exit.
        pub unix_path: Option<String>,
        /// Permissions of the Unix socket file, octal (e.g. "0666"; default: umask).
        pub unix_perm: Option<String>,
        /// Replace every event's tag with this one.
        pub tag: Option<String>,
        /// Prepend this to every event's tag.
        pub tag_prefix: Option<String>,
        /// Memory budget of this input's events in flight (default 32MiB; Fluent Bit's Mem_Buf_Limit).
        #[serde(default = "default_mem_buf_limit")]
        pub mem_buf_limit: ByteSize,
        /// What to do when `mem_buf_limit` is reached: `block` (default) or `drop_newest`.
        #[serde(default)]
        pub overflow: Overflow,
        /// With `overflow = "block"`: a batch that has waited this long for memory is dropped instead,
        /// counted as `reason="block_timeout"` and never acked (the relief valve: the sender is not held
        /// up for longer than this). Default: wait as long as it takes.
        pub overflow_timeout: Option<DurationValue>,
        /// Disk buffer: `storage.type` (`memory` or `filesystem`), `storage.total_limit_size`,
        /// `storage.overflow` (see config/firelane.toml).
        #[serde(default)]
        pub storage: InputStorage,
        /// When chunk acks are sent: `accepted` (default) or `delivered`.
        #[serde(default)]
        pub ack: AckMode,
        /// Size of the read buffer each connection allocates when it runs low (default 128KiB; Fluent
        /// Bit's default is 1024000). Smaller buffers are freed sooner: at 1024000 peak memory under a
        /// burst was ~1.5x higher with no gain in throughput. A larger frame still fits (`buffer_max_size`).
        #[serde(default = "default_buffer_chunk_size")]
        pub buffer_chunk_size: ByteSize,
        /// Largest frame accepted; a bigger one closes the connection (default 6144000).
        #[serde(default = "default_buffer_max_size")]
        pub buffer_max_size: ByteSize,
        /// Largest decompressed payload of one frame; more closes the connection (default 64MiB).
        #[serde(default = "default_max_decompressed_size")]
        pub max_decompressed_size: ByteSize,
        /// Most simultaneous connections; further ones wait in the kernel's backlog (default 1024).
        #[serde(default = "default_max_connections")]
        pub max_connections: usize,
        /// TLS on the TCP port: `tls.enabled`, `tls.crt_file`, `tls.key_file`, `tls.ca_file` (mutual
        /// TLS), `tls.min_version`, `tls.handshake_timeout` (see config/firelane.toml). The Unix
        /// socket stays plain.
        #[serde(default)]
        pub tls: ServerTls,
        /// Shared key clients must prove they hold (Fluent Bit's `Shared_Key`, fluentd's `<security>
        /// shared_key`). When set, every connection, TCP and Unix socket alike, must pass the Forward
        /// handshake (HELO, PING, PONG) before anything it sends is read as records; a client that
        /// fails is answered with the reason, disconnected and counted in
        /// `firelane_input_auth_failures_total{reason}`. Docker's fluentd log driver (so FireLens)
        /// cannot do the handshake: do not set this on the input that receives container logs. The key
        /// is never logged.
        pub shared_key: Option<Secret>,
        /// Require the handshake with an empty shared key (Fluent Bit's `Empty_Shared_Key`; default
        /// false): for user authentication without a key, or for clients configured with an empty key.
        #[serde(default)]
        pub empty_shared_key: Flag,
        /// Hostname this input gives clients in the handshake (default `localhost`, Fluent Bit's).
        /// fluentd and fluent-logger clients refuse a server that has their own hostname.
        #[serde(default = "default_self_hostname")]
        pub self_hostname: String,
        /// `security.users`: users a client must authenticate as, each `"USER PASSWORD"` (see
        /// config/firelane.toml).
        #[serde(default)]
        pub security: ForwardSecurity,
        /// Time a client has to finish the handshake once connected (default 10s); a slower one is
        /// disconnected and counted in `firelane_input_connections_closed_total{reason="handshake_timeout"}`.
        #[serde(default = "default_handshake_timeout")]
        pub handshake_timeout: DurationValue,
        /// Close a connection that has sent nothing for this long, counted in
        /// `firelane_input_connections_closed_total{reason="idle_timeout"}` (default: never). Leave it
        /// unset for Docker and FireLens: Docker's fluentd driver keeps one connection for a
        /// container's whole life and sends without acks, so a line written just as firelane closes
        /// the idle connection is lost.
        pub idle_timeout: Option<DurationValue>,
        /// A frame that has begun must be complete after this long spent waiting for the client
        /// (default 30s; firelane's own): a slower one's connection is closed, its partial frame
        /// discarded, counted in `firelane_input_connections_closed_total{reason="frame_timeout"}`.
        /// Time firelane itself holds the connection back (a full budget) does not count.
        #[serde(default = "default_frame_timeout")]
        pub frame_timeout: DurationValue,
    }
}

/// Line format of the `tcp` input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpFormat {
    /// Each line is a JSON object, used as the record.
    #[default]
    Json,
    /// Each line becomes `{"log": "<line>"}`.
    None,
}

entry_options! {
    /// `name = "tcp"`.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct TcpInputConfig ["tcp", input] {
        /// Listen address (default 0.0.0.0).
        #[serde(default = "default_any_addr")]
        pub listen: String,
        /// Port (default 5170, Fluent Bit's).
        #[serde(default = "default_tcp_port")]
        pub port: u16,
        /// Tag of every event (default `tcp.<index>`).
        pub tag: Option<String>,
        /// `json` (default) or `none`.
        #[serde(default)]
        pub format: TcpFormat,
        /// Longest line kept (default 32KiB). A longer line is cut at this size, the rest up to the
        /// newline discarded, counted as `truncated`; a cut JSON line is then counted `invalid_json`.
        #[serde(default = "default_max_line")]
        pub buffer_size: ByteSize,
        /// Memory budget (default 32MiB).
        #[serde(default = "default_mem_buf_limit")]
        pub mem_buf_limit: ByteSize,
        /// `block` (default) or `drop_newest`.
        #[serde(default)]
        pub overflow: Overflow,
        /// With `overflow = "block"`: drop (counted, `reason="block_timeout"`) a batch that waited this
        /// long for memory. Default: wait as long as it takes.
        pub overflow_timeout: Option<DurationValue>,
        /// Disk buffer (see the forward input).
        #[serde(default)]
        pub storage: InputStorage,
        /// Most simultaneous connections (default 1024).
        #[serde(default = "default_max_connections")]
        pub max_connections: usize,
        /// TLS on the port (see the forward input).
        #[serde(default)]
        pub tls: ServerTls,
        /// A line that has begun must be complete after this long spent waiting for the client
        /// (default 30s; firelane's own): the connection is then closed and what it sent of the line
        /// is taken as its last line, as at the end of a connection; counted in
        /// `firelane_input_connections_closed_total{reason="frame_timeout"}`.
        #[serde(default = "default_frame_timeout")]
        pub frame_timeout: DurationValue,
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
fn default_mem_buf_limit() -> ByteSize {
    ByteSize::mib(32)
}
fn default_buffer_chunk_size() -> ByteSize {
    ByteSize(128 * 1024)
}
fn default_buffer_max_size() -> ByteSize {
    ByteSize(6_144_000)
}
fn default_max_decompressed_size() -> ByteSize {
    ByteSize::mib(64)
}
fn default_self_hostname() -> String {
    "localhost".to_owned()
}
fn default_frame_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(30))
}
fn default_handshake_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(10))
}
fn default_max_connections() -> usize {
    1024
}
fn default_any_addr() -> String {
    "0.0.0.0".to_owned()
}
fn default_tcp_port() -> u16 {
    5170
}
fn default_max_line() -> ByteSize {
    ByteSize(32 * 1024)
}
