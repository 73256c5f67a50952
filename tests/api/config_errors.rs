//! Loading configuration files: every mistake is reported at once, each with its file and line.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::io::Write;

use firelane::config::{embedded_default, load_file, load_str};

/// Three mistakes in three sections: an unknown key, a bad enum value, a regex that does not compile.
const BROKEN: &str = r#"[service]
log_level = "info"
http_port = 2020

[[inputs]]
name = "forward"
prot = 24224
unix_perm = "0666"

[[outputs]]
name = "stdout"
match = "*"
json_date_format = "rfc3339"

[[outputs]]
name = "null"
match_regex = "app.(["
"#;

/// Each problem's line and key path, in order.
fn lines_and_keys(errors: &firelane::config::ConfigErrors) -> Vec<(Option<usize>, &str)> {
    errors
        .problems
        .iter()
        .map(|p| (p.line, p.key.as_str()))
        .collect()
}

#[test]
fn every_mistake_is_reported_with_file_line_and_key() {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(BROKEN.as_bytes()).unwrap();
    let errors = load_file(file.path()).unwrap_err();
    let origin = file.path().display().to_string();
    let got = lines_and_keys(&errors);
    assert_eq!(
        got,
        [
            (Some(7), "inputs[0].prot"),
            (Some(13), "outputs[0].json_date_format"),
            (Some(17), "outputs[1].match_regex"),
        ],
        "{errors}"
    );
    assert!(errors.problems.iter().all(|p| p.origin == origin));
    let text = errors.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    let expected_start =
        format!("{origin}:7: inputs[0].prot: unknown key `prot` (did you mean `port`?)");
    assert!(lines[0].starts_with(&expected_start), "{}", lines[0]);
    assert!(lines[1].contains("rfc3339"), "{}", lines[1]);
    assert!(lines[2].contains("invalid regex"), "{}", lines[2]);
}

#[test]
fn an_unreadable_file_is_one_problem_naming_it() {
    let errors = load_file(std::path::Path::new("/nonexistent/firelane.toml")).unwrap_err();
    assert_eq!(errors.problems.len(), 1);
    assert!(
        errors
            .to_string()
            .starts_with("/nonexistent/firelane.toml: cannot read the file")
    );
}

#[test]
fn the_shipped_example_and_default_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    load_file(&dir.join("config/firelane.toml")).unwrap_or_else(|e| panic!("{e}"));
    load_file(&dir.join("config/default.toml")).unwrap_or_else(|e| panic!("{e}"));
    let cfg = embedded_default();
    assert_eq!((cfg.inputs.len(), cfg.outputs.len()), (1, 1));
}

#[test]
fn bad_values_in_one_table_are_all_reported() {
    let text = "[service]\nlog_level = \"loud\"\nhttp_port = 70000\ngrace = \"soon\"\n\
                [[inputs]]\nname = \"forward\"\n[[outputs]]\nname = \"null\"\nmatch = \"*\"\n";
    let errors = load_str(text, "x.toml").unwrap_err();
    let keys: Vec<(Option<usize>, &str)> = errors
        .problems
        .iter()
        .map(|p| (p.line, p.key.as_str()))
        .collect();
    // log_level is a valid string, so its value is checked once the section deserializes.
    assert_eq!(
        keys,
        [(Some(3), "service.http_port"), (Some(4), "service.grace")],
        "{errors}"
    );
}

#[test]
fn cloudwatch_mistakes_are_all_listed_with_their_lines() {
    let text = r#"[[inputs]]
name = "forward"

[[outputs]]
name = "cloudwatch"
match = "*"
log_group_name = "/ecs/my service"
log_stream_name = "a"
log_stream_prefix = "b/"
log_stream_template = "$kubernetes['pod"
log_retention_days = 8
log_group_class = "COLD"
retry_limit = "sometimes"
workers = 0
"#;
    let errors = load_str(text, "fb.toml").unwrap_err();
    let got = lines_and_keys(&errors);
    // retry_limit fails to deserialize, which hides the semantic checks of that table; fix it
    // and the rest show up together.
    assert_eq!(got, [(Some(13), "outputs[0].retry_limit")], "{errors}");
    let fixed = text.replace("retry_limit = \"sometimes\"", "retry_limit = 3");
    let errors = load_str(&fixed, "fb.toml").unwrap_err();
    let got = lines_and_keys(&errors);
    assert_eq!(
        got,
        [
            (Some(7), "outputs[0].log_group_name"),
            (Some(9), "outputs[0].log_stream_prefix"),
            (Some(10), "outputs[0].log_stream_template"),
            (Some(11), "outputs[0].log_retention_days"),
            (Some(12), "outputs[0].log_group_class"),
            (Some(14), "outputs[0].workers"),
        ],
        "{errors}"
    );
    assert!(errors.to_string().contains("3653"), "{errors}");
}

