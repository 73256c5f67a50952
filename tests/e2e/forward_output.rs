//! The forward output end to end: firelane A (forward input, `ack = "delivered"`) -> forward output
//! with acks -> firelane B (forward input -> file). Exactly once and in order when nothing fails;
//! round robin and failover over two upstreams; an aggregator killed and restarted mid-stream
//! loses nothing (duplicates allowed and counted); an upstream that never acks times out; with every
//! upstream down, A stops acking and reading (backpressure), drops nothing, then resumes; a spent
//! retry_limit drops counted; shutdown ends at the grace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::ledger::{
    Ledger, StreamSpec, delivered_ids, stream_acked, stream_across_an_aggregator_kill,
};
use common::{Firelane, RefusedPort, forward_frame, forward_to_file, free_port, try_read_ack};

/// Firelane A: forward input on `port` acking once delivered, forward output to `upstreams`.
fn sender_config(port: u16, upstreams: &[u16], extra_output: &str) -> String {
    let list: Vec<String> = upstreams
        .iter()
        .map(|p| format!("{{ host = \"127.0.0.1\", port = {p} }}"))
        .collect();
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
upstreams = [{}]
require_ack_response = true
connect_timeout = "2s"
{extra_output}
{timeout}
"#,
        list.join(", "),
        timeout = if extra_output.contains("ack_response_timeout") {
            ""
        } else {
            "ack_response_timeout = \"5s\""
        }
    )
}

/// Firelane B: forward input on `port` -> JSON lines in `out_dir/out.log` (a directory of the
/// test's, so a restarted B writes to the same file).
fn aggregator_config(port: u16, out_dir: &Path, extra_input: &str) -> String {
    forward_to_file(port, extra_input).replace("{dir}", &out_dir.display().to_string())
}

/// Streams `frames` frames of `per_frame` records (ids r0, r1, ...) to A, waiting for each ack.
fn send_frames(port: u16, frames: usize, per_frame: usize, pause: Duration) -> Ledger {
    let spec = StreamSpec {
        tag: "app",
        per_frame,
        pad: 0,
        pause,
    };
    let sent = Cell::new(0usize);
    stream_acked(port, &spec, || {
        let n = sent.get();
        sent.set(n + 1);
        n >= frames
    })
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

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("r{i}")).collect()
}

#[test]
fn records_arrive_exactly_once_and_in_order_with_acks_and_gzip() {
    let out = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let b = Firelane::start(&aggregator_config(pb, out.path(), "ack = \"delivered\""));
    let a = Firelane::start(&sender_config(pa, &[pb], "compress = \"gzip\""));
    let ledger = send_frames(pa, 40, 50, Duration::ZERO);
    assert_eq!(ledger.sent, 2000);
    assert_eq!(
        ledger.acked.len(),
        2000,
        "A acks each frame once B acked it"
    );
    let file = out.path().join("out.log");
    // Delivered before A acked: no waiting needed.
    assert_eq!(delivered_ids(&file), ids(0..2000));
    assert_eq!(
        b.metric("firelane_input_connections_total", ""),
        1.0,
        "one connection reused for every round"
    );
    assert!(a.metric("firelane_output_records_total", "forward_out.0") >= 2000.0);
    assert_eq!(a.metric("firelane_output_dropped_records_total", ""), 0.0);
}

