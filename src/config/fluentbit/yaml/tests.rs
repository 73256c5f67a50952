use std::collections::HashMap;
use std::path::Path;

use super::*;
use crate::config::fluentbit::doc::SectionKind;
pub(super) use crate::config::fluentbit::memfs::MemFiles;

/// Reads the first file as the root, with `env` as the process environment.
pub(super) fn read(files: &[(&str, &str)], env: &[(&str, &str)]) -> (Doc, Findings) {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    read_yaml(Path::new(files[0].0), &MemFiles::new(files), &|n| {
        env.get(n).cloned()
    })
}

/// Each section as `[KIND] file:line`, then each entry as `  key=value @line`.
pub(super) fn render(doc: &Doc) -> Vec<String> {
    let mut out = Vec::new();
    for s in &doc.sections {
        out.push(format!("[{}] {}:{}", s.kind.header(), s.at.file, s.at.line));
        for e in &s.entries {
            out.push(format!("  {}={} @{}", e.key, e.value, e.at.line));
        }
    }
    out
}

pub(super) fn shown(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

/// Only the text of errors, for tests about one mistake.
pub(super) fn errors_of(yaml: &str) -> Vec<String> {
    shown(&read(&[("/c/fb.yaml", yaml)], &[]).1.errors)
}

const FIRELENS: &str = "\
service:
  flush: 1
  Log_Level: info
pipeline:
  inputs:
    - name: forward
      unix_path: /var/run/fluent.sock
      Mem_Buf_Limit: 25MB
    - name: tcp
      tag: firelens-healthcheck
      listen: 127.0.0.1
      port: 8877
  filters:
    - name: grep
      match: app-firelens*
      regex: log ^.*ERROR.*$
    - name: record_modifier
      match: '*'
      record:
        - ecs_cluster my-cluster
        - ecs_task_definition my-family:7
  outputs:
    - name: cloudwatch_logs
      match: app-firelens*
      region: us-east-1
      log_group_name: /ecs/my-service
      auto_create_group: true
";

#[test]
fn a_firelens_pipeline_reads_into_sections_with_lines() {
    let (doc, findings) = read(&[("/etc/fb/fluent-bit.yaml", FIRELENS)], &[]);
    assert_eq!(findings, Findings::default());
    assert_eq!(doc.base_dir, PathBuf::from("/etc/fb"));
    let f = "/etc/fb/fluent-bit.yaml";
    assert_eq!(
        render(&doc),
        [
            format!("[SERVICE] {f}:1"),
            "  flush=1 @2".into(),
            "  log_level=info @3".into(),
            format!("[INPUT] {f}:6"),
            "  name=forward @6".into(),
            "  unix_path=/var/run/fluent.sock @7".into(),
            "  mem_buf_limit=25MB @8".into(),
            format!("[INPUT] {f}:9"),
            "  name=tcp @9".into(),
            "  tag=firelens-healthcheck @10".into(),
            "  listen=127.0.0.1 @11".into(),
            "  port=8877 @12".into(),
            format!("[FILTER] {f}:14"),
            "  name=grep @14".into(),
            "  match=app-firelens* @15".into(),
            "  regex=log ^.*ERROR.*$ @16".into(),
            format!("[FILTER] {f}:17"),
            "  name=record_modifier @17".into(),
            "  match=* @18".into(),
            "  record=ecs_cluster my-cluster @20".into(),
            "  record=ecs_task_definition my-family:7 @21".into(),
            format!("[OUTPUT] {f}:23"),
            "  name=cloudwatch_logs @23".into(),
            "  match=app-firelens* @24".into(),
            "  region=us-east-1 @25".into(),
            "  log_group_name=/ecs/my-service @26".into(),
            "  auto_create_group=true @27".into(),
        ]
    );
    let service = &doc.sections[0];
    assert_eq!(
        service.get("log_level").map(|e| e.raw_key.as_str()),
        Some("Log_Level")
    );
    assert_eq!(
        doc.sections[1]
            .get("mem_buf_limit")
            .map(|e| e.raw_key.as_str()),
        Some("Mem_Buf_Limit")
    );
}

#[test]
fn pipeline_sections_come_inputs_then_filters_then_outputs() {
    let yaml = "pipeline:\n  outputs:\n    - name: null\n  inputs:\n    - name: dummy\n";
    let (doc, findings) = read(&[("fb.yaml", yaml)], &[]);
    assert!(findings.errors.is_empty(), "{findings:?}");
    let kinds: Vec<_> = doc.sections.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [SectionKind::Input, SectionKind::Output]);
    // `null` is YAML's null, but Fluent Bit reads every scalar as text: the null output.
    assert_eq!(
        doc.sections[1].get("name").map(|e| e.value.as_str()),
        Some("null")
    );
}

#[test]
fn scalars_keep_their_text_and_empty_values_are_refused() {
    let yaml = "service:\n  a: true\n  b: 1\n  c: 1.5\n  d: 'x: y'\n  e: 0x10\n  f: |\n    block\n  g:\n  h: ''\n  i: []\n  j: ~\n";
    let (doc, findings) = read(&[("/c/fb.yaml", yaml)], &[]);
    let values: Vec<_> = doc.sections[0]
        .entries
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("a", "true"),
            ("b", "1"),
            ("c", "1.5"),
            ("d", "x: y"),
            ("e", "0x10"),
            ("f", "block"),
            ("j", "~")
        ]
    );
    assert_eq!(
        shown(&findings.errors),
        [
            "/c/fb.yaml:9: g: missing value",
            "/c/fb.yaml:10: h: missing value",
            "/c/fb.yaml:11: i: missing value",
        ]
    );
}

