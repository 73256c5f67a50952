//! Fluent Forward conformance: the vectors and cases of forward-protocol.md, through the public
//! codec API (frame check, decode, ack). Handshake and socket cases live with the server tests.
// Frame builders below are test helpers outside #[test] fns: a panic there is a test failure.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use firelane::event::{Event, EventTime};
use firelane::forward::codec::{
    DecodeLimits, DecodeStats, FrameError, FrameInfo, FrameScanner, Mode, TagCache, check_frame,
    decode_frame, encode_ack,
};
use proptest::prelude::*;

const LIMITS: DecodeLimits = DecodeLimits {
    max_frame_bytes: 1 << 20,
    max_decompressed_bytes: 1 << 20,
};

// ---- frame builders -------------------------------------------------------------------------

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn s(v: &str) -> Vec<u8> {
    let mut b = Vec::new();
    rmp::encode::write_str(&mut b, v).unwrap();
    b
}

/// A map of str -> str.
fn record(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    rmp::encode::write_map_len(&mut b, pairs.len() as u32).unwrap();
    for (k, v) in pairs {
        rmp::encode::write_str(&mut b, k).unwrap();
        rmp::encode::write_str(&mut b, v).unwrap();
    }
    b
}

fn int_time(secs: u64) -> Vec<u8> {
    let mut b = Vec::new();
    rmp::encode::write_uint(&mut b, secs).unwrap();
    b
}

/// EventTime as fixext8.
fn event_time(secs: u32, nanos: u32) -> Vec<u8> {
    let mut b = vec![0xd7, 0x00];
    b.extend(secs.to_be_bytes());
    b.extend(nanos.to_be_bytes());
    b
}

/// An options map from (key, raw msgpack value) pairs.
fn options(pairs: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = Vec::new();
    rmp::encode::write_map_len(&mut b, pairs.len() as u32).unwrap();
    for (k, v) in pairs {
        rmp::encode::write_str(&mut b, k).unwrap();
        b.extend(v);
    }
    b
}

fn array(parts: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    rmp::encode::write_array_len(&mut b, parts.len() as u32).unwrap();
    for p in parts {
        b.extend_from_slice(p);
    }
    b
}

fn message(tag: &str, time: &[u8], rec: &[u8], opts: Option<&[u8]>) -> Vec<u8> {
    let tag = s(tag);
    match opts {
        Some(o) => array(&[&tag, time, rec, o]),
        None => array(&[&tag, time, rec]),
    }
}

fn entry(time: &[u8], rec: &[u8]) -> Vec<u8> {
    array(&[time, rec])
}

fn forward(tag: &str, entries: &[Vec<u8>], opts: Option<&[u8]>) -> Vec<u8> {
    let list: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    let list = array(&list);
    let tag = s(tag);
    match opts {
        Some(o) => array(&[&tag, &list, o]),
        None => array(&[&tag, &list]),
    }
}

/// Every header a packed payload may be sent with.
#[derive(Debug, Clone, Copy)]
enum Payload {
    Bin8,
    Bin16,
    Bin32,
    Str8,
    Str16,
    Str32,
}
const PAYLOADS: [Payload; 6] = [
    Payload::Bin8,
    Payload::Bin16,
    Payload::Bin32,
    Payload::Str8,
    Payload::Str16,
    Payload::Str32,
];

fn payload(kind: Payload, data: &[u8]) -> Vec<u8> {
    let n = data.len();
    let mut b = match kind {
        Payload::Bin8 | Payload::Str8 => {
            assert!(n <= 255);
            vec![
                if matches!(kind, Payload::Bin8) {
                    0xc4
                } else {
                    0xd9
                },
                n as u8,
            ]
        }
        Payload::Bin16 | Payload::Str16 => {
            let mut h = vec![if matches!(kind, Payload::Bin16) {
                0xc5
            } else {
                0xda
            }];
            h.extend((n as u16).to_be_bytes());
            h
        }
        Payload::Bin32 | Payload::Str32 => {
            let mut h = vec![if matches!(kind, Payload::Bin32) {
                0xc6
            } else {
                0xdb
            }];
            h.extend((n as u32).to_be_bytes());
            h
        }
    };
    b.extend_from_slice(data);
    b
}

/// `kind`, widened to 16 bits if the payload does not fit in 8.
fn fit(kind: Payload, len: usize) -> Payload {
    match kind {
        Payload::Bin8 if len > 255 => Payload::Bin16,
        Payload::Str8 if len > 255 => Payload::Str16,
        k => k,
    }
}

