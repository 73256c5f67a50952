//! Filters end to end: records sent by real clients through real sockets, filtered, written by
//! the file output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::*;

/// One forward input on `port` -> `filters` (TOML) -> file output `out.log`.
fn config(port: u16, filters: &str) -> String {
    format!(
        r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}

{filters}

[[outputs]]
name = "file"
match = "*"
path = "{{dir}}"
file = "out.log"
"#
    )
}

#[test]
fn record_modifier_changes_only_the_tags_it_matches() {
    let port = free_port();
    let fl = Firelane::start(&config(
        port,
        r#"
[[filters]]
name = "record_modifier"
match = "py.sub0"
record = ["cluster prod", "owner team a"]
remove_key = "source"
"#,
    ));
    let sent = fluent_send(port, "py", 90);
    let path = fl.path("out.log");
    fl.wait_for("90 records", Duration::from_secs(15), || {
        read_json_lines(&path).len() >= 90
    });
    let got = read_json_lines(&path);
    assert_eq!(got.len(), 90);
    for (want, have) in sent.iter().zip(&got) {
        let mut rec = have.as_object().unwrap().clone();
        rec.remove("date");
        let tag = rec.remove("tag").unwrap();
        let mut expected = want["record"].as_object().unwrap().clone();
        if tag == "py.sub0" {
            expected.remove("source");
            expected.insert("cluster".into(), "prod".into());
            expected.insert("owner".into(), "team a".into());
        }
        assert_eq!(rec, expected, "tag {tag}");
    }
    let matched = fl.metric(
        "firelane_filter_records_total",
        r#"component="record_modifier.0",outcome="modified""#,
    );
    assert_eq!(matched, 30.0);
}

/// One forward input with `ack = "delivered"` -> filters -> file `out.log`.
fn acked_config(port: u16, filters: &str) -> String {
    config(port, filters).replace(
        &format!("port = {port}\n"),
        &format!("port = {port}\nack = \"delivered\"\n"),
    )
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// Message mode with a record of string fields, written with rmp.
fn frame(tag: &str, fields: &[(&str, &str)], chunk: &str) -> Vec<u8> {
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 4).unwrap();
    rmp::encode::write_str(&mut out, tag).unwrap();
    event_time(&mut out, now_secs(), 0);
    rmp::encode::write_map_len(&mut out, fields.len() as u32).unwrap();
    for (k, v) in fields {
        rmp::encode::write_str(&mut out, k).unwrap();
        rmp::encode::write_str(&mut out, v).unwrap();
    }
    rmp::encode::write_map_len(&mut out, 1).unwrap();
    rmp::encode::write_str(&mut out, "chunk").unwrap();
    rmp::encode::write_str(&mut out, chunk).unwrap();
    out
}

fn connect(port: u16) -> std::net::TcpStream {
    let conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn
}

