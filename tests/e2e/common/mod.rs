//! Shared helpers for the socket and end-to-end tests: start the real `firelane` binary on a
//! config, find free ports, encode Forward frames, read the outputs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Test certificates (rcgen): a CA, server and client certificates, an unrelated CA.
pub mod certs;
/// A memory cgroup (v1 or v2) a test runs a process in, read and removed on drop.
pub mod cgroup;
/// A TCP proxy a test can cut and restore (a network outage in front of a stand-in).
pub mod cut_proxy;
/// A local CloudWatch Logs endpoint that throttles, fails or is slow on purpose.
pub mod cw_endpoint;
/// The Dockerfile read as data: instructions, stages, what each stage inherits.
pub mod dockerfile;
/// The public FireLens examples: ECS's config generator, pointing a setup at a test, running it.
pub mod firelens;
/// Hundreds of Forward clients sending with acks, resending what was not acked.
pub mod forward_load;
/// The image's root filesystem assembled by scripts/image-rootfs.sh, and commands run in it (chroot).
pub mod image;
/// Sent/acked/delivered/duplicated/lost accounts of the fault tests.
pub mod ledger;
/// moto in server mode (the local AWS stand-in) and an SDK reader of what it holds.
pub mod moto;
/// fluent-logger for Node, a Forward client with the handshake.
pub mod node;
/// Ports for servers a test starts later, kept apart from other tests' and the kernel's.
pub mod ports;
/// An SDK reader of the buckets moto holds.
pub mod s3;
/// A small tmpfs: a disk that fills up.
pub mod tinyfs;

/// A free TCP port on 127.0.0.1 that no other test process is handed meanwhile (see `ports`).
pub fn free_port() -> u16 {
    ports::reserve()
}

/// A port on 127.0.0.1 that refuses connections for as long as the guard lives: the socket is
/// bound but never listens, so no other test can take the port meanwhile (a port from
/// `free_port` may be handed to another process, and then it answers).
pub struct RefusedPort {
    _socket: tokio::net::TcpSocket,
    pub port: u16,
}

impl RefusedPort {
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        Self {
            _socket: socket,
            port,
        }
    }
}

/// A running firelane process, killed on drop.
pub struct Firelane {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub http_port: u16,
}

impl Firelane {
    /// Starts firelane on `config` (TOML). `{dir}` in the config is replaced by a fresh temp dir and
    /// `{http_port}` by a free port. Waits until /health answers.
    pub fn start(config: &str) -> Self {
        Self::start_with(config, Stdio::null())
    }

    pub fn start_with(config: &str, stdout: Stdio) -> Self {
        Self::start_env(config, stdout, &[])
    }

    /// As [`Firelane::start_with`], with extra environment variables for the process.
    pub fn start_env(config: &str, stdout: Stdio, envs: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let http_port = free_port();
        let text = config
            .replace("{dir}", dir.path().to_str().unwrap())
            .replace("{http_port}", &http_port.to_string());
        let text = if text.contains("[service]") {
            text
        } else {
            format!("[service]\nhttp_port = {http_port}\ngrace = \"10s\"\n\n{text}")
        };
        Self::spawn(dir, http_port, "firelane.toml", &text, stdout, envs)
    }

    /// Starts firelane on a config file named `file_name` (any format) holding `text`, in which
    /// `{dir}` and `{http_port}` are replaced as in [`Firelane::start`] (nothing else is added).
    pub fn start_file(file_name: &str, text: &str, envs: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let http_port = free_port();
        let text = text
            .replace("{dir}", dir.path().to_str().unwrap())
            .replace("{http_port}", &http_port.to_string());
        Self::spawn(dir, http_port, file_name, &text, Stdio::null(), envs)
    }

    /// Starts firelane on `text` written to `file_name` (a path relative to `dir`, whose other
    /// files the config may name), nothing replaced; `http_port` must be the admin port it sets.
    pub fn start_in(
        dir: tempfile::TempDir,
        http_port: u16,
        file_name: &str,
        text: &str,
        envs: &[(&str, String)],
    ) -> Self {
        Self::spawn(dir, http_port, file_name, text, Stdio::null(), envs)
    }