fn packed(tag: &str, kind: Payload, data: &[u8], opts: Option<&[u8]>) -> Vec<u8> {
    let tag = s(tag);
    let p = payload(kind, data);
    match opts {
        Some(o) => array(&[&tag, &p, o]),
        None => array(&[&tag, &p]),
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn compressed(codec: &str) -> Vec<u8> {
    options(&[("compressed", s(codec))])
}

// ---- decoding helpers -----------------------------------------------------------------------

struct Decoded {
    info: FrameInfo,
    events: Vec<Event>,
    stats: DecodeStats,
}

/// Checks that `frame` is exactly one frame, then decodes it.
fn decode_with(frame: &[u8], limits: &DecodeLimits) -> Result<Decoded, FrameError> {
    if let Some(len) = check_frame(frame, limits)? {
        assert_eq!(len, frame.len(), "check_frame length");
    }
    let mut events = Vec::new();
    let mut stats = DecodeStats::default();
    let mut tags = TagCache::new(None, None);
    let info = decode_frame(
        Bytes::copy_from_slice(frame),
        limits,
        &mut tags,
        &mut events,
        &mut stats,
    )?;
    assert_eq!(info.events, events.len());
    Ok(Decoded {
        info,
        events,
        stats,
    })
}

fn decode(frame: &[u8]) -> Decoded {
    decode_with(frame, &LIMITS).unwrap()
}

fn reason(frame: &[u8], limits: &DecodeLimits) -> &'static str {
    match decode_with(frame, limits) {
        Ok(_) => "ok",
        Err(e) => e.reason(),
    }
}

fn assert_event(e: &Event, tag: &str, time: EventTime, rec: &[u8]) {
    assert_eq!(&*e.tag, tag);
    assert_eq!(e.time, time);
    assert_eq!(&e.record[..], rec);
}

fn t(secs: i64, nanos: u32) -> EventTime {
    EventTime::new(secs, nanos)
}

const MSG_INT: &str = "93a87461672e6e616d65ce55ece6f881a76d657373616765a3626172";
const MSG_FIXEXT8: &str = "94a3746167d7004b921e650000010081a3666f6fa362617280";
const MSG_EXT8: &str = "94a3746167c708004b921e650000010081a3666f6fa362617280";
const FWD_EVENT_TIME: &str =
    "92a87461672e6e616d659192d70055ece6f8075bcd1581a76d657373616765a3666f6f";
const PACKED_GZIP_TWO_MEMBERS: &str = "93a87461672e6e616d65c4501f8b08000000000002039b742ef4cdb31f8dcb73538b8b13d35317a7e5e70300127ee651130000001f8b08000000000002039b742ef4cdb39f8dcb73538b8b13d353172725160100ef7665361300000081aa636f6d70726573736564a4677a6970";
const MSG_NON_UTF8: &str = "93a87461672e6e616d65ce55ece6f881a36c6f67a2fffe";

fn vectors() -> Vec<Vec<u8>> {
    [
        MSG_INT,
        MSG_FIXEXT8,
        MSG_EXT8,
        FWD_EVENT_TIME,
        PACKED_GZIP_TWO_MEMBERS,
        MSG_NON_UTF8,
        "c0",
    ]
    .iter()
    .map(|h| hex(h))
    .collect()
}

// ---- the spec's vectors ---------------------------------------------------------------------

#[test]
fn spec_vectors_decode_to_the_documented_events() {
    let foo_bar = record(&[("foo", "bar")]);
    let d = decode(&hex(MSG_INT));
    assert_eq!(d.info.mode, Mode::Message);
    assert_event(
        &d.events[0],
        "tag.name",
        t(1441588984, 0),
        &record(&[("message", "bar")]),
    );

    for v in [MSG_FIXEXT8, MSG_EXT8] {
        let d = decode(&hex(v));
        assert_eq!((d.info.mode, d.info.chunk.as_ref()), (Mode::Message, None));
        assert_event(&d.events[0], "tag", t(1267867237, 256), &foo_bar);
    }

    let d = decode(&hex(FWD_EVENT_TIME));
    assert_eq!((d.info.mode, d.events.len()), (Mode::Forward, 1));
    assert_event(
        &d.events[0],
        "tag.name",
        t(1441588984, 123456789),
        &record(&[("message", "foo")]),
    );

    let d = decode(&hex(PACKED_GZIP_TWO_MEMBERS));
    assert_eq!(d.info.mode, Mode::CompressedPackedForward);
    assert_eq!(d.events.len(), 2, "both gzip members are read");
    assert_event(
        &d.events[0],
        "tag.name",
        t(1441588984, 0),
        &record(&[("message", "foo")]),
    );
    assert_event(
        &d.events[1],
        "tag.name",
        t(1441588985, 0),
        &record(&[("message", "bar")]),
    );

    let d = decode(&hex(MSG_NON_UTF8));
    assert_eq!(
        &d.events[0].record[..],
        &hex("81a36c6f67a2fffe")[..],
        "bytes kept as sent"
    );

    let d = decode(&[0xc0]);
    assert_eq!(
        (d.info.mode, d.info.events, d.info.chunk),
        (Mode::Heartbeat, 0, None)
    );
}

#[test]
fn every_frame_split_at_every_offset_waits_then_completes() {
    let mut frames = vectors();
    let rec = record(&[("log", "hello")]);
    frames.push(forward(
        "a",
        &[entry(&int_time(1), &rec), entry(&event_time(2, 3), &rec)],
        None,
    ));
    frames.push(packed(
        "b",
        Payload::Str32,
        &entry(&int_time(1), &rec),
        Some(&options(&[])),
    ));
    for f in &frames {
        let mut scanner = FrameScanner::new();
        for cut in 0..f.len() {
            assert_eq!(
                check_frame(&f[..cut], &LIMITS),
                Ok(None),
                "{f:02x?} cut {cut}"
            );
            assert_eq!(
                scanner.check(&f[..cut], &LIMITS),
                Ok(None),
                "resumable, cut {cut}"
            );
        }
        assert_eq!(check_frame(f, &LIMITS), Ok(Some(f.len())));
        assert_eq!(scanner.check(f, &LIMITS), Ok(Some(f.len())));
    }
}

#[test]
fn many_frames_in_one_write_give_one_ack_per_request() {
    let rec = record(&[("log", "x")]);
    let mut buf = Vec::new();
    let mut chunks = Vec::new();
    for i in 0..50u64 {
        let chunk = s(&format!("chunk-{i}"));
        let opts = options(&[("chunk", chunk.clone())]);
        buf.extend(message("t", &int_time(i), &rec, Some(&opts)));
        buf.push(0xc0); // heartbeats interleaved: no ack for them
        chunks.push(chunk);
    }
    let mut buf = bytes::BytesMut::from(&buf[..]);
    let (mut tags, mut stats, mut events) = (
        TagCache::new(None, None),
        DecodeStats::default(),
        Vec::new(),
    );
    let mut scanner = FrameScanner::new();
    let mut acks = Vec::new();
    while let Some(len) = scanner.check(&buf, &LIMITS).unwrap() {
        let frame = buf.split_to(len).freeze();
        let info = decode_frame(frame, &LIMITS, &mut tags, &mut events, &mut stats).unwrap();
        acks.extend(info.chunk.map(|c| c.to_vec()));
    }
    assert!(buf.is_empty());
    assert_eq!(acks, chunks);
    assert_eq!(events.len(), 50);
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.time == t(i as i64, 0))
    );
    assert!(
        Arc::ptr_eq(&events[0].tag, &events[49].tag),
        "tag interned per connection"
    );
}

