//! Throughput harness: firelane (release binary) against a raw read-and-discard socket, measured
//! in the same run, on the same pre-encoded Docker-shaped stream. Scenarios: Message and
//! PackedForward into `null`, Message into `cloudwatch_logs` against a local endpoint that
//! answers every PutLogEvents with `{}` at once (so the output's own cost is what is measured), and
//! Message into `s3` (gzip) against a local endpoint that accepts every upload, timed until every
//! record is staged on disk (the output's durable, acknowledged point). And Message whose `log` is
//! JSON text through the FireLens-typical filter chain (parser json, record_modifier, grep) into
//! `null`; its rate is also printed as a share of the plain `Message -> null` rate of the same run
//! (selecting it with SCENARIOS runs `Message -> null` too, as its reference).
//!
//! Run: `scripts/bench.sh` (builds the release binary, then `cargo bench --bench throughput`).
//! Env: FIRELANE_BIN (default target/release/firelane), RECORDS (default 2000000), INPUT_OPTIONS
//! (extra TOML lines for the forward input, e.g. `mem_buf_limit = "8MiB"`), SCENARIOS (run only the
//! scenarios whose name contains it, e.g. `cloudwatch`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/fake_cloudwatch.rs"]
mod fake_cloudwatch;
#[path = "support/fake_s3.rs"]
mod fake_s3;

struct Stream {
    name: &'static str,
    bytes: std::sync::Arc<Vec<u8>>,
    records: usize,
}

/// A plain-text application line (~200 bytes).
fn text_log(i: usize) -> String {
    format!(
        "{i:>10} 2024-01-01T00:00:00.000Z INFO request handled method=GET path=/api/v1/items/{i} status=200 duration_ms=12 user_agent=\"Mozilla/5.0 (X11; Linux x86_64)\" trace=abcdef0123456789"
    )
}

/// The same line as a JSON object (~220 bytes), what a `parser json` filter expands.
fn json_log(i: usize) -> String {
    format!(
        r#"{{"n":{i},"ts":"2024-01-01T00:00:00.000Z","level":"info","msg":"request handled","method":"GET","path":"/api/v1/items/{i}","status":200,"duration_ms":12,"user_agent":"Mozilla/5.0 (X11; Linux x86_64)","trace":"abcdef0123456789"}}"#
    )
}

fn docker_record(out: &mut Vec<u8>, i: usize, log: fn(usize) -> String) {
    let log = log(i);
    rmp::encode::write_map_len(out, 4).unwrap();
    for (k, v) in [
        (
            "container_id",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
        ("container_name", "/ecs-app-web-1-app-9a8b7c6d5e4f"),
        ("source", "stdout"),
        ("log", &log),
    ] {
        rmp::encode::write_str(out, k).unwrap();
        rmp::encode::write_str(out, v).unwrap();
    }
}

/// Event times start an hour ago (CloudWatch refuses events older than 14 days) and advance 1 ms
/// per record.
fn event_time(out: &mut Vec<u8>, i: usize) {
    static BASE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        now.as_secs() as u32 - 3600
    });
    rmp::encode::write_ext_meta(out, 8, 0).unwrap();
    out.extend_from_slice(&(base + (i / 1000) as u32).to_be_bytes());
    out.extend_from_slice(&((i % 1000) as u32 * 1000).to_be_bytes());
}

const TAG: &str = "app-firelens-0123456789abcdef";

fn message_mode(n: usize, name: &'static str, log: fn(usize) -> String) -> Stream {
    let mut out = Vec::with_capacity(n * 340);
    for i in 0..n {
        rmp::encode::write_array_len(&mut out, 4).unwrap();
        rmp::encode::write_str(&mut out, TAG).unwrap();
        event_time(&mut out, i);
        docker_record(&mut out, i, log);
        rmp::encode::write_map_len(&mut out, 0).unwrap();
    }
    Stream {
        name,
        bytes: out.into(),
        records: n,
    }
}

fn packed_forward(n: usize) -> Stream {
    let mut out = Vec::with_capacity(n * 340);
    let mut entries = Vec::new();
    for start in (0..n).step_by(1000) {
        entries.clear();
        for i in start..(start + 1000).min(n) {
            rmp::encode::write_array_len(&mut entries, 2).unwrap();
            event_time(&mut entries, i);
            docker_record(&mut entries, i, text_log);
        }
        rmp::encode::write_array_len(&mut out, 3).unwrap();
        rmp::encode::write_str(&mut out, TAG).unwrap();
        rmp::encode::write_bin(&mut out, &entries).unwrap();
        rmp::encode::write_map_len(&mut out, 0).unwrap();
    }
    Stream {
        name: "PackedForward",
        bytes: out.into(),
        records: n,
    }
}

