//! Metric names (one place, so dashboards and tests agree) and the setup of own logs and metrics.
//!
//! Naming: snake_case, unit suffixes, `component` label = the plugin instance alias; never a
//! high-cardinality value such as a tag or log group.

pub const INPUT_RECORDS: &str = "firelane_input_records_total";
pub const INPUT_BYTES: &str = "firelane_input_bytes_total";
/// Labels: component, reason (buffer_full, invalid_event, line_too_long, invalid_json, no_route).
pub const INPUT_DROPPED: &str = "firelane_input_dropped_records_total";
/// Malformed input that closed a connection. Labels: component, reason.
pub const INPUT_DECODE_ERRORS: &str = "firelane_input_decode_errors_total";
pub const INPUT_CONNECTIONS: &str = "firelane_input_connections_total";
/// Forward handshakes refused (the connection is closed). Labels: component, reason
/// (shared_key_mismatch, user_mismatch, malformed_ping, message_too_large).
pub const INPUT_AUTH_FAILURES: &str = "firelane_input_auth_failures_total";
/// Connections firelane closed on its own. Labels: component, reason (idle_timeout, handshake_timeout, frame_timeout, evicted, memory).
pub const INPUT_CONNECTIONS_CLOSED: &str = "firelane_input_connections_closed_total";
/// Admin server connections closed to make room for a new one (all were taken).
pub const ADMIN_CONNECTIONS_EVICTED: &str = "firelane_admin_connections_evicted_total";
pub const INPUT_CONNECTIONS_ACTIVE: &str = "firelane_input_connections_active";
/// Bytes of this input's events in flight (charged to its budget).
pub const INPUT_BUFFER_BYTES: &str = "firelane_input_buffer_bytes";
pub const INPUT_BUFFER_LIMIT_BYTES: &str = "firelane_input_buffer_limit_bytes";
/// Bytes charged to the process-wide memory account (every input's batches, and every other
/// load-dependent buffer that charges it).
pub const MEMORY_ACCOUNT_BYTES: &str = "firelane_memory_account_bytes";
/// The memory account's total (configured, or sized from the container's limit). Absent when the
/// account is unbounded, so that `firelane_memory_account_bytes / firelane_memory_account_limit_bytes`
/// has no value rather than +Inf.
pub const MEMORY_ACCOUNT_LIMIT_BYTES: &str = "firelane_memory_account_limit_bytes";
/// Resident memory of the process (VmRSS, Linux), the name Prometheus process collectors use.
pub const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
/// Bytes the program holds from the allocator (jemalloc `stats.allocated`).
pub const ALLOCATOR_ALLOCATED: &str = "firelane_allocator_allocated_bytes";
/// Pages the allocator counts resident (jemalloc `stats.resident`): active extents, metadata, freed
/// pages not yet purged.
pub const ALLOCATOR_RESIDENT: &str = "firelane_allocator_resident_bytes";
pub const INPUT_ACKS_SENT: &str = "firelane_input_acks_sent_total";
/// TLS handshakes that failed and closed their connection. Labels: component, reason (timeout,
/// not_tls, no_client_certificate, bad_certificate, incompatible, eof, io, protocol).
pub const INPUT_TLS_HANDSHAKE_FAILURES: &str = "firelane_input_tls_handshake_failures_total";
pub const OUTPUT_RECORDS: &str = "firelane_output_records_total";
pub const OUTPUT_BYTES: &str = "firelane_output_bytes_total";
/// Labels: component, reason.
pub const OUTPUT_DROPPED: &str = "firelane_output_dropped_records_total";
pub const OUTPUT_ERRORS: &str = "firelane_output_errors_total";
/// Invalid UTF-8 sequences replaced by U+FFFD while encoding JSON. Labels: component.
pub const OUTPUT_INVALID_UTF8: &str = "firelane_output_invalid_utf8_total";
pub const UPTIME: &str = "firelane_uptime_seconds";
/// Bytes cut off torn segment tails when a disk buffer was opened.
pub const STORAGE_TORN_BYTES: &str = "firelane_storage_torn_bytes_total";
/// Records a disk buffer lost to damage, counted from their sequence numbers. Labels: component,
/// reason (torn, damaged, unusable).
pub const STORAGE_LOST_RECORDS: &str = "firelane_storage_lost_records_total";
/// Damaged regions a disk buffer found (each logged once with the records it cost). Labels:
/// component, reason (torn, damaged, unusable), records (counted: in the lost records total;
/// unknown: not countable, the log says why).
pub const STORAGE_DAMAGED_REGIONS: &str = "firelane_storage_damaged_regions_total";
/// Bytes a disk buffer holds on disk (updated on every write and every deletion of a segment).
pub const STORAGE_BYTES: &str = "firelane_storage_bytes";
/// Records a disk buffer replayed from a previous run (at-least-once: possibly delivered before).
pub const STORAGE_REPLAYED: &str = "firelane_storage_replayed_records_total";
/// Tasks alive in the async runtime (connections, outputs, timers): a leak shows as growth.
pub const RUNTIME_TASKS: &str = "firelane_runtime_alive_tasks";
/// File descriptors the process holds (Linux), the name process collectors use.
pub const OPEN_FDS: &str = "process_open_fds";
/// Lines cut at the input's maximum line length (the events are kept, shortened). Labels: component.
pub const INPUT_TRUNCATED: &str = "firelane_input_truncated_records_total";
/// Requests to a remote destination. Labels: component, outcome (ok, error).
pub const OUTPUT_REQUESTS: &str = "firelane_output_requests_total";
/// Time of one request to a remote destination, in seconds (histogram). Labels: component.
pub const OUTPUT_REQUEST_SECONDS: &str = "firelane_output_request_duration_seconds";
/// Failed requests that will be tried again. Labels: component, reason.
pub const OUTPUT_RETRIES: &str = "firelane_output_retries_total";
/// Throttling answers (each pauses the whole output). Labels: component.
pub const OUTPUT_THROTTLED: &str = "firelane_output_throttled_total";
/// Records cut to the destination's size limit (kept, shortened, with a marker). Labels: component.
pub const OUTPUT_TRUNCATED: &str = "firelane_output_truncated_records_total";
/// Records the destination refused in an accepted request. Labels: component, reason.
pub const OUTPUT_REJECTED: &str = "firelane_output_rejected_records_total";
/// Records without the configured `log_key`, sent whole instead. Labels: component.
pub const OUTPUT_LOG_KEY_MISSING: &str = "firelane_output_log_key_missing_total";
/// CloudWatch log streams and groups created. Labels: component, kind (stream, group).
pub const CLOUDWATCH_CREATED: &str = "firelane_cloudwatch_created_total";
/// S3 objects uploaded. Labels: component, method (put_object, multipart).
pub const S3_OBJECTS: &str = "firelane_s3_objects_total";
/// Bytes of uploaded S3 objects. Labels: component, kind (raw = JSON lines, compressed = object).
pub const S3_UPLOADED_BYTES: &str = "firelane_s3_uploaded_bytes_total";
/// Multipart parts uploaded. Labels: component.
pub const S3_PARTS: &str = "firelane_s3_parts_total";
/// Time of one whole object upload (all its parts). Labels: component.
pub const S3_UPLOAD_SECONDS: &str = "firelane_s3_upload_duration_seconds";
/// Bytes staged on disk, not yet uploaded. Labels: component.
pub const S3_STAGED_BYTES: &str = "firelane_s3_staged_bytes";
/// Records staged on disk (durable; acknowledged from here). Labels: component.
pub const S3_STAGED_RECORDS: &str = "firelane_s3_staged_records_total";
/// Files staged on disk (open and sealed), not yet uploaded. Labels: component.
pub const S3_STAGED_FILES: &str = "firelane_s3_staged_files";
/// Uploads given up on for now (file kept on disk). Labels: component, reason.
pub const S3_UPLOAD_FAILURES: &str = "firelane_s3_upload_failures_total";
/// Staging files repaired at start-up (left unsealed by a crash). Labels: component.
pub const S3_RECOVERED_FILES: &str = "firelane_s3_recovered_files_total";
/// Records seen by a filter, by outcome (matched, modified, dropped, emitted). Labels: component, outcome.
pub const FILTER_RECORDS: &str = "firelane_filter_records_total";

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Format of firelane's own logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// Sets up own logs on standard error (standard output carries the stdout output's records).
/// `RUST_LOG`, when set and valid, overrides `level`. A second call does nothing, so tests may call it.
pub fn init_logging(level: &str, format: LogFormat) {
    let rust_log = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let filter = log_filter(rust_log.as_deref(), level);
    // Colours only on a terminal: a container's stderr goes to a log driver (awslogs, FireLens
    // itself), where escape codes would end up in every line.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // An error only means a subscriber is already installed: keep that one.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Which logs to keep: `RUST_LOG` when set and valid, else `level`, else `info`.
fn log_filter(rust_log: Option<&str>, level: &str) -> EnvFilter {
    rust_log
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"))
}

/// Installs the process-wide Prometheus recorder and describes every metric. Rendering is done by
/// the HTTP admin server (no listener of the exporter's own). Fails if a recorder is installed.
pub fn install_metrics() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(OUTPUT_REQUEST_SECONDS.to_owned()),
            &REQUEST_SECONDS_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(S3_UPLOAD_SECONDS.to_owned()),
            &REQUEST_SECONDS_BUCKETS,
        )?
        .install_recorder()?;
    describe_metrics();
    Ok(handle)
}