#[test]
fn round_robin_spreads_rounds_over_both_upstreams() {
    let (out1, out2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (pa, p1, p2) = (free_port(), free_port(), free_port());
    let _b1 = Firelane::start(&aggregator_config(p1, out1.path(), "ack = \"delivered\""));
    let _b2 = Firelane::start(&aggregator_config(p2, out2.path(), "ack = \"delivered\""));
    let _a = Firelane::start(&sender_config(pa, &[p1, p2], ""));
    let ledger = send_frames(pa, 20, 10, Duration::from_millis(5));
    assert_eq!(ledger.acked.len(), 200);
    let first = delivered_ids(&out1.path().join("out.log"));
    let second = delivered_ids(&out2.path().join("out.log"));
    eprintln!(
        "round robin: upstream 1 got {}, upstream 2 got {}",
        first.len(),
        second.len()
    );
    assert!(!first.is_empty() && !second.is_empty());
    let mut all: Vec<String> = first.into_iter().chain(second).collect();
    all.sort_by_key(|id| id[1..].parse::<usize>().unwrap());
    assert_eq!(all, ids(0..200), "each record once");
}

#[test]
fn failover_skips_a_closed_port_and_sends_everything_to_the_next() {
    let out = tempfile::tempdir().unwrap();
    let refused = RefusedPort::new();
    let (pa, closed, pb) = (free_port(), refused.port, free_port());
    let _b = Firelane::start(&aggregator_config(pb, out.path(), "ack = \"delivered\""));
    let a = Firelane::start(&sender_config(pa, &[closed, pb], "balance = \"failover\""));
    let ledger = send_frames(pa, 20, 10, Duration::from_millis(5));
    assert_eq!(ledger.acked.len(), 200);
    assert_eq!(delivered_ids(&out.path().join("out.log")), ids(0..200));
    assert!(a.metric("firelane_output_retries_total", "connect_error") >= 1.0);
}

#[test]
fn aggregator_killed_and_restarted_mid_stream_loses_nothing() {
    let out = tempfile::tempdir().unwrap();
    let storage = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let b_config = format!(
        "[service]\nhttp_port = {{http_port}}\ngrace = \"5s\"\nstorage.path = \"{}\"\n{}",
        storage.path().display(),
        aggregator_config(
            pb,
            out.path(),
            "ack = \"durable\"\nstorage.type = \"filesystem\""
        )
    );
    let mut b = Firelane::start(&b_config);
    let a = Firelane::start(&sender_config(pa, &[pb], ""));
    let (report, _b2) = stream_across_an_aggregator_kill(
        pa,
        &out.path().join("out.log"),
        &mut b,
        || Firelane::start(&b_config),
        "forward output, aggregator SIGKILL + restart",
    );
    assert!(report.acked > 2000, "the stream went on across the restart");
    assert_eq!(report.lost, 0);
    assert_eq!(report.acked, report.sent, "A acked everything it was sent");
    assert_eq!(a.metric("firelane_output_dropped_records_total", ""), 0.0);
    assert!(a.metric("firelane_output_retries_total", "") >= 1.0);
}

#[test]
fn all_upstreams_down_stops_acks_drops_nothing_then_resumes() {
    let out = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let a = Firelane::start(&sender_config(pa, &[pb], ""));
    let mut conn = TcpStream::connect(("127.0.0.1", pa)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut chunks = Vec::new();
    for f in 0..5 {
        let chunk = format!("c{f}");
        conn.write_all(&forward_frame(
            "app",
            &ids(f * 10..f * 10 + 10),
            Some(&chunk),
        ))
        .unwrap();
        chunks.push(chunk);
    }
    assert_eq!(try_read_ack(&mut conn), None, "no ack while B is down");
    assert!(a.metric("firelane_output_retries_total", "") >= 1.0);
    assert_eq!(a.metric("firelane_output_dropped_records_total", ""), 0.0);
    assert_eq!(
        a.metric("firelane_output_records_total", "forward_out"),
        0.0
    );

    let _b = Firelane::start(&aggregator_config(pb, out.path(), "ack = \"delivered\""));
    conn.set_read_timeout(Some(Duration::from_secs(90)))
        .unwrap();
    let acks: Vec<String> = (0..5).map(|_| try_read_ack(&mut conn).unwrap()).collect();
    let mut acks_sorted = acks.clone();
    acks_sorted.sort();
    assert_eq!(acks_sorted, chunks, "every frame acked once B is up");
    let got = delivered_ids(&out.path().join("out.log"));
    let counts: HashMap<&str, usize> = got.iter().fold(HashMap::new(), |mut m, id| {
        *m.entry(id.as_str()).or_default() += 1;
        m
    });
    for id in ids(0..50) {
        assert!(counts.contains_key(id.as_str()), "{id} delivered");
    }
    assert_eq!(a.metric("firelane_output_dropped_records_total", ""), 0.0);
}

#[test]
fn a_spent_retry_limit_drops_counted_and_unacked() {
    let refused = RefusedPort::new();
    let (pa, closed) = (free_port(), refused.port);
    let a = Firelane::start(&sender_config(pa, &[closed], "retry_limit = 2"));
    let mut conn = TcpStream::connect(("127.0.0.1", pa)).unwrap();
    conn.write_all(&forward_frame("app", &ids(0..10), Some("c0")))
        .unwrap();
    a.wait_for("the round to be given up", Duration::from_secs(30), || {
        a.metric("firelane_output_dropped_records_total", "retries_exhausted") == 10.0
    });
    // First try + 2 retries, all refused.
    assert_eq!(
        a.metric("firelane_output_retries_total", "connect_error"),
        2.0
    );
    assert_eq!(a.metric("firelane_output_errors_total", "forward_out"), 3.0);
    conn.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert_eq!(
        try_read_ack(&mut conn),
        None,
        "a dropped frame is not acked"
    );
}

#[test]
fn shutdown_with_every_upstream_down_ends_at_the_grace_and_says_what_was_left() {
    let refused = RefusedPort::new();
    let (pa, closed) = (free_port(), refused.port);
    let config = format!(
        "[service]\nhttp_port = {{http_port}}\ngrace = \"2s\"\n{}",
        sender_config(pa, &[closed], "")
    );
    let mut a = Firelane::start(&config);
    let mut conn = TcpStream::connect(("127.0.0.1", pa)).unwrap();
    conn.write_all(&forward_frame("app", &ids(0..10), Some("c0")))
        .unwrap();
    a.wait_for("a failed attempt", Duration::from_secs(10), || {
        a.metric("firelane_output_retries_total", "") >= 1.0
    });
    let started = Instant::now();
    let code = a.terminate();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "exited after {took:?}");
    assert_ne!(code, 0, "an unfinished drain is an error exit");
    assert!(
        a.log().contains("output forward_out.0: still flushing"),
        "{}",
        a.log()
    );
}

#[test]
fn an_upstream_that_never_acks_times_out_and_the_frames_go_to_the_next() {
    let out = tempfile::tempdir().unwrap();
    // Accepts and reads everything, never answers.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_port = hung.local_addr().unwrap().port();
    let hung_bytes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        let hung_bytes = hung_bytes.clone();
        std::thread::spawn(move || {
            for conn in hung.incoming() {
                let Ok(mut conn) = conn else { return };
                let hung_bytes = hung_bytes.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = std::io::Read::read(&mut conn, &mut buf) {
                        if n == 0 {
                            return;
                        }
                        hung_bytes.fetch_add(n, Ordering::SeqCst);
                    }
                });
            }
        });
    }
    let (pa, pb) = (free_port(), free_port());
    let _b = Firelane::start(&aggregator_config(pb, out.path(), "ack = \"delivered\""));
    let a = Firelane::start(&sender_config(
        pa,
        &[hung_port, pb],
        "balance = \"failover\"\nack_response_timeout = \"1s\"",
    ));
    let ledger = send_frames(pa, 10, 10, Duration::ZERO);
    assert_eq!(ledger.acked.len(), 100);
    assert!(
        hung_bytes.load(Ordering::SeqCst) > 0,
        "the hung upstream was tried first"
    );
    assert_eq!(delivered_ids(&out.path().join("out.log")), ids(0..100));
    assert!(a.metric("firelane_output_retries_total", "reason=\"timeout\"") >= 1.0);
}

