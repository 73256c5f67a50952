//! Backpressure: a blocked output makes the sender block (TCP flow control), memory stays within
//! the budget, and once the output unblocks every record arrives exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;

const RECORDS: usize = 60_000;

fn padded_messages(first: usize, n: usize) -> Vec<u8> {
    let pad = "x".repeat(300);
    (first..first + n)
        .flat_map(|i| message_frame("bp", 1_700_000_000, &format!("{i} {pad}"), None))
        .collect()
}

#[test]
fn blocked_output_blocks_the_sender_within_budget_then_loses_nothing() {
    blocked_output_case(RECORDS, true, "", padded_messages);
}

/// With filters, the connection decodes a batch ahead of its task on the filter stage: the
/// sender must still be held back within the budget, and nothing lost.
#[test]
fn blocked_output_blocks_the_sender_through_the_filter_stage_too() {
    let filters =
        "[[filters]]\nname = \"record_modifier\"\nmatch = \"*\"\nrecord = [\"via stage\"]\n";
    blocked_output_case(RECORDS, true, filters, padded_messages);
}

/// Gzip payloads are charged at their decompressed size: the records keep the decompressed bytes
/// alive. These 3 KB records compress to a few dozen bytes, so a budget counting received bytes
/// (plus the event list) would let some 30 times the budget into memory. The compressed stream (a few MB) fits in the kernel's socket buffers, so
/// the sender is not necessarily blocked; firelane's memory is what must stay bounded.
#[test]
fn compressed_payloads_are_charged_at_their_decompressed_size() {
    blocked_output_case(20_000, false, "", |first, n| {
        let pad = "x".repeat(3000);
        let logs: Vec<String> = (first..first + n).map(|i| format!("{i} {pad}")).collect();
        packed_frame("bp", &logs, None, true)
    });
}

/// Sends `records` records (ids 0..) as `frames(first, n)` chunks of 100 into firelane whose stdout
/// output is blocked; checks the sender blocks (if `sender_blocks`), memory stays within the 1 MiB
/// budget, then that every record arrives once after unblocking.
fn blocked_output_case(
    records: usize,
    sender_blocks: bool,
    filters: &str,
    frames: fn(usize, usize) -> Vec<u8>,
) {
    let port = free_port();
    // stdout is a pipe nobody reads yet: the stdout output blocks once the pipe is full.
    let mut fl = Firelane::start_with(
        &format!(
            r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
mem_buf_limit = "1MiB"
buffer_chunk_size = "64KiB"

[[outputs]]
name = "stdout"
match = "*"

{filters}
"#
        ),
        Stdio::piped(),
    );
    let stdout = fl.child.stdout.take().unwrap();
    let idle_rss = fl.rss_bytes();

    let written = Arc::new(AtomicUsize::new(0));
    let sender = {
        let written = written.clone();
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            for first in (0..records).step_by(100) {
                let buf = frames(first, 100);
                s.write_all(&buf).unwrap();
                written.fetch_add(100, Ordering::SeqCst);
            }
        })
    };

    // Wait until the sender stops making progress: it is blocked by TCP flow control.
    let mut last = usize::MAX;
    loop {
        std::thread::sleep(Duration::from_millis(700));
        let now = written.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
    }
    if sender_blocks {
        assert!(
            !sender.is_finished(),
            "the sender must be blocked while the output is"
        );
        assert!(
            last < records,
            "sender got {last} of {records} records through"
        );
    }
    let in_flight = fl.metric("firelane_input_buffer_bytes", "forward.0");
    assert!(
        in_flight <= 1024.0 * 1024.0,
        "budget respected: {in_flight} bytes in flight"
    );
    let rss = fl.rss_bytes();
    assert!(
        rss < idle_rss + 24 * 1024 * 1024,
        "memory bounded while blocked: rss {rss} vs idle {idle_rss}"
    );

    // Unblock: read every line.
    let reader = std::thread::spawn(move || {
        let mut seen = vec![false; records];
        let mut lines = 0;
        for line in BufReader::new(stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            let i: usize = v["log"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(!seen[i], "record {i} duplicated");
            seen[i] = true;
            lines += 1;
            if lines == records {
                break;
            }
        }
        seen.iter().filter(|s| **s).count()
    });
    sender.join().unwrap();
    assert_eq!(
        reader.join().unwrap(),
        records,
        "every record arrives after unblocking"
    );
    assert_eq!(
        fl.metric("firelane_input_dropped_records_total", "forward.0"),
        0.0
    );
}

/// The relief valve: with `overflow_timeout`, a blocked output holds the sender up for at most
/// about that long per batch; what waited too long is dropped and counted, the rest arrives once.
#[test]
fn overflow_timeout_drops_what_waited_too_long_and_keeps_reading() {
    const N: usize = 20_000;
    let port = free_port();
    let mut fl = Firelane::start_with(
        &format!(
            r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
mem_buf_limit = "1MiB"
buffer_chunk_size = "512KiB"
overflow_timeout = "200ms"

[[outputs]]
name = "stdout"
match = "*"
"#
        ),
        Stdio::piped(),
    );
    let stdout = fl.child.stdout.take().unwrap();
    let sender = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let pad = "x".repeat(300);
        let mut buf = Vec::new();
        for i in 0..N {
            buf.extend(message_frame(
                "rv",
                1_700_000_000,
                &format!("{i} {pad}"),
                None,
            ));
        }
        s.write_all(&buf).unwrap();
    });
    // Nobody reads stdout: without the valve the sender would stay blocked (see the test above).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !sender.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the sender is still blocked: the relief valve did not open"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    sender.join().unwrap();
    let accepted = || fl.metric("firelane_input_records_total", "forward.0");
    let dropped = || {
        fl.metric(
            "firelane_input_dropped_records_total",
            "reason=\"block_timeout\"",
        )
    };
    fl.wait_for(
        "every record accepted or dropped",
        Duration::from_secs(30),
        || accepted() + dropped() == N as f64,
    );
    let dropped = dropped() as usize;
    assert!(
        dropped > 0,
        "the budget stayed full: some batches must have timed out"
    );
    let expected = N - dropped;
    let mut seen = vec![false; N];
    for line in BufReader::new(stdout).lines().take(expected) {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let i: usize = v["log"]
            .as_str()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(!seen[i], "record {i} duplicated");
        seen[i] = true;
    }
    assert_eq!(
        seen.iter().filter(|s| **s).count(),
        expected,
        "every accepted record once"
    );
    assert_eq!(
        fl.metric(
            "firelane_input_dropped_records_total",
            "reason=\"buffer_full\""
        ),
        0.0
    );
}