/// Request latency buckets: local endpoints answer in milliseconds, AWS in tens of milliseconds,
/// retries and throttling stretch to seconds.
const REQUEST_SECONDS_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Help texts of every metric, shown as `# HELP` in /metrics.
pub fn describe_metrics() {
    describe_counter!(INPUT_RECORDS, Unit::Count, "Records received by an input.");
    describe_counter!(
        FILTER_RECORDS,
        Unit::Count,
        "Records a filter saw, by outcome: matched (selected by its match), modified, dropped, emitted (created: re-tagged or joined)."
    );
    describe_counter!(
        INPUT_BYTES,
        Unit::Bytes,
        "Bytes of records received by an input."
    );
    describe_counter!(
        INPUT_DROPPED,
        Unit::Count,
        "Records an input discarded, by reason (buffer_full, invalid_event, line_too_long, invalid_json, no_route)."
    );
    describe_counter!(
        INPUT_DECODE_ERRORS,
        Unit::Count,
        "Malformed input that closed a connection, by reason."
    );
    describe_counter!(
        INPUT_CONNECTIONS,
        Unit::Count,
        "Connections accepted by an input."
    );
    describe_counter!(
        INPUT_AUTH_FAILURES,
        Unit::Count,
        "Forward handshakes refused, by reason (the connection was closed)."
    );
    describe_counter!(
        INPUT_CONNECTIONS_CLOSED,
        Unit::Count,
        "Connections an input closed on its own, by reason (idle_timeout, handshake_timeout, frame_timeout, evicted, memory)."
    );
    describe_gauge!(
        INPUT_CONNECTIONS_ACTIVE,
        Unit::Count,
        "Connections open on an input."
    );
    describe_gauge!(
        INPUT_BUFFER_BYTES,
        Unit::Bytes,
        "Bytes of an input's events in flight, charged to its mem_buf_limit."
    );
    describe_gauge!(
        INPUT_BUFFER_LIMIT_BYTES,
        Unit::Bytes,
        "An input's mem_buf_limit."
    );
    describe_gauge!(
        MEMORY_ACCOUNT_BYTES,
        Unit::Bytes,
        "Bytes charged to the process-wide memory account."
    );
    describe_gauge!(
        MEMORY_ACCOUNT_LIMIT_BYTES,
        Unit::Bytes,
        "Total of the process-wide memory account (service.memory_limit, or sized from the container's memory limit); absent when unbounded."
    );
    describe_gauge!(
        RESIDENT_MEMORY,
        Unit::Bytes,
        "Resident memory (RSS) of the process when /metrics was read (Linux)."
    );
    describe_gauge!(
        ALLOCATOR_ALLOCATED,
        Unit::Bytes,
        "Bytes allocated by the program (jemalloc stats.allocated) when /metrics was read."
    );
    describe_gauge!(
        ALLOCATOR_RESIDENT,
        Unit::Bytes,
        "Resident pages held by the allocator (jemalloc stats.resident) when /metrics was read."
    );
    describe_counter!(
        ADMIN_CONNECTIONS_EVICTED,
        Unit::Count,
        "Admin server connections closed, longest without a request first, to make room for a new one."
    );
    describe_counter!(
        INPUT_ACKS_SENT,
        Unit::Count,
        "Forward chunk acks sent by an input."
    );
    describe_counter!(
        INPUT_TLS_HANDSHAKE_FAILURES,
        Unit::Count,
        "TLS handshakes on an input that failed and closed their connection, by reason."
    );
    describe_counter!(
        OUTPUT_RECORDS,
        Unit::Count,
        "Records delivered by an output."
    );
    describe_counter!(OUTPUT_BYTES, Unit::Bytes, "Bytes delivered by an output.");
    describe_counter!(
        OUTPUT_DROPPED,
        Unit::Count,
        "Records an output gave up on, by reason."
    );
    describe_counter!(
        OUTPUT_ERRORS,
        Unit::Count,
        "Failed delivery attempts of an output."
    );
    describe_counter!(
        OUTPUT_INVALID_UTF8,
        Unit::Count,
        "Invalid UTF-8 sequences replaced by U+FFFD while encoding JSON."
    );
    describe_gauge!(UPTIME, Unit::Seconds, "Seconds since firelane started.");
    describe_counter!(
        STORAGE_TORN_BYTES,
        Unit::Bytes,
        "Bytes of torn writes cut off segment tails when a disk buffer was opened."
    );
    describe_counter!(
        STORAGE_LOST_RECORDS,
        Unit::Count,
        "Records a disk buffer lost to damage, by reason (torn, damaged, unusable), counted from their sequence numbers."
    );
    describe_counter!(
        STORAGE_DAMAGED_REGIONS,
        Unit::Count,
        "Damaged regions found in a disk buffer, by reason (torn: a segment's end cut off; damaged: skipped; unusable: a file set aside as *.bad) and whether the records they cost were counted (records=counted) or cannot be (records=unknown, the log says why)."
    );
    describe_gauge!(
        STORAGE_BYTES,
        Unit::Bytes,
        "Bytes an input's disk buffer holds on disk."
    );
    describe_counter!(
        STORAGE_REPLAYED,
        Unit::Count,
        "Records replayed from a disk buffer left by a previous run (at-least-once)."
    );
    describe_gauge!(
        RUNTIME_TASKS,
        Unit::Count,
        "Tasks alive in the async runtime when /metrics was read."
    );
    describe_gauge!(
        OPEN_FDS,
        Unit::Count,
        "Open file descriptors of the process when /metrics was read (Linux)."
    );
    describe_counter!(
        INPUT_TRUNCATED,
        Unit::Count,
        "Lines cut at the input's maximum line length (kept, shortened)."
    );
    describe_counter!(
        OUTPUT_REQUESTS,
        Unit::Count,
        "Requests an output made to its destination, by outcome (ok, error)."
    );
    describe_histogram!(
        OUTPUT_REQUEST_SECONDS,
        Unit::Seconds,
        "Time of one request of an output to its destination."
    );
    describe_counter!(
        OUTPUT_RETRIES,
        Unit::Count,
        "Failed requests an output will try again, by reason."
    );
    describe_counter!(
        OUTPUT_THROTTLED,
        Unit::Count,
        "Throttling answers; each pauses every request of the output."
    );
    describe_counter!(
        OUTPUT_TRUNCATED,
        Unit::Count,
        "Records cut to the destination's size limit (sent with a marker)."
    );
    describe_counter!(
        OUTPUT_REJECTED,
        Unit::Count,
        "Records the destination refused inside an accepted request, by reason."
    );
    describe_counter!(
        OUTPUT_LOG_KEY_MISSING,
        Unit::Count,
        "Records without the configured log_key, sent whole instead."
    );
    describe_counter!(
        CLOUDWATCH_CREATED,
        Unit::Count,
        "CloudWatch log streams and groups created, by kind."
    );
    describe_counter!(S3_OBJECTS, Unit::Count, "S3 objects uploaded, by method.");
    describe_counter!(
        S3_UPLOADED_BYTES,
        Unit::Bytes,
        "Bytes of uploaded S3 objects: raw (JSON lines) and compressed (the object)."
    );
    describe_counter!(S3_PARTS, Unit::Count, "Multipart parts uploaded.");
    describe_histogram!(
        S3_UPLOAD_SECONDS,
        Unit::Seconds,
        "Time of one whole S3 object upload."
    );
    describe_gauge!(
        S3_STAGED_BYTES,
        Unit::Bytes,
        "Bytes staged on disk, not yet uploaded."
    );
    describe_counter!(
        S3_STAGED_RECORDS,
        Unit::Count,
        "Records staged on disk (durable; acknowledged from here)."
    );
    describe_gauge!(
        S3_STAGED_FILES,
        Unit::Count,
        "Files staged on disk, not yet uploaded."
    );
    describe_counter!(
        S3_UPLOAD_FAILURES,
        Unit::Count,
        "Uploads given up on until the next start (the file is kept), by reason."
    );
    describe_counter!(
        S3_RECOVERED_FILES,
        Unit::Count,
        "Staging files left by a crash, repaired and uploaded at start-up."
    );
}