#[test]
fn env_variables_win_over_the_process_environment_and_unset_ones_warn() {
    let yaml = "\
pipeline:
  outputs:
    - name: cloudwatch_logs
      region: ${REGION}
      log_group_name: ${GROUP:-/ecs/default}
      role_arn: ${ROLE}
      log_stream_prefix: ${PREFIX}
env:
  REGION: eu-west-1
";
    let (doc, findings) = read(
        &[("/c/fb.yaml", yaml)],
        &[("REGION", "us-east-1"), ("PREFIX", "app/")],
    );
    let values: Vec<_> = doc.sections[0]
        .entries
        .iter()
        .map(|e| e.value.as_str())
        .collect();
    assert_eq!(
        values,
        ["cloudwatch_logs", "eu-west-1", "/ecs/default", "", "app/"]
    );
    assert!(findings.errors.is_empty(), "{findings:?}");
    assert_eq!(
        shown(&findings.warnings),
        ["/c/fb.yaml:6: role_arn: `${ROLE}` is not set: the value is empty"]
    );
}

#[test]
fn nested_maps_processors_and_aliases_are_refused() {
    let yaml = "\
pipeline:
  inputs:
    - name: dummy
      dummy:
        a: 1
      processors:
        logs:
          - name: content_modifier
      tag: &t x
      alias: *t
      list:
        - [1]
";
    assert_eq!(
        errors_of(yaml),
        [
            "/c/fb.yaml:4: dummy: nested maps are not supported here",
            "/c/fb.yaml:6: processors: processors are not supported",
            "/c/fb.yaml:10: alias: YAML aliases (`*name`) are not supported",
            "/c/fb.yaml:12: list: nested lists are not supported here",
        ]
    );
}

#[test]
fn unknown_top_level_and_pipeline_keys_are_named_with_their_line() {
    let yaml = "service:\n  flush: 1\nplugins:\n  - x.so\npipeline:\n  routes: []\ncustoms: []\n";
    assert_eq!(
        errors_of(yaml),
        [
            "/c/fb.yaml:6: routes: pipeline.routes is not supported (inputs, filters, outputs)",
            "/c/fb.yaml:7: customs: `customs` is not supported (top-level keys: service, pipeline, parsers, multiline_parsers, includes, env)",
        ]
    );
    assert_eq!(
        errors_of("- just\n- a list\n"),
        [
            "/c/fb.yaml:1: the top level must be a map of sections (service, pipeline, parsers, multiline_parsers, includes, env)"
        ]
    );
}

#[test]
fn a_syntax_error_names_its_line() {
    let errors = errors_of("service:\n  flush: 1\n  bad: [unclosed\n\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("/c/fb.yaml:5: YAML syntax error: "),
        "{errors:?}"
    );
    let errors = errors_of("service:\n  flush: 1\n   grace: 5\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("/c/fb.yaml:3: YAML syntax error: "),
        "{errors:?}"
    );
}

#[test]
fn parsers_become_parser_sections() {
    let yaml = "parsers:\n  - name: json\n    format: json\n    time_key: time\n";
    let (doc, findings) = read(&[("/c/fb.yaml", yaml)], &[]);
    assert_eq!(findings, Findings::default());
    assert_eq!(
        render(&doc),
        [
            "[PARSER] /c/fb.yaml:2",
            "  name=json @2",
            "  format=json @3",
            "  time_key=time @4"
        ]
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = |n| format!("service: {}{}", "[".repeat(n), "]".repeat(n));
    assert_eq!(
        errors_of(&deep(40)),
        ["/c/fb.yaml:1: YAML syntax error: nested more than 32 levels deep"]
    );
    // Far deeper: the YAML parser's own limit answers first; either way no stack overflow.
    let errors = errors_of(&deep(100_000));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("/c/fb.yaml:1: YAML syntax error: "),
        "{errors:?}"
    );
}

#[test]
fn stream_processor_and_plugins_say_what_they_are_and_substitutions_keep_their_line() {
    let yaml = "stream_processor:\n  - name: t\n    exec: SELECT 1;\nplugins:\n  - /x.so\npipeline:\n  inputs:\n    - name: forward\n      tag: ${T}\n";
    let (doc, findings) = read(&[("/c/fb.yaml", yaml)], &[("T", "app")]);
    assert_eq!(
        shown(&findings.errors),
        [
            "/c/fb.yaml:1: stream_processor: `stream_processor` is a Fluent Bit stream processor section (the kind a Streams_File holds): firelane does not support stream processing"
        ]
    );
    assert!(
        shown(&findings.warnings)[0].starts_with(
            "/c/fb.yaml:4: plugins: `plugins` is a Fluent Bit external plugins section"
        ),
        "{:?}",
        findings.warnings
    );
    let subs: Vec<(usize, &str, &str)> = (doc.substitutions.iter())
        .map(|s| (s.at.line, s.name.as_str(), s.text.as_str()))
        .collect();
    assert_eq!(subs, [(9, "T", "app")]);
}
