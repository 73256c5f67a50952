//! One staged line per event: the record as JSON with the date key (Fluent Bit's s3 shape), or
//! the raw value of `log_key`; then `\n`.
//!
//! Invariant: a line is appended whole or not at all.

use crate::config::output::s3::S3OutputConfig;
use crate::event::Event;
use crate::msgpack::json::{TranscodeError, TranscodeStats};
use crate::output::format::LineFormat;
use crate::output::format::message::MessageEncoder;

/// What a line held besides the record (the caller counts it).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    /// `log_key` was configured but absent: the whole record was written as JSON.
    pub log_key_missing: bool,
}

/// Turns events into staged lines.
#[derive(Debug, Clone)]
pub enum LineEncoder {
    /// `{"date":...,<record keys>}`.
    Json(LineFormat),
    /// The value of one key: strings raw, anything else as JSON.
    LogKey(MessageEncoder),
}

impl LineEncoder {
    pub fn new(cfg: &S3OutputConfig) -> Self {
        match &cfg.log_key {
            Some(key) => Self::LogKey(MessageEncoder::new(Some(key))),
            None => Self::Json(LineFormat {
                date_key: cfg.json_date_key.0.clone(),
                date_format: cfg.json_date_format,
                tag_key: None,
            }),
        }
    }

    /// Appends the line of `ev` to `out`; `scratch` is reused between calls.
    pub fn write(
        &self,
        ev: &Event,
        out: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        stats: &mut TranscodeStats,
    ) -> Result<LineInfo, TranscodeError> {
        match self {
            Self::Json(format) => {
                format.write_line(ev, out, stats)?;
                Ok(LineInfo::default())
            }
            Self::LogKey(encoder) => {
                let info = encoder.encode(&ev.record, scratch)?;
                stats.invalid_utf8_sequences += info.invalid_utf8;
                out.extend_from_slice(scratch);
                out.push(b'\n');
                Ok(LineInfo {
                    log_key_missing: info.log_key_missing,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{DateFormat, DateKey};
    use crate::event::EventTime;
    use crate::msgpack::writer::json_object_to_msgpack;
    use std::sync::Arc;

    fn event(record: &[u8]) -> Event {
        Event {
            tag: Arc::from("app"),
            time: EventTime {
                secs: 1_700_000_000,
                nanos: 5_000_000,
            },
            record: bytes::Bytes::copy_from_slice(record),
        }
    }

    fn record() -> Vec<u8> {
        let mut out = Vec::new();
        json_object_to_msgpack(br#"{"log":"hello \"x\"","n":3}"#, &mut out).unwrap();
        out
    }

    #[test]
    fn json_lines_carry_the_date_key_then_the_record() {
        let enc = LineEncoder::Json(LineFormat {
            date_key: DateKey(Some("date".into())).0,
            date_format: DateFormat::Iso8601,
            tag_key: None,
        });
        let (mut out, mut scratch, mut stats) = (Vec::new(), Vec::new(), TranscodeStats::default());
        enc.write(&event(&record()), &mut out, &mut scratch, &mut stats)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"date\":\"2023-11-14T22:13:20.005000Z\",\"log\":\"hello \\\"x\\\"\",\"n\":3}\n"
        );
    }

    #[test]
    fn log_key_lines_are_the_raw_value_or_the_record_when_missing() {
        let enc = LineEncoder::LogKey(MessageEncoder::new(Some("log")).with_max_bytes(usize::MAX));
        let (mut out, mut scratch, mut stats) = (Vec::new(), Vec::new(), TranscodeStats::default());
        let info = enc
            .write(&event(&record()), &mut out, &mut scratch, &mut stats)
            .unwrap();
        assert!(!info.log_key_missing);
        let enc = LineEncoder::LogKey(MessageEncoder::new(Some("nope")).with_max_bytes(usize::MAX));
        let info = enc
            .write(&event(&record()), &mut out, &mut scratch, &mut stats)
            .unwrap();
        assert!(info.log_key_missing);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "hello \"x\"\n{\"log\":\"hello \\\"x\\\"\",\"n\":3}\n"
        );
    }
}
