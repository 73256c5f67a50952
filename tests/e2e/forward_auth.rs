//! The Forward handshake over real sockets: fluent-logger for Node (a client we did not write) with
//! the right and wrong credentials, our own client half for the rest, malformed PINGs, and the
//! handshake and idle timeouts. The file output is the oracle of what was accepted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::certs::{TestCerts, s as path_str};
use common::node::{node_send, node_send_env};
use common::*;
use firelane::forward::handshake::{ClientAuth, HandshakeError, Helo, client_handshake};
use firelane::msgpack::reader::{Token, read_token, skip_value};
use firelane::secret::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "k3y-that-is-never-logged";
const PASS: &str = "pa55-that-is-never-logged";
const FAILURES: &str = "firelane_input_auth_failures_total";
const CLOSED: &str = "firelane_input_connections_closed_total";

fn auth_config(port: u16, extra: &str) -> String {
    forward_to_file(
        port,
        &format!(
            "shared_key = \"{KEY}\"\nself_hostname = \"firelane-test\"\n\
             security.users = [\"alice {PASS}\", \"bob other\"]\n{extra}"
        ),
    )
}

/// A TCP connection that passed the handshake with our own client half.
async fn authed(
    port: u16,
    user: &str,
    pass: &str,
) -> Result<tokio::net::TcpStream, HandshakeError> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let auth = ClientAuth {
        self_hostname: "rust-client".to_owned(),
        shared_key: Secret::new(KEY),
        username: Some(user.to_owned()),
        password: Some(Secret::new(pass)),
    };
    client_handshake(&mut s, &auth, Duration::from_secs(5)).await?;
    Ok(s)
}

/// Reads the next whole msgpack value from a blocking socket; bytes that came after it stay in
/// `pending` for the next call (a reply can share a read with the one before it).
fn read_value(s: &mut TcpStream, pending: &mut Vec<u8>) -> Vec<u8> {
    let mut chunk = [0u8; 512];
    loop {
        if let Ok(end) = skip_value(pending, 0) {
            return pending.drain(..end).collect();
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed before a whole message");
        pending.extend_from_slice(&chunk[..n]);
    }
}

/// The (ok, reason) of a PONG.
fn pong(msg: &[u8]) -> (bool, String) {
    let (Token::Array(5), p) = read_token(msg, 0).unwrap() else {
        panic!("not a PONG: {msg:?}")
    };
    let (Token::Str(b"PONG"), p) = read_token(msg, p).unwrap() else {
        panic!("not a PONG: {msg:?}")
    };
    let (Token::Bool(ok), p) = read_token(msg, p).unwrap() else {
        panic!("no result: {msg:?}")
    };
    let (Token::Str(reason), _) = read_token(msg, p).unwrap() else {
        panic!("no reason: {msg:?}")
    };
    (ok, String::from_utf8_lossy(reason).into_owned())
}

/// Whether the server closes `s` within `within` (end of stream or a reset, not a read timeout).
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(n) => n == 0,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn node_client_with_the_right_key_and_password_delivers_every_record() {
    let port = free_port();
    let fl = Firelane::start(&auth_config(port, ""));
    let run = node_send(port, "node.ok", 50, KEY, "alice", PASS);
    assert!(run.ok, "node sender failed: {}", run.stderr);

    let path = fl.path("out.log");
    fl.wait_for("50 records", Duration::from_secs(10), || {
        read_json_lines(&path).len() >= 50
    });
    let got = read_json_lines(&path);
    assert_eq!(got.len(), 50, "exactly once");
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r["tag"], "node.ok");
        assert_eq!(r["i"], i, "in order");
        assert_eq!(r["message"], format!("node record {i}"));
    }
    assert_eq!(fl.metric(FAILURES, ""), 0.0);
}