    fn spawn(
        dir: tempfile::TempDir,
        http_port: u16,
        file_name: &str,
        text: &str,
        stdout: Stdio,
        envs: &[(&str, String)],
    ) -> Self {
        let cfg = dir.path().join(file_name);
        std::fs::write(&cfg, text).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_firelane"))
            .args(["run", "-c"])
            .arg(&cfg)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdout(stdout)
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("firelane.log")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let mut f = Firelane {
            child,
            dir,
            http_port,
        };
        f.wait_healthy();
        f
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("firelane.log")).unwrap_or_default()
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("firelane exited early ({status}):\n{}", self.log());
            }
            if http_get(self.http_port, "/health").is_some_and(|(code, _)| code == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("firelane did not become healthy:\n{}", self.log());
    }

    /// GET `path` on the admin server: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.http_port, path).expect("admin server answers")
    }

    /// Sum of a Prometheus counter over all label sets whose labels contain `label_filter`.
    pub fn metric(&self, name: &str, label_filter: &str) -> f64 {
        let (_, body) = self.get("/metrics");
        metric_sum(&body, name, label_filter)
    }

    /// Waits until `cond` holds, polling; panics with `what` and the log on timeout.
    pub fn wait_for(&self, what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if cond() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("timed out waiting for {what}\n{}", self.log());
    }

    /// Sends SIGTERM and waits for exit; returns the exit code.
    pub fn terminate(&mut self) -> i32 {
        signal(&self.child, "TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "firelane did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident set size of the firelane process in bytes (Linux).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
            * 1024
    }
}

impl Drop for Firelane {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} failed");
}

/// A minimal HTTP/1.1 GET.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let code = resp.split_whitespace().nth(1)?.parse().ok()?;
    let body = resp
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_owned())
        .unwrap_or_default();
    Some((code, body))
}

pub fn metric_sum(body: &str, name: &str, label_filter: &str) -> f64 {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| l.contains(label_filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Reads a JSON-lines file; missing file = no lines.
pub fn read_json_lines(path: &Path) -> Vec<serde_json::Value> {
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    BufReader::new(f)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).expect("every output line is JSON"))
        .collect()
}

/// A config: one forward input on 127.0.0.1:`port` (plus `extra_input` lines) -> file `out.log`.
pub fn forward_to_file(port: u16, extra_input: &str) -> String {
    format!(
        r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
{extra_input}

[[outputs]]
name = "file"
match = "*"
path = "{{dir}}"
file = "out.log"
"#
    )
}

// ---- Forward frames, written with rmp (a msgpack library we did not write) ----

pub fn event_time(out: &mut Vec<u8>, secs: u32, nanos: u32) {
    rmp::encode::write_ext_meta(out, 8, 0).unwrap();
    out.extend_from_slice(&secs.to_be_bytes());
    out.extend_from_slice(&nanos.to_be_bytes());
}

/// A Docker-shaped record `{container_id, container_name, source, log}`.
pub fn docker_record(out: &mut Vec<u8>, log: &str) {
    rmp::encode::write_map_len(out, 4).unwrap();
    for (k, v) in [
        (
            "container_id",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
        ("container_name", "/app"),
        ("source", "stdout"),
        ("log", log),
    ] {
        rmp::encode::write_str(out, k).unwrap();
        rmp::encode::write_str(out, v).unwrap();
    }
}

/// Message mode `[tag, EventTime, record, {chunk?}]`.
pub fn message_frame(tag: &str, secs: u32, log: &str, chunk: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 4).unwrap();
    rmp::encode::write_str(&mut out, tag).unwrap();
    event_time(&mut out, secs, 0);
    docker_record(&mut out, log);
    options(&mut out, chunk, None);
    out
}

