//! Includes, multiline rules and never-panics properties of the YAML reader.

use std::path::Path;

use proptest::prelude::*;

use super::read_yaml;
use super::tests::{MemFiles, errors_of, read, render, shown};
use crate::config::fluentbit::doc::{Findings, SectionKind};
use crate::filter::multiline::RuleDef;

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
        ["/c/fb.yaml:4: includes: cannot read `/c/gone.yaml`: No such file or directory"]
    );
    let (doc, findings) = read_yaml(Path::new("/nowhere.yaml"), &MemFiles::default(), &|_| None);
    assert!(doc.sections.is_empty());
    assert_eq!(
        shown(&findings.errors),
        ["/nowhere.yaml: cannot read `/nowhere.yaml`: No such file or directory"]
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
    assert_eq!(
        rules[0].value,
        r#""start_state, java_start" "/([a-zA-Z]+ \d+ \d+:\d+:\d+)(.*)/" "cont""#
    );
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
