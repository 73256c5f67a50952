//! Throughput harness: firelane (release binary) against a raw read-and-discard socket, measured
//! in the same run, on the same pre-encoded Docker-shaped stream. It prints one table of the
//! performance issue's scenarios, each with its raw baseline, then start-up and idle memory, each
//! against the issue's targets (PASS/MISS: the targets are given, the run decides):
//!
//! 1. Message -> null; 2. PackedForward -> null; 3. CompressedPackedForward (gzip) -> null, whose
//!    baseline reads the same compressed bytes, while MB/s counts the uncompressed record bytes;
//! 4. Message whose `log` is JSON text through the FireLens-typical chain (parser json,
//!    record_modifier, grep) -> null (row 4a: the same records without filters, and a line
//!    giving 4 as a share of 4a, the filters issue's measure); 5. Message -> `cloudwatch_logs`
//!    against a local endpoint that answers every PutLogEvents with `{}` at once (so the output's
//!    own cost is measured);
//! 6. Message -> `s3` (gzip) against a local endpoint that accepts every upload, timed until every
//!    record is staged on disk (the output's durable, acknowledged point); 7. the Message records
//!    spread over 100 connections sent concurrently -> null, against a drain of 100 connections.
//!
//! Scenarios 4, 5 and 7 are also given as a share of scenario 1's rate in the same run (selecting
//! them with SCENARIOS runs scenario 1 too). Start-up is the median time from spawning firelane to its
//! forward port accepting a connection; idle RSS is VmRSS after 1 s without traffic, with the
//! harness's `null` configuration (the embedded default would need port 24224 free).
//!
//! Run: `scripts/bench.sh throughput` (builds the release binary, then `cargo bench --bench
//! throughput`). Env: FIRELANE_BIN (default $CARGO_TARGET_DIR/release/firelane), RECORDS (default
//! 2000000), INPUT_OPTIONS (extra TOML lines for the forward input, e.g. `mem_buf_limit =
//! "8MiB"`), SCENARIOS (run only the scenarios whose name contains it, e.g. `cloudwatch`),
//! CONNECTIONS (scenario 7's connections, default 100), STARTS (start-up samples, default 5),
//! CHAIN_ROUNDS (pairs of 4a and 4 runs whose median share decides the filter-chain line, default 3).
//! MEMORY_LIMIT (`service.memory_limit`, default 48MiB; set but empty, no such line: for a build from
//! before the key existed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "support/after_table.rs"]
mod after_table;
#[path = "support/fake_cloudwatch.rs"]
mod fake_cloudwatch;
#[path = "support/fake_s3.rs"]
mod fake_s3;
#[path = "support/firelane_proc.rs"]
mod firelane_proc;
#[path = "support/load.rs"]
mod load;
#[path = "support/streams.rs"]
mod streams;

use streams::{Input, Stream, Streams};

/// Where the scenario's events go.
#[derive(Clone, Copy)]
enum Sink {
    Null,
    /// `cloudwatch_logs` against the local `{}` endpoint on this port, with `flush = "100ms"`:
    /// the last, partial requests of the burst would otherwise wait the default 1 s, a latency that
    /// says nothing about throughput but would be a third of a 3-second run.
    CloudWatch(u16),
    /// `s3` (gzip, default sizes) against the local accept-everything endpoint on this port;
    /// done once every record is staged (durable and acknowledged).
    S3(u16),
}

impl Sink {
    fn output_toml(self, dir: &Path) -> String {
        match self {
            Sink::Null => NULL_OUTPUT.to_owned(),
            Sink::CloudWatch(port) => format!(
                "[[outputs]]\nname = \"cloudwatch_logs\"\nmatch = \"*\"\nregion = \"us-east-1\"\n\
                 endpoint = \"http://127.0.0.1:{port}\"\nlog_group_name = \"bench\"\n\
                 log_stream_prefix = \"app/\"\nflush = \"100ms\"\n"
            ),
            Sink::S3(port) => format!(
                "[[outputs]]\nname = \"s3\"\nmatch = \"*\"\nregion = \"us-east-1\"\nbucket = \"bench\"\n\
                 endpoint = \"http://127.0.0.1:{port}\"\ncompression = \"gzip\"\nstore_dir = \"{}\"\n",
                dir.join("s3").display()
            ),
        }
    }

