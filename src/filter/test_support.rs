//! Helpers shared by the filters' tests: records written as JSON, read back as JSON.

use crate::msgpack::json::{TranscodeStats, write_value};
use crate::msgpack::writer::json_object_to_msgpack;

/// A msgpack map from a JSON object.
pub(crate) fn msgpack(json: &str) -> Vec<u8> {
    let mut out = Vec::new();
    json_object_to_msgpack(json.as_bytes(), &mut out).unwrap();
    out
}

/// A msgpack value as JSON.
pub(crate) fn json(record: &[u8]) -> serde_json::Value {
    let mut out = Vec::new();
    write_value(record, &mut out, &mut TranscodeStats::default()).unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// A record's JSON text: its fields in order, whatever the length of its msgpack headers (a
/// filter may keep a map32 header where a fixmap would do).
pub(crate) fn json_text(record: &[u8]) -> String {
    let mut out = Vec::new();
    write_value(record, &mut out, &mut TranscodeStats::default()).unwrap();
    String::from_utf8(out).unwrap()
}
