//! The S3 output's staging work, in MB/s of JSON lines: encoding Docker-shaped records as JSON
//! lines and appending them to a staging file through the streaming compressor with a durable
//! commit per ~1 MB round (`stage/*`), against plain flate2 / zstd compression of the same bytes at
//! the same level in memory (`bare/*`), in the same run. The ratio stage/bare is what the output
//! adds to the compressor (encoding, flush points, writes, fsync).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firelane::config::output::s3::S3OutputConfig;
use firelane::event::{Event, EventTime};
use firelane::msgpack::json::TranscodeStats;
use firelane::output::s3::journal::Compression;
use firelane::output::s3::lines::LineEncoder;
use firelane::output::s3::stage::{StageWriter, ZSTD_LEVEL};

const RECORDS: usize = 20_000;
/// Records per commit: about 1 MB of JSON lines, like one round of the output.
const ROUND: usize = 2_500;

fn events() -> Vec<Event> {
    let tag: Arc<str> = Arc::from("app-firelens-0123456789abcdef");
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    (0..RECORDS)
        .map(|i| {
            // Varied text (paths, ids, durations, words), so the compressors see realistic data
            // rather than one line repeated.
            let words = ["user", "order", "cache", "retry", "timeout", "session", "item", "payment"];
            let log = format!(
                "{i:>10} 2024-01-01T00:{:02}:{:02}.{:03}Z {} {} {}/{:x} status={} duration_ms={} user={:08x} trace={:016x} msg=\"{} {} {}\"",
                next(60),
                next(60),
                next(1000),
                ["INFO", "WARN", "DEBUG", "ERROR"][next(4) as usize],
                ["GET", "POST", "PUT", "DELETE"][next(4) as usize],
                ["/api/v1/items", "/api/v2/orders", "/health", "/login"][next(4) as usize],
                next(1 << 24),
                [200, 201, 204, 301, 404, 500][next(6) as usize],
                next(5000),
                next(1 << 32),
                next(u64::MAX),
                words[next(8) as usize],
                words[next(8) as usize],
                words[next(8) as usize],
            );
            let mut out = Vec::new();
            rmp::encode::write_map_len(&mut out, 4).unwrap();
            for (k, v) in [
                ("container_id", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
                ("container_name", "/ecs-app-web-1-app-9a8b7c6d5e4f"),
                ("source", "stdout"),
                ("log", log.as_str()),
            ] {
                rmp::encode::write_str(&mut out, k).unwrap();
                rmp::encode::write_str(&mut out, v).unwrap();
            }
            Event {
                tag: tag.clone(),
                time: EventTime {
                    secs: 1_700_000_000 + i as i64,
                    nanos: 0,
                },
                record: Bytes::from(out),
            }
        })
        .collect()
}

fn encoder() -> LineEncoder {
    let cfg: S3OutputConfig = toml::from_str("match = \"*\"\nbucket = \"bench\"").unwrap();
    LineEncoder::new(&cfg)
}

/// Encodes every event into JSON lines, appending and committing one round at a time.
fn stage(
    events: &[Event],
    enc: &LineEncoder,
    compression: Compression,
    dir: &std::path::Path,
    n: usize,
) {
    let path = dir.join(format!("{n}.data"));
    let mut writer = StageWriter::create(&path, compression).unwrap();
    let (mut buf, mut scratch, mut stats) = (Vec::new(), Vec::new(), TranscodeStats::default());
    for round in events.chunks(ROUND) {
        buf.clear();
        for ev in round {
            enc.write(ev, &mut buf, &mut scratch, &mut stats).unwrap();
        }
        writer.append(&buf).unwrap();
        writer.commit().unwrap();
    }
    black_box(writer.finish().unwrap());
    std::fs::remove_file(path).unwrap();
}

fn bench(c: &mut Criterion) {
    let events = events();
    let enc = encoder();
    let mut lines = Vec::new();
    let (mut scratch, mut stats) = (Vec::new(), TranscodeStats::default());
    for ev in &events {
        enc.write(ev, &mut lines, &mut scratch, &mut stats).unwrap();
    }
    // The staging directory of a real deployment is on disk; so is this one (fsync included).
    let dir =
        tempfile::tempdir_in(std::env::var("BENCH_STORE_DIR").unwrap_or_else(|_| "/tmp".into()))
            .unwrap();
    let mut g = c.benchmark_group("s3");
    g.throughput(Throughput::Bytes(lines.len() as u64));
    let mut n = 0u64;
    for (name, compression) in [("gzip", Compression::Gzip), ("zstd", Compression::Zstd)] {
        g.bench_function(format!("stage/{name}"), |b| {
            b.iter(|| {
                n += 1;
                stage(&events, &enc, compression, dir.path(), n as usize);
            })
        });
        g.bench_function(format!("bare/{name}"), |b| {
            b.iter(|| match compression {
                Compression::Gzip => {
                    let mut e =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    e.write_all(&lines).unwrap();
                    black_box(e.finish().unwrap().len())
                }
                _ => black_box(zstd::encode_all(&lines[..], ZSTD_LEVEL).unwrap().len()),
            })
        });
    }
    g.bench_function("stage/none", |b| {
        b.iter(|| {
            n += 1;
            stage(&events, &enc, Compression::None, dir.path(), n as usize);
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
