//! Filters end to end: records sent by real clients through real sockets, filtered, written by
//! the file output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

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
