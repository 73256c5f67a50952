//! End to end: Forward in, the real AWS SDK out, moto's CloudWatch Logs (server mode) as the endpoint,
//! read back with GetLogEvents. Each test runs its own moto (it keeps everything in memory).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::moto::Moto;
use common::{Firelane, free_port, read_ack};

fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// Forward mode `[tag, [[EventTime, {k: v...}]...], {chunk}]`; event `i` is `first_secs + i` ms... in
/// whole seconds plus `i` milliseconds, so timestamps increase.
fn frame(tag: &str, first_secs: u32, records: &[Vec<(&str, String)>], chunk: &str) -> Vec<u8> {
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 3).unwrap();
    rmp::encode::write_str(&mut out, tag).unwrap();
    rmp::encode::write_array_len(&mut out, records.len() as u32).unwrap();
    for (i, rec) in records.iter().enumerate() {
        rmp::encode::write_array_len(&mut out, 2).unwrap();
        let ms = i as u32;
        common::event_time(&mut out, first_secs + ms / 1000, (ms % 1000) * 1_000_000);
        rmp::encode::write_map_len(&mut out, rec.len() as u32).unwrap();
        for (k, v) in rec {
            rmp::encode::write_str(&mut out, k).unwrap();
            rmp::encode::write_str(&mut out, v).unwrap();
        }
    }
    rmp::encode::write_map_len(&mut out, 1).unwrap();
    rmp::encode::write_str(&mut out, "chunk").unwrap();
    rmp::encode::write_str(&mut out, chunk).unwrap();
    out
}

/// A client connection; a missing ack fails the test after a minute instead of hanging it.
fn connect(port: u16) -> TcpStream {
    let conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    conn
}

fn logs(prefix: &str, range: std::ops::Range<usize>) -> Vec<Vec<(&'static str, String)>> {
    range
        .map(|i| {
            vec![
                ("container_name", "app".to_owned()),
                ("log", format!("{prefix} line {i}")),
            ]
        })
        .collect()
}

fn config(port: u16, moto: &Moto, extra: &str) -> String {
    format!(
        r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
ack = "delivered"

[[outputs]]
name = "cloudwatch_logs"
match = "*"
endpoint = "{endpoint}"
log_group_name = "/firelane/e2e"
flush = "200ms"
{extra}
"#,
        endpoint = moto.endpoint()
    )
}

fn start(port: u16, moto: &Moto, extra: &str) -> Firelane {
    Firelane::start_env(&config(port, moto, extra), Stdio::null(), &moto.env())
}