#[test]
fn node_client_over_mutual_tls_with_the_handshake_delivers_and_without_a_certificate_does_not() {
    let certs = TestCerts::new();
    let port = free_port();
    let tls = certs.server_toml(&format!("tls.ca_file = \"{}\"\n", path_str(&certs.ca)));
    let fl = Firelane::start(&auth_config(port, &tls));
    let ca = path_str(&certs.ca);
    let run = node_send_env(
        port,
        "node.tls",
        20,
        KEY,
        "alice",
        PASS,
        &[
            ("FLUENT_TLS_CA", ca),
            ("FLUENT_TLS_CERT", path_str(&certs.client_crt)),
            ("FLUENT_TLS_KEY", path_str(&certs.client_key)),
        ],
    );
    assert!(run.ok, "node sender over TLS failed: {}", run.stderr);
    let path = fl.path("out.log");
    fl.wait_for("20 records", Duration::from_secs(10), || {
        read_json_lines(&path).len() >= 20
    });
    assert_eq!(read_json_lines(&path).len(), 20, "exactly once");

    // Same key and password, but no client certificate: refused before the handshake.
    let run = node_send_env(
        port,
        "node.tls",
        1,
        KEY,
        "alice",
        PASS,
        &[("FLUENT_TLS_CA", ca)],
    );
    assert!(!run.ok, "a client without a certificate must fail");
    fl.wait_for("the refusal to be counted", Duration::from_secs(10), || {
        fl.metric("firelane_input_tls_handshake_failures_total", "") >= 1.0
    });
    assert_eq!(read_json_lines(&path).len(), 20);
    assert_eq!(fl.metric(FAILURES, ""), 0.0);
}

