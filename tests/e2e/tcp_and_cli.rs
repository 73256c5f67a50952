//! The `tcp` input over a real socket, `ack = "delivered"`, and the CLI's exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn tcp_input_reads_json_and_text_lines_with_defined_outcomes() {
    let (json_port, text_port) = (free_port(), free_port());
    let fl = Firelane::start(&format!(
        r#"
[[inputs]]
name = "tcp"
listen = "127.0.0.1"
port = {json_port}
tag = "json"
buffer_size = 64

[[inputs]]
name = "tcp"
listen = "127.0.0.1"
port = {text_port}
format = "none"
tag = "text"

[[outputs]]
name = "file"
match = "*"
path = "{{dir}}"
"#
    ));
    let mut j = TcpStream::connect(("127.0.0.1", json_port)).unwrap();
    let long = format!("{{\"log\":\"{}\"}}\n", "y".repeat(200));
    let input = format!(
        "{{\"a\":1,\"b\":{{\"c\":[true,null]}}}}\r\nnot json\n\n{long}[1,2]\n{{\"last\":\"no newline\"}}"
    );
    j.write_all(input.as_bytes()).unwrap();
    drop(j);
    let mut t = TcpStream::connect(("127.0.0.1", text_port)).unwrap();
    t.write_all("plain text \"quoted\"\nsecond\tline\n".as_bytes())
        .unwrap();
    drop(t);

    let (jp, tp) = (fl.path("json"), fl.path("text"));
    fl.wait_for("json and text lines", Duration::from_secs(10), || {
        read_json_lines(&jp).len() >= 2 && read_json_lines(&tp).len() >= 2
    });
    let json = read_json_lines(&jp);
    assert_eq!(
        json.len(),
        2,
        "only the two JSON objects are kept: {json:?}"
    );
    assert_eq!(json[0]["b"]["c"], serde_json::json!([true, null]));
    assert_eq!(
        json[1]["last"], "no newline",
        "an unterminated last line is kept at EOF"
    );
    let text = read_json_lines(&tp);
    assert_eq!(text[0]["log"], "plain text \"quoted\"");
    assert_eq!(text[1]["log"], "second\tline");
    assert_eq!(text[1]["tag"], "text");
    // "not json", the cut 200-byte line (no longer JSON) and "[1,2]" are dropped and counted.
    assert_eq!(
        fl.metric(
            "firelane_input_dropped_records_total",
            "reason=\"invalid_json\""
        ),
        3.0
    );
    assert_eq!(
        fl.metric("firelane_input_truncated_records_total", "tcp.0"),
        1.0
    );
}

#[test]
fn delivered_acks_come_after_the_output_wrote_the_records() {
    let port = free_port();
    let fl = Firelane::start(&forward_to_file(port, "ack = \"delivered\""));
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for i in 0..20 {
        s.write_all(&message_frame(
            "d",
            1_700_000_000,
            &format!("r{i}"),
            Some(&format!("c{i}")),
        ))
        .unwrap();
        assert_eq!(read_ack(&mut s), format!("c{i}"));
        let lines = read_json_lines(&fl.path("out.log"));
        assert_eq!(
            lines.len(),
            i + 1,
            "acked record {i} is already in the file"
        );
        assert_eq!(lines[i]["log"], format!("r{i}"));
    }
}

fn firelane(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_firelane"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_bad_config_lists_every_problem_and_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[[inputs]]\nname = \"forward\"\nprot = 24224\n\n[[outputs]]\nname = \"kinesis\"\nmatch = \"*\"\n",
    )
    .unwrap();
    for cmd in [["validate", "-c"], ["run", "-c"]] {
        let out = firelane(&[cmd[0], cmd[1], cfg.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(64), "{cmd:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bad.toml:3: inputs[0].prot"), "{err}");
        assert!(
            err.contains("bad.toml:6") && err.contains("kinesis"),
            "{err}"
        );
    }
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[[inputs]]\nname = \"forward\"\n\n[[outputs]]\nname = \"null\"\nmatch = \"*\"\n",
    )
    .unwrap();
    let out = firelane(&["validate", "-c", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("ok: 1 inputs, 0 filters, 1 outputs"));
    // The account's total and where it came from (tests/e2e/memory_sizing.rs checks it in a cgroup).
    assert!(
        lines.next().unwrap().starts_with("memory account: "),
        "{stdout}"
    );
    assert_eq!(lines.next(), None);
}

