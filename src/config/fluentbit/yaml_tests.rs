use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::filter::multiline::RuleDef;

/// Files in memory: path -> text; a directory lists the files directly in it.
struct MemFiles(HashMap<PathBuf, String>);

impl Files for MemFiles {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        Ok(self
            .0
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect())
    }
}

/// Reads the first file as the root, with `env` as the process environment.
fn read(files: &[(&str, &str)], env: &[(&str, &str)]) -> (Doc, Findings) {
    let map = files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), t.to_string()))
        .collect();
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    read_yaml(Path::new(files[0].0), &MemFiles(map), &|n| {
        env.get(n).cloned()
    })
}

/// Each section as `[KIND] file:line`, then each entry as `  key=value @line`.
fn render(doc: &Doc) -> Vec<String> {
    let mut out = Vec::new();
    for s in &doc.sections {
        out.push(format!("[{}] {}:{}", s.kind.header(), s.at.file, s.at.line));
        for e in &s.entries {
            out.push(format!("  {}={} @{}", e.key, e.value, e.at.line));
        }
    }
    out
}

fn shown(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

/// Only the text of errors, for tests about one mistake.
fn errors_of(yaml: &str) -> Vec<String> {
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
fn includes_are_globbed_from_the_root_dir_and_spliced_in_place() {
    let root = "\
pipeline:
  inputs:
    - name: forward
includes:
  - extra/*.yaml
  - ${LAST}
pipeline:
  outputs:
    - name: stdout
";
    let (doc, findings) = read(
        &[
            ("/etc/fb/fb.yaml", root),
            (
                "/etc/fb/extra/b.yaml",
                "pipeline:\n  outputs:\n    - name: b\n",
            ),
            (
                "/etc/fb/extra/a.yaml",
                "env:\n  G: grp\npipeline:\n  filters:\n    - name: a\n      match: ${G}\n",
            ),
            ("/etc/fb/extra/notes.txt", "not yaml: ["),
            ("/etc/fb/last.yaml", "service:\n  flush: 2\n"),
        ],
        &[("LAST", "last.yaml")],
    );
    assert_eq!(findings, Findings::default());
    assert_eq!(
        render(&doc),
        [
            "[INPUT] /etc/fb/fb.yaml:3",
            "  name=forward @3",
            "[FILTER] /etc/fb/extra/a.yaml:5",
            "  name=a @5",
            "  match=grp @6",
            "[OUTPUT] /etc/fb/extra/b.yaml:3",
            "  name=b @3",
            "[SERVICE] /etc/fb/last.yaml:1",
            "  flush=2 @2",
            "[OUTPUT] /etc/fb/fb.yaml:9",
            "  name=stdout @9",
        ]
    );
}

#[test]
fn an_include_cycle_is_an_error_at_the_include_line() {
    let (doc, findings) = read(
        &[
            ("/c/fb.yaml", "includes:\n  - a.yaml\n"),
            (
                "/c/a.yaml",
                "pipeline:\n  inputs:\n    - name: dummy\nincludes:\n  - ./fb.yaml\n",
            ),
        ],
        &[],
    );
    assert_eq!(
        shown(&findings.errors),
        [
            "/c/a.yaml:5: includes: include cycle: `/c/./fb.yaml` is already being read (it includes itself)"
        ]
    );
    assert_eq!(
        doc.sections.len(),
        1,
        "what was read before the cycle is kept"
    );
    let (_, findings) = read(&[("/c/fb.yaml", "includes:\n  - fb.yaml\n")], &[]);
    assert_eq!(findings.errors.len(), 1, "{findings:?}");
    assert_eq!(findings.errors[0].line, Some(2));
}

#[test]
fn a_missing_include_or_root_is_an_error() {
    assert_eq!(
        errors_of("service:\n  flush: 1\nincludes:\n  - gone.yaml\n"),
        ["/c/fb.yaml:4: includes: cannot read `/c/gone.yaml`: no such file"]
    );
    let (doc, findings) = read_yaml(
        Path::new("/nowhere.yaml"),
        &MemFiles(HashMap::new()),
        &|_| None,
    );
    assert!(doc.sections.is_empty());
    assert_eq!(
        shown(&findings.errors),
        ["/nowhere.yaml: cannot read `/nowhere.yaml`: no such file"]
    );
    let (_, findings) = read(&[("/c/fb.yaml", "includes:\n  - none/*.yaml\n")], &[]);
    assert!(findings.errors.is_empty());
    assert_eq!(
        shown(&findings.warnings),
        ["/c/fb.yaml:2: includes: `/c/none/*.yaml` matches no file"]
    );
}

#[test]
fn multiline_rules_round_trip_through_the_rule_reader() {
    let yaml = r#"
multiline_parsers:
  - name: multiline-regex-test
    type: regex
    flush_timeout: 1000
    rules:
      - state: start_state, java_start
        regex: '/([a-zA-Z]+ \d+ \d+:\d+:\d+)(.*)/'
        next_state: cont
      - state: cont
        regex: '/^\s+at "(\w+)"\\$/'
        next_state: cont
      - state: cont
        regex: 'ends in a backslash\\'
        next_state: "${NEXT}"
"#;
    let (doc, findings) = read(&[("/c/fb.yaml", yaml)], &[("NEXT", "done")]);
    assert_eq!(findings, Findings::default());
    let section = &doc.sections[0];
    assert_eq!(section.kind, SectionKind::MultilineParser);
    let rules: Vec<_> = section.entries.iter().filter(|e| e.key == "rule").collect();
    let lines: Vec<_> = rules.iter().map(|e| e.at.line).collect();
    assert_eq!(lines, [7, 10, 13]);
    let parsed: Vec<_> = rules.iter().map(|e| RuleDef::parse(&e.value)).collect();
    assert_eq!(
        parsed,
        [
            Some(RuleDef::new(
                "start_state, java_start",
                r"/([a-zA-Z]+ \d+ \d+:\d+:\d+)(.*)/",
                "cont"
            )),
            Some(RuleDef::new("cont", r#"/^\s+at "(\w+)"\\$/"#, "cont")),
            Some(RuleDef::new("cont", r"ends in a backslash\\", "done")),
        ]
    );
    assert_eq!(
        section.get("flush_timeout").map(|e| e.value.as_str()),
        Some("1000")
    );
}

#[test]
fn a_rule_the_classic_form_cannot_carry_is_refused() {
    let yaml = "multiline_parsers:\n  - name: m\n    rules:\n      - state: start_state\n        regex: '^\"a\" b'\n        next_state: cont\n      - state: cont\n        regex: x\n";
    let errors = errors_of(yaml);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "/c/fb.yaml:4: rules: rule regex `^\"a\" b` has a `\"` followed by a space"
        )
    );
    assert_eq!(
        errors[1],
        "/c/fb.yaml:7: rules: a rule needs state, regex and next_state"
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
            "/c/fb.yaml:3: plugins: `plugins` is not supported (top-level keys: service, pipeline, parsers, multiline_parsers, includes, env)",
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

proptest! {
    #[test]
    fn any_text_is_read_without_panicking(text in "\\PC{0,200}") {
        let _ = read(&[("/c/fb.yaml", &text)], &[]);
    }

    #[test]
    fn yaml_like_text_is_read_without_panicking(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("service:\n"), Just("pipeline:\n"), Just("  inputs:\n"), Just("    - name: x\n"),
                Just("      rules:\n"), Just("        - state: a\n"), Just("multiline_parsers:\n"),
                Just("includes:\n"), Just("  - fb.yaml\n"), Just("env:\n"), Just("  A: ${A}\n"),
                Just("  k: [a, {b: c}]\n"), Just("&a "), Just("*a\n"), Just("---\n"), Just("\"\n"),
                Just("  "), Just("- "), Just(": "), Just("'${X:-y}'\n"),
            ],
            0..40,
        )
    ) {
        let text: String = parts.concat();
        let _ = read(&[("/c/fb.yaml", &text)], &[]);
    }
}
