//! Fluent Bit files mean to firelane what they mean to Fluent Bit, checked on the binary: the tcp
//! input's sizes in kilobytes, a repeated `Match`, compound durations, messages that hide only
//! what a `${VAR}` produced, and a Streams_File given as the config.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

/// `firelane validate -c DIR/FILE` with `envs`: (exit code, stdout + stderr).
fn validate(dir: &Path, file: &str, text: &str, envs: &[(&str, &str)]) -> (i32, String) {
    std::fs::write(dir.join(file), text).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firelane"));
    cmd.args(["validate", "-c"]).arg(dir.join(file));
    cmd.env_remove("FIRELANE_CONFIG").envs(envs.iter().copied());
    let out = cmd.output().unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), shown)
}

/// The input of AWS's EMF-over-TCP FireLens example
/// (amazon-ecs-firelens-examples, examples/fluent-bit/cloudwatchlogs-emf/emf-over-tcp/extra.conf):
/// `Chunk_Size 32` and `Buffer_Size 64` are kilobytes, so a 10 KB metric line arrives whole.
#[test]
fn the_emf_over_tcp_input_keeps_a_10_kb_line_whole() {
    let port = free_port();
    let fl = Firelane::start_file(
        "fluent-bit.conf",
        &format!(
            "\
[SERVICE]
    HTTP_Port {{http_port}}
    Flush 0.2
    Grace 5

[INPUT]
    Name        tcp
    Listen      127.0.0.1
    Port        {port}
    Chunk_Size  32
    Buffer_Size 64
    Format      none
    Tag         emf-test

[OUTPUT]
    Name   file
    Match  emf-*
    Path   {{dir}}
    File   emf.log
    Format plain
"
        ),
        &[],
    );
    let metrics: Vec<String> = (0..400).map(|i| format!("\"m{i}\":{i}")).collect();
    let line = format!(
        "{{\"_aws\":{{\"Timestamp\":1700000000000}},{},\"pad\":\"{}\"}}",
        metrics.join(","),
        "x".repeat(6000)
    );
    assert!(line.len() > 10_000, "{}", line.len());
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(format!("{line}\n").as_bytes()).unwrap();
    drop(s);
    let path = fl.path("emf.log");
    fl.wait_for("the metric line", Duration::from_secs(10), || {
        !read_json_lines(&path).is_empty()
    });
    let records = read_json_lines(&path);
    assert_eq!(records.len(), 1, "{records:?}");
    let got = records[0]["log"].as_str().unwrap();
    assert_eq!(got.len(), line.len(), "the line arrives whole");
    assert!(got == line, "the line arrives unchanged");
    assert_eq!(fl.metric("firelane_input_truncated_records_total", ""), 0.0);
}

/// ECS writes its own `Match` after the options a user gave an output: the last one applies, with
/// Fluent Bit's warning.
#[test]
fn a_repeated_match_takes_the_last_value_with_a_warning() {
    let port = free_port();
    let mut fl = Firelane::start_file(
        "fluent-bit.conf",
        &format!(
            "\
[SERVICE]
    HTTP_Port {{http_port}}
    Flush 0.2

[INPUT]
    Name   tcp
    Listen 127.0.0.1
    Port   {port}
    Tag    app-firelens-0123

[OUTPUT]
    Name   file
    Match  nothing-at-all
    Path   {{dir}}
    File   out.log
    Format plain
    Match  app-firelens*
"
        ),
        &[],
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"{\"msg\":\"routed\"}\n").unwrap();
    drop(s);
    let path = fl.path("out.log");
    fl.wait_for("the record", Duration::from_secs(10), || {
        !read_json_lines(&path).is_empty()
    });
    assert_eq!(read_json_lines(&path)[0]["msg"], "routed");
    assert_eq!(fl.terminate(), 0);
    assert!(
        fl.log()
            .contains("fluent-bit.conf:17: Match: `Match` is also set on line 13: the last value is used, as in Fluent Bit"),
        "{}",
        fl.log()
    );
}

#[test]
fn compound_durations_are_accepted_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    // aws-for-fluent-bit's own S3 integration test config writes `upload_timeout 1m30s`.
    let (code, shown) = validate(
        dir.path(),
        "fluent-bit.conf",
        "[INPUT]\n    Name forward\n[OUTPUT]\n    Name s3\n    Match *\n    bucket logs\n    region us-east-1\n    upload_timeout 1m30s\n",
        &[],
    );
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("ok: 1 inputs, 0 filters, 1 outputs"),
        "{shown}"
    );
    assert!(
        shown.contains(":8: upload_timeout: Fluent Bit reads `1m30s` as 1s"),
        "the difference from Fluent Bit is warned about: {shown}"
    );
    let (code, shown) = validate(
        dir.path(),
        "firelane.toml",
        "[service]\ngrace = \"1m30s\"\n\n[[inputs]]\nname = \"forward\"\n\n[[outputs]]\nname = \"null\"\nmatch = \"*\"\n",
        &[],
    );
    assert_eq!(code, 0, "{shown}");
}

#[test]
fn messages_hide_substituted_values_but_not_equal_literals() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
[INPUT]
    Name forward
    Tag  ${OUTPUT_PLUGIN}
[INPUT]
    Name tcp
    Port ${ADMIN_SECRET}
[OUTPUT]
    Name  kinesis_streams
    Match *
";
    let envs = [("OUTPUT_PLUGIN", "kinesis"), ("ADMIN_SECRET", "hunter22")];
    let (code, shown) = validate(dir.path(), "fluent-bit.conf", text, &envs);
    assert_eq!(code, 64, "{shown}");
    assert!(!shown.contains("hunter22"), "the secret is shown:\n{shown}");
    assert!(shown.contains("\"${ADMIN_SECRET}\""), "{shown}");
    assert!(
        shown.contains(":8: Name: output plugin `kinesis_streams` is not supported"),
        "a literal equal to a variable's value is shown as written:\n{shown}"
    );
}

#[test]
fn a_streams_file_given_as_the_config_says_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (code, shown) = validate(
        dir.path(),
        "streams.conf",
        "[STREAM_TASK]\n    Name  count\n    Exec  CREATE STREAM s AS SELECT * FROM TAG:'app*' WHERE level = 'error';\n",
        &[],
    );
    assert_eq!(code, 64, "{shown}");
    assert!(
        shown.contains("streams.conf:1: [STREAM_TASK] is a Fluent Bit stream processor section (the kind a Streams_File holds): firelane does not support stream processing"),
        "{shown}"
    );
    assert!(!shown.contains("TOML"), "{shown}");
}
