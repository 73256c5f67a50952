//! Fault test 5: the output is far slower than the input for a minute (a CloudWatch endpoint that
//! takes 300 ms over every PutLogEvents, against a sender that never waits). With
//! `overflow = "block"` the sender is slowed by TCP flow control, peak RSS stays within the input's
//! budget plus the documented overhead, and every acked record arrives once.
//! `CHAOS_SECS` sets how long the stream runs (default 30 in the suite; e.g. `CHAOS_SECS=300` for
//! minutes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::cw_endpoint::start_endpoint_with;
use common::ledger::{StreamSpec, id_of, stream_acked};
use common::{Firelane, free_port};

const BUDGET_MIB: u64 = 8;
/// What firelane may hold beyond the input budget in this (debug) build, where ~30 MiB was measured
/// (60 s run: idle 30.7 MiB, peak 68.7 MiB with an 8 MiB budget): read buffers, the
/// request being built and signed (at most 1 MiB of events, JSON-encoded, and the SDK's copies),
/// the allocator's per-thread arenas (docs/guide/delivery.md).
const OVERHEAD_MIB: u64 = 40;

#[test]
fn a_ten_times_slower_output_keeps_memory_bounded_and_loses_nothing() {
    let secs: u64 = std::env::var("CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let (cw_port, seen) = start_endpoint_with(0, 0, Duration::from_millis(300));
    let port = free_port();
    let fl = Firelane::start_env(
        &format!(
            r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
mem_buf_limit = "{BUDGET_MIB}MiB"

[[outputs]]
name = "cloudwatch_logs"
match = "*"
region = "us-east-1"
endpoint = "http://127.0.0.1:{cw_port}"
log_group_name = "slow"
log_stream_name = "slow"
flush = "200ms"
"#
        ),
        Stdio::null(),
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDTEST".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let idle = fl.rss_bytes();
    let done = Arc::new(AtomicBool::new(false));
    let stop_at = Instant::now() + Duration::from_secs(secs);
    let sender = {
        let done = done.clone();
        std::thread::spawn(move || {
            let spec = StreamSpec {
                tag: "slow",
                per_frame: 100,
                pad: 150,
                pause: Duration::ZERO,
            };
            let ledger = stream_acked(port, &spec, || Instant::now() >= stop_at);
            done.store(true, Ordering::SeqCst);
            ledger
        })
    };
    // RSS in the first and the second half of the stream: bounded means no growth. Medians, not
    // peaks: the allocator gives freed pages back within about a second (src/memory/allocator.rs),
    // so one sample's peak moves by what a second of traffic frees; a leak moves the median.
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let half = stop_at - Duration::from_secs(secs / 2);
    while !done.load(Ordering::SeqCst) {
        let rss = fl.rss_bytes();
        if Instant::now() < half {
            first.push(rss);
        } else {
            second.push(rss);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let median = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(idle)
    };
    let mut peak = first.iter().chain(&second).copied().max().unwrap_or(idle);
    let (first_half, second_half) = (median(&mut first), median(&mut second));
    let mut ledger = sender.join().unwrap();
    let acked = ledger.acked.len();
    let started = Instant::now();
    fl.wait_for(
        "every acked record at the endpoint",
        Duration::from_secs(180),
        || {
            peak = peak.max(fl.rss_bytes());
            seen.lock().unwrap().accepted.len() >= acked
        },
    );
    let drain = started.elapsed();
    let messages: Vec<String> = seen
        .lock()
        .unwrap()
        .accepted
        .iter()
        .map(|m| {
            let v: serde_json::Value = serde_json::from_str(m).unwrap();
            id_of(v["log"].as_str().unwrap()).to_owned()
        })
        .collect();
    ledger.deliver(messages.iter().map(String::as_str));
    let report = ledger.report("output 10x slower, overflow block");
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    eprintln!(
        "rss idle {:.1} MiB, peak {:.1} MiB (median of the first half {:.1}, of the second {:.1}; budget {BUDGET_MIB} MiB); {} records in {secs} s ({:.0}/s), backlog drained in {drain:?}",
        mib(idle),
        mib(peak),
        mib(first_half),
        mib(second_half),
        report.acked,
        report.acked as f64 / secs as f64
    );
    assert!(
        second_half <= first_half + 4 * 1024 * 1024,
        "memory grew while the output stayed slow"
    );
    assert_eq!(report.lost, 0);
    assert_eq!(report.duplicated, 0);
    assert!(
        peak <= idle + (BUDGET_MIB + OVERHEAD_MIB) * 1024 * 1024,
        "peak rss {:.1} MiB over idle {:.1} MiB + budget + overhead",
        mib(peak),
        mib(idle)
    );
}