#[test]
fn grep_drops_records_and_their_senders_still_get_acks() {
    use std::io::Write;
    let port = free_port();
    let fl = Firelane::start(&acked_config(
        port,
        r#"
[[filters]]
name = "grep"
match = "*"
exclude = "log ^DEBUG"
"#,
    ));
    let mut conn = connect(port);
    for (i, log) in ["INFO up", "DEBUG noise", "WARN disk"].iter().enumerate() {
        conn.write_all(&message_frame(
            "app",
            now_secs(),
            log,
            Some(&format!("c{i}")),
        ))
        .unwrap();
        assert_eq!(
            read_ack(&mut conn),
            format!("c{i}"),
            "filtered or not, acked"
        );
    }
    let path = fl.path("out.log");
    fl.wait_for("2 records", Duration::from_secs(10), || {
        read_json_lines(&path).len() >= 2
    });
    let logs: Vec<_> = read_json_lines(&path)
        .iter()
        .map(|r| r["log"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(logs, ["INFO up", "WARN disk"]);
    assert_eq!(
        fl.metric(
            "firelane_filter_records_total",
            r#"component="grep.0",outcome="dropped""#
        ),
        1.0
    );
}

#[test]
fn parser_json_then_nest_and_modify_shape_docker_records() {
    use std::io::Write;
    let port = free_port();
    let fl = Firelane::start(&acked_config(
        port,
        r#"
[[filters]]
name = "parser"
match = "*"
key_name = "log"
parser = ["json"]
reserve_data = true

[[filters]]
name = "modify"
match = "*"
rules = ["Rename msg message", "Remove source"]

[[filters]]
name = "nest"
match = "*"
operation = "nest"
wildcard = "container_*"
nest_under = "docker"
"#,
    ));
    let mut conn = connect(port);
    let log = r#"{"level":"info","msg":"hi \"there\"","n":5,"tags":["a",{"b":null}]}"#;
    conn.write_all(&message_frame("app", now_secs(), log, Some("c1")))
        .unwrap();
    assert_eq!(read_ack(&mut conn), "c1");
    conn.write_all(&message_frame("app", now_secs(), "not json", Some("c2")))
        .unwrap();
    assert_eq!(read_ack(&mut conn), "c2");
    let path = fl.path("out.log");
    fl.wait_for("2 records", Duration::from_secs(10), || {
        read_json_lines(&path).len() >= 2
    });
    let got = read_json_lines(&path);
    let mut first = got[0].as_object().unwrap().clone();
    first.remove("date");
    assert_eq!(
        serde_json::Value::Object(first),
        serde_json::json!({
            "tag": "app",
            "level": "info", "message": "hi \"there\"", "n": 5, "tags": ["a", {"b": null}],
            "docker": {
                "container_id": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "container_name": "/app"
            }
        })
    );
    // Not JSON: the parser leaves it, the other filters still apply.
    assert_eq!(got[1]["log"], "not json");
    assert_eq!(got[1]["docker"]["container_name"], "/app");
}

#[test]
fn docker_partial_messages_are_joined_and_acked_only_when_complete() {
    use std::io::Write;
    let port = free_port();
    let fl = Firelane::start(&acked_config(
        port,
        r#"
[[filters]]
name = "multiline"
match = "*"
mode = "partial_message"
"#,
    ));
    let mut a = connect(port);
    let mut b = connect(port);
    let piece = |id: &str, ord: &str, last: &str, log: &str| {
        vec![
            ("container_id", id.to_owned()),
            ("log", log.to_owned()),
            ("partial_message", "true".to_owned()),
            ("partial_id", format!("p-{id}")),
            ("partial_ordinal", ord.to_owned()),
            ("partial_last", last.to_owned()),
        ]
    };
    let send = |conn: &mut std::net::TcpStream, f: Vec<(&str, String)>, chunk: &str| {
        let fields: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        conn.write_all(&frame("app", &fields, chunk)).unwrap();
    };
    let big = "x".repeat(16 * 1024);
    send(&mut a, piece("A", "1", "false", &big), "a1");
    send(&mut b, piece("B", "1", "false", "b-first "), "b1");
    send(&mut a, piece("A", "2", "false", &big), "a2");
    // Nothing of A is complete yet: no ack may come.
    a.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert_eq!(try_read_ack(&mut a), None, "no ack before the last piece");
    a.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    send(&mut b, piece("B", "2", "true", "b-end\n"), "b2");
    send(&mut a, piece("A", "3", "true", "A-end\n"), "a3");
    // Acks name their chunk; their order is not part of the protocol.
    let mut acks_a: Vec<String> = (0..3).map(|_| read_ack(&mut a)).collect();
    acks_a.sort();
    assert_eq!(acks_a, ["a1", "a2", "a3"]);
    let mut acks_b: Vec<String> = (0..2).map(|_| read_ack(&mut b)).collect();
    acks_b.sort();
    assert_eq!(acks_b, ["b1", "b2"]);

    let path = fl.path("out.log");
    fl.wait_for("2 records", Duration::from_secs(10), || {
        read_json_lines(&path).len() >= 2
    });
    let got = read_json_lines(&path);
    assert_eq!(got.len(), 2);
    let by_id = |id: &str| {
        got.iter()
            .find(|r| r["container_id"] == id)
            .unwrap_or_else(|| panic!("no record of {id}: {got:?}"))
    };
    assert_eq!(by_id("B")["log"], "b-first b-end\n");
    assert_eq!(by_id("A")["log"], format!("{big}{big}A-end\n"));
    assert!(by_id("A").get("partial_message").is_none());
}

#[test]
fn an_unfinished_stack_trace_is_flushed_by_timeout_and_at_shutdown() {
    use std::io::Write;
    let port = free_port();
    let mut fl = Firelane::start(&acked_config(
        port,
        r#"
[[filters]]
name = "multiline"
match = "*"
multiline_parser = "java"
flush_ms = 300
"#,
    ));
    let mut conn = connect(port);
    let lines = [
        "Exception in thread \"main\" java.lang.IllegalStateException: boom\n",
        "\tat com.example.App.run(App.java:42)\n",
        "\tat com.example.App.main(App.java:7)\n",
    ];
    for (i, l) in lines.iter().enumerate() {
        conn.write_all(&message_frame("app", now_secs(), l, Some(&format!("c{i}"))))
            .unwrap();
    }
    // No next line ends the trace: the timeout does, then the acks come.
    let mut acks: Vec<String> = (0..3).map(|_| read_ack(&mut conn)).collect();
    acks.sort();
    assert_eq!(acks, ["c0", "c1", "c2"]);
    let path = fl.path("out.log");
    fl.wait_for("the trace", Duration::from_secs(10), || {
        !read_json_lines(&path).is_empty()
    });
    assert_eq!(read_json_lines(&path)[0]["log"], lines.concat());

    // A second trace still open at SIGTERM is emitted before exit.
    conn.write_all(&message_frame("app", now_secs(), lines[0], Some("d0")))
        .unwrap();
    conn.write_all(&message_frame("app", now_secs(), lines[1], Some("d1")))
        .unwrap();
    // No wait: what the peer already sent is read before the input stops.
    assert_eq!(fl.terminate(), 0, "{}", fl.log());
    let got = read_json_lines(&path);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1]["log"], format!("{}{}", lines[0], lines[1]));
}

