//! firelane started as `curl` and `nc` (argv[0], as the image's links start it): exit codes,
//! output and refusals against real sockets. tests/e2e/image_rootfs.rs runs them inside the image.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::RefusedPort;

fn applet(name: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firelane"))
        .arg0(name)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The applet may exit without reading stdin (a refused connection): EPIPE is not a failure.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads an HTTP request head (up to the blank line).
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap() == 1 {
        head.push(byte[0]);
    }
    text(&head)
}

/// A server that answers one connection with `response` after reading the request head, and
/// returns what it read.
fn http_once(response: &'static str) -> (u16, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let head = read_head(&mut s);
        s.write_all(response.as_bytes()).unwrap();
        head
    });
    (port, handle)
}

#[test]
fn curl_gets_the_body_and_follows_curls_exit_codes() {
    let (port, server) = http_once(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n2\r\nhi\r\n0\r\n\r\n",
    );
    let out = applet(
        "curl",
        &["-f", &format!("http://127.0.0.1:{port}/api/v1/health")],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ok\nhi");
    let head = server.join().unwrap();
    assert!(
        head.starts_with("GET /api/v1/health HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.to_lowercase()
            .contains(&format!("host: 127.0.0.1:{port}")),
        "{head}"
    );

    // An error status: without -f the body, exit 0; with -f exit 22 and no body.
    let error = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\n\r\nerror\n";
    let (port, _) = http_once(error);
    let out = applet("curl", &[&format!("127.0.0.1:{port}/api/v1/health")], b"");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "error\n".into())
    );
    let (port, _) = http_once(error);
    let out = applet("curl", &["-f", &format!("http://127.0.0.1:{port}/")], b"");
    assert_eq!(out.status.code(), Some(22));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "curl: (22) The requested URL returned error: 500\n"
    );
    let (port, _) = http_once(error);
    let out = applet("curl", &["-fs", &format!("http://127.0.0.1:{port}/")], b"");
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (Some(22), String::new())
    );
    let (port, _) = http_once(error);
    let out = applet("curl", &["-fsS", &format!("http://127.0.0.1:{port}/")], b"");
    assert_eq!(out.status.code(), Some(22));
    assert!(text(&out.stderr).contains("(22)"));

    // -o FILE takes the body.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body");
    let (port, _) = http_once("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    let out = applet(
        "curl",
        &[
            "-sSo",
            file.to_str().unwrap(),
            &format!("http://127.0.0.1:{port}/"),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        (text(&out.stdout), std::fs::read_to_string(&file).unwrap()),
        ("".into(), "abc".into())
    );
}

#[test]
fn curl_fails_as_curl_does_when_the_server_does_not_answer() {
    let refused = RefusedPort::new();
    let out = applet(
        "curl",
        &["-f", &format!("http://127.0.0.1:{}/", refused.port)],
        b"",
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));

    // Accepts, never answers: -m ends it with 28.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let started = Instant::now();
    let out = applet(
        "curl",
        &["-sf", "-m", "0.5", &format!("127.0.0.1:{port}/")],
        b"",
    );
    assert_eq!(out.status.code(), Some(28));
    assert!(started.elapsed() < Duration::from_secs(5));

    // Reads the request, closes without a response.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let closer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        read_head(&mut s);
    });
    let out = applet("curl", &["-f", &format!("http://127.0.0.1:{port}/")], b"");
    closer.join().unwrap();
    assert_eq!(out.status.code(), Some(52), "{}", text(&out.stderr));
}

#[test]
fn curl_and_nc_refuse_what_they_do_not_do() {
    for (name, args, word) in [
        ("curl", &["-L", "http://127.0.0.1:1/"][..], "-L"),
        (
            "curl",
            &["--retry", "3", "http://127.0.0.1:1/"][..],
            "--retry",
        ),
        ("nc", &["-l", "-p", "8877"][..], "-l"),
        ("nc", &["-u", "127.0.0.1", "8877"][..], "-u"),
    ] {
        let out = applet(name, args, b"");
        assert_eq!(out.status.code(), Some(2), "{name} {args:?}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!("{name}: option {word} is not supported")),
            "{err}"
        );
    }
    let out = applet("curl", &["https://127.0.0.1:1/"], b"");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn nc_sends_stdin_and_prints_what_the_server_sends_until_it_closes() {
    // As a tcp input: read to the end, then close (here, with a reply first).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(b"bye\n").unwrap();
        got
    });
    let out = applet(
        "nc",
        &["127.0.0.1", &port.to_string()],
        b"{\"health\": \"check\"}\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "bye\n");
    assert_eq!(server.join().unwrap(), b"{\"health\": \"check\"}\n");

    let refused = RefusedPort::new();
    let out = applet("nc", &["127.0.0.1", &refused.port.to_string()], b"x\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot connect"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn nc_z_only_connects_and_w_bounds_the_wait() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = applet(
        "nc",
        &["-zv", "-w", "2", "127.0.0.1", &port.to_string()],
        b"not sent",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (mut s, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"", "-z sends nothing");

    // Accepts, reads, never closes: -w 1 gives up with exit 1.
    let port = listener.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_secs(4));
        drop(s);
    });
    let started = Instant::now();
    let out = applet("nc", &["-w", "1", "127.0.0.1", &port.to_string()], b"x\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(text(&out.stderr).contains("-w"), "{}", text(&out.stderr));
    hold.join().unwrap();
}
