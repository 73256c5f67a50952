use std::time::Instant;

use proptest::prelude::*;
use serde_json::json;

use super::test_support::{at, json, log_of, rec, tag};
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

/// A piece as Docker's fluentd log driver sends it.
fn piece(id: &str, ordinal: usize, last: bool, log: &str) -> Bytes {
    rec(&json!({
        "source": "stdout",
        "log": log,
        "partial_message": "true",
        "partial_id": id,
        "partial_ordinal": ordinal.to_string(),
        "partial_last": if last { "true" } else { "false" },
    }))
}

fn config() -> MultilineConfig {
    MultilineConfig::default()
}

fn parsers(names: &[&str]) -> Vec<ParserDef> {
    names.iter().map(|n| builtin(n).unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn an_arbitrarily_split_line_is_reassembled_exactly(
        line in "\\PC{0,200}",
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        other in "[a-z]{1,20}",
    ) {
        let chars: Vec<char> = line.chars().collect();
        let mut at_chars: Vec<usize> = cuts.iter().map(|c| c.index(chars.len() + 1)).collect();
        at_chars.push(0);
        at_chars.push(chars.len());
        at_chars.sort_unstable();
        at_chars.dedup();
        let pieces: Vec<String> = at_chars
            .windows(2)
            .map(|w| chars[w[0]..w[1]].iter().collect())
            .collect();
        let pieces = if pieces.is_empty() { vec![String::new()] } else { pieces };
        let mut f = Partials::new(config());
        let now = Instant::now();
        let mut emit = Vec::new();
        let t = tag("t");
        let n = pieces.len();
        for (i, p) in pieces.iter().enumerate() {
            f.push(now, &t, EventTime::default(), &piece("line", i + 1, i + 1 == n, p), 0, &mut emit);
            // Another container's whole line in between changes nothing.
            f.push(now, &t, EventTime::default(), &rec(&json!({"log": other})), 0, &mut emit);
        }
        let joined: Vec<&Emitted> = emit.iter().filter(|e| e.outcome != EmitOutcome::Unchanged).collect();
        prop_assert_eq!(joined.len(), 1);
        prop_assert_eq!(log_of(joined[0]), line);
        prop_assert_eq!(emit.len(), n + 1);
        prop_assert_eq!(f.open_groups(), 0);
    }

    /// Lines never contain `\n` here, so each emitted content is its lines joined by `\n`:
    /// splitting the emitted contents again gives back exactly the lines pushed, per tag.
    #[test]
    fn regex_grouping_never_loses_or_duplicates_lines(
        pushes in proptest::collection::vec((0usize..2, "[S x][a-z]{0,6}"), 0..60),
        max_group_bytes in 1usize..40,
        max_total_bytes in 1usize..300,
        ticks in proptest::collection::vec(0u64..3000, 0..60),
    ) {
        let parser = ParserDef::regex("p", &[
            r#""start_state" "/^S/" "cont""#.to_owned(),
            r#""cont" "/^ /" "cont""#.to_owned(),
        ], None).unwrap();
        let mut f = Multiline::new(
            MultilineConfig { max_group_bytes, max_total_bytes, ..config() },
            &[parser],
        ).unwrap();
        let t0 = Instant::now();
        let tags = [tag("t0"), tag("t1")];
        let mut emit = Vec::new();
        for (i, (which, line)) in pushes.iter().enumerate() {
            let now = at(t0, i as u64 * 100);
            f.push(now, &tags[*which], EventTime::default(), &rec(&json!({ "log": line })), i as u64, &mut emit);
            prop_assert!(f.held_bytes() <= max_total_bytes);
            if let Some(&dt) = ticks.get(i) {
                f.tick(at(now, dt), &mut emit);
            }
        }
        f.flush_all(&mut emit);
        prop_assert_eq!(f.open_groups(), 0);
        for t in &tags {
            let pushed: Vec<&str> = pushes.iter().filter(|(w, _)| &tags[*w] == t).map(|(_, l)| l.as_str()).collect();
            let got: Vec<String> = emit
                .iter()
                .filter(|e| &e.tag == t)
                .flat_map(|e| log_of(e).split('\n').map(str::to_owned).collect::<Vec<_>>())
                .collect();
            prop_assert_eq!(got, pushed);
        }
    }

    /// `docker` adds nothing between pieces: the emitted contents concatenated are the pushed
    /// contents concatenated, per stream.
    #[test]
    fn docker_grouping_never_loses_or_duplicates_bytes(
        pushes in proptest::collection::vec((0usize..2, "[ab\n]{0,8}"), 0..60),
        max_group_bytes in 1usize..40,
    ) {
        let mut f = Multiline::new(
            MultilineConfig { max_group_bytes, ..config() },
            &parsers(&["docker"]),
        ).unwrap();
        let now = Instant::now();
        let streams = ["stdout", "stderr"];
        let mut emit = Vec::new();
        for (which, piece) in &pushes {
            let r = rec(&json!({ "log": piece, "stream": streams[*which] }));
            f.push(now, &tag("t"), EventTime::default(), &r, 0, &mut emit);
        }
        f.flush_all(&mut emit);
        for (s, stream) in streams.iter().enumerate() {
            let pushed: String = pushes.iter().filter(|(w, _)| *w == s).map(|(_, p)| p.as_str()).collect();
            let got: String = emit
                .iter()
                .filter(|e| json(&e.record)["stream"] == *stream)
                .map(log_of)
                .collect();
            prop_assert_eq!(got, pushed);
        }
    }
}
