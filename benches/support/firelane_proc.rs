//! The firelane process under test: its configuration (forward input -> filters -> one output),
//! start, start-up time, and what /proc and its metrics endpoint say about it.
//!
//! Invariant: `Proc` is the firelane process itself (spawned directly, no shell), so the /proc
//! figures (CPU, VmHWM, VmRSS) are firelane's own; it is killed when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Proc {
    pub child: Child,
    pub http_port: u16,
    pub forward_port: u16,
    /// Just before the process was spawned (after its configuration was written).
    pub spawned_at: Instant,
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

/// Writes `dir/bench.toml` (forward input on a free port, `filters`, `output`, metrics on another
/// free port) and spawns firelane on it without waiting.
/// INPUT_OPTIONS adds TOML lines to the forward input, e.g. `mem_buf_limit = "8MiB"`.
/// The process-wide memory account is bounded by [`memory_limit`].
pub fn spawn(bin: &Path, dir: &Path, filters: &str, output: &str) -> Proc {
    let forward_port = free_port();
    let input_options = std::env::var("INPUT_OPTIONS")
        .map(|v| format!("{v}\n"))
        .unwrap_or_default();
    let http_port = free_port();
    let cfg = dir.join("bench.toml");
    std::fs::write(
        &cfg,
        format!(
            "[service]\nhttp_port = {http_port}\nlog_level = \"warn\"\n{}\n[[inputs]]\nname = \"forward\"\n\
             listen = \"127.0.0.1\"\nport = {forward_port}\n{input_options}\n{filters}\n{output}",
            memory_limit_line()
        ),
    )
    .unwrap();
    let spawned_at = Instant::now();
    let child = Command::new(bin)
        .args(["run", "-c"])
        .arg(&cfg)
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Proc {
        child,
        http_port,
        forward_port,
        spawned_at,
    }
}

/// The `memory_limit` line of `[service]`; none when MEMORY_LIMIT is set but empty (for a build
/// from before the key existed, compared with the current one in the same run).
fn memory_limit_line() -> String {
    match memory_limit().as_str() {
        "" => String::new(),
        limit => format!("memory_limit = \"{limit}\"\n"),
    }
}

/// `service.memory_limit` of every run: MEMORY_LIMIT, default 48MiB (the account an ECS task
/// with `memory: 64` gets is of that order; see docs/guide/delivery.md, Memory).
pub fn memory_limit() -> String {
    std::env::var("MEMORY_LIMIT").unwrap_or_else(|_| "48MiB".to_owned())
}

/// The account's bound in MiB, when it is a size in MiB (what the table compares peak RSS with).
pub fn memory_limit_mib() -> Option<f64> {
    memory_limit()
        .strip_suffix("MiB")
        .and_then(|n| n.trim().parse().ok())
}

/// Spawns firelane and waits until its metrics endpoint answers (every stage is running).
pub fn start(bin: &Path, dir: &Path, filters: &str, output: &str) -> Proc {
    let p = spawn(bin, dir, filters, output);
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(p.http_port, "firelane_output_records_total").is_none() {
        assert!(Instant::now() < deadline, "firelane did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    p
}

/// Time from spawning firelane to its forward port accepting a TCP connection.
pub fn startup_to_listening(bin: &Path, dir: &Path, output: &str) -> Duration {
    let p = spawn_listening(bin, dir, output);
    p.spawned_at.elapsed()
}

/// Spawns firelane without filters and returns once its forward port accepts a connection
/// (polled every 0.5 ms; the connection is closed at once). Nothing else is sent to it.
pub fn spawn_listening(bin: &Path, dir: &Path, output: &str) -> Proc {
    let p = spawn(bin, dir, "", output);
    let deadline = p.spawned_at + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", p.forward_port)).is_err() {
        assert!(Instant::now() < deadline, "firelane did not listen");
        std::thread::sleep(Duration::from_micros(500));
    }
    p
}

/// Sum of the samples of `name` (every label set) on the metrics endpoint.
pub fn metric(port: u16, name: &str) -> Option<f64> {
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
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat_ticks(&stat) / 100.0
}

/// utime + stime, in clock ticks, of a `/proc/.../stat` line (the fields after the `(comm)`).
fn stat_ticks(stat: &str) -> f64 {
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()
}

/// utime + stime of a process's threads named `name` (their `comm`), in seconds.
pub fn thread_cpu_seconds(pid: u32, name: &str) -> f64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    let mut ticks = 0.0;
    for task in tasks.flatten() {
        // A thread may end between the listing and the read.
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if &stat[open + 1..close] == name {
            ticks += stat_ticks(&stat);
        }
    }
    ticks / 100.0
}

/// A line of /proc/PID/status in MiB: `VmHWM` (peak resident set), `VmRSS` (current), `RssAnon`,
/// `RssFile`.
pub fn vm_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}