/// Sets the gauges read from the process when /metrics is rendered: runtime tasks, open fds, RSS
/// (the allocator's own gauges are `memory::allocator::sample_gauges`).
pub fn sample_process_gauges() {
    if let Some(rss) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| vm_rss_bytes(&s))
    {
        metrics::gauge!(RESIDENT_MEMORY).set(rss as f64);
    }
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        metrics::gauge!(RUNTIME_TASKS).set(handle.metrics().num_alive_tasks() as f64);
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        // The directory's own descriptor is listed too while it is read.
        let open = dir.count().saturating_sub(1);
        metrics::gauge!(OPEN_FDS).set(open as f64);
    }
}

/// `VmRSS` of a `/proc/<pid>/status` text, in bytes (the file gives kB, i.e. KiB).
fn vm_rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_from_proc_status() {
        let status =
            "Name:\tfirelane\nVmHWM:\t   12000 kB\nVmRSS:\t    8604 kB\nRssAnon:\t     900 kB\n";
        assert_eq!(vm_rss_bytes(status), Some(8604 * 1024));
        assert_eq!(vm_rss_bytes("Name:\tx\n"), None);
        // This process has one.
        let own = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(vm_rss_bytes(&own).unwrap() > 1 << 20);
    }

    #[test]
    fn the_log_level_comes_from_rust_log_then_the_config_then_info() {
        let shown = |rust_log, level| log_filter(rust_log, level).to_string();
        assert_eq!(shown(None, "debug"), "debug");
        assert_eq!(shown(Some("firelane=trace"), "debug"), "firelane=trace");
        assert_eq!(
            shown(Some("not a level["), "warn"),
            "warn",
            "a bad RUST_LOG is ignored"
        );
        assert_eq!(
            shown(None, "not a level["),
            "info",
            "a bad level falls back to info"
        );
    }

    #[test]
    fn logging_setup_tolerates_a_second_call() {
        init_logging("debug", LogFormat::Json);
        init_logging("info", LogFormat::Human);
        tracing::info!(component = "test", "still logging");
    }
}
