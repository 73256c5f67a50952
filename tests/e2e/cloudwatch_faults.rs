//! Failures moto cannot produce: a local endpoint answers PutLogEvents with throttling and 5xx
//! errors before accepting, and records what the real SDK sent (headers and events), so the
//! retry policy and the EMF header are checked on the wire.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::cw_endpoint::start_endpoint;
use common::{Firelane, free_port};

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