// ---- modes, options, payload encodings ------------------------------------------------------

#[test]
fn each_mode_with_and_without_options() {
    let rec = record(&[("log", "line")]);
    let e = entry(&int_time(5), &rec);
    let gz = gzip(&e);
    let cases: Vec<(Vec<u8>, Mode)> = vec![
        (message("m", &int_time(5), &rec, None), Mode::Message),
        (
            message("m", &int_time(5), &rec, Some(&options(&[]))),
            Mode::Message,
        ),
        (forward("m", std::slice::from_ref(&e), None), Mode::Forward),
        (
            forward("m", std::slice::from_ref(&e), Some(&[0xc0])),
            Mode::Forward,
        ),
        (packed("m", Payload::Bin8, &e, None), Mode::PackedForward),
        (
            packed(
                "m",
                Payload::Bin8,
                &e,
                Some(&options(&[("size", int_time(1))])),
            ),
            Mode::PackedForward,
        ),
        (
            packed("m", Payload::Bin8, &gz, Some(&compressed("gzip"))),
            Mode::CompressedPackedForward,
        ),
        // Without options the payload's gzip magic is recognised, as Fluent Bit does.
        (
            packed("m", Payload::Bin8, &gz, None),
            Mode::CompressedPackedForward,
        ),
    ];
    for (frame, mode) in cases {
        let d = decode(&frame);
        assert_eq!(d.info.mode, mode, "{frame:02x?}");
        assert_eq!(d.events.len(), 1);
        assert_event(&d.events[0], "m", t(5, 0), &rec);
    }
}

