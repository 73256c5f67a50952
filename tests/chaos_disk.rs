//! Disk buffer fault tests. 4: SIGKILL in the middle of a stream with `storage.type =
//! "filesystem"` and durable acks, then a restart: every acked record is delivered (duplicates
//! allowed: at-least-once). 7: the buffer's files damaged while firelane is down (a torn tail, a
//! flipped byte in the middle): start-up recovers, counts and logs it, and delivers everything
//! the damage did not touch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::ledger::{Ledger, StreamSpec, stream_acked};
use common::moto::Moto;
use common::{Firelane, RefusedPort, forward_frame_at, free_port, recent_secs, try_read_ack};

const GROUP: &str = "/firelane/disk";

fn config(port: u16, storage: &Path, endpoint: &str) -> String {
    format!(
        r#"
[service]
http_port = {{http_port}}
grace = "5s"
storage.path = "{storage}"

[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
ack = "durable"
storage.type = "filesystem"

[[outputs]]
name = "cloudwatch_logs"
match = "*"
endpoint = "{endpoint}"
log_group_name = "{GROUP}"
log_stream_prefix = "d/"
auto_create_group = true
flush = "1s"
"#,
        storage = storage.display()
    )
}

/// Streams frames of 100 records (ids `r<i>`) until told to stop or the connection fails.
fn stream(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Ledger> {
    std::thread::spawn(move || {
        let spec = StreamSpec {
            tag: "disk",
            per_frame: 100,
            pad: 0,
            pause: Duration::ZERO,
        };
        stream_acked(port, &spec, || stop.load(Ordering::SeqCst))
    })
}

fn delivered(moto: &Moto) -> Vec<String> {
    moto.logs()
        .events(GROUP, "d/disk")
        .into_iter()
        .map(|(_, m)| {
            let v: serde_json::Value = serde_json::from_str(&m).unwrap();
            v["log"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn sigkill_mid_stream_then_restart_delivers_every_durably_acked_record() {
    let moto = Moto::start();
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = config(port, storage.path(), &moto.endpoint());
    let mut first = Firelane::start_env(&cfg, Stdio::null(), &moto.env());
    let stop = Arc::new(AtomicBool::new(false));
    let sender = stream(port, stop.clone());
    first.wait_for("a stream in full flow", Duration::from_secs(30), || {
        first.metric("firelane_input_records_total", "forward.0") >= 20_000.0
            && first.metric("firelane_output_records_total", "cloudwatch_logs.0") >= 10_000.0
    });
    // Past a checkpoint save (every 500 ms), so the restart replays only part of the stream.
    std::thread::sleep(Duration::from_millis(1200));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    let mut ledger = sender.join().unwrap();
    assert!(ledger.acked.len() >= 20_000);

    let second = Firelane::start_env(&cfg, Stdio::null(), &moto.env());
    let acked = ledger.acked.clone();
    second.wait_for(
        "every acked record in CloudWatch",
        Duration::from_secs(120),
        || {
            let got: std::collections::HashSet<String> = delivered(&moto).into_iter().collect();
            acked.iter().all(|id| got.contains(id))
        },
    );
    let ids = delivered(&moto);
    ledger.deliver(ids.iter().map(String::as_str));
    let report = ledger.report("sigkill with disk buffer, restart");
    assert_eq!(report.lost, 0);
    let replayed = second.metric("firelane_storage_replayed_records_total", "forward.0");
    eprintln!("replayed after restart: {replayed}");
    assert!(
        replayed < report.sent as f64,
        "the checkpoint spared the restart what was delivered before it"
    );
}

#[test]
fn a_damaged_buffer_is_recovered_at_start_and_the_rest_delivered() {
    let moto = Moto::start();
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    // First run: the destination is unreachable, so every acked batch stays in the buffer.
    let refused = RefusedPort::new();
    let dead = format!("http://127.0.0.1:{}", refused.port);
    let mut first = Firelane::start_env(
        &config(port, storage.path(), &dead),
        Stdio::null(),
        &moto.env(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let sender = stream(port, stop.clone());
    first.wait_for("50 frames acked", Duration::from_secs(30), || {
        first.metric("firelane_input_records_total", "forward.0") >= 5_000.0
    });
    stop.store(true, Ordering::SeqCst);
    let mut ledger = sender.join().unwrap();
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    // Damage while firelane is down: a flipped byte in the middle of the oldest segment, and a
    // torn write at the end of the newest.
    let dir = storage.path().join("forward.0");
    let mut segments: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    segments.sort();
    assert!(!segments.is_empty(), "the buffer holds segments");
    let mut bytes = std::fs::read(&segments[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&segments[0], &bytes).unwrap();
    let last = segments.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(len - 10)
        .unwrap();

    let second = Firelane::start_env(
        &config(port, storage.path(), &moto.endpoint()),
        Stdio::null(),
        &moto.env(),
    );
    let acked = ledger.acked.len();
    second.wait_for(
        "the undamaged records in CloudWatch",
        Duration::from_secs(120),
        || delivered(&moto).len() + 200 >= acked,
    );
    // Everything replayed has been delivered (nothing still on its way to moto).
    second.wait_for("the replay delivered", Duration::from_secs(60), || {
        let replayed = second.metric("firelane_storage_replayed_records_total", "forward.0");
        let sent = second.metric("firelane_output_records_total", "cloudwatch_logs.0");
        sent >= replayed && delivered(&moto).len() as f64 >= sent
    });
    let ids = delivered(&moto);
    ledger.deliver(ids.iter().map(String::as_str));
    let report = ledger.report("damaged disk buffer at start");
    let torn = second.metric("firelane_storage_torn_bytes_total", "forward.0");
    let corrupt = second.metric("firelane_storage_corrupt_records_total", "forward.0");
    eprintln!("recovery: torn bytes {torn}, corrupt records skipped {corrupt}");
    assert!(
        torn > 0.0 && corrupt > 0.0,
        "both kinds of damage were found and counted"
    );
    assert!(
        report.lost > 0 && report.lost <= 200,
        "only the two damaged frames (100 records each) are lost: {report:?}"
    );
    assert_eq!(report.duplicated, 0);
    let log = second.log();
    assert!(
        log.contains("damaged record") && log.contains("torn write"),
        "{log}"
    );
}

/// With the destination down, a backlog many times the memory budget waits on disk while memory
/// stays within the budget plus the usual overhead.
#[test]
fn a_large_backlog_waits_on_disk_with_memory_bounded() {
    let moto = Moto::start();
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    let refused = RefusedPort::new();
    let dead = format!("http://127.0.0.1:{}", refused.port);
    let cfg = config(port, storage.path(), &dead).replace(
        "ack = \"durable\"",
        "ack = \"accepted\"\nmem_buf_limit = \"8MiB\"",
    );
    let fl = Firelane::start_env(&cfg, Stdio::null(), &moto.env());
    std::thread::sleep(Duration::from_millis(300));
    let idle = fl.rss_bytes();
    let sender = std::thread::spawn(move || {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let pad = "z".repeat(400);
        let secs = recent_secs();
        for f in 0..2_000usize {
            let ids: Vec<String> = (f * 100..(f + 1) * 100)
                .map(|i| format!("{i} {pad}"))
                .collect();
            let chunk = format!("c{f}");
            conn.write_all(&forward_frame_at("disk", &ids, Some(&chunk), secs))
                .unwrap();
            assert_eq!(try_read_ack(&mut conn).as_deref(), Some(chunk.as_str()));
        }
    });
    let mut peak = idle;
    while !sender.is_finished() {
        peak = peak.max(fl.rss_bytes());
        std::thread::sleep(Duration::from_millis(100));
    }
    sender.join().unwrap();
    let on_disk = fl.metric("firelane_storage_bytes", "forward.0");
    let mib = |b: f64| b / (1024.0 * 1024.0);
    eprintln!(
        "backlog on disk {:.0} MiB; rss idle {:.1} MiB, peak {:.1} MiB (budget 8 MiB)",
        mib(on_disk),
        mib(idle as f64),
        mib(peak as f64)
    );
    assert!(
        on_disk > 80.0 * 1024.0 * 1024.0,
        "the backlog is on disk: {on_disk}"
    );
    assert!(
        peak <= idle + 48 * 1024 * 1024,
        "memory bounded while {:.0} MiB wait on disk: peak {:.1} MiB, idle {:.1} MiB",
        mib(on_disk),
        mib(peak as f64),
        mib(idle as f64)
    );
}
