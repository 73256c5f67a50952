//! `name = "forward"` output (sidecar -> aggregator): its options and checks.
//!
//! Option names are Fluent Bit's `out_forward` ones, lower-cased, so users can carry them over;
//! `upstreams` replaces Fluent Bit's separate upstream file with an inline list.

use std::time::Duration;

use serde::Deserialize;

use crate::config::common::{Check, entry_options};
use crate::config::errors::Issue;
use crate::config::spans::KeyPath;
use crate::config::tls::ClientTls;
use crate::config::units::RetryLimit;
use crate::config::units::{ByteSize, DurationValue, Flag};
use crate::secret::Secret;

/// Fluent Forward's registered port (Fluent Bit's and fluentd's default).
pub const DEFAULT_PORT: u16 = 24224;
/// Smallest `max_frame_size`: below this ordinary log lines would not fit one per frame.
pub const MIN_FRAME_BYTES: u64 = 1024;
/// Largest `max_frame_size`: the decompressed payload firelane's forward input accepts by default
/// (`max_decompressed_size`); aggregators refuse bigger frames anyway.
pub const MAX_FRAME_BYTES: u64 = 64 * 1024 * 1024;

/// How the next upstream is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Each round of events goes to the next healthy upstream in turn (Fluent Bit's upstream).
    #[default]
    RoundRobin,
    /// Always the first healthy upstream in the listed order; the others are standbys.
    Failover,
}

/// Compression of the events of each frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compress {
    /// PackedForward: entries sent as they are.
    #[default]
    None,
    /// CompressedPackedForward: entries gzip-compressed, `"compressed": "gzip"` in the options.
    Gzip,
}

/// One aggregator in `upstreams`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Host name or IP address of the aggregator.
    pub host: String,
    /// Its Forward port (default 24224).
    #[serde(default = "default_port")]
    pub port: u16,
}

entry_options! {
    /// `name = "forward"` in `[[outputs]]`.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ForwardOutputConfig ["forward_out"] {
        /// The aggregator's host (default 127.0.0.1). Set `host`/`port` or `upstreams`, not both.
        pub host: Option<String>,
        /// The aggregator's Forward port (default 24224).
        pub port: Option<u16>,
        /// Several aggregators, `[{ host = "a", port = 24224 }, ...]`, used as `balance` says. An
        /// upstream that fails (connect error, write error, missing ack) is left alone for a backoff
        /// (1 s doubling up to 60 s) and its events are resent to the next one.
        #[serde(default)]
        pub upstreams: Vec<UpstreamConfig>,
        /// `round_robin` (default: each round of events to the next healthy upstream) or `failover`
        /// (always the first healthy one in the listed order).
        #[serde(default)]
        pub balance: Balance,
        /// `none` (default) or `gzip` (CompressedPackedForward).
        #[serde(default)]
        pub compress: Compress,
        /// Send a `chunk` id with each frame and wait for the aggregator's ack before the events count
        /// as delivered (default false, as Fluent Bit). Without it, a frame counts as delivered once
        /// written to the socket: an aggregator that dies then can lose it. Turn it on for
        /// at-least-once delivery (duplicates are possible after a failure, losses are not).
        #[serde(default)]
        pub require_ack_response: Flag,
        /// How long to wait for an ack (with `require_ack_response`), and how long a frame write may
        /// stall, before the upstream counts as failed and the events are resent elsewhere (default
        /// 60s). A firelane aggregator with `ack = "delivered"` acks only once its own outputs have
        /// delivered, which takes seconds when they retry; a dead connection is noticed sooner anyway
        /// (reset or close), so this only catches an aggregator that hangs.
        #[serde(default = "default_ack_response_timeout")]
        pub ack_response_timeout: DurationValue,
        /// Time allowed to open a connection to an upstream (default 10s, Fluent Bit's
        /// `net.connect_timeout`).
        #[serde(default = "default_connect_timeout")]
        pub connect_timeout: DurationValue,
        /// Send times as whole seconds instead of EventTime with nanoseconds (default false; for
        /// fluentd v0.12 aggregators).
        #[serde(default)]
        pub time_as_integer: Flag,
        /// Send every event under this tag instead of its own.
        pub tag: Option<String>,
        /// Retries of a failed round of events before it is dropped (counted
        /// `reason="retries_exhausted"`): a number, `no_limits` (default: never give up; while every
        /// upstream is down the inputs are slowed instead) or `no_retries`.
        #[serde(default = "default_retry_limit")]
        pub retry_limit: RetryLimit,
        /// Largest payload of one frame, before compression (default 1MiB, under the 6,144,000 bytes
        /// Fluent Bit's and firelane's forward inputs accept by default). A round is split into as
        /// many frames as needed; a single event larger than this is dropped (counted
        /// `reason="too_large"`) because aggregators would refuse it.
        #[serde(default = "default_max_frame_size")]
        pub max_frame_size: ByteSize,
        /// TLS to the upstreams: `tls.enabled`, `tls.verify` (default true), `tls.ca_file` (default:
        /// the system's roots), `tls.crt_file` + `tls.key_file` (a client certificate, for aggregators
        /// that require one), `tls.vhost` (the name to verify; default each upstream's host).
        #[serde(default)]
        pub tls: ClientTls,
        /// Shared key of the aggregators' Forward handshake (Fluent Bit's and fluentd's
        /// `shared_key`): before the first frame, each connection proves it holds the key and checks
        /// that the aggregator does too (a PONG with a wrong digest is refused). Never logged; may be
        /// written as `"${ENV_VAR}"` to read it from the environment.
        pub shared_key: Option<Secret>,
        /// Do the handshake with an empty shared key (Fluent Bit's `Empty_Shared_Key`).
        #[serde(default)]
        pub empty_shared_key: Flag,
        /// Hostname sent in the handshake (default: this machine's hostname, as fluentd; it must
        /// differ from the aggregator's `self_hostname`, which the protocol checks).
        pub self_hostname: Option<String>,
        /// User name, for aggregators with user authentication (`security.users`); needs `password`.
        pub username: Option<String>,
        /// Password of `username`. Never logged; may be written as `"${ENV_VAR}"`.
        pub password: Option<Secret>,
    }
}