#[test]
fn packed_payload_as_bin_or_str_of_every_width_plain_or_compressed() {
    let rec = record(&[("log", "y")]);
    let entries: Vec<u8> = (0..3).flat_map(|i| entry(&int_time(i), &rec)).collect();
    let gz = gzip(&entries);
    for kind in PAYLOADS {
        for (data, opts, mode) in [
            (&entries, None, Mode::PackedForward),
            (&entries, Some(compressed("text")), Mode::PackedForward),
            (&gz, Some(compressed("gzip")), Mode::CompressedPackedForward),
        ] {
            let d = decode(&packed("p", kind, data, opts.as_deref()));
            assert_eq!((d.info.mode, d.events.len()), (mode, 3), "{kind:?}");
            assert_event(&d.events[2], "p", t(2, 0), &rec);
        }
    }
}

#[test]
fn zstd_payload_with_several_frames() {
    let rec = record(&[("log", "z")]);
    let mut z = zstd::encode_all(&entry(&int_time(1), &rec)[..], 3).unwrap();
    z.extend(zstd::encode_all(&entry(&int_time(2), &rec)[..], 3).unwrap());
    let d = decode(&packed("z", Payload::Bin32, &z, Some(&compressed("zstd"))));
    assert_eq!(
        (d.info.mode, d.events.len()),
        (Mode::CompressedPackedForward, 2)
    );
    assert_event(&d.events[1], "z", t(2, 0), &rec);
}

#[test]
fn option_variants_and_v15_keys() {
    let rec = record(&[("a", "b")]);
    let v15 = options(&[
        ("fluent_signal", vec![0x00]),
        ("metadata", record(&[("k", "v")])),
        ("size", int_time(999)),
    ]);
    for opts in [vec![0xc0], vec![0x80], compressed("text"), v15] {
        let d = decode(&message("o", &int_time(1), &rec, Some(&opts)));
        assert_eq!(
            (d.events.len(), d.info.chunk),
            (1, None),
            "no chunk, no ack"
        );
    }
    let bad = reason(
        &message("o", &int_time(1), &rec, Some(&compressed("lz4"))),
        &LIMITS,
    );
    assert_eq!(bad, "unknown_compression");
    assert_eq!(
        reason(&message("o", &int_time(1), &rec, Some(&[0x01])), &LIMITS),
        "bad_options"
    );
}

// ---- time -----------------------------------------------------------------------------------

#[test]
fn every_time_encoding_in_every_mode() {
    let rec = record(&[("a", "b")]);
    let mut f64_time = vec![0xcb];
    f64_time.extend(1.25f64.to_be_bytes());
    let cases: Vec<(Vec<u8>, EventTime)> = vec![
        (hex("07"), t(7, 0)),
        (hex("cc07"), t(7, 0)),
        (hex("cd0007"), t(7, 0)),
        (hex("ce00000007"), t(7, 0)),
        (hex("cf0000000000000007"), t(7, 0)),
        (hex("d007"), t(7, 0)),
        (hex("d10007"), t(7, 0)),
        (hex("d200000007"), t(7, 0)),
        (hex("d30000000000000007"), t(7, 0)),
        (event_time(7, 8), t(7, 8)),
        (hex("c708000000000700000008"), t(7, 8)),
        (f64_time, t(1, 250_000_000)),
    ];
    for (time, want) in cases {
        let e = entry(&time, &rec);
        for frame in [
            message("t", &time, &rec, None),
            forward("t", std::slice::from_ref(&e), None),
            packed("t", Payload::Bin8, &e, None),
        ] {
            let d = decode(&frame);
            assert_eq!(d.events.len(), 1, "{time:02x?}");
            assert_eq!(d.events[0].time, want, "{time:02x?}");
        }
    }
}