/// Writes the stream in 256 KiB pieces (like a busy client) and returns when all is written.
fn send(port: u16, bytes: &[u8]) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for piece in bytes.chunks(256 * 1024) {
        s.write_all(piece).unwrap();
    }
}

/// Baseline: a bare socket that reads into a 1 MiB buffer and discards.
fn raw_drain(stream: &Stream) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let total = stream.bytes.len();
    let drain = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut got = 0;
        while got < total {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0, "sender closed early");
            got += n;
        }
        Instant::now()
    });
    let start = Instant::now();
    send(port, &stream.bytes);
    drain.join().unwrap() - start
}

struct Proc {
    child: Child,
    http_port: u16,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
    fn output_toml(self, dir: &std::path::Path) -> String {
        match self {
            Sink::Null => "[[outputs]]\nname = \"null\"\nmatch = \"*\"\n".to_owned(),
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

/// Starts firelane: forward input -> `filters` (TOML, may be empty) -> `sink`.
fn start_firelane(bin: &PathBuf, dir: &std::path::Path, filters: &str, sink: Sink) -> (Proc, u16) {
    let port = free_port();
    // Extra TOML lines for the forward input, e.g. INPUT_OPTIONS='mem_buf_limit = "8MiB"'.
    let budget = std::env::var("INPUT_OPTIONS")
        .map(|v| format!("{v}\n"))
        .unwrap_or_default();
    let http_port = free_port();
    let cfg = dir.join("bench.toml");
    std::fs::write(
        &cfg,
        format!(
            "[service]\nhttp_port = {http_port}\nlog_level = \"warn\"\n\n[[inputs]]\nname = \"forward\"\nlisten = \"127.0.0.1\"\nport = {port}\n{budget}\n{filters}\n{}",
            sink.output_toml(dir)
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .args(["run", "-c"])
        .arg(&cfg)
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc { child, http_port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(p.http_port, "firelane_output_records_total").is_none() {
        assert!(Instant::now() < deadline, "firelane did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (p, port)
}

fn metric(port: u16, name: &str) -> Option<f64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    if !body.starts_with("HTTP/1.1 200") {
        return None;
    }
    Some(
        body.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum(),
    )
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

struct Measured {
    elapsed: Duration,
    cpu_s: f64,
    peak_rss_mib: f64,
}

fn firelane_run(bin: &PathBuf, stream: &Stream, filters: &str, sink: Sink) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let (p, port) = start_firelane(bin, dir.path(), filters, sink);
    let pid = p.child.id();
    let cpu0 = cpu_seconds(pid);
    let start = Instant::now();
    let sender = {
        let bytes = stream.bytes.clone();
        std::thread::spawn(move || {
            send(port, &bytes);
            Instant::now()
        })
    };
    let want = stream.records as f64;
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut peak_in_flight = 0.0f64;
    loop {
        peak_in_flight =
            peak_in_flight.max(metric(p.http_port, "firelane_input_buffer_bytes").unwrap_or(0.0));
        if metric(p.http_port, sink.done_metric()).unwrap_or(0.0) >= want {
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
        "  {}: sender done after {:?}, all processed after {:?}, peak bytes in flight seen {:.1} MiB",
        stream.name,
        sent_at - start,
        elapsed,
        peak_in_flight / 1048576.0
    );
    Measured {
        elapsed,
        cpu_s: cpu_seconds(pid) - cpu0,
        peak_rss_mib: peak_rss_mib(pid),
    }
}

fn main() {
    // `cargo bench` passes harness flags such as --bench; this harness takes no arguments.
    let records: usize = std::env::var("RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let bin = std::env::var_os("FIRELANE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
            target.join("release/firelane")
        });
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
    println!(
        "| scenario | MB | raw drain rec/s | firelane rec/s | firelane MB/s | ratio | CPU s | CPU s/GB | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let cw_port = fake_cloudwatch::start();
    let s3_port = fake_s3::start();
    let scenarios = [
        Scenario::new("Message -> null", Input::Message, Sink::Null),
        Scenario::new("PackedForward -> null", Input::PackedForward, Sink::Null),
        Scenario::new(
            "Message -> cloudwatch_logs",
            Input::Message,
            Sink::CloudWatch(cw_port),
        ),
        Scenario::new(
            "Message -> s3 (gzip, staged)",
            Input::Message,
            Sink::S3(s3_port),
        ),
        Scenario {
            filters: FIRELENS_FILTERS,
            reference: Some(NULL_REFERENCE),
            ..Scenario::new(
                "Message -> parser+record_modifier+grep -> null",
                Input::MessageJson,
                Sink::Null,
            )
        },
    ];
    // SCENARIOS=cloudwatch (a substring of the names, case-insensitive) runs only those, and the
    // scenarios they are compared with.
    let only = std::env::var("SCENARIOS")
        .unwrap_or_default()
        .to_lowercase();
    let selected = |s: &Scenario| only.is_empty() || s.name.to_lowercase().contains(&only);
    let references: Vec<&str> = scenarios
        .iter()
        .filter(|s| selected(s))
        .filter_map(|s| s.reference)
        .collect();
    let mut streams = Streams::new(records);
    let mut rates: Vec<(&str, f64)> = Vec::new();
    for sc in &scenarios {
        if !selected(sc) && !references.contains(&sc.name) {
            continue;
        }
        let stream = streams.get(sc.input);
        let mb = stream.bytes.len() as f64 / 1e6;
        let raw = raw_drain(&stream);
        let m = firelane_run(&bin, &stream, sc.filters, sc.sink);
        let raw_rate = stream.records as f64 / raw.as_secs_f64();
        let rate = stream.records as f64 / m.elapsed.as_secs_f64();
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} % | {:.2} | {:.2} | {:.1} |",
            sc.name,
            mb,
            raw_rate,
            rate,
            mb / m.elapsed.as_secs_f64(),
            100.0 * rate / raw_rate,
            m.cpu_s,
            m.cpu_s / (mb / 1000.0),
            m.peak_rss_mib
        );
        rates.push((sc.name, rate));
    }
    // Shares of a reference measured in the same run (the raw-drain ratio above swings with the
    // machine; two firelane runs side by side compare the added work).
    for sc in scenarios.iter().filter(|s| selected(s)) {
        let rate_of = |name: &str| rates.iter().find(|(n, _)| *n == name).map(|&(_, r)| r);
        if let (Some(reference), Some(rate)) = (sc.reference, rate_of(sc.name))
            && let Some(reference_rate) = rate_of(reference)
        {
            println!(
                "{}: {:.1} % of {} ({:.0} / {:.0} rec/s)",
                sc.name,
                100.0 * rate / reference_rate,
                reference,
                rate,
                reference_rate
            );
        }
    }
}

/// The scenario the filter chain is compared with: the same input path without filters.
const NULL_REFERENCE: &str = "Message -> null";

/// Which pre-encoded stream a scenario sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    /// Message mode, plain-text `log`.
    Message,
    /// PackedForward, 1000 entries a frame, plain-text `log`.
    PackedForward,
    /// Message mode, `log` holding a JSON object.
    MessageJson,
}

struct Scenario {
    name: &'static str,
    input: Input,
    /// `[[filters]]` tables (TOML), empty for none.
    filters: &'static str,
    sink: Sink,
    /// A scenario of the same run this one's rate is reported as a share of.
    reference: Option<&'static str>,
}

impl Scenario {
    fn new(name: &'static str, input: Input, sink: Sink) -> Self {
        Self {
            name,
            input,
            filters: "",
            sink,
            reference: None,
        }
    }
}

/// Streams are encoded on first use (each is hundreds of MB) and shared by the scenarios after.
struct Streams {
    records: usize,
    built: Vec<(Input, std::sync::Arc<Stream>)>,
}

impl Streams {
    fn new(records: usize) -> Self {
        Self {
            records,
            built: Vec::new(),
        }
    }

    fn get(&mut self, input: Input) -> std::sync::Arc<Stream> {
        if let Some((_, s)) = self.built.iter().find(|(i, _)| *i == input) {
            return s.clone();
        }
        let n = self.records;
        let stream = std::sync::Arc::new(match input {
            Input::Message => message_mode(n, "Message", text_log),
            Input::PackedForward => packed_forward(n),
            Input::MessageJson => message_mode(n, "Message (JSON log)", json_log),
        });
        self.built.push((input, stream.clone()));
        stream
    }
}
