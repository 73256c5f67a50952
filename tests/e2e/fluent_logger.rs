//! Interop with a Forward client we did not write: Python's fluent-logger (Message mode,
//! EventTime). Every record it sends must arrive once, with the same fields and values.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::*;

#[test]
fn python_fluent_logger_records_arrive_exactly() {
    let port = free_port();
    let fl = Firelane::start(&forward_to_file(port, ""));
    let sent = common::fluent_send(port, "py", 400);
    assert_eq!(sent.len(), 400);

    let path = fl.path("out.log");
    fl.wait_for("400 records", Duration::from_secs(15), || {
        read_json_lines(&path).len() >= 400
    });
    let got = read_json_lines(&path);
    assert_eq!(got.len(), 400, "exactly once");
    // One connection, in order: compare record by record.
    for (want, have) in sent.iter().zip(&got) {
        assert_eq!(have["tag"], want["tag"]);
        let mut rec = have.as_object().unwrap().clone();
        rec.remove("tag");
        let date = rec.remove("date").unwrap();
        assert!(date.as_f64().unwrap() > 1.6e9);
        assert_eq!(serde_json::Value::Object(rec), want["record"]);
    }
}