#[test]
fn bad_times_and_records_are_skipped_and_counted_but_the_frame_is_acked() {
    let rec = record(&[("a", "b")]);
    let bad_times = [
        hex("ff"),                   // negative
        hex("d3ffffffffffffffff"),   // negative int64
        hex("d7010000000100000000"), // ext type 1
        hex("d60000000001"),         // ext type 0, 4 bytes
        hex("d700000000013b9aca00"), // nanos = 1e9
    ];
    let chunk = options(&[("chunk", s("c1"))]);
    for time in &bad_times {
        let d = decode(&message("t", time, &rec, Some(&chunk)));
        assert_eq!(
            (d.events.len(), d.stats.invalid_events),
            (0, 1),
            "{time:02x?}"
        );
        assert!(
            d.info.chunk.is_some(),
            "a sound frame is acked even if its event is invalid"
        );
    }
    // Forward: the good entries around bad ones survive.
    let entries = vec![
        entry(&int_time(1), &rec),
        entry(&bad_times[0], &rec),
        // A str in Message position would select PackedForward; inside an entry it is a bad time.
        entry(&s("2015-09-07"), &rec),
        entry(&int_time(2), &s("not a map")),
        array(&[&int_time(3)]),
        s("not an entry"),
        entry(&int_time(4), &rec),
    ];
    let d = decode(&forward("t", &entries, None));
    assert_eq!(
        d.events.iter().map(|e| e.time.secs).collect::<Vec<_>>(),
        [1, 4]
    );
    assert_eq!(d.stats.invalid_events, 5);
    let packed_data: Vec<u8> = entries.concat();
    let d = decode(&packed("t", Payload::Bin8, &packed_data, None));
    assert_eq!((d.events.len(), d.stats.invalid_events), (2, 5));
}

/// A record in a PackedForward payload nested deeper than the outputs can encode as JSON (128
/// levels) is an invalid event at the input, counted and left out, instead of being accepted and
/// dropped at the output; 128 levels are kept. (In Message and Forward frames the frame scanner
/// already refuses nesting past 128 levels, counting the frame's own arrays.)
#[test]
fn records_nested_deeper_than_128_levels_are_invalid_events() {
    let nested = |levels: usize| {
        let mut v = Vec::new();
        for _ in 0..levels - 1 {
            v.extend_from_slice(&[0x81, 0xa1, b'k']);
        }
        v.push(0x80);
        v
    };
    let entries = [
        entry(&int_time(1), &nested(128)),
        entry(&int_time(2), &nested(129)),
        entry(&int_time(3), &record(&[("log", "kept")])),
    ];
    let d = decode(&packed("t", Payload::Bin16, &entries.concat(), None));
    assert_eq!(
        d.events.iter().map(|e| e.time.secs).collect::<Vec<_>>(),
        [1, 3]
    );
    assert_eq!(d.stats.invalid_events, 1);
}

#[test]
fn truncated_packed_tail_counts_one_invalid_event() {
    let rec = record(&[("log", "z")]);
    let mut data = entry(&int_time(1), &rec);
    let second = entry(&int_time(2), &rec);
    data.extend_from_slice(&second[..second.len() - 2]);
    let d = decode(&packed("t", Payload::Bin8, &data, None));
    assert_eq!((d.events.len(), d.stats.invalid_events), (1, 1));
}

#[test]
fn v15_entry_time_with_metadata() {
    let rec = record(&[("a", "b")]);
    let slot = array(&[&event_time(9, 1), &record(&[("trace", "x")])]);
    let d = decode(&forward("t", &[entry(&slot, &rec)], None));
    assert_event(&d.events[0], "t", t(9, 1), &rec);
}

// ---- compression failures -------------------------------------------------------------------

#[test]
fn corrupt_gzip_and_unknown_compression_close_the_connection() {
    let mut v = hex(PACKED_GZIP_TWO_MEMBERS);
    v[40] ^= 0x55; // inside the first member's deflate data
    assert_eq!(reason(&v, &LIMITS), "decompress_failed");
    let gz = gzip(&entry(&int_time(1), &record(&[])));
    let truncated = packed(
        "t",
        Payload::Bin8,
        &gz[..gz.len() - 3],
        Some(&compressed("gzip")),
    );
    assert_eq!(reason(&truncated, &LIMITS), "decompress_failed");
    let not_gzip = packed("t", Payload::Bin8, b"plain", Some(&compressed("gzip")));
    assert_eq!(reason(&not_gzip, &LIMITS), "decompress_failed");
    let not_zstd = packed("t", Payload::Bin8, b"plain", Some(&compressed("zstd")));
    assert_eq!(reason(&not_zstd, &LIMITS), "decompress_failed");
}

