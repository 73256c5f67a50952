//! How the local outputs (stdout, file) turn events into bytes: the one place that does it.
//!
//! Shapes (`\n` ends every line):
//! - `json_lines` (and stdout's `json_stream`): `{"<date_key>":<time>,"<tag_key>":"<tag>",<record's
//!   own keys>}` per event; the date and tag keys are left out when not configured. Record keys are
//!   written as they are, NOT deduplicated against the date/tag keys (a record holding its own
//!   `date` yields a duplicate key; JSON readers usually keep the last, i.e. the record's).
//! - stdout `json`: the objects of one batch as one JSON array, `[{...},{...}]`, on one line.
//! - stdout `msgpack`: Fluent Bit's debug dump, `[N] tag: [[secs.nnnnnnnnn, {}], {"k"=>"v"}]`
//!   (see [`dump`]); N counts the batch's events from 0, as Fluent Bit counts per chunk.
//! - file `out_file`: Fluent Bit's `tag: [secs.nnnnnnnnn, {"k":"v"}]`.
//! - file `plain`: the record alone, `{"k":"v"}`.
//!
//! Invariants: an event is written whole or not at all (an error leaves `out` as it was); nothing
//! is allocated per event, everything is written straight into the caller's buffer.

mod dump;
/// The message of one record: `log_key`'s value or the record as JSON, with a size limit.
pub mod message;
#[cfg(test)]
mod tests;

use crate::config::model::{
    DateFormat, FileFormat, FileOutputConfig, StdoutFormat, StdoutOutputConfig,
};
use crate::event::{Event, EventTime};
use crate::msgpack::json::{
    TranscodeError, TranscodeStats, write_int, write_map_entries, write_padded,
    write_seconds_nanos, write_str,
};
use crate::time::civil_from_days;

/// How each event becomes a JSON object (the `json_*` formats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFormat {
    /// Key of the event time; `None` leaves it out.
    pub date_key: Option<String>,
    pub date_format: DateFormat,
    /// Key of the event tag; `None` leaves it out.
    pub tag_key: Option<String>,
}

impl LineFormat {
    pub fn from_stdout(cfg: &StdoutOutputConfig) -> Self {
        Self {
            date_key: cfg.json_date_key.0.clone(),
            date_format: cfg.json_date_format,
            tag_key: cfg.json_tag_key.0.clone(),
        }
    }

    pub fn from_file(cfg: &FileOutputConfig) -> Self {
        Self {
            date_key: cfg.json_date_key.0.clone(),
            date_format: cfg.json_date_format,
            tag_key: cfg.json_tag_key.0.clone(),
        }
    }

    /// Appends one JSON object line for `ev`. A record that is not a msgpack map (or is corrupt) is
    /// an error and nothing is appended.
    pub fn write_line(
        &self,
        ev: &Event,
        out: &mut Vec<u8>,
        stats: &mut TranscodeStats,
    ) -> Result<(), TranscodeError> {
        self.write_object(ev, out, stats)?;
        out.push(b'\n');
        Ok(())
    }

    /// Appends the JSON object of `ev` (no newline); on error nothing is appended.
    fn write_object(
        &self,
        ev: &Event,
        out: &mut Vec<u8>,
        stats: &mut TranscodeStats,
    ) -> Result<(), TranscodeError> {
        let line_start = out.len();
        out.push(b'{');
        let mut has_prefix_keys = false;
        if let Some(key) = &self.date_key {
            write_str(key.as_bytes(), out, stats);
            out.push(b':');
            write_date(self.date_format, ev.time, out);
            has_prefix_keys = true;
        }
        if let Some(key) = &self.tag_key {
            if has_prefix_keys {
                out.push(b',');
            }
            write_str(key.as_bytes(), out, stats);
            out.push(b':');
            write_str(ev.tag.as_bytes(), out, stats);
            has_prefix_keys = true;
        }
        if has_prefix_keys {
            out.push(b',');
        }
        match write_map_entries(&ev.record, out, stats) {
            Ok(0) if has_prefix_keys => {
                out.pop(); // the comma before an empty record
            }
            Ok(_) => {}
            Err(e) => {
                out.truncate(line_start);
                return Err(e);
            }
        }
        out.push(b'}');
        Ok(())
    }
}

/// The `format` of a local output, ready to write events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordFormat {
    /// One JSON object per line.
    JsonLines(LineFormat),
    /// The JSON objects of one batch as one array on one line.
    JsonArray(LineFormat),
    /// Fluent Bit's stdout `msgpack` dump.
    FluentBitDump,
    /// Fluent Bit's file `out_file`.
    OutFile,
    /// The record alone as a JSON object.
    Plain,
}

