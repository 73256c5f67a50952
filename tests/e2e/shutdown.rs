//! Graceful shutdown: SIGTERM while a client streams with acks. Every acked record is in the
//! output after firelane exits 0; nothing is written twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::*;

#[test]
fn sigterm_mid_stream_loses_nothing_acked() {
    sigterm_mid_stream("");
}

/// Filters run on the filter stage's threads, a batch behind the connection that decodes:
/// SIGTERM must still find every acked record written, once and in order.
#[test]
fn sigterm_mid_stream_through_filters_loses_nothing_acked() {
    let lines = sigterm_mid_stream(
        r#"
[[filters]]
name = "record_modifier"
match = "*"
record = ["stage yes"]

[[filters]]
name = "grep"
match = "*"
exclude = "log ^x"
"#,
    );
    assert!(lines.iter().all(|l| l["stage"] == "yes"));
}

/// Streams acked frames over one connection, SIGTERMs firelane, and checks every acked record
/// was written once, in the order sent. Returns the written records.
fn sigterm_mid_stream(filters: &str) -> Vec<serde_json::Value> {
    let port = free_port();
    let mut fl = Firelane::start(&format!("{}{filters}", forward_to_file(port, "")));
    let sender = std::thread::spawn(move || {
        let mut acked = Vec::new();
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            return acked;
        };
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut next = 0usize;
        'outer: loop {
            // A window of 50 frames, each with its own chunk id, then their acks.
            let mut buf = Vec::new();
            for i in next..next + 50 {
                buf.extend(message_frame(
                    "sd",
                    1_700_000_000,
                    &i.to_string(),
                    Some(&i.to_string()),
                ));
            }
            if s.write_all(&buf).is_err() {
                break;
            }
            for _ in 0..50 {
                match try_read_ack(&mut s) {
                    Some(id) => acked.push(id.parse::<usize>().unwrap()),
                    None => break 'outer,
                }
            }
            next += 50;
        }
        acked
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(fl.terminate(), 0, "clean exit after draining\n{}", fl.log());
    let acked = sender.join().unwrap();
    assert!(
        acked.len() >= 50,
        "the stream was flowing before SIGTERM ({} acked)",
        acked.len()
    );

    let lines = read_json_lines(&fl.path("out.log"));
    let mut written = HashSet::new();
    let mut last = None;
    for l in &lines {
        let i: usize = l["log"].as_str().unwrap().parse().unwrap();
        assert!(written.insert(i), "record {i} written twice");
        assert!(last < Some(i), "record {i} written after {last:?}");
        last = Some(i);
    }
    let lost: Vec<_> = acked.iter().filter(|i| !written.contains(i)).collect();
    assert!(
        lost.is_empty(),
        "{} acked records lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    lines
}