#[test]
fn gzip_bomb_stops_at_the_cap() {
    // 4096 members of 1 MiB of zeros: 4 GiB once inflated, a few MiB on the wire. Inflating it all
    // before checking the size would take seconds and gigabytes; the capped reader stops at 1 MiB.
    let member = gzip(&vec![0u8; 1 << 20]);
    let bomb = member.repeat(4096);
    let limits = DecodeLimits {
        max_frame_bytes: bomb.len() + 64,
        max_decompressed_bytes: 1 << 20,
    };
    let frame = packed("t", Payload::Bin32, &bomb, Some(&compressed("gzip")));
    let started = std::time::Instant::now();
    assert_eq!(reason(&frame, &limits), "decompressed_too_large");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

// ---- malformed requests ---------------------------------------------------------------------

#[test]
fn malformed_requests_are_frame_errors() {
    let rec = record(&[("a", "b")]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (hex("c1"), "non_array_root"),
        (hex("81a17401"), "non_array_root"),
        (s("hello"), "non_array_root"),
        (hex("0a"), "non_array_root"),
        (hex("91a174"), "bad_array_length"),
        (hex("90"), "bad_array_length"),
        (array(&[&s("t"), &int_time(1)]), "bad_array_length"),
        (
            array(&[&s("t"), &int_time(1), &rec, &[0x80], &[0x80]]),
            "bad_array_length",
        ),
        (
            array(&[&s("t"), &array(&[]), &[0x80], &[0x80]]),
            "bad_array_length",
        ),
        (array(&[&[0x01], &int_time(1), &rec]), "tag_not_string"),
        (
            array(&[&hex("c40174"), &int_time(1), &rec]),
            "tag_not_string",
        ),
        (array(&[&[0xc0], &int_time(1), &rec]), "tag_not_string"),
        (array(&[&s("t"), &[0xc0], &rec]), "unknown_mode"),
        (array(&[&s("t"), &rec, &rec]), "unknown_mode"),
        (
            array(&[&s("t"), &int_time(1), &hex("c1")]),
            "malformed_msgpack",
        ),
    ];
    for (frame, want) in cases {
        assert_eq!(reason(&frame, &LIMITS), want, "{frame:02x?}");
    }
}

#[test]
fn garbage_is_rejected_and_decode_leaves_output_untouched_on_error() {
    let garbage = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(check_frame(garbage, &LIMITS), Err(FrameError::NonArrayRoot));
    let rec = record(&[("a", "b")]);
    let good_then_bad_options = forward(
        "t",
        &[entry(&int_time(1), &rec), entry(&hex("ff"), &rec)],
        Some(&compressed("brotli")),
    );
    let cases = [
        (good_then_bad_options, FrameError::UnknownCompression),
        (
            packed("t", Payload::Bin8, b"x", Some(&compressed("brotli"))),
            FrameError::UnknownCompression,
        ),
        (
            [message("t", &int_time(1), &rec, None), vec![0xc0]].concat(),
            FrameError::TrailingBytes,
        ),
        (vec![0xc0, 0xc0], FrameError::TrailingBytes),
        (
            message("t", &int_time(1), &rec, None)[..7].to_vec(),
            FrameError::Incomplete,
        ),
        (vec![], FrameError::Incomplete),
    ];
    for (frame, want) in cases {
        let mut out = vec![];
        let mut stats = DecodeStats::default();
        let r = decode_frame(
            Bytes::from(frame),
            &LIMITS,
            &mut TagCache::new(None, None),
            &mut out,
            &mut stats,
        );
        assert_eq!(r, Err(want));
        assert!(out.is_empty());
        assert_eq!(stats, DecodeStats::default());
    }
}

#[test]
fn oversized_frame_is_rejected_before_it_completes() {
    let limits = DecodeLimits {
        max_frame_bytes: 1000,
        max_decompressed_bytes: 1000,
    };
    // The excess is not announced by any header (many small fields): refused once the limit's
    // worth of bytes has arrived without the frame ending.
    let fields: Vec<(String, String)> =
        (0..200).map(|i| (format!("k{i}"), "v".repeat(8))).collect();
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let big = message("t", &int_time(1), &record(&fields), None);
    assert!(big.len() > 1001);
    assert_eq!(check_frame(&big[..1000], &limits), Ok(None));
    assert_eq!(
        check_frame(&big[..1001], &limits),
        Err(FrameError::FrameTooLarge { limit_bytes: 1000 })
    );
    // A `str` header announcing 2000 bytes: refused as soon as the header is in.
    let announced = message(
        "t",
        &int_time(1),
        &record(&[("log", &"x".repeat(2000))]),
        None,
    );
    let header_end = announced.len() - 2000;
    assert_eq!(check_frame(&announced[..header_end - 1], &limits), Ok(None));
    assert_eq!(
        check_frame(&announced[..header_end], &limits),
        Err(FrameError::FrameTooLarge { limit_bytes: 1000 })
    );
}

// ---- records --------------------------------------------------------------------------------

#[test]
fn records_are_kept_byte_for_byte() {
    // {"a": {"b": [1, {"c": nil}]}, 7: "int key", "bin": <bin ff>, "s": <str ff fe>}
    let rec = hex(
        "84a16181a1629201 81a163c0 07a7696e74206b6579 a362696ec401ff a173a2fffe"
            .replace(' ', "")
            .as_str(),
    );
    for frame in [
        message("t", &int_time(1), &rec, None),
        forward("t", &[entry(&int_time(1), &rec)], None),
        packed("t", Payload::Str16, &entry(&int_time(1), &rec), None),
    ] {
        assert_eq!(&decode(&frame).events[0].record[..], &rec[..]);
    }
}

#[test]
fn docker_partial_message_pieces() {
    let id = "f".repeat(64);
    let pid = "a".repeat(64);
    let opts = options(&[]);
    let time = event_time(1_700_000_000, 5);
    let mut buf = Vec::new();
    let pieces = [
        ("1", "false", "x".repeat(16384)),
        ("2", "true", "tail".to_string()),
    ];
    for (ordinal, last, log) in &pieces {
        let rec = record(&[
            ("container_id", &id),
            ("container_name", "/app"),
            ("source", "stdout"),
            ("log", log),
            ("partial_message", "true"),
            ("partial_id", &pid),
            ("partial_ordinal", ordinal),
            ("partial_last", last),
        ]);
        buf.extend(message("app-firelens-1", &time, &rec, Some(&opts)));
    }
    let mut buf = Bytes::from(buf);
    let mut out = Vec::new();
    let (mut tags, mut stats) = (
        TagCache::new(None, Some(Arc::from("ecs."))),
        DecodeStats::default(),
    );
    while let Some(len) = check_frame(&buf, &LIMITS).unwrap() {
        decode_frame(buf.split_to(len), &LIMITS, &mut tags, &mut out, &mut stats).unwrap();
    }
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|e| e.time == t(1_700_000_000, 5) && &*e.tag == "ecs.app-firelens-1")
    );
}

