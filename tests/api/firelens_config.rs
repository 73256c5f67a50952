//! FireLens drop-in: the Fluent Bit configs ECS generates (config/firelens/) load into the same
//! internal config as their TOML twins, and classic-format mistakes are reported by
//! `firelane validate` with file and line.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::path::{Path, PathBuf};
use std::process::Command;

use firelane::config::discover::{Format, load_path};

fn example(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/firelens")
        .join(rel)
}

/// Each generated config and its TOML twin give the same internal config (compared through
/// `Debug`, which shows every field), with no warning.
#[test]
fn generated_configs_load_like_their_toml_twins() {
    for dir in ["cloudwatch", "s3", "include"] {
        let classic = load_path(&example(&format!("{dir}/fluent-bit.conf")))
            .unwrap_or_else(|e| panic!("{dir}: {e}"));
        let toml = load_path(&example(&format!("{dir}/fluent-bit.toml")))
            .unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(classic.format, Format::Classic, "{dir}");
        assert_eq!(toml.format, Format::Toml, "{dir}");
        assert!(classic.warnings.is_empty(), "{dir}: {:?}", classic.warnings);
        assert_eq!(
            format!("{:#?}", classic.config),
            format!("{:#?}", toml.config),
            "{dir}"
        );
    }
}

/// The YAML versions give the same pipeline: the whole config for CloudWatch; for the include
/// example (parsers inline rather than in a parsers file) the inputs, filters and outputs.
#[test]
fn yaml_configs_load_like_their_classic_and_toml_twins() {
    let yaml = load_path(&example("cloudwatch/fluent-bit.yaml")).unwrap();
    let toml = load_path(&example("cloudwatch/fluent-bit.toml")).unwrap();
    assert_eq!(yaml.format, Format::Yaml);
    assert!(yaml.warnings.is_empty(), "{:?}", yaml.warnings);
    assert_eq!(format!("{:#?}", yaml.config), format!("{:#?}", toml.config));

    let yaml = load_path(&example("include/fluent-bit.yaml")).unwrap();
    let toml = load_path(&example("include/fluent-bit.toml")).unwrap();
    assert!(yaml.warnings.is_empty(), "{:?}", yaml.warnings);
    let (y, t) = (&yaml.config, &toml.config);
    assert_eq!(format!("{:#?}", y.inputs), format!("{:#?}", t.inputs));
    assert_eq!(format!("{:#?}", y.filters), format!("{:#?}", t.filters));
    assert_eq!(format!("{:#?}", y.outputs), format!("{:#?}", t.outputs));
    assert_eq!(
        format!("{:?}", y.service.grace),
        format!("{:?}", t.service.grace)
    );
    assert_eq!(y.parsers.len(), 1);
    assert_eq!(y.multiline_parsers[0].rule.0.len(), 3);
}

#[test]
fn the_generated_cloudwatch_config_reads_as_fluent_bit_means_it() {
    use firelane::config::model::{InputConfig, OutputConfig};
    let cfg = load_path(&example("cloudwatch/fluent-bit.conf"))
        .unwrap()
        .config;
    let InputConfig::Forward(unix) = &cfg.inputs[0] else {
        panic!("{:?}", cfg.inputs[0]);
    };
    assert_eq!(unix.mem_buf_limit.0, 25_000_000, "25MB is decimal");
    assert_eq!(unix.unix_path.as_deref(), Some("/var/run/fluent.sock"));
    assert_eq!(unix.port, None, "a unix_path-only input opens no TCP port");
    let OutputConfig::CloudwatchLogs(cw) = &cfg.outputs[1] else {
        panic!("{:?}", cfg.outputs[1]);
    };
    assert!(cw.auto_create_group.0);
    assert_eq!(cw.log_retention_days, Some(30));
    assert_eq!(cw.match_.as_deref(), Some("app-firelens*"));
}

