//! The forward input with TLS, end to end: a real firelane process, clients we did not write
//! (Python's ssl module, OpenSSL) and our own connector; mutual TLS; plain text and silent
//! clients on the TLS port; `firelane validate` on a missing certificate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::certs::{TestCerts, s};
use common::{Firelane, forward_to_file, free_port, message_frame, read_json_lines};
use firelane::config::tls::ClientTls;
use firelane::config::units::Flag;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FAILURES: &str = "firelane_input_tls_handshake_failures_total";

fn start(certs: &TestCerts, port: u16, extra_tls: &str) -> Firelane {
    Firelane::start(&forward_to_file(port, &certs.server_toml(extra_tls)))
}

/// Sends `frame` with tests/py/tls_send.py; Ok(the first reply) or Err(why it failed).
fn python_send(
    port: u16,
    certs: &TestCerts,
    frame: &[u8],
    client_cert: Option<(&Path, &Path)>,
) -> Result<Vec<u8>, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/tls_send.py");
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    let mut cmd = Command::new(common::python());
    cmd.args([script, "127.0.0.1", &port.to_string(), s(&certs.ca), &hex]);
    if let Some((crt, key)) = client_cert {
        cmd.args([s(crt), s(key)]);
    }
    let out = cmd.output().unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text.trim();
    Ok((0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect())
}

fn ack_of(reply: &[u8]) -> Option<String> {
    common::try_read_ack(&mut &reply[..])
}

fn logs(f: &Firelane) -> Vec<String> {
    read_json_lines(&f.path("out.log"))
        .iter()
        .map(|r| r["log"].as_str().unwrap().to_owned())
        .collect()
}