fn messages(events: &[(i64, String)]) -> Vec<String> {
    events
        .iter()
        .map(|(_, m)| {
            let v: serde_json::Value = serde_json::from_str(m).unwrap();
            v["log"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn events_arrive_in_their_streams_in_order_with_group_and_retention_created() {
    let moto = Moto::start();
    let port = free_port();
    let fl = start(
        port,
        &moto,
        "log_stream_prefix = \"app/\"\nauto_create_group = true\nlog_retention_days = 7",
    );
    let mut conn = connect(port);
    let t0 = now_secs() - 600;
    for round in 0..5 {
        for tag in ["web", "worker"] {
            let recs = logs(tag, round * 100..(round + 1) * 100);
            let chunk = format!("{tag}-{round}");
            conn.write_all(&frame(tag, t0 + round as u32, &recs, &chunk))
                .unwrap();
            assert_eq!(read_ack(&mut conn), chunk, "acked once CloudWatch took it");
        }
    }
    let cw = moto.logs();
    let mut streams = cw.streams("/firelane/e2e");
    streams.sort();
    assert_eq!(streams, ["app/web", "app/worker"]);
    for tag in ["web", "worker"] {
        let events = cw.events("/firelane/e2e", &format!("app/{tag}"));
        let want: Vec<String> = (0..500).map(|i| format!("{tag} line {i}")).collect();
        assert_eq!(messages(&events), want, "every event, in order");
        assert!(events.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(events[0].0, i64::from(t0) * 1000);
        let record: serde_json::Value = serde_json::from_str(&events[0].1).unwrap();
        assert_eq!(record["container_name"], "app", "the whole record as JSON");
    }
    assert_eq!(cw.retention("/firelane/e2e"), Some(7));
    assert_eq!(
        fl.metric("firelane_cloudwatch_created_total", "kind=\"group\""),
        1.0
    );
    assert_eq!(
        fl.metric("firelane_output_records_total", "cloudwatch_logs.0"),
        1000.0
    );
}

#[test]
fn log_key_sends_the_raw_value_and_templates_fall_back_to_the_static_name() {
    let moto = Moto::start();
    let port = free_port();
    let _fl = start(
        port,
        &moto,
        "auto_create_group = true\nlog_key = \"log\"\nlog_stream_name = \"fallback\"\n\
         log_stream_template = \"$TAG[1]/$container_name\"",
    );
    let mut conn = connect(port);
    let t0 = now_secs() - 60;
    let named = vec![
        vec![
            ("container_name", "nginx".to_owned()),
            ("log", "GET / 200".to_owned()),
        ],
        vec![("log", "no container name here".to_owned())],
        vec![
            ("container_name", "nginx".to_owned()),
            ("log", "{\"not\": \"re-encoded\"}".to_owned()),
        ],
    ];
    conn.write_all(&frame("ecs.web", t0, &named, "c1")).unwrap();
    assert_eq!(read_ack(&mut conn), "c1");
    let cw = moto.logs();
    let got: Vec<String> = cw
        .events("/firelane/e2e", "web/nginx")
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(got, ["GET / 200", "{\"not\": \"re-encoded\"}"]);
    let fallback: Vec<String> = cw
        .events("/firelane/e2e", "fallback")
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(fallback, ["no container name here"]);
}

#[test]
fn a_missing_group_without_auto_create_is_reported_and_counted_then_works_once_created() {
    let moto = Moto::start();
    let port = free_port();
    let fl = start(port, &moto, "log_stream_name = \"s\"\nretry_limit = 2");
    let mut conn = connect(port);
    let t0 = now_secs() - 60;
    conn.write_all(&frame("t", t0, &logs("lost", 0..3), "c1"))
        .unwrap();
    fl.wait_for("the drop to be counted", Duration::from_secs(20), || {
        fl.metric(
            "firelane_output_dropped_records_total",
            "reason=\"permanent_error\"",
        ) == 3.0
    });
    assert!(
        fl.log().contains("auto_create_group is off"),
        "{}",
        fl.log()
    );
    moto.logs().create_group("/firelane/e2e");
    conn.write_all(&frame("t", t0, &logs("kept", 0..3), "c2"))
        .unwrap();
    assert_eq!(
        read_ack(&mut conn),
        "c2",
        "the dropped chunk c1 is never acked"
    );
    let events = moto.logs().events("/firelane/e2e", "s");
    assert_eq!(
        messages(&events),
        ["kept line 0", "kept line 1", "kept line 2"]
    );
}

#[test]
fn an_endpoint_outage_loses_nothing() {
    let mut moto = Moto::start();
    let port = free_port();
    let fl = start(
        port,
        &moto,
        "log_stream_name = \"s\"\nauto_create_group = true",
    );
    let mut conn = connect(port);
    let t0 = now_secs() - 60;
    conn.write_all(&frame("t", t0, &logs("before", 0..10), "c0"))
        .unwrap();
    assert_eq!(read_ack(&mut conn), "c0");

    moto.stop();
    for i in 0..10 {
        let recs = logs("during", i * 50..(i + 1) * 50);
        conn.write_all(&frame("t", t0 + 1 + i as u32, &recs, &format!("d{i}")))
            .unwrap();
    }
    fl.wait_for(
        "retries while the endpoint is down",
        Duration::from_secs(20),
        || fl.metric("firelane_output_retries_total", "cloudwatch_logs.0") >= 2.0,
    );
    moto.restart();
    conn.set_read_timeout(Some(Duration::from_secs(90)))
        .unwrap();
    let mut acked: Vec<String> = (0..10).map(|_| read_ack(&mut conn)).collect();
    acked.sort();
    let mut want: Vec<String> = (0..10).map(|i| format!("d{i}")).collect();
    want.sort();
    assert_eq!(acked, want);
    let events = moto.logs().events("/firelane/e2e", "s");
    let want: Vec<String> = (0..500).map(|i| format!("during line {i}")).collect();
    assert_eq!(
        messages(&events),
        want,
        "everything sent during the outage, in order"
    );
    assert_eq!(
        fl.metric("firelane_output_dropped_records_total", "cloudwatch_logs.0"),
        0.0
    );
}

#[test]
fn sigterm_sends_what_is_still_batched() {
    let moto = Moto::start();
    let port = free_port();
    let text = config(
        port,
        &moto,
        "log_stream_name = \"s\"\nauto_create_group = true",
    )
    .replace("ack = \"delivered\"", "ack = \"accepted\"")
    .replace("flush = \"200ms\"", "flush = \"10m\"");
    let mut fl = Firelane::start_env(&text, Stdio::null(), &moto.env());
    let mut conn = connect(port);
    conn.write_all(&frame("t", now_secs() - 5, &logs("pending", 0..50), "c1"))
        .unwrap();
    assert_eq!(read_ack(&mut conn), "c1");
    drop(conn);
    assert_eq!(fl.terminate(), 0, "{}", fl.log());
    let events = moto.logs().events("/firelane/e2e", "s");
    assert_eq!(messages(&events).len(), 50, "{}", fl.log());
}

#[test]
fn events_outside_cloudwatchs_time_window_are_counted_not_sent() {
    let moto = Moto::start();
    let port = free_port();
    let fl = start(
        port,
        &moto,
        "log_stream_name = \"s\"\nauto_create_group = true",
    );
    // Frames read together share one ack outcome, so the good chunk comes on its own connection.
    let mut bad = connect(port);
    let now = now_secs();
    bad.write_all(&frame("t", now - 15 * 86_400, &logs("old", 0..2), "old"))
        .unwrap();
    bad.write_all(&frame("t", now + 3 * 3600, &logs("new", 0..1), "new"))
        .unwrap();
    fl.wait_for("the drops", Duration::from_secs(20), || {
        fl.metric("firelane_output_dropped_records_total", "cloudwatch_logs.0") == 3.0
    });
    let mut conn = connect(port);
    conn.write_all(&frame("t", now, &logs("ok", 0..1), "ok"))
        .unwrap();
    assert_eq!(read_ack(&mut conn), "ok");
    bad.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert_eq!(
        common::try_read_ack(&mut bad),
        None,
        "chunks with dropped events are not acked"
    );
    assert_eq!(
        fl.metric(
            "firelane_output_dropped_records_total",
            "reason=\"too_old\""
        ),
        2.0
    );
    assert_eq!(
        fl.metric(
            "firelane_output_dropped_records_total",
            "reason=\"too_new\""
        ),
        1.0
    );
    let events = moto.logs().events("/firelane/e2e", "s");
    assert_eq!(messages(&events), ["ok line 0"]);
}

/// A client we did not write (Python fluent-logger, Message mode) through an assumed role: the
/// credentials come from moto's STS (AssumeRole with an external ID), then every record lands in
/// its stream as the same JSON.
#[test]
fn fluent_logger_records_arrive_as_json_through_an_assumed_role() {
    let moto = Moto::start();
    let port = free_port();
    let extra = format!(
        "log_stream_prefix = \"py/\"\nauto_create_group = true\n\
         role_arn = \"arn:aws:iam::123456789012:role/firelane-writer\"\n\
         external_id = \"firelane-test\"\nsts_endpoint = \"{}\"",
        moto.endpoint()
    );
    let fl = start(port, &moto, &extra);
    let sent = common::fluent_send(port, "py", 60);
    fl.wait_for("every record delivered", Duration::from_secs(30), || {
        fl.metric("firelane_output_records_total", "cloudwatch_logs.0") == 60.0
    });
    let cw = moto.logs();
    for sub in 0..3 {
        let tag = format!("py.sub{sub}");
        let want = common::records_of(&sent, &tag);
        let got: Vec<serde_json::Value> = cw
            .events("/firelane/e2e", &format!("py/{tag}"))
            .iter()
            .map(|(_, m)| serde_json::from_str(m).unwrap())
            .collect();
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "stream py/{tag}");
    }
}
