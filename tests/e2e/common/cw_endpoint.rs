//! A local CloudWatch Logs endpoint for failures moto cannot produce: it throttles or fails a
//! number of PutLogEvents before accepting, can take its time over each, and records what the
//! real SDK sent (messages and the `x-amzn-logs-format` header).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the endpoint saw, and how many failures it still has to give.
#[derive(Default)]
pub struct Seen {
    /// Messages of accepted PutLogEvents, in arrival order.
    pub accepted: Vec<String>,
    /// `x-amzn-logs-format` of every PutLogEvents (None when absent).
    pub formats: Vec<Option<String>>,
    throttles_left: usize,
    server_errors_left: usize,
    pub rejected_calls: usize,
    /// Time every PutLogEvents takes before its answer (a slow destination).
    delay: Duration,
}

/// An endpoint that throttles the first `throttles` PutLogEvents, fails the next `server_errors`
/// with 500, then accepts.
pub fn start_endpoint(throttles: usize, server_errors: usize) -> (u16, Arc<Mutex<Seen>>) {
    start_endpoint_with(throttles, server_errors, Duration::ZERO)
}

/// [`start_endpoint`] whose every PutLogEvents takes `delay`.
pub fn start_endpoint_with(
    throttles: usize,
    server_errors: usize,
    delay: Duration,
) -> (u16, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen {
        throttles_left: throttles,
        server_errors_left: server_errors,
        delay,
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
        let delay = seen.lock().unwrap().delay;
        if target.ends_with("PutLogEvents") && !delay.is_zero() {
            std::thread::sleep(delay);
        }
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
