use std::path::Path;

use super::*;
use crate::config::fluentbit::classic::read_classic;
use crate::config::fluentbit::memfs::MemFiles;
use crate::config::fluentbit::{FbFormat, load};

fn no_env(_: &str) -> Option<String> {
    None
}

fn translated(text: &str) -> (Translated, Findings) {
    let fs = MemFiles::new(&[("/etc/fb/fluent-bit.conf", text)]);
    let (doc, findings) = read_classic(Path::new("/etc/fb/fluent-bit.conf"), &fs, &no_env);
    (translate(&doc), findings)
}

fn messages(problems: &[crate::config::errors::Problem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

#[test]
fn sections_become_toml_entries_with_repeats_as_lists() {
    let (t, _) = translated(
        "\
[SERVICE]
    Flush 2
    Parsers_File parsers.conf
    Parsers_File /abs/more.conf
[INPUT]
    Name Forward
    Port 24224
[FILTER]
    Name modify
    Match *
    Set a 1
    Rename b c
    Condition Key_exists b
[FILTER]
    Name multiline
    Match *
    multiline.parser java
    multiline.parser python
    multiline.key_content log
[PARSER]
    Name p
    Format regex
    Regex ^(?<a>.*)$
",
    );
    let expected: toml::Table = r#"
service = { flush = "2", parsers_file = ["/etc/fb/parsers.conf", "/abs/more.conf"] }
inputs = [{ name = "forward", port = "24224" }]
filters = [
  { name = "modify", match = "*", rules = ["Set a 1", "Rename b c"], condition = "Key_exists b" },
  { name = "multiline", match = "*", multiline_parser = "java,python", key_content = "log" },
]
parsers = [{ name = "p", format = "regex", regex = "^(?<a>.*)$" }]
"#
    .parse()
    .unwrap();
    assert_eq!(t.table, expected);
    assert!(t.findings.errors.is_empty() && t.findings.warnings.is_empty());
}

#[test]
fn stdout_and_file_print_as_fluent_bit_does_unless_told_otherwise() {
    let (t, _) = translated(
        "[OUTPUT]\n    Name stdout\n[OUTPUT]\n    Name file\n[OUTPUT]\n    Name stdout\n    Format JSON_Lines\n",
    );
    let expected: toml::Table = r#"
outputs = [
  { name = "stdout", format = "msgpack" },
  { name = "file", format = "out_file" },
  { name = "stdout", format = "json_lines" },
]
"#
    .parse()
    .unwrap();
    assert_eq!(t.table, expected);
}

#[test]
fn every_key_path_remembers_its_file_line_and_spelling() {
    let (t, _) = translated("[INPUT]\n    Name tcp\n    Buffer_Size 64\n[OUTPUT]\n    Name null\n");
    let (at, prefix, raw) = t.locate("inputs[0].buffer_size").unwrap();
    assert_eq!(
        (at.line, prefix, raw.as_str()),
        (3, "inputs[0].buffer_size", "Buffer_Size")
    );
    let (at, prefix, raw) = t.locate("outputs[0].match_regex").unwrap();
    assert_eq!(
        (at.line, prefix, raw.as_str()),
        (4, "outputs[0]", "[OUTPUT]")
    );
    assert!(t.locate("inputs").is_none());
}

#[test]
fn unsupported_plugins_are_errors_and_left_out() {
    let (t, _) = translated(
        "\
[INPUT]
    Name tail
    Path /var/log/*.log
[INPUT]
    Name forward
[FILTER]
    Name lua
[OUTPUT]
    Name kinesis_firehose
[OUTPUT]
    Match *
",
    );
    assert_eq!(
        messages(&t.findings.errors),
        [
            "/etc/fb/fluent-bit.conf:2: Name: input plugin `tail` is not supported; firelane has: forward, tcp",
            "/etc/fb/fluent-bit.conf:7: Name: filter plugin `lua` is not supported; firelane has: grep, modify, record_modifier, nest, parser, throttle, rewrite_tag, ecs, multiline",
            "/etc/fb/fluent-bit.conf:9: Name: output plugin `kinesis_firehose` is not supported (Kinesis Data Firehose is not supported); firelane has: stdout, file, null, cloudwatch_logs, cloudwatch, s3, forward",
            "/etc/fb/fluent-bit.conf:10: [OUTPUT] without `Name` (the plugin)",
        ]
    );
    let expected: toml::Table = r#"inputs = [{ name = "forward" }]"#.parse().unwrap();
    assert_eq!(t.table, expected);
    assert_eq!(t.locate("inputs[0]").unwrap().0.line, 4);
}

#[test]
fn knobs_warn_and_delivery_changes_are_refused() {
    let (t, _) = translated(
        "\
[SERVICE]
    Daemon off
    storage.path /var/fluent-bit/state
    Log_Level warning
[INPUT]
    Name forward
    storage.type memory
    threaded on
    tls on
[INPUT]
    Name tcp
    storage.type filesystem
[OUTPUT]
    Name cloudwatch_logs
    Match *
    auto_retry_requests true
    metric_namespace app
",
    );
    assert_eq!(
        messages(&t.findings.warnings),
        [
            "/etc/fb/fluent-bit.conf:8: threaded: `threaded` is accepted and ignored: every input already runs on its own tasks",
            "/etc/fb/fluent-bit.conf:16: auto_retry_requests: `auto_retry_requests` is accepted and ignored: failed requests are always retried with backoff",
        ]
    );
    assert_eq!(
        messages(&t.findings.errors),
        [
            "/etc/fb/fluent-bit.conf:17: metric_namespace: `metric_namespace` is not supported: no EMF metric settings",
        ]
    );
    let service = t.table["service"].as_table().unwrap();
    assert_eq!(service["log_level"].as_str(), Some("warn"));
    assert_eq!(
        service["storage"].as_table().unwrap()["path"].as_str(),
        Some("/var/fluent-bit/state")
    );
    let inputs = t.table["inputs"].as_array().unwrap();
    let storage = |i: usize| inputs[i]["storage"]["type"].as_str().unwrap().to_owned();
    assert_eq!(
        (storage(0), storage(1)),
        ("memory".to_owned(), "filesystem".to_owned())
    );
    let (at, _, raw) = t.locate("inputs[1].storage.type").unwrap();
    assert_eq!((at.line, raw.as_str()), (12, "storage.type"));
}

#[test]
fn loader_problems_point_at_the_fluent_bit_line_and_key() {
    let text = "\
[INPUT]
    Name forward
    Prot 24224
    Mem_Buf_Limit lots
[OUTPUT]
    Name cloudwatch_logs
    Match *
    log_retention_days many
";
    let fs = MemFiles::new(&[("/etc/fb/fluent-bit.conf", text)]);
    let err = load(
        Path::new("/etc/fb/fluent-bit.conf"),
        FbFormat::Classic,
        &fs,
        &no_env,
    )
    .unwrap_err();
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(
            "/etc/fb/fluent-bit.conf:3: Prot: unknown key `prot` (did you mean `port`?)"
        ),
        "{text}"
    );
    assert!(
        lines[1].starts_with("/etc/fb/fluent-bit.conf:4: Mem_Buf_Limit: "),
        "{text}"
    );
    assert!(lines[1].contains("lots"), "{text}");
    assert!(
        lines[2].starts_with("/etc/fb/fluent-bit.conf:8: log_retention_days: "),
        "{text}"
    );
}

#[test]
fn forward_authentication_keys_carry_over_and_their_problems_point_at_the_line() {
    let text = "\
[INPUT]
    Name forward
    Shared_Key s3cret
    Self_Hostname fl.example
    Empty_Shared_Key Off
    Security.Users alice pass1
    Security.Users bob
[OUTPUT]
    Name null
    Match *
";
    let (t, _) = translated(text);
    let expected: toml::Table = r#"
[[inputs]]
name = "forward"
shared_key = "s3cret"
self_hostname = "fl.example"
empty_shared_key = "Off"
security = { users = ["alice pass1", "bob"] }

[[outputs]]
name = "null"
match = "*"
"#
    .parse()
    .unwrap();
    assert_eq!(t.table, expected);
    assert!(t.findings.errors.is_empty(), "{:?}", t.findings.errors);

    let fs = MemFiles::new(&[("/etc/fb/fluent-bit.conf", text)]);
    let load_err = |fs: &MemFiles| {
        load(
            Path::new("/etc/fb/fluent-bit.conf"),
            FbFormat::Classic,
            fs,
            &no_env,
        )
        .unwrap_err()
        .to_string()
    };
    let err = load_err(&fs);
    assert!(
        err.starts_with("/etc/fb/fluent-bit.conf:6: Security.Users [1]: ")
            && err.contains("USER PASSWORD"),
        "{err}"
    );
    assert!(!err.contains("pass1") && !err.contains("s3cret"), "{err}");

    let good = text.replace("    Security.Users bob\n", "");
    let fs = MemFiles::new(&[("/etc/fb/fluent-bit.conf", good.as_str())]);
    let cfg = load(
        Path::new("/etc/fb/fluent-bit.conf"),
        FbFormat::Classic,
        &fs,
        &no_env,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let crate::config::model::InputConfig::Forward(fwd) = &cfg.0.inputs[0] else {
        panic!("forward")
    };
    let auth = fwd.server_auth().unwrap();
    assert_eq!(auth.self_hostname, "fl.example");
    assert_eq!((auth.shared_key.expose(), auth.users.len()), ("s3cret", 1));
}

#[test]
fn a_file_without_outputs_says_so_in_fluent_bit_terms() {
    let fs = MemFiles::new(&[("/c/f.conf", "[INPUT]\n    Name tcp\n")]);
    let err = load(Path::new("/c/f.conf"), FbFormat::Classic, &fs, &no_env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/c/f.conf: at least one [OUTPUT] section is required"
    );
}

#[test]
fn go_cloudwatch_name_templates_become_templates_with_the_default_as_fallback() {
    let (t, _) = translated(
        "\
[OUTPUT]
    Name cloudwatch
    Match *
    region us-east-1
    log_group_name /ecs/$(tag[0])
    default_log_group_name /ecs/other
    log_stream_name app-$(ecs_task_id)
[OUTPUT]
    Name cloudwatch_logs
    Match *
    log_group_name /ecs/$(tag)
    log_stream_prefix a/
[OUTPUT]
    Name cloudwatch
    Match *
    log_group_name g
    log_stream_name s-$(uuid)
",
    );
    let expected: toml::Table = r#"
outputs = [
  { name = "cloudwatch", match = "*", region = "us-east-1", log_group_name = "/ecs/other", log_group_template = "/ecs/$TAG[0]", log_stream_name = "fluentbit-default", log_stream_template = "app-$ecs_task_id" },
  { name = "cloudwatch_logs", match = "*", log_group_name = "/ecs/$(tag)", log_stream_prefix = "a/" },
  { name = "cloudwatch", match = "*", log_group_name = "g", log_stream_name = "s-$(uuid)" },
]
"#
    .parse()
    .unwrap();
    assert_eq!(t.table, expected, "the C plugin's names are literal");
    assert_eq!(t.findings.warnings.len(), 1, "{:?}", t.findings.warnings);
    assert!(
        t.findings.warnings[0].message.contains("ecs filter")
            || t.findings.warnings[0].message.contains("`ecs` filter")
    );
    assert_eq!(
        messages(&t.findings.errors),
        [
            "/etc/fb/fluent-bit.conf:17: log_stream_name: `s-$(uuid)`: `$(uuid)` is not supported in names (a new stream per start): use a record field"
        ]
    );
}

#[test]
fn tls_keys_of_inputs_become_their_tls_table() {
    let (t, _) = translated(
        "\
[INPUT]
    Name forward
    tls on
    tls.verify off
    tls.crt_file /etc/tls/server.crt
    tls.key_file /etc/tls/server.key
    tls.ca_file /etc/tls/ca.pem
    tls.vhost logs.example.com
    tls.key_passwd secret
[INPUT]
    Name tcp
    tls off
    tls.ca_path /etc/tls/cas
[OUTPUT]
    Name s3
    Match *
    tls.verify off
",
    );
    let expected: toml::Table = r#"
[[inputs]]
name = "forward"
tls = { enabled = "on", crt_file = "/etc/tls/server.crt", key_file = "/etc/tls/server.key", ca_file = "/etc/tls/ca.pem", key_passwd = "secret" }
[[inputs]]
name = "tcp"
tls = { enabled = "off" }
[[outputs]]
name = "s3"
match = "*"
"#
    .parse()
    .unwrap();
    assert_eq!(t.table, expected);
    let warnings = messages(&t.findings.warnings);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains(":4: tls.verify: `tls.verify` is accepted and ignored: on an input, client certificates are required and verified exactly when tls.ca_file is set"), "{warnings:?}");
    assert!(warnings[1].contains(":8: tls.vhost:"), "{warnings:?}");
    assert!(
        warnings[2].contains("AWS endpoints always use TLS"),
        "{warnings:?}"
    );
    assert_eq!(
        messages(&t.findings.errors),
        [
            "/etc/fb/fluent-bit.conf:13: tls.ca_path: `tls.ca_path` is not supported: put the CA certificates in one PEM file and set tls.ca_file"
        ]
    );
    let (at, _, raw) = t.locate("inputs[0].tls.crt_file").unwrap();
    assert_eq!((at.line, raw.as_str()), (5, "tls.crt_file"));
}

#[test]
fn forward_output_keys_map_and_an_upstream_file_becomes_upstreams() {
    let conf = "\
[INPUT]
    Name tcp
[OUTPUT]
    Name forward
    Match *
    Upstream upstream.conf
    Require_ack_response On
    Compress GZIP
    Time_as_Integer true
    Tag agg
    Retry_Limit 5
    Send_options true
    net.connect_timeout 3
";
    let upstream = "\
[UPSTREAM]
    name aggregators
[NODE]
    name a
    host 10.0.0.1
    port 24224
[NODE]
    name b
    host 10.0.0.2
    port 24225
";
    let fs = MemFiles::new(&[("/c/f.conf", conf), ("/c/upstream.conf", upstream)]);
    let (cfg, warnings) = load(Path::new("/c/f.conf"), FbFormat::Classic, &fs, &no_env).unwrap();
    let crate::config::model::OutputConfig::Forward(c) = &cfg.outputs[0] else {
        panic!("a forward output: {:?}", cfg.outputs[0]);
    };
    let addrs: Vec<String> = c.upstream_addrs().iter().map(ToString::to_string).collect();
    assert_eq!(addrs, ["10.0.0.1:24224", "10.0.0.2:24225"]);
    assert!(c.require_ack_response.0 && c.time_as_integer.0);
    assert_eq!(c.compress, crate::config::output::forward::Compress::Gzip);
    assert_eq!(c.tag.as_deref(), Some("agg"));
    assert_eq!(c.retry_limit, crate::config::units::RetryLimit::Limited(5));
    assert_eq!(c.connect_timeout.0, std::time::Duration::from_secs(3));
    assert_eq!(
        messages(&warnings),
        [
            "/c/f.conf:12: Send_options: `Send_options` is accepted and ignored: options (with the event count as `size`) are always sent"
        ]
    );
}

#[test]
fn forward_output_tls_keys_map_and_a_missing_upstream_file_is_named() {
    let conf = "\
[INPUT]
    Name tcp
[OUTPUT]
    Name forward
    Match *
    tls on
    tls.verify off
    tls.vhost agg.internal
    Upstream missing.conf
";
    let (t, _) = translated(conf);
    let expected: toml::Table = r#"
[[inputs]]
name = "tcp"
[[outputs]]
name = "forward"
match = "*"
tls = { enabled = "on", verify = "off", vhost = "agg.internal" }
upstream = "/etc/fb/missing.conf"
"#
    .parse()
    .unwrap();
    assert_eq!(t.table, expected);
    let fs = MemFiles::new(&[("/c/f.conf", conf)]);
    let err = load(Path::new("/c/f.conf"), FbFormat::Classic, &fs, &no_env).unwrap_err();
    let text = err.to_string();
    let want = "/c/f.conf:9: Upstream: cannot read the upstream file /c/missing.conf";
    assert!(text.contains(want), "missing `{want}` in:\n{text}");
}

#[test]
fn forward_output_handshake_keys_carry_over_and_env_values_stay_secret() {
    let conf = "\
[INPUT]
    Name tcp
[OUTPUT]
    Name forward
    Match *
    Host agg.internal
    Shared_Key ${FWD_KEY}
    Self_Hostname sidecar-1
    Username sidecar
    Password ${FWD_PASS}
";
    let env = |name: &str| match name {
        "FWD_KEY" => Some("key-from-env".to_owned()),
        "FWD_PASS" => Some("pass-from-env".to_owned()),
        _ => None,
    };
    let fs = MemFiles::new(&[("/c/f.conf", conf)]);
    let (cfg, warnings) = load(Path::new("/c/f.conf"), FbFormat::Classic, &fs, &env).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let crate::config::model::OutputConfig::Forward(c) = &cfg.outputs[0] else {
        panic!("a forward output: {:?}", cfg.outputs[0]);
    };
    let auth = c.client_auth("this-host").unwrap();
    assert_eq!(auth.self_hostname, "sidecar-1");
    assert_eq!(auth.shared_key.expose(), "key-from-env");
    assert_eq!(auth.username.as_deref(), Some("sidecar"));
    assert_eq!(
        auth.password.as_ref().map(|p| p.expose()),
        Some("pass-from-env")
    );
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("key-from-env") && !shown.contains("pass-from-env"));

    // A user without a password is an error at the Username line.
    let conf = conf.replace("    Password ${FWD_PASS}\n", "");
    let fs = MemFiles::new(&[("/c/f.conf", conf.as_str())]);
    let err = load(Path::new("/c/f.conf"), FbFormat::Classic, &fs, &env).unwrap_err();
    assert!(
        err.to_string().contains("password: required with username"),
        "{err}"
    );
}