#[test]
fn rewrite_tag_reroutes_and_throttle_limits() {
    use std::io::Write;
    let port = free_port();
    let fl = Firelane::start(&acked_config(
        port,
        r#"
[[filters]]
name = "rewrite_tag"
match = "app"
rule = '$log ^(ERROR|FATAL) alerts.$TAG.$1 false'

[[filters]]
name = "throttle"
match = "app"
rate = 5
window = 1
interval = "1h"
"#,
    ));
    let mut conn = connect(port);
    for i in 0..20 {
        let log = if i % 4 == 0 { "ERROR bad" } else { "INFO ok" };
        conn.write_all(&message_frame(
            "app",
            now_secs(),
            log,
            Some(&format!("c{i}")),
        ))
        .unwrap();
        assert_eq!(read_ack(&mut conn), format!("c{i}"));
    }
    let path = fl.path("out.log");
    fl.wait_for("10 records", Duration::from_secs(10), || {
        read_json_lines(&path).len() >= 10
    });
    std::thread::sleep(Duration::from_millis(300));
    let got = read_json_lines(&path);
    let alerts: Vec<_> = got
        .iter()
        .filter(|r| r["tag"] == "alerts.app.ERROR")
        .collect();
    assert_eq!(
        alerts.len(),
        5,
        "every ERROR re-tagged, not throttled: {got:?}"
    );
    let app: Vec<_> = got.iter().filter(|r| r["tag"] == "app").collect();
    assert_eq!(app.len(), 5, "INFO records throttled to the rate: {got:?}");
    assert!(app.iter().all(|r| r["log"] == "INFO ok"));
    assert_eq!(
        fl.metric(
            "firelane_filter_records_total",
            r#"component="throttle.0",outcome="dropped""#
        ),
        10.0
    );
}

#[test]
fn ecs_metadata_is_read_once_from_the_task_endpoint() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let meta_port = listener.local_addr().unwrap().port();
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ecs_task_v4.json"
    ))
    .unwrap();
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap();
            assert!(buf[..n].starts_with(b"GET /v4/abc/task "));
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            conn.write_all(head.as_bytes()).unwrap();
            conn.write_all(&body).unwrap();
        }
    });
    let port = free_port();
    let fl = Firelane::start_env(
        &acked_config(
            port,
            r#"
[[filters]]
name = "ecs"
match = "*"
"#,
        ),
        std::process::Stdio::null(),
        &[(
            "ECS_CONTAINER_METADATA_URI_V4",
            format!("http://127.0.0.1:{meta_port}/v4/abc"),
        )],
    );
    let mut conn = connect(port);
    for i in 0..3 {
        conn.write_all(&message_frame(
            "app",
            now_secs(),
            "hello",
            Some(&format!("c{i}")),
        ))
        .unwrap();
        assert_eq!(read_ack(&mut conn), format!("c{i}"));
    }
    let path = fl.path("out.log");
    fl.wait_for("3 records", Duration::from_secs(10), || {
        read_json_lines(&path).len() >= 3
    });
    let got = read_json_lines(&path);
    assert_eq!(got[2]["ecs_cluster"], "prod-web");
    assert_eq!(got[2]["ecs_task_id"], "e9028f8d5d8e4f258373e7b93ce9a3c3");
    assert_eq!(got[2]["ecs_task_definition"], "checkout:42");
    assert_eq!(got[2]["ecs_launch_type"], "FARGATE");
    assert_eq!(got[2]["ecs_availability_zone"], "us-west-2b");
    assert_eq!(got[2]["log"], "hello");
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 1);
}
