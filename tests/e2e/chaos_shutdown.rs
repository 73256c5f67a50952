//! Fault test 3: SIGTERM in the middle of a stream with a CloudWatch Logs and an S3 output (moto
//! serves both). firelane exits 0 within its grace period, and every record it acked is in both
//! destinations once, none twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::ledger::{Ledger, StreamSpec, stream_acked};
use common::moto::Moto;
use common::s3::Bucket;
use common::{Firelane, free_port};

const GROUP: &str = "/firelane/sigterm";

#[test]
fn sigterm_mid_stream_delivers_every_acked_record_to_cloudwatch_and_s3() {
    let moto = Moto::start();
    let bucket = Bucket::create(&moto, "sigterm-logs");
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut fl = Firelane::start_env(
        &format!(
            r#"
[service]
http_port = {{http_port}}
grace = "20s"

[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}

[[outputs]]
name = "cloudwatch_logs"
match = "*"
endpoint = "{endpoint}"
log_group_name = "{GROUP}"
log_stream_prefix = "s/"
auto_create_group = true

[[outputs]]
name = "s3"
match = "*"
bucket = "sigterm-logs"
endpoint = "{endpoint}"
store_dir = "{store}"
upload_timeout = "10m"
"#,
            endpoint = moto.endpoint(),
            store = store.path().display()
        ),
        Stdio::null(),
        &moto.env(),
    );
    let sender = std::thread::spawn(move || {
        let spec = StreamSpec {
            tag: "term",
            per_frame: 100,
            pad: 0,
            pause: Duration::ZERO,
        };
        // Until SIGTERM closes the connection.
        stream_acked(port, &spec, || false)
    });
    fl.wait_for("a stream in full flow", Duration::from_secs(30), || {
        fl.metric("firelane_output_records_total", "cloudwatch_logs.0") >= 5000.0
    });
    assert_eq!(fl.terminate(), 0, "{}", fl.log());
    let mut cw = sender.join().unwrap();
    assert!(cw.acked.len() >= 5000);

    let mut s3 = Ledger {
        sent: cw.sent,
        acked: cw.acked.clone(),
        ..Ledger::default()
    };
    let events: Vec<String> = moto
        .logs()
        .events(GROUP, "s/term")
        .iter()
        .map(|(_, m)| {
            let v: serde_json::Value = serde_json::from_str(m).unwrap();
            v["log"].as_str().unwrap().to_owned()
        })
        .collect();
    cw.deliver(events.iter().map(String::as_str));
    for object in bucket.objects() {
        let lines: Vec<String> = object
            .lines()
            .iter()
            .map(|v| v["log"].as_str().unwrap().to_owned())
            .collect();
        s3.deliver(lines.iter().map(String::as_str));
    }
    for (name, ledger) in [("sigterm: cloudwatch", &cw), ("sigterm: s3", &s3)] {
        let r = ledger.report(name);
        assert_eq!(r.lost, 0, "{name}");
        assert_eq!(r.duplicated, 0, "{name}");
    }
}