#[test]
fn s3_mistakes_are_all_listed_with_their_lines() {
    let text = r#"[[inputs]]
name = "forward"

[[outputs]]
name = "s3"
match = "*"
bucket = "My_Bucket"
total_file_size = "500K"
upload_chunk_size = "1M"
s3_key_format = "/logs/$TAG[x]/%Q"
storage_class = "COLDEST"
canned_acl = "everyone"
workers = 0
external_id = "x"
"#;
    let errors = load_str(text, "s3.toml").unwrap_err();
    let got = lines_and_keys(&errors);
    assert_eq!(
        got,
        [
            (Some(7), "outputs[0].bucket"),
            (Some(8), "outputs[0].total_file_size"),
            (Some(9), "outputs[0].upload_chunk_size"),
            (Some(10), "outputs[0].s3_key_format"),
            (Some(11), "outputs[0].storage_class"),
            (Some(12), "outputs[0].canned_acl"),
            (Some(13), "outputs[0].workers"),
            (Some(14), "outputs[0].external_id"),
        ],
        "{errors}"
    );
    let text = errors.to_string();
    assert!(
        text.contains("STANDARD_IA"),
        "allowed values listed: {text}"
    );
    assert!(text.contains("%Q") || text.contains("$TAG[x]"), "{text}");
    // A minimal block is enough: everything else has Fluent Bit's defaults.
    let ok = "[[inputs]]\nname = \"forward\"\n\n[[outputs]]\nname = \"s3\"\nmatch = \"*\"\nbucket = \"logs\"\n";
    load_str(ok, "s3.toml").unwrap();
}

#[test]
fn filter_mistakes_point_at_the_key_they_are_about() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.toml");
    std::fs::write(
        &path,
        r#"[[inputs]]
name = "forward"

[[filters]]
name = "parser"
match = "*"
key_name = "log"
parser = ["jsno"]

[[filters]]
name = "multiline"
match = "*"
multiline_parser = "ruby"

[[filters]]
name = "rewrite_tag"
match = "*"
rule = "$log x"

[[parsers]]
name = "p"
format = "ltsv"

[[outputs]]
name = "null"
match = "*"
"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firelane"))
        .args(["validate", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    for want in [
        ":8: filters[0].parser: parser filter: unknown parser `jsno`",
        ":13: filters[1].multiline_parser: unknown multiline parser \"ruby\"",
        ":18: filters[2].rule: rule `$log x` must have four parts",
        ":20: parsers[0]: parser `p`: unknown format `ltsv`",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn unsupported_output_formats_list_the_supported_ones() {
    let text = r#"[[inputs]]
name = "forward"

[[outputs]]
name = "file"
match = "*"
format = "csv"

[[outputs]]
name = "stdout"
match = "*"
format = "yaml"

[[outputs]]
name = "file"
match = "*"
format = "msgpack"
"#;
    let errors = load_str(text, "fmt.toml").unwrap_err();
    assert_eq!(
        lines_and_keys(&errors),
        [
            (Some(7), "outputs[0].format"),
            (Some(12), "outputs[1].format"),
            (Some(17), "outputs[2].format"),
        ],
        "{errors}"
    );
    let messages: Vec<&str> = errors.problems.iter().map(|p| p.message.as_str()).collect();
    for (message, bad) in messages.iter().zip(["csv", "yaml", "msgpack"]) {
        assert!(message.contains(&format!("`{bad}`")), "{message}");
    }
    for file_message in [messages[0], messages[2]] {
        assert!(
            file_message.contains("`json_lines`, `out_file`, `plain`"),
            "{file_message}"
        );
    }
    assert!(
        messages[1].contains("`json_lines`, `json_stream`, `json`, `msgpack`"),
        "{}",
        messages[1]
    );
    // Every supported value loads.
    for (plugin, format) in [
        ("file", "json_lines"),
        ("file", "out_file"),
        ("file", "plain"),
        ("stdout", "json_lines"),
        ("stdout", "json_stream"),
        ("stdout", "json"),
        ("stdout", "msgpack"),
    ] {
        let ok = format!(
            "[[inputs]]\nname = \"forward\"\n[[outputs]]\nname = \"{plugin}\"\nmatch = \"*\"\nformat = \"{format}\"\n"
        );
        load_str(&ok, "ok.toml").unwrap_or_else(|e| panic!("{plugin} {format}: {e}"));
    }
}