#[test]
fn health_command_reports_a_running_and_a_missing_server() {
    let port = free_port();
    let fl = Firelane::start(&format!(
        "[[inputs]]\nname = \"forward\"\nlisten = \"127.0.0.1\"\nport = {port}\n\n[[outputs]]\nname = \"null\"\nmatch = \"*\"\n"
    ));
    let url = format!("http://127.0.0.1:{}/health", fl.http_port);
    assert_eq!(firelane(&["health", "--url", &url]).status.code(), Some(0));
    let nobody = format!("http://127.0.0.1:{}/health", free_port());
    assert_eq!(
        firelane(&["health", "--url", &nobody]).status.code(),
        Some(1)
    );
}

#[test]
fn connections_beyond_max_connections_wait_until_one_closes() {
    let port = free_port();
    let fl = Firelane::start(&format!(
        r#"
[[inputs]]
name = "tcp"
listen = "127.0.0.1"
port = {port}
format = "none"
tag = "cap"
max_connections = 1

[[outputs]]
name = "file"
match = "*"
path = "{{dir}}"
"#
    ));
    let first = TcpStream::connect(("127.0.0.1", port)).unwrap();
    fl.wait_for("the first connection", Duration::from_secs(5), || {
        fl.metric("firelane_input_connections_active", "tcp.0") == 1.0
    });
    let mut second = TcpStream::connect(("127.0.0.1", port)).unwrap();
    second.write_all(b"from the second connection\n").unwrap();
    // Not served while the first holds the only slot: nothing arrives within half a second.
    std::thread::sleep(Duration::from_millis(500));
    assert!(read_json_lines(&fl.path("cap")).is_empty());
    assert_eq!(fl.metric("firelane_input_connections_total", "tcp.0"), 1.0);
    drop(first);
    let path = fl.path("cap");
    fl.wait_for(
        "the second connection's line",
        Duration::from_secs(5),
        || read_json_lines(&path).len() == 1,
    );
}

#[test]
fn fluent_bit_formats_through_the_binary() {
    let port = free_port();
    let mut fl = Firelane::start_with(
        &format!(
            r#"
[[inputs]]
name = "tcp"
listen = "127.0.0.1"
port = {port}
tag = "in"

[[outputs]]
name = "file"
match = "*"
path = "{{dir}}"
file = "plain.log"
format = "plain"

[[outputs]]
name = "file"
match = "*"
path = "{{dir}}"
file = "out_file.log"
format = "out_file"

[[outputs]]
name = "stdout"
match = "*"
format = "msgpack"
"#
        ),
        std::process::Stdio::piped(),
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all("{\"msg\":\"héllo\",\"n\":{\"x\":[1,2.5]}}\n".as_bytes())
        .unwrap();
    drop(s);
    let (plain, out_file) = (fl.path("plain.log"), fl.path("out_file.log"));
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    fl.wait_for("both files", Duration::from_secs(10), || {
        read(&plain).ends_with('\n') && read(&out_file).ends_with('\n')
    });
    assert_eq!(read(&plain), "{\"msg\":\"héllo\",\"n\":{\"x\":[1,2.5]}}\n");
    // `in: [<secs>.<9 digits>, <record>]`, the time being the arrival time.
    let line = read(&out_file);
    let time = line
        .strip_prefix("in: [")
        .and_then(|l| l.strip_suffix(", {\"msg\":\"héllo\",\"n\":{\"x\":[1,2.5]}}]\n"))
        .unwrap_or_else(|| panic!("not an out_file line: {line:?}"));
    let (secs, nanos) = time.split_once('.').unwrap();
    assert!(secs.parse::<u64>().unwrap() > 1_700_000_000, "{line}");
    assert!(
        nanos.len() == 9 && nanos.bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );

    let mut stdout = fl.child.stdout.take().unwrap();
    assert_eq!(fl.terminate(), 0);
    let mut dump = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut dump).unwrap();
    let expected = format!(
        "[0] in: [[{time}, {{}}], {{\"msg\"=>\"héllo\", \"n\"=>{{\"x\"=>[1, 2.500000]}}}}]\n"
    );
    assert_eq!(dump, expected);
}
