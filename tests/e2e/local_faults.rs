//! Local faults a router meets (issue "acked means kept"): write errors on the `file` and
//! `stdout` outputs, SIGHUP, a second SIGTERM during the drain. Each test counts what was
//! sent, acked and written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// Forward input with `ack` mode, file output to `{dir}/out.log`.
fn config(port: u16, ack: &str) -> String {
    forward_to_file(port, &format!("ack = \"{ack}\""))
}

/// Sends `n` acked Message frames (chunk ids "0".."n-1") over one connection.
fn send(port: u16, n: usize) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut buf = Vec::new();
    for i in 0..n {
        buf.extend(message_frame(
            "lf",
            1_700_000_000,
            &format!("r{i}"),
            Some(&i.to_string()),
        ));
    }
    s.write_all(&buf).unwrap();
    s
}

/// Reads acks for `timeout`; returns the chunk ids acked.
fn acks_within(s: &mut TcpStream, timeout: Duration) -> Vec<String> {
    s.set_read_timeout(Some(timeout)).unwrap();
    let mut acked = Vec::new();
    while let Some(id) = try_read_ack(s) {
        acked.push(id);
    }
    acked
}

fn logs_in(path: &std::path::Path) -> Vec<String> {
    read_json_lines(path)
        .iter()
        .map(|v| v["log"].as_str().unwrap().to_owned())
        .collect()
}

/// A full disk behind the file output: nothing is acked (`delivered`) or lost while it lasts;
/// once there is room every record is written exactly once and acked.
#[test]
fn a_full_disk_holds_delivered_acks_and_loses_nothing() {
    let port = free_port();
    let fl = Firelane::start(&config(port, "delivered"));
    let out = fl.path("out.log");
    std::os::unix::fs::symlink("/dev/full", &out).unwrap();
    let mut s = send(port, 20);
    assert!(
        acks_within(&mut s, Duration::from_millis(1500)).is_empty(),
        "no ack while nothing could be written"
    );
    fl.wait_for("write errors counted", Duration::from_secs(5), || {
        fl.metric("firelane_output_errors_total", "") >= 1.0
    });
    assert_eq!(fl.metric("firelane_output_dropped_records_total", ""), 0.0);
    std::fs::remove_file(&out).unwrap();
    let mut acked = acks_within(&mut s, Duration::from_secs(15));
    acked.sort_by_key(|id| id.parse::<usize>().unwrap());
    let want: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(acked, want, "every record acked once written\n{}", fl.log());
    let want_logs: Vec<String> = (0..20).map(|i| format!("r{i}")).collect();
    assert_eq!(logs_in(&out), want_logs, "each record once, in order");
    assert!(fl.log().contains("write failed; holding the records"));
}

/// SIGHUP is Fluent Bit's reload request; firelane does not reload, so it says so and keeps
/// running (the default action would kill it with everything it holds).
#[test]
fn sighup_is_logged_and_ignored() {
    let port = free_port();
    let mut fl = Firelane::start(&config(port, "delivered"));
    signal(&fl.child, "HUP");
    fl.wait_for("the SIGHUP line", Duration::from_secs(5), || {
        fl.log().contains("SIGHUP received and ignored")
    });
    assert!(fl.child.try_wait().unwrap().is_none(), "still running");
    assert!(
        !fl.log().contains('\x1b'),
        "no colour codes in a log that is not a terminal"
    );
    let mut s = send(port, 3);
    assert_eq!(acks_within(&mut s, Duration::from_secs(5)).len(), 3);
    assert_eq!(fl.terminate(), 0, "{}", fl.log());
    assert_eq!(logs_in(&fl.path("out.log")), ["r0", "r1", "r2"]);
}

/// A drain that cannot finish (the disk stays full) waits for the grace period; a second
/// SIGTERM stops it at once, and the records not written are counted and named in the log.
#[test]
fn a_second_sigterm_cuts_the_drain_short_and_reports_what_was_not_written() {
    let port = free_port();
    let text = format!(
        "[service]\nhttp_port = {{http_port}}\ngrace = \"60s\"\n{}",
        config(port, "accepted")
    );
    let mut fl = Firelane::start(&text);
    std::os::unix::fs::symlink("/dev/full", fl.path("out.log")).unwrap();
    let mut s = send(port, 5);
    assert_eq!(acks_within(&mut s, Duration::from_secs(5)).len(), 5);
    fl.wait_for("a failed write", Duration::from_secs(5), || {
        fl.metric("firelane_output_errors_total", "") >= 1.0
    });
    signal(&fl.child, "TERM");
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        fl.child.try_wait().unwrap().is_none(),
        "still draining (grace 60 s)"
    );
    let second = Instant::now();
    signal(&fl.child, "TERM");
    let status = loop {
        if let Some(status) = fl.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            second.elapsed() < Duration::from_secs(10),
            "a second SIGTERM stops firelane within seconds\n{}",
            fl.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_ne!(status.code(), Some(0), "not a clean drain");
    let log = fl.log();
    assert!(log.contains("second signal"), "{log}");
    assert!(log.contains("still flushing"), "{log}");
    assert!(
        log.contains("records not written") && log.contains("records=5"),
        "the records given up are counted\n{log}"
    );
}

/// stdout read by a process that exits after one line (`| head -1`): the rest is held and
/// retried, not acked as delivered and dropped.
#[test]
fn stdout_into_a_closed_pipe_holds_the_records() {
    let port = free_port();
    let text = format!(
        r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
ack = "delivered"

[[outputs]]
name = "stdout"
match = "*"
"#
    );
    let mut fl = Firelane::start_with(&text, Stdio::piped());
    let mut stdout = fl.child.stdout.take().unwrap();
    let mut s = send(port, 1);
    assert_eq!(acks_within(&mut s, Duration::from_secs(5)), ["0"]);
    let mut line = [0u8; 1];
    stdout.read_exact(&mut line).unwrap();
    drop(stdout); // the reader is gone: writes now fail with EPIPE
    let mut s = send(port, 10);
    assert!(
        acks_within(&mut s, Duration::from_secs(2)).is_empty(),
        "nothing acked as delivered once stdout is closed\n{}",
        fl.log()
    );
    assert!(
        fl.child.try_wait().unwrap().is_none(),
        "SIGPIPE does not kill it"
    );
    assert!(fl.metric("firelane_output_errors_total", "") >= 1.0);
    assert_eq!(fl.metric("firelane_output_dropped_records_total", ""), 0.0);
}

/// The grace period ends while an output still holds records acked as `accepted` (its
/// destination refuses connections): the exit says how many were lost, per input.
#[test]
fn records_acked_but_not_delivered_at_exit_are_counted() {
    let port = free_port();
    let refused = RefusedPort::new();
    let text = format!(
        r#"[service]
http_port = {{http_port}}
grace = "2s"

[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
ack = "accepted"

[[outputs]]
name = "forward"
match = "*"
host = "127.0.0.1"
port = {}
connect_timeout = "1s"
"#,
        refused.port
    );
    let mut fl = Firelane::start(&text);
    let mut s = send(port, 10);
    assert_eq!(acks_within(&mut s, Duration::from_secs(5)).len(), 10);
    let code = fl.terminate();
    assert_ne!(code, 0, "the drain did not finish");
    let log = fl.log();
    let line = log
        .lines()
        .find(|l| l.contains("accepted but not delivered before exit are lost"))
        .unwrap_or_else(|| panic!("no count of the lost records\n{log}"));
    assert!(
        line.contains("component=forward.0") && line.contains("records=10"),
        "{line}"
    );
}
