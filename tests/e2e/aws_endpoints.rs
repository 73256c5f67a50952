//! The SDKs' standard endpoint variables: with no `endpoint` in the config, `AWS_ENDPOINT_URL_<SERVICE>`
//! and `AWS_ENDPOINT_URL` point every AWS client (CloudWatch Logs, S3, the STS client behind
//! `role_arn`) at moto, and records are delivered. Nothing else knows where moto is: AWS itself is
//! never reachable here, so a client that ignored the variables could not deliver anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use common::moto::Moto;
use common::s3::Bucket;
use common::{Firelane, forward_frame_at, free_port, read_ack, recent_secs};

const GROUP: &str = "/firelane/endpoints";

fn cloudwatch_output(extra: &str) -> String {
    format!(
        r#"
[[outputs]]
name = "cloudwatch_logs"
match = "*"
log_group_name = "{GROUP}"
log_stream_name = "app"
auto_create_group = true
flush = "200ms"
{extra}
"#
    )
}

fn forward_input(port: u16) -> String {
    format!(
        r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
ack = "delivered"
"#
    )
}

/// Sends `n` records in one acked frame and waits for the ack (every output took them).
fn send(port: u16, n: usize) -> Vec<String> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let logs: Vec<String> = (0..n).map(|i| format!("line {i}")).collect();
    conn.write_all(&forward_frame_at("app", &logs, Some("c1"), recent_secs()))
        .unwrap();
    assert_eq!(read_ack(&mut conn), "c1", "acked once every output has it");
    logs
}

fn cloudwatch_logs(moto: &Moto) -> Vec<String> {
    moto.logs()
        .events(GROUP, "app")
        .iter()
        .map(|(_, m)| {
            let v: serde_json::Value = serde_json::from_str(m).unwrap();
            v["log"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn cloudwatch_logs_goes_where_aws_endpoint_url_cloudwatch_logs_says() {
    let moto = Moto::start();
    let port = free_port();
    let mut env = moto.env();
    env.push(("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", moto.endpoint()));
    let config = format!("{}{}", forward_input(port), cloudwatch_output(""));
    let _fl = Firelane::start_env(&config, Stdio::null(), &env);
    let sent = send(port, 5);
    assert_eq!(cloudwatch_logs(&moto), sent);
}

#[test]
fn cloudwatch_logs_and_s3_go_where_aws_endpoint_url_says() {
    let moto = Moto::start();
    let bucket = Bucket::create(&moto, "logs");
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut env = moto.env();
    env.push(("AWS_ENDPOINT_URL", moto.endpoint()));
    let config = format!(
        r#"{}{}
[[outputs]]
name = "s3"
match = "*"
bucket = "logs"
store_dir = "{}"
upload_timeout = "1s"
"#,
        forward_input(port),
        cloudwatch_output(""),
        store.path().display()
    );
    let fl = Firelane::start_env(&config, Stdio::null(), &env);
    let sent = send(port, 5);
    assert_eq!(cloudwatch_logs(&moto), sent);
    // Path-style addressing: a virtual-hosted request would go to logs.127.0.0.1.
    let mut got = Vec::new();
    fl.wait_for("the S3 object", Duration::from_secs(30), || {
        got = bucket
            .objects()
            .iter()
            .flat_map(|o| o.lines())
            .map(|v| v["log"].as_str().unwrap().to_owned())
            .collect();
        !got.is_empty()
    });
    assert_eq!(got, sent);
}

#[test]
fn role_arn_is_assumed_where_aws_endpoint_url_sts_says() {
    let moto = Moto::start();
    let port = free_port();
    let mut env = moto.env();
    env.push(("AWS_ENDPOINT_URL_STS", moto.endpoint()));
    // CloudWatch Logs by the option, so that only the STS client depends on the variable.
    let config = format!(
        "{}{}",
        forward_input(port),
        cloudwatch_output(&format!(
            "endpoint = \"{}\"\nrole_arn = \"arn:aws:iam::123456789012:role/firelane-logs\"",
            moto.endpoint()
        ))
    );
    let _fl = Firelane::start_env(&config, Stdio::null(), &env);
    let sent = send(port, 3);
    assert_eq!(cloudwatch_logs(&moto), sent);
}