fn validate(dir: &Path, file: &str, envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firelane"));
    cmd.args(["validate", "-c"]).arg(dir.join(file));
    cmd.env_remove("FIRELANE_CONFIG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    // The memory account line depends on the machine's cgroup (tests/e2e/memory_sizing.rs checks it).
    let stdout: String = String::from_utf8_lossy(&out.stdout)
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("memory account: "))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn classic_mistakes_are_all_listed_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "fluent-bit.conf",
        "\
[SERVICE]
    Flush 1
    Parsers_File /fluent-bit/parsers/parsers.conf
[INPUT]
    Name forward
  Port 24224
    Mem_Buf_Limit
[FILTER]
    Name lua
@INCLUDE conf.d/*.conf
@INCLUDE loop.conf
[OUTPUT]
    Name cloudwatch_logs
    Match *
    region ${AWS_REGION:-us-east-1}
    log_group_name ${GROUP}
    log_stream_prefix ${PREFIX:-app/}
    workers 1
",
    );
    write(d, "conf.d/a.conf", "[OUTPUT]\n    Name null\n    Match a\n");
    write(
        d,
        "conf.d/b.conf",
        "[OUTPUT]\n    Name stdout\n    Match b\n    Retry_Limit 3\n",
    );
    write(d, "loop.conf", "@INCLUDE fluent-bit.conf\n");
    let (code, stdout, stderr) = validate(d, "fluent-bit.conf", &[("GROUP", "/ecs/x")]);
    assert_eq!(code, 64, "{stdout}{stderr}");
    let root = d.join("fluent-bit.conf").display().to_string();
    let lines: Vec<&str> = stderr.lines().collect();
    let expected_errors = [
        format!(
            "{root}:6: indentation 2 spaces differs from the 4 spaces this file uses since line 2"
        ),
        format!("{root}:7: Mem_Buf_Limit: `Mem_Buf_Limit` has no value"),
        format!(
            "{}:1: @INCLUDE: include cycle: {root} -> {} -> {root}",
            d.join("loop.conf").display(),
            d.join("loop.conf").display()
        ),
        format!(
            "{root}:9: Name: filter plugin `lua` is not supported; firelane has: grep, modify, record_modifier, nest, parser, throttle, rewrite_tag, ecs, multiline"
        ),
    ];
    assert_eq!(lines[..4], expected_errors, "{stderr}");
    let warnings: Vec<&str> = lines[4..].to_vec();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        warnings[0].starts_with(&format!(
            "warning: {}:4: Retry_Limit: `Retry_Limit` is accepted and ignored",
            d.join("conf.d/b.conf").display()
        )),
        "{stderr}"
    );
    assert!(
        warnings[1].starts_with(&format!("warning: {root}:3: Parsers_File: `/fluent-bit/parsers/parsers.conf` (the Fluent Bit image's parsers file) is not here")),
        "{stderr}"
    );
}

#[test]
fn a_clean_classic_config_validates_with_env_defaults_and_globbed_includes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "fluent-bit.conf",
        "\
@SET PORT=24299
[INPUT]
    Name forward
    Listen 127.0.0.1
    Port ${PORT}
@INCLUDE conf.d/*.conf
",
    );
    write(d, "conf.d/a.conf", "[OUTPUT]\n    Name null\n    Match a\n");
    write(
        d,
        "conf.d/b.conf",
        "[OUTPUT]\n    Name file\n    Match *\n    Path ${OUT_DIR:-/tmp}\n    Format plain\n",
    );
    let (code, stdout, stderr) = validate(d, "fluent-bit.conf", &[]);
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (0, "ok: 1 inputs, 0 filters, 2 outputs\n", "")
    );
}

#[test]
fn values_from_the_environment_are_not_echoed_by_validate() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "fluent-bit.conf",
        "[SERVICE]\n    HTTP_Port ${ADMIN_PORT}\n[INPUT]\n    Name forward\n    Mem_Buf_Limit ${BUF}\n[OUTPUT]\n    Name cloudwatch_logs\n    Match *\n    region us-east-1\n    log_group_name /ecs/${GROUP_SECRET}\n    log_stream_prefix x\n    retry_limit ${RETRIES}\n",
    );
    let envs = [
        ("ADMIN_PORT", "tr0ub4dor"),
        ("BUF", "c0rrect-horse"),
        ("GROUP_SECRET", "b4ttery staple"),
        ("RETRIES", "sw0rdfish"),
    ];
    let (code, stdout, stderr) = validate(dir.path(), "fluent-bit.conf", &envs);
    assert_eq!(code, 64, "{stderr}");
    let shown = format!("{stdout}{stderr}");
    for (_, secret) in envs {
        assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
    }
    // The problems are still there, each naming the variable instead.
    assert!(
        shown.contains(":2: HTTP_Port:") && shown.contains("\"${ADMIN_PORT}\""),
        "{shown}"
    );
    assert!(shown.contains("`${BUF}` is not a size"), "{shown}");
    assert!(shown.contains("\"${RETRIES}\""), "{shown}");
}

#[test]
fn forward_authentication_keys_validate_and_no_secret_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "fluent-bit.conf",
        "\
[INPUT]
    Name forward
    Port 24298
    Shared_Key key-not-to-print
    Self_Hostname aggregator.internal
    Security.Users alice pw-not-to-print
    Security.Users bob pw2-not-to-print
[OUTPUT]
    Name null
    Match *
",
    );
    let (code, stdout, stderr) = validate(d, "fluent-bit.conf", &[]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "ok: 1 inputs, 0 filters, 1 outputs\n"),
        "{stderr}"
    );

    // A user entry without a password: named by its index, the key still not printed.
    let text = std::fs::read_to_string(d.join("fluent-bit.conf")).unwrap();
    write(
        d,
        "fluent-bit.conf",
        &text.replace("bob pw2-not-to-print", "bob"),
    );
    let (code, stdout, stderr) = validate(d, "fluent-bit.conf", &[]);
    assert_ne!(code, 0);
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("Security.Users [1]") && all.contains("USER PASSWORD"),
        "{all}"
    );
    assert!(
        !all.contains("not-to-print"),
        "a secret was printed:\n{all}"
    );
}
