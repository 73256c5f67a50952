//! Tests of the loader against the shipped example files and typical mistakes.

use super::*;
use crate::config::discover::{embedded_default, embedded_default_in};
use crate::config::model::{
    DateKey, FileOutputConfig, ForwardInputConfig, NullOutputConfig, Overflow, StdoutOutputConfig,
    TcpInputConfig,
};

const EXAMPLE: &str = include_str!("../../../config/firelane.toml");

fn problems(text: &str) -> Vec<String> {
    match load_str(text, "t.toml") {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_example_loads_with_every_value_it_shows() {
    let cfg = load_str(EXAMPLE, "firelane.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.inputs.len(), 2);
    assert_eq!(cfg.outputs.len(), 6);
    let InputConfig::Forward(fwd) = &cfg.inputs[0] else {
        panic!("forward first")
    };
    assert_eq!(fwd.unix_path.as_deref(), Some("/var/run/fluent.sock"));
    assert_eq!(fwd.overflow, Overflow::Block);
    let OutputConfig::File(file) = &cfg.outputs[1] else {
        panic!("file second")
    };
    assert_eq!(file.json_tag_key, DateKey(None));
}

/// Keys set or shown commented out (`# key = ...`) in each `[[inputs]]` / `[[outputs]]` / `[service]`
/// block of the example, by plugin name.
fn documented_keys(text: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            let header = if t == "[service]" { "service" } else { "" };
            blocks.push((header.to_owned(), Vec::new()));
            continue;
        }
        let Some((_, keys)) = blocks.last_mut() else {
            continue;
        };
        let body = t.strip_prefix('#').unwrap_or(t).trim();
        let Some((key, value)) = body.split_once(" = ") else {
            continue;
        };
        if key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        {
            // A dotted key (`storage.type`) documents its table (`storage`) too.
            if let Some((table, _)) = key.split_once('.') {
                keys.push(table.to_owned());
            }
            keys.push(key.to_owned());
            if key == "name" && !t.starts_with('#') {
                let plugin = value.trim_matches('"').to_owned();
                blocks.last_mut().unwrap().0 = plugin;
            }
        }
    }
    blocks
}

#[test]
fn the_example_documents_every_key_of_the_model() {
    let blocks = documented_keys(EXAMPLE);
    let expect: [(&str, &[&str]); 8] = [
        ("service", struct_fields::<ServiceConfig>().unwrap()),
        ("forward", struct_fields::<ForwardInputConfig>().unwrap()),
        ("tcp", struct_fields::<TcpInputConfig>().unwrap()),
        ("stdout", struct_fields::<StdoutOutputConfig>().unwrap()),
        ("file", struct_fields::<FileOutputConfig>().unwrap()),
        ("null", struct_fields::<NullOutputConfig>().unwrap()),
        (
            "cloudwatch_logs",
            struct_fields::<crate::config::output::cloudwatch::CloudWatchOutputConfig>().unwrap(),
        ),
        (
            "s3",
            struct_fields::<crate::config::output::s3::S3OutputConfig>().unwrap(),
        ),
    ];
    for (plugin, fields) in expect {
        let keys = &blocks
            .iter()
            .find(|(p, _)| p == plugin)
            .unwrap_or_else(|| panic!("no {plugin} block"))
            .1;
        for field in fields {
            assert!(
                keys.iter().any(|k| k == field),
                "{plugin}: `{field}` is not in config/firelane.toml"
            );
        }
    }
}

#[test]
fn embedded_default_listens_on_localhost_and_adds_the_socket_when_writable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = embedded_default_in(dir.path());
    let InputConfig::Forward(fwd) = &cfg.inputs[0] else {
        panic!("forward")
    };
    assert_eq!(
        crate::config::forward_tcp_endpoint(fwd),
        Some(("127.0.0.1", 24224))
    );
    let sock = dir.path().join("fluent.sock").display().to_string();
    assert_eq!(fwd.unix_path.as_deref(), Some(sock.as_str()));
    assert_eq!(fwd.alias.as_deref(), Some("forward.0"));
    assert!(matches!(cfg.outputs[0], OutputConfig::Stdout(_)));
    // No probe file left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let missing = embedded_default_in(&dir.path().join("absent"));
    let InputConfig::Forward(fwd) = &missing.inputs[0] else {
        panic!("forward")
    };
    assert_eq!(fwd.unix_path, None);
    // The real one never panics, whatever /var/run is here.
    let _ = embedded_default();
}

#[test]
fn syntax_errors_report_their_line() {
    let got = problems("[service]\nlog_level = \"info\"\nflush = = 1\n");
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("t.toml:3: TOML syntax error at column"),
        "{}",
        got[0]
    );
}

