//! Failures moto cannot produce: a local endpoint answers PutLogEvents with throttling and 5xx
//! errors before accepting, and records what the real SDK sent (headers and events), so the
//! retry policy and the EMF header are checked on the wire.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Firelane, free_port};

/// What the endpoint saw, and how many failures it still has to give.
#[derive(Default)]
struct Seen {
    /// Messages of accepted PutLogEvents, in arrival order.
    accepted: Vec<String>,
    /// `x-amzn-logs-format` of every PutLogEvents (None when absent).
    formats: Vec<Option<String>>,
    throttles_left: usize,
    server_errors_left: usize,
    rejected_calls: usize,
}

fn start_endpoint(throttles: usize, server_errors: usize) -> (u16, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen {
        throttles_left: throttles,
        server_errors_left: server_errors,
        ..Seen::default()
    }));
    let s = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let s = s.clone();
            std::thread::spawn(move || serve(conn, &s));
        }
    });
    (port, seen)
}

fn serve(conn: TcpStream, seen: &Mutex<Seen>) {
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    loop {
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let len: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let target = header("x-amz-target").unwrap_or_default();
        let (status, error) = {
            let mut s = seen.lock().unwrap();
            if !target.ends_with("PutLogEvents") {
                (200, None)
            } else {
                s.formats.push(header("x-amzn-logs-format"));
                if s.throttles_left > 0 {
                    s.throttles_left -= 1;
                    s.rejected_calls += 1;
                    (400, Some(("ThrottlingException", "Rate exceeded")))
                } else if s.server_errors_left > 0 {
                    s.server_errors_left -= 1;
                    s.rejected_calls += 1;
                    (500, Some(("ServiceUnavailableException", "try again")))
                } else {
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    for e in v["logEvents"].as_array().unwrap() {
                        s.accepted.push(e["message"].as_str().unwrap().to_owned());
                    }
                    (200, None)
                }
            }
        };
        let body = match error {
            Some((code, message)) => format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
            None => "{}".to_owned(),
        };
        let code_header =
            error.map_or(String::new(), |(c, _)| format!("x-amzn-ErrorType: {c}\r\n"));
        let reply = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\n{code_header}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn message_frame(tag: &str, log: &str) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 3).unwrap();
    rmp::encode::write_str(&mut out, tag).unwrap();
    rmp::encode::write_uint(&mut out, now).unwrap();
    rmp::encode::write_map_len(&mut out, 1).unwrap();
    rmp::encode::write_str(&mut out, "log").unwrap();
    rmp::encode::write_str(&mut out, log).unwrap();
    out
}

#[test]
fn throttling_and_server_errors_are_retried_without_loss_and_emf_is_sent() {
    let (cw_port, seen) = start_endpoint(3, 2);
    let port = free_port();
    let config = format!(
        r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}

[[outputs]]
name = "cloudwatch_logs"
match = "*"
region = "us-east-1"
endpoint = "http://127.0.0.1:{cw_port}"
log_group_name = "g"
log_stream_name = "s"
log_key = "log"
log_format = "json/emf"
flush = "100ms"
"#
    );
    let envs = [
        ("AWS_ACCESS_KEY_ID", "AKIDTEST".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    let fl = Firelane::start_env(&config, Stdio::null(), &envs);
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for i in 0..200 {
        conn.write_all(&message_frame("t", &format!("{{\"n\":{i}}}")))
            .unwrap();
        if i % 50 == 49 {
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    fl.wait_for("every event accepted", Duration::from_secs(60), || {
        seen.lock().unwrap().accepted.len() >= 200
    });
    let s = seen.lock().unwrap();
    // Requests in flight at once may be accepted in any order (CloudWatch orders by timestamp).
    let mut got = s.accepted.clone();
    got.sort();
    let mut want: Vec<String> = (0..200).map(|i| format!("{{\"n\":{i}}}")).collect();
    want.sort();
    assert_eq!(got, want, "each event exactly once");
    assert_eq!(s.rejected_calls, 5);
    assert!(
        s.formats.iter().all(|f| f.as_deref() == Some("json/emf")),
        "{:?}",
        s.formats
    );
    assert_eq!(fl.metric("firelane_output_throttled_total", ""), 3.0);
    assert_eq!(
        fl.metric("firelane_output_retries_total", "reason=\"transient\""),
        2.0
    );
    assert_eq!(fl.metric("firelane_output_dropped_records_total", ""), 0.0);
    assert_eq!(
        fl.metric("firelane_output_records_total", "cloudwatch_logs.0"),
        200.0
    );
}

#[test]
fn an_output_still_retrying_when_the_grace_period_ends_gets_no_ack_sent() {
    // Every PutLogEvents fails with a 500, forever.
    let (cw_port, seen) = start_endpoint(0, usize::MAX);
    let port = free_port();
    let config = format!(
        r#"[service]
http_port = {{http_port}}
grace = "2s"

[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
ack = "delivered"

[[outputs]]
name = "cloudwatch_logs"
match = "*"
region = "us-east-1"
endpoint = "http://127.0.0.1:{cw_port}"
log_group_name = "g"
log_stream_name = "s"
flush = "100ms"
"#
    );
    let envs = [
        ("AWS_ACCESS_KEY_ID", "AKIDTEST".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    let mut fl = Firelane::start_env(&config, Stdio::null(), &envs);
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    conn.write_all(&common::message_frame("t", now, "stuck", Some("c1")))
        .unwrap();
    fl.wait_for("failing puts", Duration::from_secs(20), || {
        seen.lock().unwrap().rejected_calls >= 2
    });
    assert_eq!(fl.terminate(), 1, "the stuck output is reported");
    assert!(fl.log().contains("did not finish"), "{}", fl.log());
    // The connection ends without an ack: the client keeps the chunk and resends it.
    assert_eq!(common::try_read_ack(&mut conn), None);
}
