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
pub const INPUT_CONNECTIONS_ACTIVE: &str = "firelane_input_connections_active";
/// Bytes of this input's events in flight (charged to its budget).
pub const INPUT_BUFFER_BYTES: &str = "firelane_input_buffer_bytes";
pub const INPUT_BUFFER_LIMIT_BYTES: &str = "firelane_input_buffer_limit_bytes";
pub const INPUT_ACKS_SENT: &str = "firelane_input_acks_sent_total";
pub const OUTPUT_RECORDS: &str = "firelane_output_records_total";
pub const OUTPUT_BYTES: &str = "firelane_output_bytes_total";
/// Labels: component, reason.
pub const OUTPUT_DROPPED: &str = "firelane_output_dropped_records_total";
pub const OUTPUT_ERRORS: &str = "firelane_output_errors_total";
/// Invalid UTF-8 sequences replaced by U+FFFD while encoding JSON. Labels: component.
pub const OUTPUT_INVALID_UTF8: &str = "firelane_output_invalid_utf8_total";
pub const UPTIME: &str = "firelane_uptime_seconds";
/// Lines cut at the input's maximum line length (the events are kept, shortened). Labels: component.
pub const INPUT_TRUNCATED: &str = "firelane_input_truncated_records_total";