impl RecordFormat {
    pub fn from_stdout(cfg: &StdoutOutputConfig) -> Self {
        match cfg.format {
            StdoutFormat::JsonLines | StdoutFormat::JsonStream => {
                Self::JsonLines(LineFormat::from_stdout(cfg))
            }
            StdoutFormat::Json => Self::JsonArray(LineFormat::from_stdout(cfg)),
            StdoutFormat::Msgpack => Self::FluentBitDump,
        }
    }

    /// The file output's formats are all one line per event (see [`Self::write_event`]).
    pub fn from_file(cfg: &FileOutputConfig) -> Self {
        match cfg.format {
            FileFormat::JsonLines => Self::JsonLines(LineFormat::from_file(cfg)),
            FileFormat::OutFile => Self::OutFile,
            FileFormat::Plain => Self::Plain,
        }
    }

    /// Appends `ev`, the `seq`-th event (from 0) written so far for its batch. Only `JsonArray`
    /// (which opens the array at 0) and `FluentBitDump` (which prints it) read `seq`; for the
    /// other formats any value does. A record that is not a msgpack map (or is corrupt) is an
    /// error and nothing is appended.
    pub fn write_event(
        &self,
        ev: &Event,
        seq: usize,
        out: &mut Vec<u8>,
        stats: &mut TranscodeStats,
    ) -> Result<(), TranscodeError> {
        let start = out.len();
        let result = match self {
            Self::JsonLines(line) => line.write_line(ev, out, stats),
            Self::JsonArray(line) => {
                out.push(if seq == 0 { b'[' } else { b',' });
                line.write_object(ev, out, stats)
            }
            Self::FluentBitDump => dump::write_event(ev, seq, out),
            Self::OutFile => {
                out.extend_from_slice(ev.tag.as_bytes());
                out.extend_from_slice(b": [");
                write_seconds_nanos(ev.time.secs, ev.time.nanos, out);
                out.extend_from_slice(b", ");
                write_record_object(&ev.record, out, stats).map(|()| out.extend_from_slice(b"]\n"))
            }
            Self::Plain => write_record_object(&ev.record, out, stats).map(|()| out.push(b'\n')),
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Closes a batch of which `written` events were written: `JsonArray` ends its line there.
    pub fn end_batch(&self, written: usize, out: &mut Vec<u8>) {
        if let Self::JsonArray(_) = self
            && written > 0
        {
            out.extend_from_slice(b"]\n");
        }
    }
}

/// The record as a JSON object `{...}`; nothing is appended on error.
fn write_record_object(
    record: &[u8],
    out: &mut Vec<u8>,
    stats: &mut TranscodeStats,
) -> Result<(), TranscodeError> {
    out.push(b'{');
    match write_map_entries(record, out, stats) {
        Ok(_) => {
            out.push(b'}');
            Ok(())
        }
        Err(e) => {
            out.pop();
            Err(e)
        }
    }
}

/// Writes the event time as a JSON value in the given format.
pub fn write_date(format: DateFormat, time: EventTime, out: &mut Vec<u8>) {
    match format {
        DateFormat::Double => write_seconds_nanos(time.secs, time.nanos, out),
        DateFormat::Epoch => write_int(time.secs, out),
        DateFormat::EpochMs => write_int(time.as_millis(), out),
        DateFormat::Iso8601 => {
            out.push(b'"');
            write_iso8601(time, out);
            out.push(b'"');
        }
    }
}

/// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds). Years outside 0000..=9999 use the
/// ISO 8601 expanded form (`-0001`, `+10000`).
pub fn write_iso8601(time: EventTime, out: &mut Vec<u8>) {
    const SECS_PER_DAY: i64 = 86_400;
    let days = time.secs.div_euclid(SECS_PER_DAY);
    // In 0..86_400, so it fits u32.
    let secs_of_day = time.secs.rem_euclid(SECS_PER_DAY) as u32;
    let (year, month, day) = civil_from_days(days);
    let year_abs = year.unsigned_abs();
    if year < 0 {
        out.push(b'-');
    } else if year > 9999 {
        out.push(b'+');
    }
    match u32::try_from(year_abs) {
        Ok(y) => write_padded(y, 4, out),
        Err(_) => write_int(year_abs, out),
    }
    out.push(b'-');
    write_padded(month, 2, out);
    out.push(b'-');
    write_padded(day, 2, out);
    out.push(b'T');
    write_padded(secs_of_day / 3600, 2, out);
    out.push(b':');
    write_padded(secs_of_day / 60 % 60, 2, out);
    out.push(b':');
    write_padded(secs_of_day % 60, 2, out);
    out.push(b'.');
    write_padded(time.nanos.min(999_999_999) / 1000, 6, out);
    out.push(b'Z');
}