#[test]
fn without_acks_frames_count_once_written_and_the_tag_override_applies() {
    let out = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let b = Firelane::start(&aggregator_config(pb, out.path(), ""));
    let _a = Firelane::start(&format!(
        r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {pa}
ack = "delivered"

[[outputs]]
name = "forward"
match = "*"
port = {pb}
tag = "agg"
# Exercised only: the sent times are whole seconds already (unit tests cover the encoding).
time_as_integer = true
"#
    ));
    let ledger = send_frames(pa, 10, 10, Duration::ZERO);
    assert_eq!(ledger.acked.len(), 100);
    let file = out.path().join("out.log");
    wait_until("B to write 100 records", Duration::from_secs(20), || {
        delivered_ids(&file).len() >= 100
    });
    assert_eq!(delivered_ids(&file), ids(0..100));
    let lines = common::read_json_lines(&file);
    assert!(lines.iter().all(|v| v["tag"] == "agg"), "{:?}", lines[0]);
    assert_eq!(
        b.metric("firelane_input_acks_sent_total", ""),
        0.0,
        "no chunk ids sent without require_ack_response"
    );
}

#[test]
fn while_every_upstream_is_down_the_input_stops_reading_then_catches_up() {
    let out = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let a = Firelane::start(&sender_config(pa, &[pb], "").replace(
        "ack = \"delivered\"",
        "ack = \"delivered\"\nmem_buf_limit = \"1MiB\"",
    ));
    let pad = "p".repeat(1000);
    // 45 MB: well over what loopback socket buffers (a few MB each side) and the 1MiB budget hold.
    let frames = 400;
    let mut stream = Vec::new();
    for f in 0..frames {
        let logs: Vec<String> = (f * 100..f * 100 + 100)
            .map(|i| format!("r{i} {pad}"))
            .collect();
        stream.extend(forward_frame("app", &logs, Some(&format!("c{f}"))));
    }
    let mut conn = TcpStream::connect(("127.0.0.1", pa)).unwrap();
    conn.set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut written = 0;
    while written < stream.len() {
        match conn.write(&stream[written..]) {
            Ok(n) => written += n,
            Err(_) => break,
        }
    }
    eprintln!(
        "all upstreams down: the sender could write {written} of {} bytes",
        stream.len()
    );
    assert!(
        written < stream.len() / 2,
        "A kept reading: {written} bytes"
    );
    assert_eq!(a.metric("firelane_input_dropped_records_total", ""), 0.0);
    assert_eq!(a.metric("firelane_output_dropped_records_total", ""), 0.0);

    let _b = Firelane::start(&aggregator_config(pb, out.path(), "ack = \"delivered\""));
    conn.set_write_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    conn.write_all(&stream[written..]).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    for _ in 0..frames {
        assert!(try_read_ack(&mut conn).is_some(), "every frame acked");
    }
    let got: HashSet<String> = delivered_ids(&out.path().join("out.log"))
        .into_iter()
        .collect();
    assert_eq!(got.len(), frames * 100, "every record delivered");
}
