//! One input's counters and gauges, created once when the input starts so that the per-record
//! path never looks a metric up by name.

use std::sync::Arc;

use metrics::{Counter, Gauge};

use crate::telemetry as t;

/// Counters and gauges of one input, created once (no per-record metric lookups).
#[derive(Debug, Clone)]
pub struct InputMetrics {
    pub name: Arc<str>,
    pub records: Counter,
    pub bytes: Counter,
    pub dropped_buffer_full: Counter,
    pub dropped_block_timeout: Counter,
    pub dropped_invalid_event: Counter,
    pub dropped_no_route: Counter,
    pub connections: Counter,
    pub connections_active: Gauge,
    pub acks_sent: Counter,
}

impl InputMetrics {
    pub fn new(name: &Arc<str>) -> Self {
        let c = name.to_string();
        let dropped = |reason: &'static str| metrics::counter!(t::INPUT_DROPPED, "component" => c.clone(), "reason" => reason);
        Self {
            name: name.clone(),
            records: metrics::counter!(t::INPUT_RECORDS, "component" => c.clone()),
            bytes: metrics::counter!(t::INPUT_BYTES, "component" => c.clone()),
            dropped_buffer_full: dropped("buffer_full"),
            dropped_block_timeout: dropped("block_timeout"),
            dropped_invalid_event: dropped("invalid_event"),
            dropped_no_route: dropped("no_route"),
            connections: metrics::counter!(t::INPUT_CONNECTIONS, "component" => c.clone()),
            connections_active: metrics::gauge!(t::INPUT_CONNECTIONS_ACTIVE, "component" => c.clone()),
            acks_sent: metrics::counter!(t::INPUT_ACKS_SENT, "component" => c.clone()),
        }
    }

    /// Counts a dropped record for a reason that is rare enough to look the counter up on demand.
    pub fn dropped(&self, reason: &'static str, n: u64) {
        metrics::counter!(t::INPUT_DROPPED, "component" => self.name.to_string(), "reason" => reason)
            .increment(n);
    }

    /// Counts malformed input that closed a connection.
    pub fn decode_error(&self, reason: &'static str) {
        metrics::counter!(t::INPUT_DECODE_ERRORS, "component" => self.name.to_string(), "reason" => reason)
            .increment(1);
    }

    /// Counts a refused Forward handshake.
    pub fn auth_failure(&self, reason: &'static str) {
        metrics::counter!(t::INPUT_AUTH_FAILURES, "component" => self.name.to_string(), "reason" => reason)
            .increment(1);
    }

    /// Counts a connection the input closed on its own (`idle_timeout`, `handshake_timeout`).
    pub fn connection_closed(&self, reason: &'static str) {
        metrics::counter!(t::INPUT_CONNECTIONS_CLOSED, "component" => self.name.to_string(), "reason" => reason)
            .increment(1);
    }
}
