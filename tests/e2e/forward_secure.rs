//! firelane -> firelane the way an aggregator tier runs it: the forward output over mutual TLS with
//! the shared-key handshake and a user, acks required, into an aggregator whose forward input
//! demands all three and keeps what it acked on disk. The aggregator is killed mid-stream and
//! restarted: nothing acked to the original sender is lost. A sidecar with the wrong key delivers
//! nothing and is counted on both sides. No key or password shows in logs, /metrics or /health.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::certs::{TestCerts, s};
use common::ledger::{delivered_ids, stream_across_an_aggregator_kill};
use common::{Firelane, forward_frame, free_port, try_read_ack};

const KEY: &str = "k3y-never-shown-4711";
const PASSWORD: &str = "pa55-never-shown-0815";

/// The aggregator: forward input with mutual TLS, shared key (from the environment) and one
/// user, durable acks on a disk buffer, -> JSON lines in `out/out.log`.
fn aggregator_config(port: u16, certs: &TestCerts, out: &Path, storage: &Path) -> String {
    format!(
        r#"[service]
http_port = {{http_port}}
grace = "5s"
storage.path = "{storage}"

[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
{tls}tls.ca_file = "{ca}"
shared_key = "${{AGG_KEY}}"
self_hostname = "aggregator.test"
security.users = ["sidecar ${{AGG_PASSWORD}}"]
ack = "durable"
storage.type = "filesystem"

[[outputs]]
name = "file"
match = "*"
path = "{out}"
file = "out.log"
"#,
        storage = storage.display(),
        tls = certs.server_toml(""),
        ca = s(&certs.ca),
        out = out.display(),
    )
}

/// The sidecar: forward input acking on delivery -> forward output to `upstream` with TLS (client
/// certificate), the handshake and acks. `key` is written as given.
fn sidecar_config(port: u16, upstream: u16, certs: &TestCerts, key: &str) -> String {
    format!(
        r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
ack = "delivered"

[[outputs]]
name = "forward"
match = "*"
host = "127.0.0.1"
port = {upstream}
require_ack_response = true
ack_response_timeout = "5s"
connect_timeout = "2s"
tls.enabled = true
tls.ca_file = "{ca}"
tls.crt_file = "{crt}"
tls.key_file = "{key_file}"
shared_key = "{key}"
self_hostname = "sidecar.test"
username = "sidecar"
password = "${{AGG_PASSWORD}}"
"#,
        ca = s(&certs.ca),
        crt = s(&certs.client_crt),
        key_file = s(&certs.client_key),
    )
}

fn envs() -> Vec<(&'static str, String)> {
    vec![
        ("AGG_KEY", KEY.to_owned()),
        ("AGG_PASSWORD", PASSWORD.to_owned()),
    ]
}

fn start_aggregator(text: &str) -> Firelane {
    Firelane::start_env(text, Stdio::null(), &envs())
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// Neither secret in the process's log, /metrics or /health.
fn assert_no_secret_shown(f: &Firelane, who: &str) {
    let shown = [
        f.log(),
        f.get("/metrics").1,
        f.get("/health").1,
        f.get("/api/v1/health").1,
    ]
    .join("\n");
    for secret in [KEY, PASSWORD] {
        assert!(!shown.contains(secret), "{who} shows a secret:\n{shown}");
    }
}

#[test]
fn tls_shared_key_and_acks_lose_nothing_across_an_aggregator_restart() {
    let certs = TestCerts::new();
    let out = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let b_config = aggregator_config(pb, &certs, out.path(), storage.path());
    let mut b = start_aggregator(&b_config);
    let a = Firelane::start_env(
        &sidecar_config(pa, pb, &certs, "${AGG_KEY}"),
        Stdio::null(),
        &envs(),
    );
    let (report, b2) = stream_across_an_aggregator_kill(
        pa,
        &out.path().join("out.log"),
        &mut b,
        || start_aggregator(&b_config),
        "forward over mTLS + shared key + user, aggregator SIGKILL + restart",
    );
    let killed_log = b.log();
    for secret in [KEY, PASSWORD] {
        assert!(
            !killed_log.contains(secret),
            "the killed aggregator logged a secret"
        );
    }
    assert!(report.acked > 2000, "the stream went on across the restart");
    assert_eq!(report.lost, 0);
    assert_eq!(
        report.acked, report.sent,
        "the sidecar acked everything it was sent"
    );
    assert_eq!(a.metric("firelane_output_dropped_records_total", ""), 0.0);
    assert!(a.metric("firelane_output_retries_total", "") >= 1.0);
    assert_eq!(b2.metric("firelane_input_auth_failures_total", ""), 0.0);
    assert_eq!(
        b2.metric("firelane_input_tls_handshake_failures_total", ""),
        0.0
    );
    assert_no_secret_shown(&a, "the sidecar");
    assert_no_secret_shown(&b2, "the restarted aggregator");
}

#[test]
fn a_sidecar_with_the_wrong_key_delivers_nothing_and_is_counted_on_both_sides() {
    let certs = TestCerts::new();
    let out = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let b = start_aggregator(&aggregator_config(pb, &certs, out.path(), storage.path()));
    let a = Firelane::start_env(
        &sidecar_config(pa, pb, &certs, "not-the-key"),
        Stdio::null(),
        &envs(),
    );
    let mut s = TcpStream::connect(("127.0.0.1", pa)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let logs: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
    s.write_all(&forward_frame("app", &logs, Some("c1")))
        .unwrap();
    wait_until(
        "the aggregator to refuse the key twice",
        Duration::from_secs(20),
        || {
            b.metric(
                "firelane_input_auth_failures_total",
                "reason=\"shared_key_mismatch\"",
            ) >= 2.0
        },
    );
    assert_eq!(try_read_ack(&mut s), None, "no ack for undelivered records");
    assert!(delivered_ids(&out.path().join("out.log")).is_empty());
    assert!(a.metric("firelane_output_retries_total", "reason=\"refused\"") >= 2.0);
    assert_eq!(a.metric("firelane_output_dropped_records_total", ""), 0.0);
    let b_log = b.log();
    assert!(
        b_log.contains("sidecar.test") && b_log.contains("shared_key"),
        "the aggregator names the client and the reason:\n{b_log}"
    );
    assert!(
        a.log().contains("shared_key mismatch"),
        "the sidecar logs the aggregator's reason:\n{}",
        a.log()
    );
    assert_no_secret_shown(&a, "the sidecar");
    assert_no_secret_shown(&b, "the aggregator");
}

#[test]
fn a_sidecar_without_a_key_is_told_the_aggregator_requires_the_handshake() {
    let certs = TestCerts::new();
    let out = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let b = start_aggregator(&aggregator_config(pb, &certs, out.path(), storage.path()));
    let keyless: String = sidecar_config(pa, pb, &certs, "unused")
        .lines()
        .filter(|l| {
            !["shared_key", "username", "password"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let a = Firelane::start_env(&keyless, Stdio::null(), &envs());
    let mut s = TcpStream::connect(("127.0.0.1", pa)).unwrap();
    let logs: Vec<String> = (0..5).map(|i| format!("r{i}")).collect();
    s.write_all(&forward_frame("app", &logs, Some("c1")))
        .unwrap();
    wait_until(
        "the sidecar to see the aggregator's HELO",
        Duration::from_secs(20),
        || {
            a.metric(
                "firelane_output_retries_total",
                "reason=\"handshake_required\"",
            ) >= 1.0
        },
    );
    assert!(
        a.log().contains("requires the Forward handshake"),
        "the sidecar says what to set:\n{}",
        a.log()
    );
    assert!(delivered_ids(&out.path().join("out.log")).is_empty());
    assert!(b.metric("firelane_input_auth_failures_total", "") >= 1.0);
}
