//! Forward decode throughput (frame check + decode, as a connection does): Docker-shaped Message
//! frames, one large PackedForward frame, and the same entries gzip-compressed.
//!
//! Run: `cargo bench --bench decode -- --warm-up-time 1 --measurement-time 2`.
#![allow(clippy::unwrap_used)] // bench setup: a failure should stop the run

use std::hint::black_box;
use std::io::Write;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firelane::event::Event;
use firelane::forward::codec::{DecodeLimits, DecodeStats, TagCache, check_frame, decode_frame};

const EVENTS: usize = 1000;
const TAG: &str = "app-firelens-0123456789abcdef";
const LIMITS: DecodeLimits = DecodeLimits {
    max_frame_bytes: 64 << 20,
    max_decompressed_bytes: 64 << 20,
};

/// A Docker fluentd-driver record: {container_id, container_name, source, log (~200 chars)}.
fn docker_record(i: usize) -> Vec<u8> {
    let mut b = Vec::new();
    let log = format!(
        "{i:06} 2024-05-01T12:00:00.000Z INFO request handled method=GET path=/api/v1/items/{i} \
         status=200 duration_ms=12 user_agent=\"Mozilla/5.0 (X11; Linux x86_64)\" \
         trace_id=4bf92f3577b34da6a3ce929d0e0e4736 bytes=5120"
    );
    let pairs = [
        ("container_id", "a".repeat(64)),
        ("container_name", "/app".to_string()),
        ("source", "stdout".to_string()),
        ("log", log),
    ];
    rmp::encode::write_map_len(&mut b, pairs.len() as u32).unwrap();
    for (k, v) in &pairs {
        rmp::encode::write_str(&mut b, k).unwrap();
        rmp::encode::write_str(&mut b, v).unwrap();
    }
    b
}

fn event_time(i: usize) -> [u8; 10] {
    let mut t = [0xd7, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
    t[2..6].copy_from_slice(&(1_700_000_000 + i as u32).to_be_bytes());
    t[6..10].copy_from_slice(&(i as u32 * 1000).to_be_bytes());
    t
}

/// 1000 Message-mode frames `[tag, EventTime, record, {}]`, back to back.
fn message_frames() -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..EVENTS {
        rmp::encode::write_array_len(&mut b, 4).unwrap();
        rmp::encode::write_str(&mut b, TAG).unwrap();
        b.extend(event_time(i));
        b.extend(docker_record(i));
        b.push(0x80);
    }
    b
}

/// Concatenated `[time, record]` entries.
fn entries() -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..EVENTS {
        b.push(0x92);
        b.extend(event_time(i));
        b.extend(docker_record(i));
    }
    b
}

/// One PackedForward frame `[tag, bin32 payload, options]`.
fn packed_frame(payload: &[u8], compressed: Option<&str>) -> Vec<u8> {
    let mut b = Vec::new();
    rmp::encode::write_array_len(&mut b, 3).unwrap();
    rmp::encode::write_str(&mut b, TAG).unwrap();
    rmp::encode::write_bin(&mut b, payload).unwrap();
    let n = 1 + u32::from(compressed.is_some());
    rmp::encode::write_map_len(&mut b, n).unwrap();
    rmp::encode::write_str(&mut b, "size").unwrap();
    rmp::encode::write_uint(&mut b, EVENTS as u64).unwrap();
    if let Some(c) = compressed {
        rmp::encode::write_str(&mut b, "compressed").unwrap();
        rmp::encode::write_str(&mut b, c).unwrap();
    }
    b
}

/// Frame check + decode of every frame in `wire`, as a connection would.
fn decode_all(wire: &Bytes, tags: &mut TagCache, out: &mut Vec<Event>) -> usize {
    let mut buf = wire.clone();
    let mut stats = DecodeStats::default();
    out.clear();
    while let Some(len) = check_frame(&buf, &LIMITS).unwrap() {
        let frame = buf.split_to(len);
        decode_frame(frame, &LIMITS, tags, out, &mut stats).unwrap();
    }
    assert_eq!(out.len(), EVENTS);
    out.len()
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("forward_decode");
    let plain = entries();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let cases = [
        ("message_1000_frames", Bytes::from(message_frames()), None),
        (
            "packed_forward_1000_entries",
            Bytes::from(packed_frame(&plain, None)),
            None,
        ),
        // Counted in uncompressed entry bytes, so the MB/s compare with the plain cases.
        (
            "compressed_packed_gzip_1000_entries",
            Bytes::from(packed_frame(&gz, Some("gzip"))),
            Some(plain.len()),
        ),
    ];
    for (name, wire, counted_bytes) in cases {
        group.throughput(Throughput::Bytes(counted_bytes.unwrap_or(wire.len()) as u64));
        let mut tags = TagCache::new(None, None);
        let mut out = Vec::with_capacity(EVENTS);
        group.bench_function(name, |b| {
            b.iter(|| black_box(decode_all(black_box(&wire), &mut tags, &mut out)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
