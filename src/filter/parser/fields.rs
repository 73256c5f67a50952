//! Field output shared by the regex and logfmt parsers: time-field extraction, empty-value
//! skipping, `Types` conversion and entry counting.
//!
//! Invariants: every [`Fields::push`] appends either nothing or one whole key/value pair to `out`;
//! a value that does not convert to its `Types` type stays a string (Fluent Bit would write 0 or
//! false instead, losing the text).

use super::{FieldType, Parsed, Parser};
use crate::event::EventTime;
use crate::msgpack::writer::write_str;

/// A field value before `Types` conversion.
#[derive(Debug, Clone, Copy)]
pub(super) enum Value<'a> {
    Text(&'a [u8]),
    /// A logfmt bare key.
    True,
}

/// Accumulates regex/logfmt fields.
pub(super) struct Fields<'p> {
    parser: &'p Parser,
    reference: EventTime,
    parsed: Parsed,
}

impl<'p> Fields<'p> {
    pub(super) fn new(parser: &'p Parser, reference: EventTime) -> Self {
        Self {
            parser,
            reference,
            parsed: Parsed {
                entries: 0,
                time: None,
            },
        }
    }

    /// Appends one field (or takes it as the record time).
    pub(super) fn push(&mut self, key: &[u8], value: Value<'_>, out: &mut Vec<u8>) {
        if let (Some((time_key, fmt)), Value::Text(v)) = (&self.parser.time, value)
            && **time_key == *key
            && let Some(t) = fmt.parse(v, self.reference)
        {
            self.parsed.time = Some(t);
            if !self.parser.time_keep {
                return;
            }
        }
        write_str(out, key);
        match value {
            Value::True => out.push(0xc3),
            Value::Text(v) => {
                let ty = self
                    .parser
                    .types
                    .iter()
                    .find(|(name, _)| **name == *key)
                    .map(|(_, ty)| *ty);
                write_typed(out, v, ty);
            }
        }
        self.parsed.entries += 1;
    }

    pub(super) fn done(self) -> Parsed {
        self.parsed
    }
}

/// Writes `v` converted to `ty`; a value that does not convert stays a string.
fn write_typed(out: &mut Vec<u8>, v: &[u8], ty: Option<FieldType>) {
    let s = std::str::from_utf8(v).map(str::trim).unwrap_or("");
    match ty {
        Some(FieldType::Integer) => {
            if let Ok(n) = s.parse::<i64>() {
                return write_int(out, n);
            }
        }
        Some(FieldType::Hex) => {
            let digits = s
                .strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .unwrap_or(s);
            if let Ok(n) = u64::from_str_radix(digits, 16) {
                return write_uint(out, n);
            }
        }
        Some(FieldType::Float) => {
            if let Ok(f) = s.parse::<f64>() {
                out.push(0xcb);
                out.extend_from_slice(&f.to_be_bytes());
                return;
            }
        }
        Some(FieldType::Bool) => {
            if s.eq_ignore_ascii_case("true") {
                return out.push(0xc3);
            }
            if s.eq_ignore_ascii_case("false") {
                return out.push(0xc2);
            }
        }
        Some(FieldType::String) | None => {}
    }
    write_str(out, v);
}

fn write_uint(out: &mut Vec<u8>, v: u64) {
    if v < 128 {
        out.push(v as u8);
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        write_uint(out, v as u64);
    } else if v >= -32 {
        out.push(v as u8);
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}
