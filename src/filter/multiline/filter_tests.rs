use std::time::Instant;

use serde_json::json;

use super::test_support::{log_of, rec, tag};
use super::*;

fn user_parser() -> ParserDef {
    ParserDef::regex(
        "multiline-regex-test",
        &[
            r#""start_state" "/([A-Za-z]+ \d+ \d+\:\d+\:\d+)(.*)/" "cont""#.to_owned(),
            r#""cont" "/^\s+at.*/" "cont""#.to_owned(),
        ],
        Some(1000),
    )
    .unwrap()
}

fn build(mode: Option<&str>, parsers: Option<&str>) -> Result<MultilineFilter, MultilineError> {
    MultilineFilter::new(mode, parsers, &[user_parser()], MultilineConfig::default())
}

#[test]
fn modes_and_parser_lists_resolve_as_in_fluent_bit() {
    assert!(matches!(
        build(None, Some("go, multiline-regex-test")),
        Ok(MultilineFilter::Parser(_))
    ));
    assert!(matches!(
        build(Some("Parser"), Some("java,python,go,docker,cri")),
        Ok(MultilineFilter::Parser(_))
    ));
    assert!(matches!(
        build(Some("partial_message"), None),
        Ok(MultilineFilter::Partial(_))
    ));
    assert!(matches!(
        build(Some("partial_message"), Some(" ")),
        Ok(MultilineFilter::Partial(_))
    ));
}

#[test]
fn configuration_errors_are_one_line_reasons() {
    let cases: Vec<(Result<MultilineFilter, MultilineError>, &str)> = vec![
        (
            build(Some("lines"), Some("go")),
            "mode \"lines\" is not supported (use `parser` or `partial_message`)",
        ),
        (
            build(Some("partial_message"), Some("go")),
            "multiline.parser cannot be used with mode partial_message",
        ),
        (
            build(None, None),
            "mode parser needs multiline.parser (a comma-separated list of parser names)",
        ),
        (
            build(None, Some("go,ruby")),
            "unknown multiline parser \"ruby\" (built-ins: java, python, go, docker, cri; or the name of a [MULTILINE_PARSER])",
        ),
        (
            MultilineFilter::new(
                None,
                Some("go"),
                &[],
                MultilineConfig {
                    key_content: String::new(),
                    ..Default::default()
                },
            ),
            "multiline.key_content must not be empty",
        ),
        (
            MultilineFilter::new(
                None,
                Some("go"),
                &[],
                MultilineConfig {
                    max_total_bytes: 0,
                    ..Default::default()
                },
            ),
            "max_total_bytes must be greater than 0",
        ),
    ];
    for (result, want) in cases {
        assert_eq!(result.unwrap_err().to_string(), want);
    }
    let bad_regex = ParserDef::regex(
        "mine",
        &[r#""start_state" "/(unclosed/" "cont""#.to_owned()],
        None,
    )
    .unwrap();
    let err = MultilineFilter::new(None, Some("mine"), &[bad_regex], MultilineConfig::default())
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("multiline parser \"mine\": rule 1 regex: "),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
    let no_start = ParserDef::regex("mine", &[r#""cont" "/x/" "cont""#.to_owned()], None).unwrap();
    let err = MultilineFilter::new(None, Some("mine"), &[no_start], MultilineConfig::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "multiline parser \"mine\" has no rule from start_state"
    );
    let err = ParserDef::regex("mine", &["start_state /x/ cont".to_owned()], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "multiline parser \"mine\": rule 1 `start_state /x/ cont` is not three quoted strings \"state\" \"/regex/\" \"next_state\""
    );
}

#[test]
fn rule_lines_parse_like_multiline_parser_sections() {
    let r = RuleDef::parse(r#"  "start_state, java_start_exception"   "/say "hi"/"  "next"  "#)
        .unwrap();
    assert_eq!(r.from, vec!["start_state", "java_start_exception"]);
    assert_eq!(r.regex, r#"/say "hi"/"#);
    assert_eq!(r.to, "next");
    assert!(RuleDef::parse(r#""a" "/x/""#).is_none());
    assert!(RuleDef::parse(r#""a" "/x/" "b" "c""#).is_none());
    assert!(RuleDef::parse(r#""a" "/x/" """#).is_none());
    assert!(RuleDef::parse(r#""a" "/x/ "b""#).is_none());
}

#[test]
fn the_filter_drives_either_mode_with_marks() {
    let mut f = build(None, Some("multiline-regex-test")).unwrap();
    let now = Instant::now();
    let mut emit = Vec::new();
    let t = tag("t");
    f.push(
        now,
        &t,
        EventTime::default(),
        &rec(&json!({"log": "Dec 14 06:41:08 x"})),
        9,
        &mut emit,
    );
    assert_eq!((f.open_groups(), f.low_watermark()), (1, Some(9)));
    assert!(f.held_bytes() > 0);
    f.tick(now + std::time::Duration::from_millis(1000), &mut emit);
    assert_eq!(
        f.stats().flushed_timeout,
        1,
        "the parser's flush_timeout (1000 ms) applies"
    );
    assert_eq!(log_of(&emit[0]), "Dec 14 06:41:08 x");

    let mut p = build(Some("partial_message"), None).unwrap();
    let piece = rec(
        &json!({"log": "a", "partial_message": "true", "partial_id": "1", "partial_last": "false"}),
    );
    p.push(now, &t, EventTime::default(), &piece, 3, &mut emit);
    assert_eq!(p.low_watermark(), Some(3));
    p.flush_all(&mut emit);
    assert_eq!(p.low_watermark(), None);
    assert_eq!(p.stats().flushed_all, 1);
}