fn wait_logs(f: &Firelane, n: usize) -> Vec<String> {
    f.wait_for(
        &format!("{n} records in out.log"),
        Duration::from_secs(10),
        || logs(f).len() >= n,
    );
    logs(f)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A TLS connection made with firelane's own connector, trusting the test CA.
async fn our_client(port: u16, certs: &TestCerts) -> firelane::net::listener::BoxConn {
    let cfg = firelane::net::tls::client_config(
        "test",
        &ClientTls {
            enabled: Flag(true),
            ca_file: Some(s(&certs.ca).to_owned()),
            ..ClientTls::default()
        }
        .settings(),
    )
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    firelane::net::tls::connect_tls(tcp, &cfg, "localhost")
        .await
        .unwrap()
}

/// Sends `frame` on `conn` and reads one ack.
async fn send_for_ack(conn: &mut firelane::net::listener::BoxConn, frame: &[u8]) -> String {
    conn.write_all(frame).await.unwrap();
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
        .await
        .expect("an ack in time")
        .unwrap();
    ack_of(&buf[..n]).expect("an ack")
}

#[test]
fn python_ssl_and_our_connector_are_acked_and_delivered() {
    let certs = TestCerts::new();
    let port = free_port();
    let f = start(&certs, port, "");
    let frame = message_frame("app", 1_700_000_000, "from python over tls", Some("py-1"));
    let reply = python_send(port, &certs, &frame, None).unwrap();
    assert_eq!(ack_of(&reply).as_deref(), Some("py-1"));

    runtime().block_on(async {
        let mut conn = our_client(port, &certs).await;
        let frame = message_frame("app", 1_700_000_001, "from connect_tls", Some("rs-1"));
        assert_eq!(send_for_ack(&mut conn, &frame).await, "rs-1");
    });
    assert_eq!(
        wait_logs(&f, 2),
        ["from python over tls", "from connect_tls"]
    );
    assert_eq!(f.metric(FAILURES, ""), 0.0);
}

#[test]
fn mutual_tls_rejects_missing_and_foreign_client_certificates() {
    let certs = TestCerts::new();
    let port = free_port();
    let f = start(
        &certs,
        port,
        &format!("tls.ca_file = \"{}\"\n", s(&certs.ca)),
    );
    let frame = |log: &str, chunk: &str| message_frame("app", 1_700_000_000, log, Some(chunk));

    let none = python_send(port, &certs, &frame("no certificate", "a"), None);
    assert!(
        none.is_err(),
        "accepted without a client certificate: {none:?}"
    );
    let foreign = python_send(
        port,
        &certs,
        &frame("foreign certificate", "b"),
        Some((&certs.other_client_crt, &certs.other_client_key)),
    );
    assert!(
        foreign.is_err(),
        "accepted a foreign certificate: {foreign:?}"
    );
    let good = python_send(
        port,
        &certs,
        &frame("right certificate", "c"),
        Some((&certs.client_crt, &certs.client_key)),
    )
    .unwrap();
    assert_eq!(ack_of(&good).as_deref(), Some("c"));

    assert_eq!(wait_logs(&f, 1), ["right certificate"]);
    f.wait_for("both failures counted", Duration::from_secs(5), || {
        f.metric(FAILURES, "reason=\"no_client_certificate\"") == 1.0
            && f.metric(FAILURES, "reason=\"bad_certificate\"") == 1.0
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(logs(&f), ["right certificate"]);
}

#[test]
fn plain_text_on_the_tls_port_is_closed_counted_and_not_delivered() {
    let certs = TestCerts::new();
    let port = free_port();
    let f = start(&certs, port, "");
    runtime().block_on(async {
        // A good TLS connection, open before and after the plain one.
        let mut tls = our_client(port, &certs).await;
        assert_eq!(
            send_for_ack(
                &mut tls,
                &message_frame("app", 1_700_000_000, "tls before", Some("t1"))
            )
            .await,
            "t1"
        );
        let mut plain = TcpStream::connect(("127.0.0.1", port)).unwrap();
        plain
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        plain
            .write_all(&message_frame(
                "app",
                1_700_000_000,
                "plain text",
                Some("p1"),
            ))
            .unwrap();
        // Whatever comes back (a TLS alert at most) is not an ack, and the connection ends.
        let mut reply = Vec::new();
        let _ = plain.read_to_end(&mut reply);
        assert_eq!(ack_of(&reply), None, "{reply:?}");
        assert_eq!(
            send_for_ack(
                &mut tls,
                &message_frame("app", 1_700_000_001, "tls after", Some("t2"))
            )
            .await,
            "t2"
        );
    });
    assert_eq!(wait_logs(&f, 2), ["tls before", "tls after"]);
    f.wait_for(
        "the plain connection counted",
        Duration::from_secs(5),
        || f.metric(FAILURES, "reason=\"not_tls\"") == 1.0,
    );
    assert!(f.log().contains("TLS handshake failed"), "{}", f.log());
}

#[test]
fn a_silent_client_is_closed_after_the_handshake_timeout_without_blocking_others() {
    let certs = TestCerts::new();
    let port = free_port();
    // One slot for the silent client, one for the good one: accepts must go on while it waits.
    let f = Firelane::start(&forward_to_file(
        port,
        &format!(
            "max_connections = 2\n{}",
            certs.server_toml("tls.handshake_timeout = \"2s\"\n")
        ),
    ));
    let opened = Instant::now();
    let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    runtime().block_on(async {
        let mut tls = our_client(port, &certs).await;
        let frame = message_frame("app", 1_700_000_000, "not held up", Some("k1"));
        assert_eq!(send_for_ack(&mut tls, &frame).await, "k1");
    });
    assert!(
        opened.elapsed() < Duration::from_secs(2),
        "the good client was served only after the silent one's timeout ({:?})",
        opened.elapsed()
    );
    let mut buf = [0u8; 64];
    let n = silent.read(&mut buf).unwrap_or(0);
    let closed_after = opened.elapsed();
    assert_eq!(n, 0, "the silent client got bytes: {:?}", &buf[..n]);
    assert!(
        closed_after >= Duration::from_millis(1800) && closed_after < Duration::from_secs(8),
        "closed after {closed_after:?}"
    );
    assert_eq!(wait_logs(&f, 1), ["not held up"]);
    f.wait_for("the timeout counted", Duration::from_secs(5), || {
        f.metric(FAILURES, "reason=\"timeout\"") == 1.0
    });
}

#[test]
fn validate_lists_a_missing_certificate_file_with_its_key() {
    let certs = TestCerts::new();
    let path = certs.dir.path().join("firelane.toml");
    std::fs::write(
        &path,
        format!(
            "[[inputs]]\nname = \"forward\"\ntls.enabled = true\ntls.crt_file = \"/nonexistent/server.crt\"\n\
             tls.key_file = \"{}\"\ntls.ca_file = \"{}\"\n\n[[outputs]]\nname = \"null\"\nmatch = \"*\"\n",
            s(&certs.server_key),
            s(&certs.server_crt).replace("server.crt", "missing-ca.pem"),
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_firelane"))
        .args(["validate", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    for want in [
        ": inputs[0].tls.crt_file: cannot read /nonexistent/server.crt: No such file",
        ": inputs[0].tls.ca_file: cannot read ",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn the_unix_socket_stays_plain_and_the_tcp_input_speaks_tls_too() {
    let certs = TestCerts::new();
    let (forward_port, tcp_port) = (free_port(), free_port());
    let f = Firelane::start(&format!(
        "{}\n[[inputs]]\nname = \"tcp\"\nlisten = \"127.0.0.1\"\nport = {tcp_port}\ntag = \"lines\"\n{}",
        forward_to_file(
            forward_port,
            &format!(
                "unix_path = \"{{dir}}/fluent.sock\"\n{}",
                certs.server_toml("")
            )
        ),
        certs.server_toml(""),
    ));
    let mut unix = std::os::unix::net::UnixStream::connect(f.path("fluent.sock")).unwrap();
    unix.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    unix.write_all(&message_frame(
        "app",
        1_700_000_000,
        "plain over unix",
        Some("u1"),
    ))
    .unwrap();
    assert_eq!(common::read_ack(&mut unix), "u1");
    wait_logs(&f, 1);

    runtime().block_on(async {
        let mut conn = our_client(tcp_port, &certs).await;
        conn.write_all(b"{\"log\":\"a json line over tls\"}\n")
            .await
            .unwrap();
        conn.shutdown().await.unwrap();
    });
    assert_eq!(
        wait_logs(&f, 2),
        ["plain over unix", "a json line over tls"]
    );
    // Plain text to the tcp input's TLS port is refused like the forward input's.
    let mut plain = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    plain.write_all(b"{\"log\":\"plain line\"}\n").unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = plain.read_to_end(&mut Vec::new());
    f.wait_for("the plain line counted", Duration::from_secs(5), || {
        f.metric(FAILURES, "reason=\"not_tls\"") == 1.0
    });
    assert_eq!(logs(&f).len(), 2);
}

#[test]
fn a_fluent_bit_config_with_tls_on_serves_tls() {
    let certs = TestCerts::new();
    let port = free_port();
    let f = Firelane::start_file(
        "fluent-bit.conf",
        &format!(
            "[SERVICE]\n    HTTP_Server On\n    HTTP_Port {{http_port}}\n\
             [INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port {port}\n    tls on\n    tls.verify off\n\
             \x20   tls.crt_file {}\n    tls.key_file {}\n    tls.ca_file {}\n\
             [OUTPUT]\n    Name file\n    Match *\n    Path {{dir}}\n    File out.log\n    Format plain\n",
            s(&certs.server_crt),
            s(&certs.server_key),
            s(&certs.ca),
        ),
        &[],
    );
    let frame = message_frame("app", 1_700_000_000, "fluent bit tls", Some("fb-1"));
    assert!(
        python_send(port, &certs, &frame, None).is_err(),
        "tls.ca_file requires a client certificate"
    );
    let reply = python_send(
        port,
        &certs,
        &frame,
        Some((&certs.client_crt, &certs.client_key)),
    )
    .unwrap();
    assert_eq!(ack_of(&reply).as_deref(), Some("fb-1"));
    assert_eq!(wait_logs(&f, 1), ["fluent bit tls"]);
}
