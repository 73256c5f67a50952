//! `name = "forward"`: the Forward input's options and their checks.

use std::time::Duration;

use serde::Deserialize;

use super::{Overflow, check_common_input, check_frame_timeout, check_overflow};
use super::{default_frame_timeout, default_max_connections, default_mem_buf_limit};
use crate::config::common::{Check, entry_options};
use crate::config::errors::Issue;
use crate::config::forward_auth::ForwardSecurity;
use crate::config::resolve::parse_unix_perm;
use crate::config::spans::KeyPath;
use crate::config::storage::InputStorage;
use crate::config::tls::{ServerTls, check_server};
use crate::config::units::{ByteSize, DurationValue, Flag};
use crate::config::validate::check_ip;
use crate::secret::Secret;

const MIN_BUFFER_MAX_SIZE_BYTES: u64 = 1024;

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

impl Check for ForwardInputConfig {
    fn check(&self, path: &KeyPath, issues: &mut Vec<Issue>) {
        check_forward(self, path, issues);
    }
}

fn check_forward(c: &ForwardInputConfig, path: &KeyPath, issues: &mut Vec<Issue>) {
    if let Some(perm) = &c.unix_perm
        && let Err(e) = parse_unix_perm(perm)
    {
        issues.push(Issue::new(path.key("unix_perm"), e));
    }
    if c.port == Some(0) {
        issues.push(Issue::new(path.key("port"), "must not be 0"));
    }
    if let Some(listen) = &c.listen {
        check_ip(listen, &path.key("listen"), issues);
    }
    if c.unix_path.as_deref() == Some("") {
        issues.push(Issue::new(path.key("unix_path"), "must not be empty"));
    }
    if c.buffer_max_size.0 < MIN_BUFFER_MAX_SIZE_BYTES {
        issues.push(Issue::new(
            path.key("buffer_max_size"),
            format!("must be at least {MIN_BUFFER_MAX_SIZE_BYTES} bytes"),
        ));
    }
    if c.buffer_chunk_size.0 == 0 {
        issues.push(Issue::new(
            path.key("buffer_chunk_size"),
            "must be more than 0",
        ));
    }
    check_common_input(c.mem_buf_limit.0, c.max_connections, path, issues);
    check_overflow(c.overflow, c.overflow_timeout.is_some(), path, issues);
    check_server(&c.tls, &path.key("tls"), issues);
    check_frame_timeout(c.frame_timeout, path, issues);
    crate::config::forward_auth::check(c, path, issues);
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
fn default_handshake_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(10))
}