fn options(out: &mut Vec<u8>, chunk: Option<&str>, compressed: Option<&str>) {
    let n = chunk.is_some() as u32 + compressed.is_some() as u32;
    rmp::encode::write_map_len(out, n).unwrap();
    if let Some(c) = chunk {
        rmp::encode::write_str(out, "chunk").unwrap();
        rmp::encode::write_str(out, c).unwrap();
    }
    if let Some(c) = compressed {
        rmp::encode::write_str(out, "compressed").unwrap();
        rmp::encode::write_str(out, c).unwrap();
    }
}

/// Forward mode `[tag, [[time, record]...], {chunk?}]`.
pub fn forward_frame(tag: &str, logs: &[String], chunk: Option<&str>) -> Vec<u8> {
    forward_frame_at(tag, logs, chunk, 1_700_000_000)
}

/// A minute ago, in seconds: a time CloudWatch Logs accepts (it refuses events older than 14 days).
pub fn recent_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 60
}

/// [`forward_frame`] with record `i` at second `first_secs + i`.
pub fn forward_frame_at(
    tag: &str,
    logs: &[String],
    chunk: Option<&str>,
    first_secs: u64,
) -> Vec<u8> {
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 3).unwrap();
    rmp::encode::write_str(&mut out, tag).unwrap();
    rmp::encode::write_array_len(&mut out, logs.len() as u32).unwrap();
    for (i, l) in logs.iter().enumerate() {
        rmp::encode::write_array_len(&mut out, 2).unwrap();
        rmp::encode::write_uint(&mut out, first_secs + i as u64).unwrap();
        docker_record(&mut out, l);
    }
    options(&mut out, chunk, None);
    out
}

/// The concatenated `[time, record]` entries of a PackedForward payload.
pub fn packed_entries(logs: &[String]) -> Vec<u8> {
    let mut entries = Vec::new();
    for l in logs {
        rmp::encode::write_array_len(&mut entries, 2).unwrap();
        event_time(&mut entries, 1_700_000_000, 5);
        docker_record(&mut entries, l);
    }
    entries
}

/// PackedForward `[tag, bin(entries), {chunk?}]`, gzip-compressed when `gzip`.
pub fn packed_frame(tag: &str, logs: &[String], chunk: Option<&str>, gzip: bool) -> Vec<u8> {
    let mut payload = packed_entries(logs);
    if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&payload).unwrap();
        payload = enc.finish().unwrap();
    }
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 3).unwrap();
    rmp::encode::write_str(&mut out, tag).unwrap();
    rmp::encode::write_bin(&mut out, &payload).unwrap();
    options(&mut out, chunk, gzip.then_some("gzip"));
    out
}

/// Reads one `{"ack": <str>}` reply and returns the chunk id.
pub fn read_ack(s: &mut impl Read) -> String {
    try_read_ack(s).expect("an ack")
}

/// Reads one ack; None when the connection ended or the reply is not an ack.
pub fn try_read_ack(s: &mut impl Read) -> Option<String> {
    if rmp::decode::read_map_len(s).ok()? != 1 {
        return None;
    }
    let mut key = [0u8; 16];
    if rmp::decode::read_str(s, &mut key).ok()? != "ack" {
        return None;
    }
    let mut val = [0u8; 256];
    rmp::decode::read_str(s, &mut val).ok().map(str::to_owned)
}

/// A Python interpreter with the pinned test packages (set up by scripts/test.sh).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("FIRELANE_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python test environment: run scripts/test.sh (it creates .venv with tests/requirements.txt)"
    );
    venv
}

/// Sends `n` records with Python's fluent-logger (tests/py/fluent_send.py) to 127.0.0.1:`port`
/// under tags `<prefix>.sub0..2`; returns what it sent, one `{"tag", "record"}` object per record.
pub fn fluent_send(port: u16, prefix: &str, n: usize) -> Vec<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/fluent_send.py");
    let out = Command::new(python())
        .args([
            script,
            "127.0.0.1",
            &port.to_string(),
            prefix,
            &n.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sender failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The records `fluent_send` sent under `tag`, in order.
pub fn records_of<'a>(sent: &'a [serde_json::Value], tag: &str) -> Vec<&'a serde_json::Value> {
    sent.iter()
        .filter(|s| s["tag"] == tag)
        .map(|s| &s["record"])
        .collect()
}
