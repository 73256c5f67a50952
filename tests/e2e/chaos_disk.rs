//! Disk buffer fault tests. 4: SIGKILL in the middle of a stream with `storage.type =
//! "filesystem"` and durable acks, then a restart: every acked record is delivered (duplicates
//! allowed: at-least-once). 7: the buffer's files damaged while firelane is down (a complete
//! segment cut short, 16 bytes inverted in the middle): start-up recovers, reports exactly how many
//! acked records were lost (counted from record numbers), and delivers everything else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

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
fn a_damaged_buffer_is_recovered_at_start_and_reports_exactly_the_records_lost() {
    let moto = Moto::start();
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    // First run: the destination is unreachable, so every acked batch stays in the buffer.
    let refused = RefusedPort::new();
    let dead = format!("http://127.0.0.1:{}", refused.port);
    let down = config(port, storage.path(), &dead);
    let mut first = Firelane::start_env(&down, Stdio::null(), &moto.env());
    let stop = Arc::new(AtomicBool::new(false));
    let sender = stream(port, stop.clone());
    first.wait_for("50 frames acked", Duration::from_secs(30), || {
        first.metric("firelane_input_records_total", "forward.0") >= 5_000.0
    });
    stop.store(true, Ordering::SeqCst);
    let mut ledger = sender.join().unwrap();
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    // A second run that receives nothing: its segment follows the first's, so the first's is a
    // complete (not the newest) segment, every record of which was acked as durable.
    let mut second = Firelane::start_env(&down, Stdio::null(), &moto.env());
    second.child.kill().unwrap();
    second.child.wait().unwrap();

    // Damage while firelane is down (issue 25): 16 bytes inverted a quarter into the first run's
    // segment, and the segment cut short at three quarters.
    let dir = storage.path().join("forward.0");
    let mut segments: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    segments.sort();
    assert_eq!(segments.len(), 2, "one segment per run: {segments:?}");
    let mut bytes = std::fs::read(&segments[0]).unwrap();
    let quarter = bytes.len() / 4;
    for b in &mut bytes[quarter..quarter + 16] {
        *b ^= 0xff;
    }
    bytes.truncate(quarter * 3);
    std::fs::write(&segments[0], &bytes).unwrap();

    let third = Firelane::start_env(
        &config(port, storage.path(), &moto.endpoint()),
        Stdio::null(),
        &moto.env(),
    );
    let lost_metric = || third.metric("firelane_storage_lost_records_total", "forward.0");
    let acked = ledger.acked.len();
    third.wait_for(
        "every record delivered or reported lost",
        Duration::from_secs(120),
        || delivered(&moto).len() + lost_metric() as usize >= acked,
    );
    // Everything replayed has been delivered (nothing still on its way to moto).
    third.wait_for("the replay delivered", Duration::from_secs(60), || {
        let replayed = third.metric("firelane_storage_replayed_records_total", "forward.0");
        let sent = third.metric("firelane_output_records_total", "cloudwatch_logs.0");
        sent >= replayed && delivered(&moto).len() as f64 >= sent
    });
    let ids = delivered(&moto);
    ledger.deliver(ids.iter().map(String::as_str));
    let report = ledger.report("damaged disk buffer at start");
    let reported = lost_metric() as usize;
    let regions = |records: &str| {
        third.metric(
            "firelane_storage_damaged_regions_total",
            &format!("records=\"{records}\""),
        )
    };
    eprintln!(
        "recovery: records reported lost {reported}, regions counted {}, uncounted {}, torn bytes {}",
        regions("counted"),
        regions("unknown").abs(),
        third.metric("firelane_storage_torn_bytes_total", "forward.0")
    );
    assert!(report.lost > 0, "the damage cost records: {report:?}");
    assert_eq!(
        reported, report.lost,
        "the buffer reports exactly the acked records that were lost"
    );
    assert_eq!(report.delivered + report.lost, report.acked);
    assert_eq!(report.duplicated, 0);
    assert_eq!(
        regions("counted"),
        2.0,
        "the cut end and the inverted bytes"
    );
    assert_eq!(regions("unknown"), 0.0);
    // One line per damaged region, each with the records it cost; together, all of them.
    let log = third.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("disk buffer: the end of a segment was cut off"))
        .chain(
            log.lines()
                .filter(|l| l.contains("disk buffer: a damaged region was skipped")),
        )
        .collect();
    eprintln!("{}", lines.join("\n"));
    assert_eq!(lines.len(), 2, "{log}");
    let logged: usize = lines
        .iter()
        .map(|l| {
            let n = l
                .split("records_lost=")
                .nth(1)
                .expect("records_lost logged");
            n.split(' ').next().unwrap().parse::<usize>().unwrap()
        })
        .sum();
    assert_eq!(logged, report.lost, "{log}");
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