    /// The counter that reaches the record count once the scenario is done.
    fn done_metric(self) -> &'static str {
        match self {
            Sink::S3(_) => "firelane_s3_staged_records_total",
            _ => "firelane_output_records_total",
        }
    }
}

const NULL_OUTPUT: &str = "[[outputs]]\nname = \"null\"\nmatch = \"*\"\n";

/// The FireLens-typical chain: parse the JSON `log` (keeping the other keys), add three keys,
/// drop health checks (none in the stream: every record passes all three filters).
const FIRELENS_FILTERS: &str = r#"
[[filters]]
name = "parser"
match = "*"
key_name = "log"
parser = "json"
reserve_data = true

[[filters]]
name = "record_modifier"
match = "*"
record = ["ecs_cluster prod", "ecs_task_arn arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef", "region us-east-1"]

[[filters]]
name = "grep"
match = "*"
exclude = "path ^/health"
"#;

/// What firelane names the threads that run filters.
const FILTER_THREAD: &str = firelane::pipeline::stage::THREAD_NAME;

/// The issue's targets.
const PEAK_RSS_TARGET_MIB: f64 = 64.0;
const STARTUP_TARGET_MS: f64 = 50.0;
const IDLE_RSS_TARGET_MIB: f64 = 10.0;

/// A scenario's rate target, besides peak RSS.
#[derive(Clone, Copy)]
enum RateTarget {
    None,
    /// At least this share of the scenario's raw-drain rate.
    OfRaw(f64),
    /// At least this share of scenario 1's rate.
    OfMessageNull(f64),
}

/// Scenario 1, which 4, 5 and 7 are compared with: the same records, one connection, no filters,
/// into `null`.
const MESSAGE_NULL: &str = "Message -> null";

/// Scenario 4's records without its filters: the rate the filters issue compares the chain
/// with (its target: the chain keeps >= 60 % of it). Runs, as row "4a", whenever 4 does.
const JSON_NULL: &str = "Message (JSON log) -> null";
const CHAIN_TARGET_OF_JSON_NULL: f64 = 0.60;

/// The scenarios given as a share of scenario 1's rate: the filter chain, `cloudwatch_logs`, and
/// the same records over many connections.
const SHARE_OF_MESSAGE_NULL: [usize; 3] = [4, 5, 7];

struct Scenario {
    /// The performance issue's number; 0 for the extra row [`JSON_NULL`].
    number: usize,
    name: &'static str,
    input: Input,
    /// `[[filters]]` tables (TOML), empty for none.
    filters: &'static str,
    sink: Sink,
    target: RateTarget,
}

struct Measured {
    elapsed: Duration,
    cpu_s: f64,
    /// CPU of the filter stage's threads (zero without filters).
    filter_cpu_s: f64,
    peak_rss_mib: f64,
}

