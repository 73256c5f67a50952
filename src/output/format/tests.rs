//! Exact bytes of every local output format.

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

// --- the `format` option: every shape, byte for byte ---

use crate::config::model::{
    DateKey, FileFormat, FileOutputConfig, StdoutFormat, StdoutOutputConfig,
};
use crate::msgpack::writer::{write_array_len, write_f64 as mp_f64, write_i64, write_map_len};

/// `{"log":"héllo ☃","n":-3,"f":0.5,"ok":true,"none":nil,"m":{"a":[1,2]},"bad":"a\xffb",
/// "bin":<bin 22 41 00>}`: unicode, nesting, every scalar kind, a str that is not UTF-8, bin.
fn rich_record() -> Bytes {
    let mut r = Vec::new();
    let s = |r: &mut Vec<u8>, v: &[u8]| crate::msgpack::writer::write_str(r, v);
    write_map_len(&mut r, 8);
    s(&mut r, b"log");
    s(&mut r, "héllo ☃".as_bytes());
    s(&mut r, b"n");
    write_i64(&mut r, -3);
    s(&mut r, b"f");
    mp_f64(&mut r, 0.5);
    s(&mut r, b"ok");
    r.push(0xc3);
    s(&mut r, b"none");
    r.push(0xc0);
    s(&mut r, b"m");
    write_map_len(&mut r, 1);
    s(&mut r, b"a");
    write_array_len(&mut r, 2);
    r.extend_from_slice(&[1, 2]);
    s(&mut r, b"bad");
    s(&mut r, b"a\xffb");
    s(&mut r, b"bin");
    r.extend_from_slice(&[0xc4, 3, 0x22, 0x41, 0x00]);
    Bytes::from(r)
}

fn rich_event(tag: &str) -> Event {
    Event {
        tag: Arc::from(tag),
        time: EventTime::new(1_700_000_000, 5),
        record: rich_record(),
    }
}

const RICH_JSON: &str = "\"log\":\"héllo ☃\",\"n\":-3,\"f\":0.5,\"ok\":true,\"none\":null,\
                         \"m\":{\"a\":[1,2]},\"bad\":\"a\u{FFFD}b\",\"bin\":\"IkEA\"";

/// Writes `events` as one batch; returns the bytes (lossy UTF-8 for the dump's raw bytes), how
/// many were written, and the invalid UTF-8 count.
fn batch_text(format: &RecordFormat, events: &[Event]) -> (String, usize, u64) {
    let mut out = b"previous\n".to_vec();
    let mut stats = TranscodeStats::default();
    let mut written = 0;
    for ev in events {
        let before = out.len();
        match format.write_event(ev, written, &mut out, &mut stats) {
            Ok(()) => written += 1,
            Err(_) => assert_eq!(out.len(), before, "a failed event leaves nothing behind"),
        }
    }
    format.end_batch(written, &mut out);
    let text = String::from_utf8_lossy(&out[b"previous\n".len()..]).into_owned();
    (text, written, stats.invalid_utf8_sequences)
}

fn stdout_cfg(format: StdoutFormat, date_key: Option<&str>) -> StdoutOutputConfig {
    StdoutOutputConfig {
        alias: None,
        match_: None,
        match_regex: None,
        format,
        json_date_key: DateKey(date_key.map(str::to_owned)),
        json_date_format: DateFormat::Double,
        json_tag_key: DateKey(Some("tag".into())),
    }
}

fn file_cfg(format: FileFormat) -> FileOutputConfig {
    FileOutputConfig {
        alias: None,
        match_: None,
        match_regex: None,
        path: None,
        file: None,
        format,
        // Set on purpose: out_file and plain must ignore them, as Fluent Bit does.
        json_date_key: DateKey(Some("date".into())),
        json_date_format: DateFormat::Iso8601,
        json_tag_key: DateKey(Some("tag".into())),
    }
}

fn not_a_map() -> Event {
    Event {
        tag: Arc::from("t"),
        time: EventTime::new(1, 0),
        record: Bytes::from_static(b"\xa3abc"),
    }
}

#[test]
fn json_lines_with_and_without_the_date_key() {
    let ev = rich_event("app.web");
    for format in [StdoutFormat::JsonLines, StdoutFormat::JsonStream] {
        let with_date = RecordFormat::from_stdout(&stdout_cfg(format, Some("date")));
        assert_eq!(
            batch_text(&with_date, std::slice::from_ref(&ev)),
            (
                format!("{{\"date\":1700000000.000000005,\"tag\":\"app.web\",{RICH_JSON}}}\n"),
                1,
                1
            )
        );
        let no_date = RecordFormat::from_stdout(&stdout_cfg(format, None));
        assert_eq!(
            batch_text(&no_date, std::slice::from_ref(&ev)).0,
            format!("{{\"tag\":\"app.web\",{RICH_JSON}}}\n")
        );
    }
}

