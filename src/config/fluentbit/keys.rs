//! What happens to each Fluent Bit key: passed on under its own name (most: our option names are
//! Fluent Bit's, lower-cased), renamed, folded into a list, accepted with a warning because it
//! changes nothing we must honour, or refused because ignoring it would change what is delivered
//! or who may send.

use super::doc::{Entry, SectionKind};

/// The fate of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRule {
    /// Passed on as is; the loader reports it if the plugin has no such option.
    Pass,
    /// Passed on under another name.
    Rename(&'static str),
    /// Repeated names under one comma-separated key (`multiline.parser`).
    Join(&'static str),
    /// Appended to the list `to` as `KEY VALUE` (modify's `Set a b` becomes a rule).
    Rule(&'static str),
    /// A path, resolved against the root file's directory.
    Path,
    /// Passed on under `to` with another value.
    Value(&'static str, String),
    /// Passed on as `child` of the table `parent` (`storage.path` is `storage = { path = .. }`).
    Sub(&'static str, &'static str),
    /// [`KeyRule::Sub`] with another value.
    SubValue(&'static str, &'static str, String),
    /// Dropped without a word: it asks for what firelane does anyway.
    Skip,
    /// Dropped with a warning giving the reason.
    Ignore(&'static str),
    /// An error with the reason.
    Refuse(String),
}

const STORAGE_TUNING: &str = "disk buffers replay within each input's Mem_Buf_Limit and keep storage.total_limit_size per input";
const RUNTIME_ONLY: &str = "a Fluent Bit runtime setting with no firelane equivalent";
const AWS_TLS: &str = "AWS endpoints always use TLS with the system's CA certificates";

/// The rule for `entry` of a `kind` section of `plugin` (lower-case; empty for service and
/// parser sections).
pub fn rule(kind: SectionKind, plugin: &str, entry: &Entry) -> KeyRule {
    let key = entry.key.as_str();
    match kind {
        SectionKind::Service => service(key, &entry.value),
        SectionKind::Parser | SectionKind::MultilineParser => parser(key),
        // Before `common`, which ignores every other `net.` key.
        SectionKind::Output if plugin == "forward" && key == "net.connect_timeout" => {
            KeyRule::Rename("connect_timeout")
        }
        SectionKind::Input | SectionKind::Filter | SectionKind::Output => common(key)
            .unwrap_or_else(|| match kind {
                SectionKind::Input => input(plugin, key, &entry.value),
                SectionKind::Filter => filter(plugin, key),
                _ => output(plugin, key, &entry.value),
            }),
    }
}

fn service(key: &str, value: &str) -> KeyRule {
    match key {
        "parsers_file" => KeyRule::Path,
        "log_level" => match value.to_ascii_lowercase().as_str() {
            "warning" => KeyRule::Value("log_level", "warn".to_owned()),
            "off" => KeyRule::Value("log_level", "error".to_owned()),
            _ => KeyRule::Pass,
        },
        "daemon" if is_off(value) => KeyRule::Skip,
        "daemon" => KeyRule::Ignore("firelane runs in the foreground, as containers expect"),
        "log_file" => KeyRule::Ignore("firelane logs to stderr"),
        "health_check" => KeyRule::Ignore("/health is always served by the HTTP server"),
        "hc_retry_failure_count" => {
            KeyRule::Ignore("failed retries are not counted apart: HC_Errors_Count applies")
        }
        "plugins_file" => KeyRule::Ignore("external plugins cannot be loaded"),
        "streams_file" => KeyRule::Refuse("stream processing is not supported".to_owned()),
        "storage.path" => KeyRule::Sub("storage", "path"),
        "storage.sync" => KeyRule::Sub("storage", "sync"),
        "storage.checksum" => {
            KeyRule::Ignore("every buffered batch is always checksummed (CRC32C)")
        }
        k if k.starts_with("storage.") => KeyRule::Ignore(STORAGE_TUNING),
        k if k.starts_with("scheduler.") || k.starts_with("dns.") => KeyRule::Ignore(RUNTIME_ONLY),
        "coro_stack_size" | "json.convert_nan_to_null" | "http.max_connections" => {
            KeyRule::Ignore(RUNTIME_ONLY)
        }
        _ => KeyRule::Pass,
    }
}

fn parser(key: &str) -> KeyRule {
    match key {
        "decode_field" | "decode_field_as" => {
            KeyRule::Refuse("parser decoders are not supported".to_owned())
        }
        "time_strict" => {
            KeyRule::Ignore("times that do not fully match are read as far as they go")
        }
        _ => KeyRule::Pass,
    }
}

/// Keys every input, filter and output may carry; `None` for the plugin's own.
fn common(key: &str) -> Option<KeyRule> {
    Some(match key {
        "log_level" | "log_suppress_interval" => KeyRule::Ignore(
            "per-plugin log settings are not supported: [SERVICE] Log_Level applies",
        ),
        "threaded" => KeyRule::Ignore("every input already runs on its own tasks"),
        "storage.pause_on_chunks_overlimit" => KeyRule::Ignore(
            "an input always stops reading while its Mem_Buf_Limit is full (overflow = block)",
        ),
        "routable" => KeyRule::Ignore("every input's events are routed by tag"),
        k if k.starts_with("net.") => KeyRule::Ignore("connection tuning is managed by firelane"),
        _ => return None,
    })
}

fn input(plugin: &str, key: &str, value: &str) -> KeyRule {
    match (plugin, key) {
        ("forward", "security.users") => KeyRule::Sub("security", "users"),
        ("forward" | "tcp", k) if is_tls(k) => tls(Side::Server, key, value),
        (_, "storage.type") => KeyRule::SubValue("storage", "type", value.to_ascii_lowercase()),
        (_, "storage.total_limit_size") => KeyRule::Sub("storage", "total_limit_size"),
        (_, "storage.overflow") => KeyRule::Sub("storage", "overflow"),
        // Kilobytes, read together by `values::tcp_buffer`.
        ("tcp", "buffer_size" | "chunk_size") => KeyRule::Skip,
        ("tcp", "separator") if value == "\\n" => KeyRule::Skip,
        ("tcp", "separator") => {
            KeyRule::Refuse("only newline-separated lines are supported".to_owned())
        }
        ("tcp", "source_address_key") => KeyRule::Refuse(
            "`source_address_key` is not supported: records are not given the sender's address"
                .to_owned(),
        ),
        _ => KeyRule::Pass,
    }
}

fn filter(plugin: &str, key: &str) -> KeyRule {
    match (plugin, key) {
        ("modify", "alias" | "match" | "match_regex" | "condition") => KeyRule::Pass,
        ("modify", _) => KeyRule::Rule("rules"),
        ("multiline", "multiline.parser") => KeyRule::Join("multiline_parser"),
        ("multiline", "multiline.key_content") => KeyRule::Rename("key_content"),
        ("multiline", "buffer") => KeyRule::Ignore(
            "records are always held per tag and stream until their group ends or flush_ms passes",
        ),
        ("multiline" | "rewrite_tag", "emitter_storage.type" | "emitter_mem_buf_limit") => {
            KeyRule::Ignore("re-emitted records are bounded like any other")
        }
        ("multiline", "emitter_name") => KeyRule::Ignore("joined records keep their input's name"),
        ("parser", "unescape_key") => KeyRule::Ignore("deprecated in Fluent Bit, no effect"),
        ("ecs", "ecs_meta_cache_ttl") => KeyRule::Ignore("task metadata is read once at start"),
        ("ecs", "ecs_tag_prefix" | "cluster_metadata_only") => KeyRule::Refuse(format!(
            "`{key}` is not supported: the ecs filter adds this task's metadata to every record it matches"
        )),
        _ => KeyRule::Pass,
    }
}

fn output(plugin: &str, key: &str, value: &str) -> KeyRule {
    let aws = matches!(plugin, "cloudwatch_logs" | "cloudwatch" | "s3");
    match (plugin, key) {
        (_, "auto_retry_requests") if aws => {
            KeyRule::Ignore("failed requests are always retried with backoff")
        }
        (_, k) if aws && is_tls(k) => KeyRule::Ignore(AWS_TLS),
        ("forward", k) if is_tls(k) => tls(Side::Client, key, value),
        ("cloudwatch_logs" | "cloudwatch", "metric_namespace" | "metric_dimensions") => {
            KeyRule::Refuse(format!("`{key}` is not supported: no EMF metric settings"))
        }
        ("cloudwatch_logs" | "cloudwatch", "credentials_endpoint") => KeyRule::Refuse(
            "`credentials_endpoint` is not supported: credentials come from the AWS SDK's chain (task role)"
                .to_owned(),
        ),
        (_, "extra_user_agent") if aws => KeyRule::Ignore("firelane sends its own user agent"),
        ("cloudwatch_logs" | "cloudwatch", "new_log_group_tags") => {
            KeyRule::Ignore("log groups are created without tags")
        }
        ("forward", "send_options") => {
            KeyRule::Ignore("options (with the event count as `size`) are always sent")
        }
        ("forward", "compress") => KeyRule::Value("compress", value.to_ascii_lowercase()),
        ("forward", "upstream") => KeyRule::Path,
        ("forward", "unix_path") => KeyRule::Refuse(
            "`unix_path` is not supported: the forward output connects over TCP".to_owned(),
        ),
        ("forward", "workers") => {
            KeyRule::Ignore("one connection per upstream, one round of events in flight")
        }
        ("s3", "format") if value.eq_ignore_ascii_case("json") => KeyRule::Skip,
        ("s3", "format") => {
            KeyRule::Refuse(format!("`format {value}`: the s3 output writes JSON lines only"))
        }
        (_, "storage.total_limit_size") => KeyRule::Ignore(
            "the disk limit is set per input (storage.total_limit_size on the input with storage.type filesystem)",
        ),
        ("stdout" | "file" | "null", "retry_limit") => KeyRule::Ignore("this output does not retry"),
        ("stdout" | "file" | "null", "workers") => KeyRule::Ignore("a performance setting"),
        ("stdout" | "file", "format") => KeyRule::Value("format", value.to_ascii_lowercase()),
        ("file", "mkdir") => KeyRule::Ignore("the directory is always created when missing"),
        _ => KeyRule::Pass,
    }
}

/// Which end of the connection a `tls.*` key configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// An input: we accept TLS connections (`ServerTls`).
    Server,
    /// An output: we connect with TLS (`ClientTls`).
    Client,
}

fn is_tls(key: &str) -> bool {
    key == "tls" || key.starts_with("tls.")
}

/// `tls` and `tls.*`: the `tls` table (`tls on` is `tls.enabled`).
fn tls(side: Side, key: &str, value: &str) -> KeyRule {
    let server = side == Side::Server;
    match key.strip_prefix("tls.").unwrap_or("enabled") {
        "enabled" => KeyRule::Sub("tls", "enabled"),
        "crt_file" => KeyRule::Sub("tls", "crt_file"),
        "key_file" => KeyRule::Sub("tls", "key_file"),
        "ca_file" => KeyRule::Sub("tls", "ca_file"),
        "key_passwd" => KeyRule::Sub("tls", "key_passwd"),
        "min_version" => KeyRule::Sub("tls", "min_version"),
        "verify" if !server => KeyRule::Sub("tls", "verify"),
        "vhost" if !server => KeyRule::Sub("tls", "vhost"),
        "verify" if !is_off(value) => KeyRule::Skip,
        "verify" => KeyRule::Ignore(
            "on an input, client certificates are required and verified exactly when tls.ca_file is set",
        ),
        "vhost" | "verify_hostname" if server => {
            KeyRule::Ignore("server names are checked by clients; an input has no use for it")
        }
        "verify_hostname" => {
            KeyRule::Ignore("the server name is always checked while tls.verify is on")
        }
        "debug" => KeyRule::Ignore(
            "failed handshakes are logged (and counted on inputs: firelane_input_tls_handshake_failures_total)",
        ),
        "max_version" | "ciphers" => {
            KeyRule::Ignore("TLS 1.2 and 1.3 with rustls's default cipher suites are used")
        }
        "ca_path" => KeyRule::Refuse(
            "`tls.ca_path` is not supported: put the CA certificates in one PEM file and set tls.ca_file"
                .to_owned(),
        ),
        _ => KeyRule::Refuse(format!("`{key}` is not supported")),
    }
}

fn is_off(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "off" | "false" | "no" | "0"
    )
}