/// Where one upstream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamAddr {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for UpstreamAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl ForwardOutputConfig {
    /// The upstreams in order: `upstreams`, or the one `host`/`port` names (with defaults).
    pub fn upstream_addrs(&self) -> Vec<UpstreamAddr> {
        if self.upstreams.is_empty() {
            vec![UpstreamAddr {
                host: self.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned()),
                port: self.port.unwrap_or(DEFAULT_PORT),
            }]
        } else {
            self.upstreams
                .iter()
                .map(|u| UpstreamAddr {
                    host: u.host.clone(),
                    port: u.port,
                })
                .collect()
        }
    }
}

fn default_port() -> u16 {
    DEFAULT_PORT
}
fn default_ack_response_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(60))
}
fn default_connect_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(10))
}
fn default_retry_limit() -> RetryLimit {
    RetryLimit::Unlimited
}
fn default_max_frame_size() -> ByteSize {
    ByteSize::mib(1)
}

/// Checks what types cannot: one way of naming upstreams, usable hosts and ports, limits.
pub(crate) fn check(c: &ForwardOutputConfig, path: &KeyPath, issues: &mut Vec<Issue>) {
    crate::config::tls::check_client(&c.tls, &path.key("tls"), issues);
    check_auth(c, path, issues);
    if !c.upstreams.is_empty() && (c.host.is_some() || c.port.is_some()) {
        issues.push(Issue::new(
            path.key("upstreams"),
            "set either host/port or upstreams, not both",
        ));
    }
    if c.host.as_deref().is_some_and(|h| h.trim().is_empty()) {
        issues.push(Issue::new(path.key("host"), "must not be empty"));
    }
    if c.port == Some(0) {
        issues.push(Issue::new(path.key("port"), "must not be 0"));
    }
    for (i, u) in c.upstreams.iter().enumerate() {
        let at = path.key("upstreams").index(i);
        if u.host.trim().is_empty() {
            issues.push(Issue::new(at.key("host"), "must not be empty"));
        }
        if u.port == 0 {
            issues.push(Issue::new(at.key("port"), "must not be 0"));
        }
    }
    for (key, value) in [
        ("ack_response_timeout", c.ack_response_timeout),
        ("connect_timeout", c.connect_timeout),
    ] {
        if value.0.is_zero() {
            issues.push(Issue::new(path.key(key), "must be more than 0"));
        }
    }
    if c.tag.as_deref().is_some_and(str::is_empty) {
        issues.push(Issue::new(path.key("tag"), "must not be empty"));
    }
    if !(MIN_FRAME_BYTES..=MAX_FRAME_BYTES).contains(&c.max_frame_size.0) {
        issues.push(Issue::new(
            path.key("max_frame_size"),
            format!("must be between {MIN_FRAME_BYTES} bytes and {MAX_FRAME_BYTES} bytes (64MiB)"),
        ));
    }
}