#[test]
fn plugin_names_are_checked_and_listed() {
    let got = problems(
        "[[inputs]]\nname = \"forwrd\"\n\n[[inputs]]\nport = 1\n\n[[outputs]]\nname = \"null\"\nmatch = \"*\"\n",
    );
    assert_eq!(
        got,
        [
            "t.toml:2: inputs[0].name: unknown input plugin `forwrd`; known: forward, tcp",
            "t.toml:4: inputs[1]: missing `name`: the input plugin, one of forward, tcp",
        ]
    );
}

#[test]
fn filters_unknown_sections_and_wrong_shapes() {
    let got = problems(
        "servce = 1\n[[inputs]]\nname = \"forward\"\n[[filters]]\nname = \"lua\"\n[[outputs]]\nname = \"null\"\nmatch = \"*\"\n",
    );
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("t.toml:1: servce: unknown key `servce` (did you mean `service`?)"));
    assert!(
        got[1].starts_with("t.toml:5: filters[0].name: unknown filter plugin `lua`; known: "),
        "{}",
        got[1]
    );
    let got = problems("inputs = 3\n[[outputs]]\nname = \"null\"\nmatch = \"*\"\n");
    assert_eq!(
        got,
        ["t.toml:1: inputs: expected an array of tables: [[inputs]], found integer"]
    );
}

#[test]
fn missing_sections_are_reported_without_a_line() {
    assert_eq!(
        problems("[service]\n"),
        [
            "t.toml: inputs: at least one [[inputs]] is required",
            "t.toml: outputs: at least one [[outputs]] is required"
        ]
    );
}

#[test]
fn default_aliases_count_per_plugin_in_file_order() {
    let cfg = load_str(
        "[[inputs]]\nname = \"forward\"\nport = 1\n[[inputs]]\nname = \"tcp\"\n[[inputs]]\nname = \"forward\"\nport = 2\n\
         [[outputs]]\nname = \"null\"\nmatch = \"*\"\n",
        "t.toml",
    )
    .unwrap();
    let names: Vec<&str> = cfg.inputs.iter().map(crate::config::input_alias).collect();
    assert_eq!(names, ["forward.0", "tcp.0", "forward.1"]);
}

#[test]
fn default_output_aliases_follow_the_name_as_written() {
    let out =
        |name: &str, extra: &str| format!("[[outputs]]\nname = \"{name}\"\nmatch = \"*\"\n{extra}");
    let cw = "log_group_name = \"g\"\nlog_stream_name = \"s\"\nregion = \"us-east-1\"\n";
    let text = format!(
        "[[inputs]]\nname = \"forward\"\n{}{}{}{}{}",
        out("cloudwatch", cw),
        out("cloudwatch_logs", cw),
        out("cloudwatch", cw),
        out("forward", ""),
        out("null", ""),
    );
    let cfg = load_str(&text, "t.toml").unwrap();
    let names: Vec<&str> = cfg
        .outputs
        .iter()
        .map(crate::config::output_alias)
        .collect();
    // Fluent Bit names an output after its `Name`; the forward output is `forward_out`, apart
    // from the forward input.
    assert_eq!(
        names,
        [
            "cloudwatch.0",
            "cloudwatch_logs.0",
            "cloudwatch.1",
            "forward_out.0",
            "null.0"
        ]
    );
}

#[test]
fn filter_problems_are_all_reported_with_their_lines() {
    let got = problems(
        r#"[[inputs]]
name = "forward"

[[filters]]
name = "record_modifier"
match = "*"
remove_key = "a"
allowlist_key = ["b"]

[[filters]]
name = "record_modifier"
record = "lonely"

[[filters]]
name = "record_modifier"
match = "*"
match_regex = "("
colour = "red"

[[outputs]]
name = "null"
match = "*"
"#,
    );
    assert_eq!(
        got,
        [
            "t.toml:8: filters[0].allowlist_key: remove_key and allowlist_key cannot be used together",
            "t.toml:10: filters[1]: filter matches nothing: set match or match_regex",
            "t.toml:12: filters[1].record: `lonely`: a record rule needs a key and a value separated by a space",
            "t.toml:17: filters[2].match_regex: set either match or match_regex, not both",
            "t.toml:17: filters[2].match_regex: invalid regex `(`: end pattern with unmatched parenthesis (at character 1)",
            "t.toml:18: filters[2].colour: unknown key `colour`; known keys: alias, match, match_regex, record, remove_key, allowlist_key, whitelist_key, uuid_key",
        ],
        "{got:#?}"
    );
}

#[test]
fn a_valid_filter_loads_with_its_default_alias() {
    let cfg = load_str(
        "[[inputs]]\nname = \"forward\"\n[[filters]]\nname = \"record_modifier\"\nmatch = \"*\"\nrecord = [\"a 1\", \"b two words\"]\n[[outputs]]\nname = \"null\"\nmatch = \"*\"\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(cfg.filters.len(), 1);
    assert_eq!(cfg.filters[0].alias(), "record_modifier.0");
}
