//! The Forward input over real sockets: every mode, acks, TCP and Unix socket, malformed input
//! isolated to its connection. Frames are encoded with `rmp`; the file output is the oracle.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::*;

fn logs(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{prefix} line {i} with \"quotes\" and\ttabs"))
        .collect()
}

/// Sends one frame of every mode (each with a chunk), checks each ack, returns the logs sent.
fn send_every_mode(s: &mut (impl Read + Write)) -> BTreeSet<String> {
    let mut sent = BTreeSet::new();
    for i in 0..3 {
        let log = format!("message {i}");
        s.write_all(&message_frame(
            "app.message",
            1_700_000_000,
            &log,
            Some(&format!("m{i}")),
        ))
        .unwrap();
        assert_eq!(read_ack(s), format!("m{i}"));
        sent.insert(log);
    }
    let f = logs("forward", 10);
    s.write_all(&forward_frame("app.forward", &f, Some("f0")))
        .unwrap();
    assert_eq!(read_ack(s), "f0");
    let p = logs("packed", 10);
    s.write_all(&packed_frame("app.packed", &p, Some("p0"), false))
        .unwrap();
    assert_eq!(read_ack(s), "p0");
    let g = logs("gzip", 10);
    s.write_all(&packed_frame("app.gzip", &g, Some("g0\n"), true))
        .unwrap();
    assert_eq!(
        read_ack(s),
        "g0\n",
        "chunk echoed byte for byte, newline included"
    );
    sent.extend(f.into_iter().chain(p).chain(g));
    sent
}

fn received(fl: &Firelane, expect: usize) -> Vec<serde_json::Value> {
    let out = fl.path("out.log");
    fl.wait_for(
        "all records in the file output",
        Duration::from_secs(10),
        || read_json_lines(&out).len() >= expect,
    );
    read_json_lines(&out)
}

fn assert_same_logs(lines: &[serde_json::Value], sent: &BTreeSet<String>) {
    let got: Vec<String> = lines
        .iter()
        .map(|v| v["log"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got.len(), sent.len(), "no duplicates, nothing lost");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), *sent);
    for l in lines {
        assert_eq!(l["container_name"], "/app");
        assert_eq!(l["source"], "stdout");
        assert!(l["tag"].as_str().unwrap().starts_with("app."));
        assert!(l["date"].as_f64().unwrap() >= 1_700_000_000.0);
    }
}

#[test]
fn every_mode_over_tcp_is_acked_and_written_exactly_once() {
    let port = free_port();
    let fl = Firelane::start(&forward_to_file(port, ""));
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let sent = send_every_mode(&mut s);
    let lines = received(&fl, sent.len());
    assert_same_logs(&lines, &sent);
    // An ack is counted once its write completes, which can be just after the client read it.
    let acks = || fl.metric("firelane_input_acks_sent_total", "forward.0");
    fl.wait_for("the sixth ack counted", Duration::from_secs(10), || {
        acks() >= 6.0
    });
    assert_eq!(acks(), 6.0);
    assert_eq!(
        fl.metric("firelane_input_records_total", "forward.0"),
        sent.len() as f64
    );
}

#[test]
fn every_mode_over_the_unix_socket_and_the_file_is_removed_on_exit() {
    let port = free_port();
    let sock_dir = tempfile::tempdir().unwrap();
    let sock = sock_dir.path().join("fluent.sock");
    // A stale socket file from an earlier run must be replaced, not fail start-up.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let extra = format!("unix_path = \"{}\"\nunix_perm = \"0660\"", sock.display());
    let mut fl = Firelane::start(&forward_to_file(port, &extra));
    let mode =
        std::fs::metadata(&sock).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
    assert_eq!(mode.unwrap() & 0o777, 0o660);
    let mut s = UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let sent = send_every_mode(&mut s);
    assert_same_logs(&received(&fl, sent.len()), &sent);
    drop(s);
    assert_eq!(fl.terminate(), 0);
    assert!(!sock.exists(), "socket file removed on exit");
}

#[test]
fn malformed_input_closes_only_its_own_connection() {
    malformed_input_closes_only_its_own_connection_with("");
}

/// With filters, a connection's batches are filtered by a task of the filter stage: the valid
/// frames read before the malformed one must still be filtered and written.
#[test]
fn malformed_input_through_filters_closes_only_its_own_connection() {
    let lines = malformed_input_closes_only_its_own_connection_with(
        "\n[[filters]]\nname = \"record_modifier\"\nmatch = \"*\"\nrecord = [\"via stage\"]\n",
    );
    assert!(lines.iter().all(|l| l["via"] == "stage"), "{lines:?}");
}

fn malformed_input_closes_only_its_own_connection_with(filters: &str) -> Vec<serde_json::Value> {
    let port = free_port();
    let fl = Firelane::start(&format!("{}{filters}", forward_to_file(port, "")));
    let mut good = TcpStream::connect(("127.0.0.1", port)).unwrap();
    good.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    good.write_all(&message_frame(
        "app.ok",
        1_700_000_000,
        "before",
        Some("a1"),
    ))
    .unwrap();
    assert_eq!(read_ack(&mut good), "a1");

    // A valid frame followed by garbage in the same write: the valid one is kept.
    let mut bad = TcpStream::connect(("127.0.0.1", port)).unwrap();
    bad.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut payload = message_frame("app.bad", 1_700_000_000, "kept from bad conn", None);
    payload.extend_from_slice(&[0xc1, 0x00, 0x01]);
    bad.write_all(&payload).unwrap();
    assert_closed_without_reply(&mut bad);

    // A root that is not an array closes the connection too.
    let mut bad2 = TcpStream::connect(("127.0.0.1", port)).unwrap();
    bad2.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    bad2.write_all(b"\xa5hello").unwrap();
    assert_closed_without_reply(&mut bad2);

    good.write_all(&message_frame("app.ok", 1_700_000_000, "after", Some("a2")))
        .unwrap();
    assert_eq!(
        read_ack(&mut good),
        "a2",
        "other connections are unaffected"
    );

    let lines = received(&fl, 3);
    let got: BTreeSet<&str> = lines.iter().map(|v| v["log"].as_str().unwrap()).collect();
    assert_eq!(
        got,
        BTreeSet::from(["before", "kept from bad conn", "after"])
    );
    assert_eq!(
        fl.metric("firelane_input_decode_errors_total", "forward.0"),
        2.0
    );
    lines
}

#[test]
fn many_frames_in_one_write_get_one_ack_each_and_heartbeats_are_ignored() {
    let port = free_port();
    let fl = Firelane::start(&forward_to_file(port, ""));
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = vec![0xc0];
    for i in 0..200 {
        buf.extend(message_frame(
            "app.burst",
            1_700_000_000,
            &format!("b{i}"),
            Some(&format!("c{i}")),
        ));
        buf.push(0xc0);
    }
    s.write_all(&buf).unwrap();
    let acks: Vec<String> = (0..200).map(|_| read_ack(&mut s)).collect();
    assert_eq!(acks.iter().collect::<BTreeSet<_>>().len(), 200);
    assert_eq!(received(&fl, 200).len(), 200);
}

/// The server closed `s` (end of stream, or a reset when it closed with bytes unread) without
/// sending anything; a read that times out means it was left open, and fails.
fn assert_closed_without_reply(s: &mut TcpStream) {
    let mut rest = Vec::new();
    match s.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection was not closed: {e}"),
    }
    assert!(rest.is_empty(), "no reply: {rest:?}");
}