fn firelane_run(bin: &Path, stream: &Stream, filters: &str, sink: Sink) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let p = firelane_proc::start(bin, dir.path(), filters, &sink.output_toml(dir.path()));
    let pid = p.child.id();
    let cpu0 = firelane_proc::cpu_seconds(pid);
    let filter_cpu0 = firelane_proc::thread_cpu_seconds(pid, FILTER_THREAD);
    let start = Instant::now();
    let elapsed = std::thread::scope(|scope| {
        let sender = scope.spawn(|| {
            load::send(p.forward_port, stream);
            Instant::now()
        });
        let want = stream.records as f64;
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut peak_in_flight = 0.0f64;
        loop {
            let in_flight = firelane_proc::metric(p.http_port, "firelane_input_buffer_bytes");
            peak_in_flight = peak_in_flight.max(in_flight.unwrap_or(0.0));
            if firelane_proc::metric(p.http_port, sink.done_metric()).unwrap_or(0.0) >= want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "firelane did not process every record"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let elapsed = start.elapsed();
        let sent_at = sender.join().unwrap();
        eprintln!(
            "  {}: sender done after {:?}, all processed after {elapsed:?}, peak bytes in flight seen {:.1} MiB",
            stream.name,
            sent_at - start,
            peak_in_flight / 1048576.0
        );
        elapsed
    });
    Measured {
        elapsed,
        cpu_s: firelane_proc::cpu_seconds(pid) - cpu0,
        filter_cpu_s: firelane_proc::thread_cpu_seconds(pid, FILTER_THREAD) - filter_cpu0,
        peak_rss_mib: firelane_proc::vm_mib(pid, "VmHWM"),
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn firelane_bin() -> PathBuf {
    std::env::var_os("FIRELANE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
            target.join("release/firelane")
        })
}

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn main() {
    // `cargo bench` passes harness flags such as --bench; this harness takes no arguments.
    let records = env_usize("RECORDS", 2_000_000);
    let connections = env_usize("CONNECTIONS", 100);
    let bin = firelane_bin();
    if !bin.exists() {
        eprintln!(
            "{} not found: run `cargo build --release` first (scripts/bench.sh does)",
            bin.display()
        );
        std::process::exit(2);
    }
    println!(
        "records per scenario: {records}; firelane: {}",
        bin.display()
    );
    after_table::start_and_idle(&bin);

    let cw_port = fake_cloudwatch::start();
    let s3_port = fake_s3::start();
    let scenario = |number, name, input, sink, target| Scenario {
        number,
        name,
        input,
        filters: "",
        sink,
        target,
    };
    let scenarios = [
        scenario(
            1,
            MESSAGE_NULL,
            Input::Message,
            Sink::Null,
            RateTarget::OfRaw(0.25),
        ),
        scenario(
            2,
            "PackedForward -> null",
            Input::PackedForward,
            Sink::Null,
            RateTarget::OfRaw(0.50),
        ),
        scenario(
            3,
            "CompressedPackedForward (gzip) -> null",
            Input::CompressedPackedForward,
            Sink::Null,
            RateTarget::None,
        ),
        scenario(
            0,
            JSON_NULL,
            Input::MessageJson,
            Sink::Null,
            RateTarget::None,
        ),
        Scenario {
            filters: FIRELENS_FILTERS,
            ..scenario(
                4,
                "Message -> parser+record_modifier+grep -> null",
                Input::MessageJson,
                Sink::Null,
                RateTarget::OfRaw(0.15),
            )
        },
        scenario(
            5,
            "Message -> cloudwatch_logs",
            Input::Message,
            Sink::CloudWatch(cw_port),
            RateTarget::OfMessageNull(0.70),
        ),
        scenario(
            6,
            "Message -> s3 (gzip, staged)",
            Input::Message,
            Sink::S3(s3_port),
            RateTarget::None,
        ),
        scenario(
            7,
            "Message, concurrent connections -> null",
            Input::MessageConnections(connections),
            Sink::Null,
            RateTarget::None,
        ),
    ];
    // SCENARIOS=cloudwatch (a substring of the names, case-insensitive) runs only those, and
    // scenario 1 when a selected one is compared with it.
    let only = std::env::var("SCENARIOS")
        .unwrap_or_default()
        .to_lowercase();
    let selected = |s: &Scenario| only.is_empty() || s.name.to_lowercase().contains(&only);
    let needs_message_null = scenarios
        .iter()
        .any(|s| selected(s) && SHARE_OF_MESSAGE_NULL.contains(&s.number));
    let needs_json_null = scenarios.iter().any(|s| selected(s) && s.number == 4);

    println!();
    println!(
        "Scenario 7 uses {connections} connections. MB = uncompressed record bytes (the PackedForward \
         encoding for scenario 3); wire MB = bytes sent. MB/s and CPU s/GB count MB. Peak RSS = VmHWM of \
         the firelane process; RSS / account = peak RSS / service.memory_limit ({}, MEMORY_LIMIT). Ratio = \
         firelane rec/s / raw drain rec/s of the same bytes, same run.",
        firelane_proc::memory_limit()
    );
    println!();
    println!(
        "| # | scenario | MB | wire MB | raw drain rec/s | firelane rec/s | firelane MB/s | ratio to raw | share of #1 | CPU s | CPU s/GB | peak RSS MiB | RSS / account | target | PASS/MISS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut streams = Streams::new(records);
    let mut message_null_rate = None;
    let (mut json_null_rate, mut chain_rate) = (None, None);
    for sc in &scenarios {
        let runs = selected(sc)
            || (needs_message_null && sc.name == MESSAGE_NULL)
            || (needs_json_null && sc.name == JSON_NULL);
        if !runs {
            continue;
        }
        let stream = streams.get(sc.input);
        let mb = stream.record_bytes as f64 / 1e6;
        let raw = load::raw_drain(&stream);
        let m = firelane_run(&bin, &stream, sc.filters, sc.sink);
        let raw_rate = stream.records as f64 / raw.as_secs_f64();
        let rate = stream.records as f64 / m.elapsed.as_secs_f64();
        match (sc.name, sc.number) {
            (MESSAGE_NULL, _) => message_null_rate = Some(rate),
            (JSON_NULL, _) => json_null_rate = Some(rate),
            (_, 4) => chain_rate = Some((rate, m.filter_cpu_s / stream.records as f64)),
            _ => {}
        }
        let of_raw = rate / raw_rate;
        let of_s1 = message_null_rate
            .filter(|_| SHARE_OF_MESSAGE_NULL.contains(&sc.number))
            .map(|r| rate / r);
        let rss_ok = m.peak_rss_mib <= PEAK_RSS_TARGET_MIB;
        let (target, rate_ok) = match sc.target {
            RateTarget::None => (String::new(), Some(true)),
            RateTarget::OfRaw(t) => (format!(">= {:.0} % of raw, ", t * 100.0), Some(of_raw >= t)),
            RateTarget::OfMessageNull(t) => (
                format!(">= {:.0} % of #1, ", t * 100.0),
                of_s1.map(|s| s >= t),
            ),
        };
        println!(
            "| {} | {} | {mb:.0} | {:.0} | {raw_rate:.0} | {rate:.0} | {:.1} | {:.1} % | {} | {:.2} | {:.2} | {:.1} | {} | {target}RSS <= {PEAK_RSS_TARGET_MIB:.0} MiB | {} |",
            match sc.number {
                0 => "4a".to_owned(),
                n => n.to_string(),
            },
            sc.name,
            stream.bytes.len() as f64 / 1e6,
            mb / m.elapsed.as_secs_f64(),
            100.0 * of_raw,
            of_s1.map_or("".to_owned(), |s| format!("{:.1} %", 100.0 * s)),
            m.cpu_s,
            m.cpu_s / (mb / 1000.0),
            m.peak_rss_mib,
            firelane_proc::memory_limit_mib().map_or("n/a".to_owned(), |l| format!(
                "{:.0} %",
                100.0 * m.peak_rss_mib / l
            )),
            match rate_ok {
                Some(ok) => pass(ok && rss_ok),
                None => "n/a (#1 not run)",
            }
        );
    }
    if let (Some((chain, filter_cpu)), Some(without)) = (chain_rate, json_null_rate) {
        after_table::chain_share(&bin, &mut streams, (without, chain, filter_cpu));
    }
}