#[test]
fn tag_override_replaces_every_tag() {
    let mut tags = TagCache::new(Some(Arc::from("fixed")), None);
    let mut out = Vec::new();
    let frame = Bytes::from(message("whatever", &int_time(1), &record(&[]), None));
    decode_frame(
        frame,
        &LIMITS,
        &mut tags,
        &mut out,
        &mut DecodeStats::default(),
    )
    .unwrap();
    assert_eq!(&*out[0].tag, "fixed");
}

// ---- ack ------------------------------------------------------------------------------------

#[test]
fn ack_echoes_the_chunk_byte_for_byte() {
    for chunk in ["abc\n", "p8n9gmxTQVC8/nh2wlKKeQ=="] {
        let raw = s(chunk);
        let d = decode(&message(
            "t",
            &int_time(1),
            &record(&[]),
            Some(&options(&[("chunk", raw.clone())])),
        ));
        let echoed = d.info.chunk.unwrap();
        assert_eq!(&echoed[..], &raw[..]);
        let mut reply = Vec::new();
        encode_ack(&echoed, &mut reply);
        let mut want = vec![0x81, 0xa3, b'a', b'c', b'k'];
        want.extend(&raw);
        assert_eq!(reply, want);
        // The reply is itself {"ack": chunk}, as a client would read it.
        let mut rd = &reply[..];
        assert_eq!(rmp::decode::read_map_len(&mut rd).unwrap(), 1);
        let mut key = [0u8; 3];
        assert_eq!(rmp::decode::read_str(&mut rd, &mut key).unwrap(), "ack");
        let mut val = [0u8; 64];
        assert_eq!(rmp::decode::read_str(&mut rd, &mut val).unwrap(), chunk);
    }
}