#[test]
fn stdout_json_is_one_array_per_batch_on_one_line() {
    let f = RecordFormat::from_stdout(&stdout_cfg(StdoutFormat::Json, Some("ts")));
    let small = |secs| Event {
        tag: Arc::from("a"),
        time: EventTime::new(secs, 0),
        record: Bytes::from_static(b"\x81\xa1k\x01"), // {"k":1}
    };
    // A first event that fails must not leave the array unopened or a stray comma.
    let events = [not_a_map(), small(1), not_a_map(), small(2)];
    assert_eq!(
        batch_text(&f, &events),
        (
            "[{\"ts\":1.000000000,\"tag\":\"a\",\"k\":1},{\"ts\":2.000000000,\"tag\":\"a\",\"k\":1}]\n"
                .to_owned(),
            2,
            0
        )
    );
    assert_eq!(
        batch_text(&f, std::slice::from_ref(&rich_event("x"))).0,
        format!("[{{\"ts\":1700000000.000000005,\"tag\":\"x\",{RICH_JSON}}}]\n")
    );
    // A batch where nothing could be written prints nothing at all.
    assert_eq!(batch_text(&f, &[not_a_map()]), (String::new(), 0, 0));
}

#[test]
fn stdout_msgpack_is_fluent_bits_dump() {
    let f = RecordFormat::from_stdout(&stdout_cfg(StdoutFormat::Msgpack, Some("date")));
    assert_eq!(f, RecordFormat::FluentBitDump);
    let events = [rich_event("app.web"), not_a_map(), rich_event("other")];
    let mut out = Vec::new();
    let mut stats = TranscodeStats::default();
    let mut seq = 0;
    for ev in &events {
        if f.write_event(ev, seq, &mut out, &mut stats).is_ok() {
            seq += 1;
        }
    }
    f.end_batch(seq, &mut out);
    // Strings are printed raw, as msgpack-c does: the 0xff byte stays a 0xff byte.
    let body = b"{\"log\"=>\"h\xc3\xa9llo \xe2\x98\x83\", \"n\"=>-3, \"f\"=>0.500000, \"ok\"=>true, \
                 \"none\"=>nil, \"m\"=>{\"a\"=>[1, 2]}, \"bad\"=>\"a\xffb\", \"bin\"=>\"\\\"A\\x00\"}";
    let mut expected = b"[0] app.web: [[1700000000.000000005, {}], ".to_vec();
    expected.extend_from_slice(body);
    expected.extend_from_slice(b"]\n[1] other: [[1700000000.000000005, {}], ");
    expected.extend_from_slice(body);
    expected.extend_from_slice(b"]\n");
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(out, expected);
    assert_eq!(stats.invalid_utf8_sequences, 0, "nothing is replaced");
}

#[test]
fn dump_scalars_print_like_c() {
    let f = RecordFormat::FluentBitDump;
    let mut r = Vec::new();
    write_map_len(&mut r, 6);
    crate::msgpack::writer::write_str(&mut r, b"e");
    r.extend_from_slice(&[0xd5, 5, b'A', b'\n']); // fixext2, type 5
    crate::msgpack::writer::write_str(&mut r, b"f32");
    r.extend_from_slice(&[0xca, 0x3f, 0xc0, 0, 0]); // 1.5f32
    crate::msgpack::writer::write_str(&mut r, b"big");
    mp_f64(&mut r, 1e20);
    crate::msgpack::writer::write_str(&mut r, b"inf");
    mp_f64(&mut r, f64::NEG_INFINITY);
    crate::msgpack::writer::write_str(&mut r, b"nan");
    mp_f64(&mut r, f64::NAN);
    r.push(0xcf); // u64 max as a key
    r.extend_from_slice(&u64::MAX.to_be_bytes());
    r.push(0x90); // []
    let ev = Event {
        tag: Arc::from("t"),
        time: EventTime::new(-1, 999_999_999),
        record: Bytes::from(r),
    };
    assert_eq!(
        batch_text(&f, &[ev]).0,
        "[0] t: [[-1.999999999, {}], {\"e\"=>(ext: 5)\"A\\x0a\", \"f32\"=>1.500000, \
         \"big\"=>100000000000000000000.000000, \"inf\"=>-inf, \"nan\"=>nan, \
         18446744073709551615=>[]}]\n"
    );
}

#[test]
fn file_out_file_is_tag_time_and_record_json() {
    let f = RecordFormat::from_file(&file_cfg(FileFormat::OutFile));
    assert_eq!(
        batch_text(&f, &[rich_event("app.web"), not_a_map()]),
        (
            format!("app.web: [1700000000.000000005, {{{RICH_JSON}}}]\n"),
            1,
            1
        )
    );
    let empty = Event {
        tag: Arc::from("e"),
        time: EventTime::new(7, 120),
        record: Bytes::from_static(b"\x80"),
    };
    assert_eq!(batch_text(&f, &[empty]).0, "e: [7.000000120, {}]\n");
}

#[test]
fn file_plain_is_the_record_alone() {
    let f = RecordFormat::from_file(&file_cfg(FileFormat::Plain));
    assert_eq!(
        batch_text(&f, &[rich_event("app.web"), not_a_map()]),
        (format!("{{{RICH_JSON}}}\n"), 1, 1)
    );
}

#[test]
fn file_json_lines_keeps_the_date_and_tag_keys() {
    let f = RecordFormat::from_file(&file_cfg(FileFormat::JsonLines));
    assert_eq!(
        batch_text(&f, &[rich_event("app.web")]).0,
        format!("{{\"date\":\"2023-11-14T22:13:20.000000Z\",\"tag\":\"app.web\",{RICH_JSON}}}\n")
    );
}