#[tokio::test]
async fn wrong_key_or_password_delivers_nothing_says_why_and_spares_other_connections() {
    let port = free_port();
    let fl = Firelane::start(&auth_config(port, ""));
    let mut good = authed(port, "bob", "other").await.unwrap();

    let run = node_send(port, "node.bad", 3, "wrong-key-value", "alice", PASS);
    assert!(!run.ok, "a wrong key must fail");
    assert!(run.stderr.contains("shared_key mismatch"), "{}", run.stderr);
    // Past the one-per-second warning budget, so both refusals are logged.
    std::thread::sleep(Duration::from_millis(1100));
    let run = node_send(port, "node.bad", 3, KEY, "alice", "wrong-pass-value");
    assert!(!run.ok, "a wrong password must fail");
    assert!(
        run.stderr.contains("username/password mismatch"),
        "{}",
        run.stderr
    );
    match authed(port, "mallory", PASS).await {
        Err(HandshakeError::Refused(r)) => assert_eq!(r, "username/password mismatch"),
        other => panic!("unknown user: {other:?}"),
    }

    // The connection that passed before is still served.
    good.write_all(&message_frame(
        "raw.ok",
        1_700_000_000,
        "still here",
        Some("c1"),
    ))
    .await
    .unwrap();
    let mut ack = [0u8; 64];
    let n = good.read(&mut ack).await.unwrap();
    assert!(
        ack[..n].windows(2).any(|w| w == b"c1"),
        "ack: {:?}",
        &ack[..n]
    );
    let path = fl.path("out.log");
    fl.wait_for("the good record", Duration::from_secs(10), || {
        !read_json_lines(&path).is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    let got = read_json_lines(&path);
    assert_eq!(got.len(), 1, "nothing from refused clients: {got:?}");
    assert_eq!(got[0]["log"], "still here");

    assert_eq!(fl.metric(FAILURES, "reason=\"shared_key_mismatch\""), 1.0);
    assert_eq!(fl.metric(FAILURES, "reason=\"user_mismatch\""), 2.0);
    let log = fl.log();
    assert!(
        log.contains("shared_key_mismatch") && log.contains("user_mismatch"),
        "{log}"
    );
    assert!(
        log.contains("node-client") && log.contains("alice"),
        "who it was: {log}"
    );
    for secret in [KEY, PASS, "wrong-key-value", "wrong-pass-value", "other"] {
        assert!(
            !log.contains(secret),
            "`{secret}` leaked into the log:\n{log}"
        );
    }
}

#[test]
fn a_malformed_ping_or_a_frame_before_the_ping_is_refused_and_closed() {
    let port = free_port();
    let fl = Firelane::start(&auth_config(port, ""));

    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut pending = Vec::new();
    let helo = read_value(&mut s, &mut pending);
    assert!(helo.windows(4).any(|w| w == b"HELO"));
    let mut ping = Vec::new();
    rmp::encode::write_array_len(&mut ping, 2).unwrap();
    rmp::encode::write_str(&mut ping, "PING").unwrap();
    rmp::encode::write_str(&mut ping, "x").unwrap();
    s.write_all(&ping).unwrap();
    assert_eq!(
        pong(&read_value(&mut s, &mut pending)),
        (false, "invalid ping message".to_owned())
    );
    assert!(closed_within(&mut s, Duration::from_secs(5)));

    // A client that skips the handshake: its frame is read as a (bad) PING, never as records.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut pending = Vec::new();
    read_value(&mut s, &mut pending);
    s.write_all(&message_frame(
        "sneaky",
        1_700_000_000,
        "no auth",
        Some("c"),
    ))
    .unwrap();
    assert_eq!(
        pong(&read_value(&mut s, &mut pending)),
        (false, "invalid ping message".to_owned())
    );
    assert!(closed_within(&mut s, Duration::from_secs(5)));

    assert_eq!(fl.metric(FAILURES, "reason=\"malformed_ping\""), 2.0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(read_json_lines(&fl.path("out.log")).is_empty());
}

#[test]
fn requests_sent_right_behind_the_ping_are_served() {
    let port = free_port();
    let fl = Firelane::start(&auth_config(port, ""));
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut pending = Vec::new();
    let helo = Helo::decode(&read_value(&mut s, &mut pending)).unwrap();
    let auth = ClientAuth {
        self_hostname: "pipelining-client".to_owned(),
        shared_key: Secret::new(KEY),
        username: Some("alice".to_owned()),
        password: Some(Secret::new(PASS)),
    };
    let mut out = Vec::new();
    auth.encode_ping(&helo, b"0123456789abcdef0123456789abcdef", &mut out);
    out.extend_from_slice(&message_frame(
        "pipelined",
        1_700_000_000,
        "right behind",
        Some("p1"),
    ));
    s.write_all(&out).unwrap();
    assert_eq!(
        pong(&read_value(&mut s, &mut pending)),
        (true, String::new())
    );
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(
        read_ack(&mut read_value(&mut s, &mut pending).as_slice()),
        "p1",
        "served without waiting for more bytes"
    );
    let path = fl.path("out.log");
    fl.wait_for("the record", Duration::from_secs(10), || {
        read_json_lines(&path).len() == 1
    });
}

#[tokio::test]
async fn slow_handshakes_and_idle_connections_are_closed_and_counted() {
    let port = free_port();
    let fl = Firelane::start(&auth_config(
        port,
        "handshake_timeout = \"300ms\"\nidle_timeout = \"700ms\"",
    ));

    // Connects, reads the HELO, never answers.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut pending = Vec::new();
    read_value(&mut s, &mut pending);
    let start = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(5)));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(fl.metric(CLOSED, "reason=\"handshake_timeout\""), 1.0);
    assert_eq!(
        fl.metric(FAILURES, ""),
        0.0,
        "a timeout is not an auth failure"
    );

    // Active for longer than idle_timeout in total, never idle that long: stays open.
    let mut c = authed(port, "alice", PASS).await.unwrap();
    for i in 0..5 {
        let chunk = format!("c{i}");
        c.write_all(&message_frame(
            "idle.test",
            1_700_000_000,
            &format!("line {i}"),
            Some(&chunk),
        ))
        .await
        .unwrap();
        let mut ack = [0u8; 64];
        let n = c.read(&mut ack).await.unwrap();
        assert!(n > 0, "closed while active");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Then idle: closed once idle_timeout has passed.
    let start = Instant::now();
    let mut b = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut b))
        .await
        .expect("closed by idle_timeout")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(fl.metric(CLOSED, "reason=\"idle_timeout\""), 1.0);
    let path = fl.path("out.log");
    fl.wait_for("5 records", Duration::from_secs(10), || {
        read_json_lines(&path).len() >= 5
    });
}