/// The handshake options: a key (or the empty one) whenever users are given, and a user only
/// with its password.
fn check_auth(c: &ForwardOutputConfig, path: &KeyPath, issues: &mut Vec<Issue>) {
    let keyed = match (&c.shared_key, c.empty_shared_key.0) {
        (Some(_), true) => {
            issues.push(Issue::new(
                path.key("empty_shared_key"),
                "set either shared_key or empty_shared_key, not both",
            ));
            true
        }
        (Some(key), false) if key.is_empty() => {
            issues.push(Issue::new(
                path.key("shared_key"),
                "must not be empty; for an empty key set empty_shared_key = true",
            ));
            true
        }
        (None, false) => false,
        _ => true,
    };
    match (&c.username, &c.password) {
        (Some(_), None) => issues.push(Issue::new(path.key("password"), "required with username")),
        (None, Some(_)) => issues.push(Issue::new(path.key("username"), "required with password")),
        (Some(u), Some(_)) if u.is_empty() => {
            issues.push(Issue::new(path.key("username"), "must not be empty"))
        }
        (Some(_), Some(_)) if !keyed => issues.push(Issue::new(
            path.key("username"),
            "user authentication requires shared_key or empty_shared_key",
        )),
        _ => {}
    }
    if c.self_hostname
        .as_deref()
        .is_some_and(|h| h.trim().is_empty())
    {
        issues.push(Issue::new(path.key("self_hostname"), "must not be empty"));
    }
}

impl ForwardOutputConfig {
    /// The handshake settings, when a shared key (or the empty one) is configured. `hostname` is
    /// this machine's, used when `self_hostname` is not set.
    pub fn client_auth(&self, hostname: &str) -> Option<crate::forward::handshake::ClientAuth> {
        let shared_key = match (&self.shared_key, self.empty_shared_key.0) {
            (_, true) => Secret::default(),
            (Some(key), false) => key.clone(),
            (None, false) => return None,
        };
        Some(crate::forward::handshake::ClientAuth {
            self_hostname: self
                .self_hostname
                .clone()
                .unwrap_or_else(|| hostname.to_owned()),
            shared_key,
            username: self.username.clone(),
            password: self.password.clone(),
        })
    }
}

impl Check for ForwardOutputConfig {
    fn check(&self, path: &KeyPath, issues: &mut Vec<Issue>) {
        check(self, path, issues);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::config::model::OutputConfig;

    fn load(output: &str) -> Result<ForwardOutputConfig, String> {
        let text = format!(
            "[[inputs]]\nname = \"tcp\"\n[[outputs]]\nname = \"forward\"\nmatch = \"*\"\n{output}"
        );
        match load_str(&text, "t.toml") {
            Ok(cfg) => match &cfg.outputs[0] {
                OutputConfig::Forward(c) => Ok((**c).clone()),
                other => Err(format!("not a forward output: {other:?}")),
            },
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn defaults_follow_fluent_bit() {
        let c = load("").unwrap();
        assert_eq!(c.alias.as_deref(), Some("forward_out.0"));
        assert_eq!(
            c.upstream_addrs(),
            [UpstreamAddr {
                host: "127.0.0.1".to_owned(),
                port: 24224
            }]
        );
        assert_eq!(c.balance, Balance::RoundRobin);
        assert_eq!(c.compress, Compress::None);
        assert!(!c.require_ack_response.0 && !c.time_as_integer.0);
        assert_eq!(c.ack_response_timeout.0, Duration::from_secs(60));
        assert_eq!(c.connect_timeout.0, Duration::from_secs(10));
        assert_eq!(c.retry_limit, RetryLimit::Unlimited);
        assert_eq!(c.max_frame_size, ByteSize::mib(1));
    }

    #[test]
    fn upstreams_keep_their_order_and_default_port() {
        let c = load(
            "upstreams = [{ host = \"a\" }, { host = \"::1\", port = 24225 }]\nbalance = \"failover\"\ncompress = \"gzip\"\nretry_limit = 3",
        )
        .unwrap();
        let got: Vec<String> = c.upstream_addrs().iter().map(|u| u.to_string()).collect();
        assert_eq!(got, ["a:24224", "[::1]:24225"]);
        assert_eq!(c.balance, Balance::Failover);
        assert_eq!(c.compress, Compress::Gzip);
        assert_eq!(c.retry_limit, RetryLimit::Limited(3));
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path() {
        let err = load(
            "host = \"a\"\nupstreams = [{ host = \"\", port = 0 }]\nconnect_timeout = 0\n\
             ack_response_timeout = 0\ntag = \"\"\nmax_frame_size = 10",
        )
        .unwrap_err();
        for want in [
            "outputs[0].upstreams: set either host/port or upstreams, not both",
            "outputs[0].upstreams[0].host: must not be empty",
            "outputs[0].upstreams[0].port: must not be 0",
            "outputs[0].connect_timeout: must be more than 0",
            "outputs[0].ack_response_timeout: must be more than 0",
            "outputs[0].tag: must not be empty",
            "outputs[0].max_frame_size: must be between",
        ] {
            assert!(err.contains(want), "missing `{want}` in:\n{err}");
        }
        let err = load("balance = \"random\"").unwrap_err();
        assert!(err.contains("balance"), "{err}");
    }
}
