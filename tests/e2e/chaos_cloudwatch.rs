//! Fault test 1: the CloudWatch Logs endpoint (moto) goes away for 30 s in the middle of a stream
//! and comes back empty. Every acked record is delivered once it is back.
//!
//! moto keeps its data in memory, so what it held before the outage is read just before it is
//! stopped; the output's flush interval (5 s) keeps the records sent right before the stop
//! buffered in firelane, so they meet the outage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::ledger::Ledger;
use common::moto::Moto;
use common::{Firelane, free_port, read_ack};

const GROUP: &str = "/firelane/chaos";
const STREAM: &str = "chaos";
const OUTAGE: Duration = Duration::from_secs(30);

/// Sends `ids` as one Forward-mode frame with a chunk; returns whether it was acked.
fn send(conn: &mut TcpStream, ids: &[String], secs: u32) -> bool {
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 3).unwrap();
    rmp::encode::write_str(&mut out, STREAM).unwrap();
    rmp::encode::write_array_len(&mut out, ids.len() as u32).unwrap();
    for id in ids {
        rmp::encode::write_array_len(&mut out, 2).unwrap();
        common::event_time(&mut out, secs, 0);
        rmp::encode::write_map_len(&mut out, 1).unwrap();
        rmp::encode::write_str(&mut out, "log").unwrap();
        rmp::encode::write_str(&mut out, id).unwrap();
    }
    let chunk = &ids[0];
    rmp::encode::write_map_len(&mut out, 1).unwrap();
    rmp::encode::write_str(&mut out, "chunk").unwrap();
    rmp::encode::write_str(&mut out, chunk).unwrap();
    conn.write_all(&out).is_ok() && read_ack(conn) == *chunk
}

fn delivered_ids(moto: &Moto) -> Vec<String> {
    moto.logs()
        .events(GROUP, STREAM)
        .into_iter()
        .map(|(_, m)| {
            let v: serde_json::Value = serde_json::from_str(&m).unwrap();
            v["log"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn a_cloudwatch_outage_mid_stream_loses_nothing_acked() {
    let mut moto = Moto::start();
    let port = free_port();
    let fl = Firelane::start_env(
        &format!(
            r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}

[[outputs]]
name = "cloudwatch_logs"
match = "*"
endpoint = "{endpoint}"
log_group_name = "{GROUP}"
log_stream_name = "{STREAM}"
auto_create_group = true
flush = "5s"
"#,
            endpoint = moto.endpoint()
        ),
        Stdio::null(),
        &moto.env(),
    );
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
        - 60;
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut ledger = Ledger::default();
    let mut next = 0usize;
    let mut frame = |conn: &mut TcpStream, ledger: &mut Ledger| {
        let ids: Vec<String> = (next..next + 50).map(|i| format!("r{i}")).collect();
        next += 50;
        ledger.sent += ids.len();
        if send(conn, &ids, secs) {
            ledger.acked.extend(ids);
        }
    };

    // Before: 20 frames, delivered, read back while moto still holds them.
    for _ in 0..20 {
        frame(&mut conn, &mut ledger);
    }
    fl.wait_for(
        "the first records in CloudWatch",
        Duration::from_secs(30),
        || fl.metric("firelane_output_records_total", "cloudwatch_logs.0") == 1000.0,
    );
    let before = delivered_ids(&moto);
    ledger.deliver(before.iter().map(String::as_str));

    // Mid-stream: records buffered for the next flush, then the endpoint dies; the stream goes
    // on through the outage.
    for _ in 0..4 {
        frame(&mut conn, &mut ledger);
    }
    moto.stop();
    let outage_end = Instant::now() + OUTAGE;
    while Instant::now() < outage_end {
        frame(&mut conn, &mut ledger);
        std::thread::sleep(Duration::from_millis(200));
    }
    fl.wait_for(
        "failed attempts during the outage",
        Duration::from_secs(10),
        || fl.metric("firelane_output_retries_total", "cloudwatch_logs.0") >= 1.0,
    );
    moto.restart();
    for _ in 0..20 {
        frame(&mut conn, &mut ledger);
    }
    let total = ledger.acked.len() as f64;
    fl.wait_for(
        "every acked record delivered",
        Duration::from_secs(120),
        || fl.metric("firelane_output_records_total", "cloudwatch_logs.0") >= total,
    );
    ledger.deliver(delivered_ids(&moto).iter().map(String::as_str));
    let report = ledger.report("cloudwatch outage 30 s");
    assert_eq!(
        report.acked, report.sent,
        "the client was acked throughout (accepted mode)"
    );
    assert_eq!(report.lost, 0);
    assert_eq!(report.duplicated, 0);
    assert_eq!(
        fl.metric("firelane_output_dropped_records_total", "cloudwatch_logs.0"),
        0.0
    );
}
