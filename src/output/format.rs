//! JSON lines for the local outputs (stdout, file): one object per event, then `\n`.
//!
//! Shape: `{"<date_key>":<time>,"<tag_key>":"<tag>",<record's own keys>}`; the date and tag keys are
//! left out when not configured. Record keys are written as they are, NOT deduplicated against the
//! date/tag keys (a record holding its own `date` yields a duplicate key; JSON readers usually keep
//! the last, i.e. the record's). Invariant: a line is written whole or not at all.

use crate::config::model::{DateFormat, FileOutputConfig, StdoutOutputConfig};
use crate::event::{Event, EventTime};
use crate::msgpack::json::{
    TranscodeError, TranscodeStats, write_int, write_map_entries, write_padded,
    write_seconds_nanos, write_str,
};

/// How each event becomes a JSON line.
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
        out.extend_from_slice(b"}\n");
        Ok(())
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

/// Proleptic Gregorian (year, month 1..=12, day 1..=31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`). Exact for every i64 day count that i64 seconds produce.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    const DAYS_PER_ERA: i64 = 146_097; // 400 Gregorian years
    let z = days + 719_468; // shift the epoch to 0000-03-01
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z.rem_euclid(DAYS_PER_ERA); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153; // [0, 11]
    // Both are small and non-negative by construction.
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;

    fn iso(secs: i64, nanos: u32) -> String {
        let mut out = Vec::new();
        write_iso8601(EventTime::new(secs, nanos), &mut out);
        String::from_utf8(out).unwrap()
    }

    fn date(format: DateFormat, secs: i64, nanos: u32) -> String {
        let mut out = Vec::new();
        write_date(format, EventTime::new(secs, nanos), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn iso8601_known_dates_including_leap_days_and_centuries() {
        assert_eq!(iso(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(iso(951_782_400, 0), "2000-02-29T00:00:00.000000Z");
        assert_eq!(
            iso(1_709_210_096, 789_012_345),
            "2024-02-29T12:34:56.789012Z"
        );
        assert_eq!(iso(1_709_251_200, 0), "2024-03-01T00:00:00.000000Z");
        assert_eq!(iso(-2_203_891_200, 0), "1900-03-01T00:00:00.000000Z");
        assert_eq!(iso(-2_203_891_201, 0), "1900-02-28T23:59:59.000000Z");
        assert_eq!(iso(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z");
        assert_eq!(iso(-1, 999_999_000), "1969-12-31T23:59:59.999999Z");
        assert_eq!(iso(253_402_300_799, 0), "9999-12-31T23:59:59.000000Z");
        assert_eq!(iso(253_402_300_800, 0), "+10000-01-01T00:00:00.000000Z");
        assert_eq!(iso(-62_135_596_800, 0), "0001-01-01T00:00:00.000000Z");
        assert_eq!(iso(-62_135_596_801, 0), "0000-12-31T23:59:59.000000Z");
        assert_eq!(iso(-62_167_219_201, 0), "-0001-12-31T23:59:59.000000Z");
        // Extremes do not overflow.
        assert!(iso(i64::MAX, 0).ends_with('Z'));
        assert!(iso(i64::MIN, 0).starts_with('-'));
    }

    #[test]
    fn each_date_format() {
        let (s, n) = (1_700_000_000, 123_456_789);
        assert_eq!(date(DateFormat::Double, s, n), "1700000000.123456789");
        assert_eq!(date(DateFormat::Epoch, s, n), "1700000000");
        assert_eq!(date(DateFormat::EpochMs, s, n), "1700000000123");
        assert_eq!(
            date(DateFormat::Iso8601, s, n),
            "\"2023-11-14T22:13:20.123456Z\""
        );
    }

    fn event(record_hex: &str) -> Event {
        let record: Vec<u8> = (0..record_hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&record_hex[i..i + 2], 16).unwrap())
            .collect();
        Event {
            tag: Arc::from("app.web"),
            time: EventTime::new(1_700_000_000, 5),
            record: Bytes::from(record),
        }
    }

    fn line(fmt: &LineFormat, ev: &Event) -> Result<String, TranscodeError> {
        let mut out = b"previous\n".to_vec();
        let mut stats = TranscodeStats::default();
        let r = fmt.write_line(ev, &mut out, &mut stats);
        let text = String::from_utf8(out).unwrap();
        let line = text.strip_prefix("previous\n").unwrap().to_owned();
        if r.is_err() {
            assert_eq!(line, "", "a failed line leaves nothing behind");
        }
        r.map(|()| line)
    }

    fn fmt(date: Option<&str>, tag: Option<&str>) -> LineFormat {
        LineFormat {
            date_key: date.map(str::to_owned),
            date_format: DateFormat::Double,
            tag_key: tag.map(str::to_owned),
        }
    }

    #[test]
    fn date_then_tag_then_record_keys() {
        let ev = event("82a36c6f67a26869a3617070a161"); // {"log":"hi","app":"a"}
        assert_eq!(
            line(&fmt(Some("date"), Some("tag")), &ev).unwrap(),
            "{\"date\":1700000000.000000005,\"tag\":\"app.web\",\"log\":\"hi\",\"app\":\"a\"}\n"
        );
        assert_eq!(
            line(&fmt(None, Some("t\"g")), &ev).unwrap(),
            "{\"t\\\"g\":\"app.web\",\"log\":\"hi\",\"app\":\"a\"}\n"
        );
        assert_eq!(
            line(&fmt(Some("time"), None), &ev).unwrap(),
            "{\"time\":1700000000.000000005,\"log\":\"hi\",\"app\":\"a\"}\n"
        );
        assert_eq!(
            line(&fmt(None, None), &ev).unwrap(),
            "{\"log\":\"hi\",\"app\":\"a\"}\n"
        );
    }

    #[test]
    fn empty_records_still_make_valid_lines() {
        let ev = event("80");
        assert_eq!(
            line(&fmt(Some("date"), Some("tag")), &ev).unwrap(),
            "{\"date\":1700000000.000000005,\"tag\":\"app.web\"}\n"
        );
        assert_eq!(line(&fmt(None, None), &ev).unwrap(), "{}\n");
    }

    #[test]
    fn non_map_or_corrupt_records_write_nothing() {
        let f = fmt(Some("date"), Some("tag"));
        assert_eq!(line(&f, &event("a26869")), Err(TranscodeError::NotAMap));
        assert!(line(&f, &event("82a36c6f67")).is_err());
    }
}
