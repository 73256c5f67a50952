//! Fault test 2: the network to S3 (moto behind a proxy the test cuts) goes down for 30 s while
//! uploads are in progress, multipart ones included, then comes back. Every acked record ends up
//! in the bucket; a request cut after S3 took it may be sent again (at-least-once), and the
//! report counts such duplicates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::cut_proxy::CutProxy;
use common::ledger::{StreamSpec, id_of, stream_acked};
use common::moto::Moto;
use common::s3::Bucket;
use common::{Firelane, free_port};

const OUTAGE: Duration = Duration::from_secs(30);

#[test]
fn an_s3_outage_mid_upload_loses_nothing_acked() {
    let moto = Moto::start();
    let bucket = Bucket::create(&moto, "outage-logs");
    let proxy = CutProxy::start(moto.port);
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let fl = Firelane::start_env(
        &format!(
            r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
ack = "delivered"

[[outputs]]
name = "s3"
match = "*"
bucket = "outage-logs"
endpoint = "{endpoint}"
store_dir = "{store}"
total_file_size = "12M"
upload_chunk_size = 5242880
upload_timeout = "2s"
"#,
            endpoint = proxy.endpoint(),
            store = store.path().display()
        ),
        Stdio::null(),
        &moto.env(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // About 4 MB/s: a 12 MB file, in multipart parts, every few seconds.
            let spec = StreamSpec {
                tag: "s3o",
                per_frame: 200,
                pad: 200,
                pause: Duration::from_millis(10),
            };
            stream_acked(port, &spec, || stop.load(Ordering::SeqCst))
        })
    };
    fl.wait_for(
        "multipart uploads under way",
        Duration::from_secs(60),
        || fl.metric("firelane_s3_parts_total", "s3.0") >= 2.0,
    );
    proxy.cut();
    std::thread::sleep(OUTAGE);
    let failures = fl.metric("firelane_s3_upload_failures_total", "s3.0")
        + fl.metric("firelane_output_retries_total", "s3.0");
    assert!(failures >= 1.0, "uploads failed during the outage");
    proxy.restore();
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::SeqCst);
    let mut ledger = sender.join().unwrap();
    let acked = ledger.acked.len() as f64;
    fl.wait_for(
        "every acked record uploaded",
        Duration::from_secs(120),
        || {
            fl.metric("firelane_s3_staged_records_total", "s3.0") >= acked
                && fl.metric("firelane_s3_staged_files", "s3.0") == 0.0
        },
    );
    let lines: Vec<String> = bucket
        .objects()
        .iter()
        .flat_map(|o| {
            o.lines()
                .iter()
                .map(|v| id_of(v["log"].as_str().unwrap()).to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    ledger.deliver(lines.iter().map(String::as_str));
    let report = ledger.report("s3 network outage 30 s mid-upload");
    assert!(report.acked > 0);
    assert_eq!(report.lost, 0);
}
