//! msgpack -> JSON transcoding throughput on Docker-shaped records and a nested record (MB/s of
//! msgpack input), and JSON -> msgpack (`parser json`'s transcoder) on application log lines (MB/s
//! of JSON input).
// Bench setup is test code: a failure should stop the run loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firelane::msgpack::index::MapIndex;
use firelane::msgpack::json::{TranscodeStats, write_map_entries, write_value};
use firelane::msgpack::json_in::json_object_to_msgpack_indexed;
use rmp::encode as e;

/// Records per iteration, so per-call overhead is amortised as in a real batch.
const RECORDS: usize = 1000;

fn docker_record(i: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let container_id = format!("{:064x}", 0xdead_beef_u64 + i as u64);
    let log = format!(
        "{i:06} 2024-01-01T00:00:00Z INFO request handled\tpath=\"/api/v1/items\" status=200 {}",
        "x".repeat(130)
    );
    e::write_map_len(&mut out, 4).unwrap();
    for (k, v) in [
        ("container_id", container_id.as_str()),
        ("container_name", "/app"),
        ("source", "stdout"),
        ("log", log.as_str()),
    ] {
        e::write_str(&mut out, k).unwrap();
        e::write_str(&mut out, v).unwrap();
    }
    out
}

fn nested_record(i: usize) -> Vec<u8> {
    let mut out = Vec::new();
    e::write_map_len(&mut out, 5).unwrap();
    e::write_str(&mut out, "level").unwrap();
    e::write_str(&mut out, "info").unwrap();
    e::write_str(&mut out, "latency_ms").unwrap();
    e::write_f64(&mut out, 12.5 + i as f64).unwrap();
    e::write_str(&mut out, "count").unwrap();
    e::write_uint(&mut out, i as u64 * 1000).unwrap();
    e::write_str(&mut out, "http").unwrap();
    e::write_map_len(&mut out, 3).unwrap();
    e::write_str(&mut out, "method").unwrap();
    e::write_str(&mut out, "GET").unwrap();
    e::write_str(&mut out, "status").unwrap();
    e::write_uint(&mut out, 200).unwrap();
    e::write_str(&mut out, "headers").unwrap();
    e::write_array_len(&mut out, 3).unwrap();
    for h in ["accept: */*", "user-agent: curl/8.0", "x-request-id: 1234"] {
        e::write_str(&mut out, h).unwrap();
    }
    e::write_str(&mut out, "tags").unwrap();
    e::write_array_len(&mut out, 4).unwrap();
    e::write_bool(&mut out, true).unwrap();
    e::write_nil(&mut out).unwrap();
    e::write_sint(&mut out, -42).unwrap();
    e::write_str(&mut out, "eu-west-1").unwrap();
    out
}

fn bench_records(c: &mut Criterion, name: &str, records: &[Vec<u8>]) {
    let total_bytes: usize = records.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(total_bytes as u64));
    let mut out = Vec::with_capacity(total_bytes * 2);
    group.bench_function("write_value", |b| {
        b.iter(|| {
            out.clear();
            let mut stats = TranscodeStats::default();
            for r in records {
                write_value(black_box(r), &mut out, &mut stats).unwrap();
                out.push(b'\n');
            }
            black_box(out.len())
        })
    });
    group.bench_function("write_map_entries", |b| {
        b.iter(|| {
            out.clear();
            let mut stats = TranscodeStats::default();
            for r in records {
                out.push(b'{');
                write_map_entries(black_box(r), &mut out, &mut stats).unwrap();
                out.extend_from_slice(b"}\n");
            }
            black_box(out.len())
        })
    });
    group.finish();
}

/// The throughput harness's JSON log line (~220 bytes, 10 fields).
fn json_line(i: usize) -> Vec<u8> {
    format!(
        r#"{{"n":{i},"ts":"2024-01-01T00:00:00.000Z","level":"info","msg":"request handled","method":"GET","path":"/api/v1/items/{i}","status":200,"duration_ms":12,"user_agent":"Mozilla/5.0 (X11; Linux x86_64)","trace":"abcdef0123456789"}}"#
    )
    .into_bytes()
}

/// A line whose message is long (~1.2 KB: a stack trace folded into one field, escapes included).
fn json_long_line(i: usize) -> Vec<u8> {
    let frames: String = (0..24)
        .map(|f| format!("  at com.example.Service{f}.handle(Service{f}.java:{i})\\n"))
        .collect();
    format!(r#"{{"level":"error","msg":"request {i} failed: {frames}","thread":"worker-7"}}"#)
        .into_bytes()
}

fn bench_json_in(c: &mut Criterion, name: &str, lines: &[Vec<u8>]) {
    let total_bytes: usize = lines.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(total_bytes as u64));
    let mut out = Vec::with_capacity(total_bytes * 3);
    let mut index = MapIndex::new();
    group.bench_function("json_object_to_msgpack_indexed", |b| {
        b.iter(|| {
            out.clear();
            for line in lines {
                json_object_to_msgpack_indexed(black_box(line), &mut out, &mut index).unwrap();
            }
            black_box(out.len())
        })
    });
    group.finish();
}

fn transcode(c: &mut Criterion) {
    let docker: Vec<_> = (0..RECORDS).map(docker_record).collect();
    let nested: Vec<_> = (0..RECORDS).map(nested_record).collect();
    bench_records(c, "transcode_docker", &docker);
    bench_records(c, "transcode_nested", &nested);
    let lines: Vec<_> = (0..RECORDS).map(json_line).collect();
    let long_lines: Vec<_> = (0..RECORDS).map(json_long_line).collect();
    bench_json_in(c, "json_in_log_line", &lines);
    bench_json_in(c, "json_in_long_message", &long_lines);
}

criterion_group!(benches, transcode);
criterion_main!(benches);
