//! Helpers shared by this filter's tests: records from JSON, records back to JSON, a fake clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Emitted;
use crate::msgpack::writer::json_object_to_msgpack;

/// A msgpack record from a JSON object.
pub(crate) fn rec(json: &serde_json::Value) -> Bytes {
    let mut out = Vec::new();
    json_object_to_msgpack(json.to_string().as_bytes(), &mut out).unwrap();
    Bytes::from(out)
}

/// A msgpack record back as JSON.
pub(crate) fn json(record: &[u8]) -> serde_json::Value {
    let mut out = Vec::new();
    let mut stats = crate::msgpack::json::TranscodeStats::default();
    crate::msgpack::json::write_value(record, &mut out, &mut stats).unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// The `log` value of an emitted record.
pub(crate) fn log_of(e: &Emitted) -> String {
    json(&e.record)["log"].as_str().unwrap().to_owned()
}

pub(crate) fn tag(s: &str) -> Arc<str> {
    Arc::from(s)
}

/// `ms` milliseconds after `base` (tests drive time by hand).
pub(crate) fn at(base: Instant, ms: u64) -> Instant {
    base + Duration::from_millis(ms)
}
