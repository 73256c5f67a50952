//! `name = "tcp"`: the tcp input's options and their checks.

use serde::Deserialize;

use super::{Overflow, check_common_input, check_frame_timeout, check_overflow};
use super::{default_frame_timeout, default_max_connections, default_mem_buf_limit};
use crate::config::common::{Check, entry_options};
use crate::config::errors::Issue;
use crate::config::spans::KeyPath;
use crate::config::storage::InputStorage;
use crate::config::tls::{ServerTls, check_server};
use crate::config::units::{ByteSize, DurationValue};
use crate::config::validate::check_ip;

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

impl Check for TcpInputConfig {
    fn check(&self, path: &KeyPath, issues: &mut Vec<Issue>) {
        check_tcp(self, path, issues);
    }
}

fn check_tcp(c: &TcpInputConfig, path: &KeyPath, issues: &mut Vec<Issue>) {
    if c.port == 0 {
        issues.push(Issue::new(path.key("port"), "must not be 0"));
    }
    check_ip(&c.listen, &path.key("listen"), issues);
    if c.buffer_size.0 == 0 {
        issues.push(Issue::new(path.key("buffer_size"), "must be more than 0"));
    }
    check_common_input(c.mem_buf_limit.0, c.max_connections, path, issues);
    check_overflow(c.overflow, c.overflow_timeout.is_some(), path, issues);
    check_server(&c.tls, &path.key("tls"), issues);
    check_frame_timeout(c.frame_timeout, path, issues);
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
