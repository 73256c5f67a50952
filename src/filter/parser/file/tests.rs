use super::*;

const FILE: &str = r#"
# Parsers for the app.
[PARSER]
    Name        dummy_test
    Format      regex
    Regex       ^(?<INT>[^ ]+) (?<FLOAT>[^ ]+) (?<BOOL>[^ ]+) (?<STRING>.+)$
    Types       INT:integer FLOAT:float BOOL:bool

[parser]
  name   syslog-rfc3164
  FORMAT regex
  regex  /^\<(?<pri>[0-9]+)\>(?<time>[^ ]* {1,2}[^ ]* [^ ]*) (?<host>[^ ]*) (?<ident>[a-zA-Z0-9_\/\.\-]*)(?:\[(?<pid>[0-9]+)\])?(?:[^\:]*\:)? *(?<message>.*)$/
  Time_Key    time
  Time_Format %b %d %H:%M:%S
  Time_Keep   On

[MULTILINE_PARSER]
    name          multiline-regex-test
    type          regex
    flush_timeout 1000
    # rules |   state name  | regex pattern                  | next state
    rule      "start_state"   "/([a-zA-Z]+ \d+ \d+\:\d+\:\d+)(.*)/"  "cont"
    rule      "cont"          "/^\s+at.*/"                     "cont"
"#;

#[test]
fn reads_parsers_and_multiline_sections() {
    let file = parse_parsers_file(FILE, "parsers.conf").unwrap();
    let names: Vec<(&str, usize)> = file.parsers.iter().map(|(p, l)| (p.name(), *l)).collect();
    assert_eq!(names, [("dummy_test", 3), ("syslog-rfc3164", 9)]);
    let mut out = Vec::new();
    let parsed = file.parsers[0]
        .0
        .parse(
            b"100 0.5 true This is example",
            Default::default(),
            &mut out,
        )
        .unwrap();
    assert_eq!(parsed.entries, 4);
    let parsed = file.parsers[1]
        .0
        .parse(
            b"<34>Oct 11 22:14:15 mymachine su: hi",
            Default::default(),
            &mut out,
        )
        .unwrap();
    assert!(parsed.time.is_some());
    assert_eq!(
        file.multiline,
        [MultilineParserDef {
            name: "multiline-regex-test".to_owned(),
            kind: Some("regex".to_owned()),
            parser: None,
            key_content: None,
            flush_timeout_ms: Some(1000),
            rules: vec![
                MultilineRule {
                    state: "start_state".to_owned(),
                    regex: r"/([a-zA-Z]+ \d+ \d+\:\d+\:\d+)(.*)/".to_owned(),
                    next_state: "cont".to_owned(),
                    line: 22,
                },
                MultilineRule {
                    state: "cont".to_owned(),
                    regex: r"/^\s+at.*/".to_owned(),
                    next_state: "cont".to_owned(),
                    line: 23,
                },
            ],
            other: vec![],
            file: "parsers.conf".to_owned(),
            line: 17,
        }]
    );
}

#[test]
fn reports_every_problem_with_its_line() {
    let text = "\
Name stray
[PARSER]
    Name  a
    Format regex
    Regex (?<x>
    Time_Keep maybe
[PARSER]
    Format json
[PARSER]
    Name b
    Format ltsv
    Decode_Field_As escaped log
    Colour blue
[INPUT]
    Name tail
[PARSER]
    Name c
    Format json
    Time_Format %Q
    Name c2
[PARSER]
    Name d
    Format json
[PARSER]
    Name d
    Format logfmt
@INCLUDE other.conf
[MULTILINE_PARSER]
    name m
    flush_timeout soon
    rule \"start_state\" \"/x/\"
";
    let problems: Vec<String> = parse_parsers_file(text, "p.conf")
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        [
            "p.conf:1: `Name` is outside any [PARSER] or [MULTILINE_PARSER] section",
            "p.conf:6: `time_keep` must be on or off, not `maybe`",
            "p.conf:7: [PARSER] has no Name",
            "p.conf:12: `decode_field_as` is not supported",
            "p.conf:13: unknown key `colour` in [PARSER]",
            "p.conf:14: unknown section [INPUT] (a parsers file holds [PARSER] and [MULTILINE_PARSER])",
            "p.conf:20: `name` is set twice (first on line 17)",
            "p.conf:24: parser `d` is defined twice (first on line 21)",
            "p.conf:27: `@INCLUDE` is not supported in a parsers file",
            "p.conf:30: flush_timeout `soon` is not a number of milliseconds",
            "p.conf:31: a rule needs three quoted values: \"state\" \"/regex/\" \"next_state\"",
        ]
    );
}

#[test]
fn compile_errors_point_at_the_offending_line() {
    let text = "[PARSER]\n Name a\n Format regex\n Regex (?<x>\n[PARSER]\n Name b\n Format ltsv\n[PARSER]\n Name c\n Format json\n Time_Format %Q\n[PARSER]\n Name r\n Format regex\n";
    let problems: Vec<String> = parse_parsers_file(text, "p.conf")
        .unwrap_err()
        .iter()
        .map(|p| format!("{}:{}", p.line, p.message.split(':').next().unwrap()))
        .collect();
    assert_eq!(
        problems,
        [
            "4:parser `a`",
            "7:parser `b`",
            "11:parser `c`",
            "12:parser `r`",
        ]
    );
}

#[test]
fn rule_tokens_keep_regex_escapes() {
    assert_eq!(
        rule_tokens(r#""a b" "/\d+ \"q\"/"  bare"#),
        Some(vec![
            "a b".to_owned(),
            r#"/\d+ "q"/"#.to_owned(),
            "bare".to_owned()
        ])
    );
    assert_eq!(rule_tokens(r#""open"#), None);
}