// ---- properties -----------------------------------------------------------------------------

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let limits = DecodeLimits { max_frame_bytes: 256, max_decompressed_bytes: 4096 };
        let mut scanner = FrameScanner::new();
        let _ = scanner.check(&bytes, &limits);
        if let Ok(Some(len)) = check_frame(&bytes, &limits) {
            let mut out = Vec::new();
            let _ = decode_frame(Bytes::copy_from_slice(&bytes[..len]), &limits,
                &mut TagCache::new(None, None), &mut out, &mut DecodeStats::default());
        }
        // decode_frame is also safe on input check_frame did not vouch for.
        let _ = decode_frame(Bytes::from(bytes), &limits, &mut TagCache::new(None, None),
            &mut Vec::new(), &mut DecodeStats::default());
    }

    #[test]
    fn mutated_valid_frames_never_panic(
        mode in 0usize..4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let rec = record(&[("log", "hello"), ("source", "stdout")]);
        let entries: Vec<u8> = (0..3).flat_map(|i| entry(&event_time(i, 1), &rec)).collect();
        let mut frame = match mode {
            0 => message("t", &event_time(1, 2), &rec, Some(&options(&[("chunk", s("c"))]))),
            1 => forward("t", &[entry(&int_time(1), &rec), entry(&int_time(2), &rec)], None),
            2 => packed("t", Payload::Bin8, &entries, None),
            _ => packed("t", Payload::Bin8, &gzip(&entries), Some(&compressed("gzip"))),
        };
        for (i, b) in flips {
            let at = i.index(frame.len());
            frame[at] = b;
        }
        let limits = DecodeLimits { max_frame_bytes: 4096, max_decompressed_bytes: 4096 };
        let mut buf = Bytes::from(frame);
        // Mutations can split the frame or leave trailing bytes: decode whatever frames it holds.
        while let Ok(Some(len)) = check_frame(&buf, &limits) {
            let f = buf.split_to(len);
            let mut out = Vec::new();
            let r = decode_frame(f, &limits, &mut TagCache::new(None, None), &mut out,
                &mut DecodeStats::default());
            if let Ok(info) = r {
                prop_assert_eq!(info.events, out.len());
            } else {
                prop_assert!(out.is_empty());
            }
        }
    }

    #[test]
    fn events_round_trip_in_every_mode(
        tag in "[a-z.]{0,20}",
        events in proptest::collection::vec(
            ((any::<u32>(), 0u32..1_000_000_000), proptest::collection::vec(("[a-z_]{1,8}", ".{0,40}"), 0..4)),
            1..8),
        mode in 0usize..4,
        kind in 0usize..6,
    ) {
        let encoded: Vec<(Vec<u8>, Vec<u8>)> = events.iter().map(|((secs, nanos), kv)| {
            let pairs: Vec<(&str, &str)> = kv.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            (event_time(*secs, *nanos), record(&pairs))
        }).collect();
        let entries: Vec<Vec<u8>> = encoded.iter().map(|(t, r)| entry(t, r)).collect();
        let frames: Vec<Vec<u8>> = match mode {
            0 => encoded.iter().map(|(t, r)| message(&tag, t, r, Some(&[0x80]))).collect(),
            1 => vec![forward(&tag, &entries, None)],
            2 => {
                let data = entries.concat();
                vec![packed(&tag, fit(PAYLOADS[kind], data.len()), &data, None)]
            }
            _ => {
                let data = gzip(&entries.concat());
                vec![packed(&tag, fit(PAYLOADS[kind], data.len()), &data, Some(&compressed("gzip")))]
            }
        };
        let big = DecodeLimits { max_frame_bytes: 1 << 20, max_decompressed_bytes: 1 << 20 };
        let mut got = Vec::new();
        for f in &frames {
            got.extend(decode_with(f, &big).unwrap().events);
        }
        prop_assert_eq!(got.len(), events.len());
        for (e, ((secs, nanos), _)) in got.iter().zip(&events) {
            prop_assert_eq!(&*e.tag, tag.as_str());
            prop_assert_eq!(e.time, t(i64::from(*secs), *nanos));
        }
        for (e, (_, r)) in got.iter().zip(&encoded) {
            prop_assert_eq!(&e.record[..], &r[..]);
        }
    }
}
