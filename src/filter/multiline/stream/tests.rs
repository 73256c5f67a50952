use std::time::Instant;

use serde_json::json;

use super::super::rules::{ParserDef, builtin};
use super::super::test_support::{at, json, log_of, rec, tag};
use super::*;

fn config() -> MultilineConfig {
    MultilineConfig::default()
}

fn parsers(names: &[&str]) -> Vec<ParserDef> {
    names.iter().map(|n| builtin(n).unwrap()).collect()
}

/// The `multiline-regex-test` parser of Fluent Bit's multiline filter documentation.
fn doc_regex_parser(flush_timeout_ms: Option<u64>) -> ParserDef {
    ParserDef::regex(
        "multiline-regex-test",
        &[
            r#""start_state"   "/([A-Za-z]+ \d+ \d+\:\d+\:\d+)(.*)/"  "cont""#.to_owned(),
            r#""cont"          "/^\s+at.*/"                     "cont""#.to_owned(),
        ],
        flush_timeout_ms,
    )
    .unwrap()
}

/// Pushes each line as `{"log": line}` under one tag, then flushes everything.
fn run(f: &mut Multiline, lines: &[&str]) -> Vec<Emitted> {
    let now = Instant::now();
    let mut emit = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let r = rec(&json!({ "log": line }));
        f.push(
            now,
            &tag("tail.0"),
            EventTime::new(i as i64, 0),
            &r,
            i as u64,
            &mut emit,
        );
    }
    f.flush_all(&mut emit);
    emit
}

fn summary(emit: &[Emitted]) -> Vec<(String, EmitOutcome)> {
    emit.iter().map(|e| (log_of(e), e.outcome)).collect()
}

/// `test.log` of the documentation's example (a custom Java stack trace and a Go stack trace).
const DOC_TEST_LOG: &str = include_str!("../testdata/fluent_bit_doc_test.log");

#[test]
fn the_documented_example_gives_the_documented_five_records() {
    let lines: Vec<&str> = DOC_TEST_LOG.lines().collect();
    let defs = vec![builtin("go").unwrap(), doc_regex_parser(Some(1000))];
    let mut f = Multiline::new(config(), &defs).unwrap();
    let emit = run(&mut f, &lines);
    let last = lines.len() - 1;
    assert_eq!(
        summary(&emit),
        vec![
            ("single line...".to_owned(), EmitOutcome::Unchanged),
            (lines[1..7].join("\n"), EmitOutcome::Complete),
            ("another line...".to_owned(), EmitOutcome::Unchanged),
            (lines[8..last].join("\n"), EmitOutcome::Complete),
            (
                "one more line, no multiline".to_owned(),
                EmitOutcome::Unchanged
            ),
        ]
    );
    // As printed in the documentation: the blank line after the panic is kept.
    assert!(log_of(&emit[3]).starts_with("panic: my panic\n\ngoroutine 4 [running]:\npanic("));
    assert!(
        log_of(&emit[3])
            .ends_with("created by runtime.gcenable\n  /usr/local/go/src/runtime/mgc.go:216 +0x58")
    );
    // A group keeps its first line's time.
    assert_eq!(emit[1].time, EventTime::new(1, 0));
    assert_eq!(emit[3].time, EventTime::new(8, 0));
}

#[test]
fn java_builtin_joins_a_stack_trace_with_its_cause() {
    let trace = [
        "Exception in thread \"main\" java.lang.IllegalStateException: boom",
        "\tat com.example.App.run(App.java:12)",
        "\tat com.example.App.main(App.java:5)",
        "Caused by: java.lang.NullPointerException: null",
        "\tat com.example.Dao.load(Dao.java:40)",
        "\t... 1 more",
    ];
    let mut lines = vec!["starting"];
    lines.extend(trace);
    lines.push("next line");
    let mut f = Multiline::new(config(), &parsers(&["java"])).unwrap();
    assert_eq!(
        summary(&run(&mut f, &lines)),
        vec![
            ("starting".to_owned(), EmitOutcome::Unchanged),
            (trace.join("\n"), EmitOutcome::Complete),
            ("next line".to_owned(), EmitOutcome::Unchanged),
        ]
    );
}

#[test]
fn python_builtin_ends_the_traceback_on_the_exception_line() {
    let trace = [
        "Traceback (most recent call last):",
        "  File \"/app/main.py\", line 3, in <module>",
        "    main()",
        "  File \"/app/main.py\", line 2, in main",
        "    raise ValueError(\"bad value\")",
        "ValueError: bad value",
    ];
    let mut f = Multiline::new(config(), &parsers(&["python"])).unwrap();
    let now = Instant::now();
    let mut emit = Vec::new();
    for line in trace {
        f.push(
            now,
            &tag("t"),
            EventTime::default(),
            &rec(&json!({ "log": line })),
            0,
            &mut emit,
        );
    }
    // Emitted on its last line, without waiting for the next one or a tick.
    assert_eq!(
        summary(&emit),
        vec![(trace.join("\n"), EmitOutcome::Complete)]
    );
    assert_eq!(f.open_groups(), 0);
}

#[test]
fn go_builtin_joins_a_panic() {
    let trace = [
        "panic: boom",
        "",
        "goroutine 1 [running]:",
        "main.main()",
        "\t/app/main.go:5 +0x25",
    ];
    let mut lines = trace.to_vec();
    lines.push("exit status 2");
    let mut f = Multiline::new(config(), &parsers(&["go"])).unwrap();
    let emit = run(&mut f, &lines);
    assert_eq!(
        summary(&emit),
        vec![
            (
                "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25"
                    .to_owned(),
                EmitOutcome::Complete
            ),
            ("exit status 2".to_owned(), EmitOutcome::Unchanged),
        ]
    );
}

#[test]
fn lines_that_already_end_in_newline_are_not_given_a_second_one() {
    let mut f = Multiline::new(config(), &parsers(&["java"])).unwrap();
    let lines = [
        "java.lang.RuntimeException: x\n",
        "\tat A.b(A.java:1)\n",
        "done\n",
    ];
    assert_eq!(
        summary(&run(&mut f, &lines)),
        vec![
            (
                "java.lang.RuntimeException: x\n\tat A.b(A.java:1)\n".to_owned(),
                EmitOutcome::Complete
            ),
            ("done\n".to_owned(), EmitOutcome::Unchanged),
        ]
    );
}

#[test]
fn docker_joins_pieces_until_a_newline_per_stream() {
    let mut f = Multiline::new(config(), &parsers(&["docker"])).unwrap();
    let now = Instant::now();
    let mut emit = Vec::new();
    let t = tag("docker.app");
    let records = [
        json!({"log": "out-1 ", "stream": "stdout", "time": "t1"}),
        json!({"log": "err-1 ", "stream": "stderr", "time": "t2"}),
        json!({"log": "whole\n", "stream": "other"}),
        json!({"log": "out-2\n", "stream": "stdout", "time": "t3"}),
        json!({"log": "err-2\n", "stream": "stderr", "time": "t4"}),
    ];
    for r in &records {
        f.push(now, &t, EventTime::default(), &rec(r), 0, &mut emit);
    }
    let got: Vec<serde_json::Value> = emit.iter().map(|e| json(&e.record)).collect();
    assert_eq!(
        got,
        vec![
            json!({"log": "whole\n", "stream": "other"}),
            json!({"log": "out-1 out-2\n", "stream": "stdout", "time": "t1"}),
            json!({"log": "err-1 err-2\n", "stream": "stderr", "time": "t2"}),
        ]
    );
    assert_eq!(emit[0].outcome, EmitOutcome::Unchanged);
}

#[test]
fn cri_joins_partial_pieces_until_the_final_flag_and_drops_the_flag() {
    let mut f = Multiline::new(config(), &parsers(&["cri"])).unwrap();
    let now = Instant::now();
    let mut emit = Vec::new();
    let t = tag("kube.app");
    let records = [
        json!({"log": "single", "stream": "stdout", "_p": "F"}),
        json!({"log": "a", "stream": "stdout", "_p": "P"}),
        json!({"log": "b", "stream": "stdout", "_p": "P"}),
        json!({"log": "c", "stream": "stdout", "_p": "F"}),
    ];
    for r in &records {
        f.push(now, &t, EventTime::default(), &rec(r), 0, &mut emit);
    }
    let got: Vec<serde_json::Value> = emit.iter().map(|e| json(&e.record)).collect();
    assert_eq!(
        got,
        vec![
            json!({"log": "single", "stream": "stdout", "_p": "F"}),
            json!({"log": "abc", "stream": "stdout"}),
        ]
    );
}

#[test]
fn records_without_the_content_key_pass_through_and_leave_the_group_open() {
    let mut f = Multiline::new(config(), &parsers(&["java"])).unwrap();
    let now = Instant::now();
    let mut emit = Vec::new();
    let t = tag("t");
    let start = rec(&json!({"log": "java.lang.Error: x"}));
    let other = rec(&json!({"message": "no log key"}));
    let plain = rec(&json!({"log": "plain"}));
    f.push(now, &t, EventTime::default(), &start, 0, &mut emit);
    f.push(now, &t, EventTime::default(), &other, 0, &mut emit);
    assert_eq!(emit.len(), 1);
    assert_eq!(emit[0].record.as_ptr(), other.as_ptr(), "same bytes");
    assert_eq!(f.open_groups(), 1);
    f.push(now, &t, EventTime::default(), &plain, 0, &mut emit);
    assert_eq!(emit[1].outcome, EmitOutcome::Complete);
    assert_eq!(emit[2].record.as_ptr(), plain.as_ptr(), "same bytes");
}

#[test]
fn tick_flushes_a_group_after_its_parser_flush_timeout_or_flush_ms() {
    let defs = vec![doc_regex_parser(Some(1000)), builtin("java").unwrap()];
    let mut f = Multiline::new(config(), &defs).unwrap();
    let t0 = Instant::now();
    let mut emit = Vec::new();
    let line = |s: &str| rec(&json!({ "log": s }));
    f.push(
        t0,
        &tag("a"),
        EventTime::default(),
        &line("Dec 14 06:41:08 started"),
        1,
        &mut emit,
    );
    f.push(
        t0,
        &tag("b"),
        EventTime::default(),
        &line("java.lang.Error: x"),
        2,
        &mut emit,
    );
    f.tick(at(t0, 999), &mut emit);
    assert!(emit.is_empty());
    f.tick(at(t0, 1000), &mut emit);
    assert_eq!(
        summary(&emit),
        vec![(
            "Dec 14 06:41:08 started".to_owned(),
            EmitOutcome::FlushedTimeout
        )]
    );
    f.tick(at(t0, 1999), &mut emit);
    assert_eq!(emit.len(), 1, "the java group waits for flush_ms");
    f.tick(at(t0, 2000), &mut emit);
    assert_eq!(emit.len(), 2);
    assert_eq!(emit[1].outcome, EmitOutcome::FlushedTimeout);
    assert_eq!(f.stats().flushed_timeout, 2);
}

#[test]
fn size_caps_split_groups_and_bound_the_memory_held() {
    let mut f = Multiline::new(
        MultilineConfig {
            max_group_bytes: 30,
            max_total_bytes: 400,
            ..config()
        },
        &[doc_regex_parser(None)],
    )
    .unwrap();
    let now = Instant::now();
    let mut emit = Vec::new();
    let t = tag("t");
    for l in ["Dec 14 06:41:08 a", "  at one", "  at two", "  at three"] {
        f.push(
            now,
            &t,
            EventTime::default(),
            &rec(&json!({ "log": l })),
            0,
            &mut emit,
        );
    }
    assert_eq!(
        summary(&emit),
        vec![(
            "Dec 14 06:41:08 a\n  at one".to_owned(),
            EmitOutcome::FlushedSizeCap
        )]
    );
    f.flush_all(&mut emit);
    assert_eq!(
        log_of(&emit[1]),
        "  at two\n  at three",
        "the rest continues the same state"
    );
    // Many open groups (one per tag): the oldest are emitted to stay under max_total_bytes.
    emit.clear();
    for i in 0..50u64 {
        let r = rec(&json!({ "log": "Dec 14 06:41:08 start" }));
        f.push(
            now,
            &tag(&format!("t{i}")),
            EventTime::default(),
            &r,
            i,
            &mut emit,
        );
        assert!(f.held_bytes() <= 400, "{}", f.held_bytes());
    }
    assert!(!emit.is_empty());
    assert!(
        emit.iter()
            .all(|e| e.outcome == EmitOutcome::FlushedSizeCap)
    );
    assert_eq!(&*emit[0].tag, "t0", "oldest first");
    assert_eq!(f.low_watermark(), Some(emit.len() as u64));
}

#[test]
fn low_watermark_follows_the_oldest_record_held() {
    let mut f = Multiline::new(config(), &parsers(&["java"])).unwrap();
    let now = Instant::now();
    let mut emit = Vec::new();
    let line = |s: &str| rec(&json!({ "log": s }));
    f.push(
        now,
        &tag("a"),
        EventTime::default(),
        &line("plain"),
        4,
        &mut emit,
    );
    assert_eq!(f.low_watermark(), None);
    f.push(
        now,
        &tag("a"),
        EventTime::default(),
        &line("java.lang.Error: x"),
        5,
        &mut emit,
    );
    f.push(
        now,
        &tag("b"),
        EventTime::default(),
        &line("java.lang.Error: y"),
        6,
        &mut emit,
    );
    f.push(
        now,
        &tag("a"),
        EventTime::default(),
        &line("\tat A.b(A.java:1)"),
        7,
        &mut emit,
    );
    assert_eq!(f.low_watermark(), Some(5));
    f.push(
        now,
        &tag("a"),
        EventTime::default(),
        &line("end"),
        8,
        &mut emit,
    );
    assert_eq!(f.low_watermark(), Some(6));
    f.flush_all(&mut emit);
    assert_eq!(f.low_watermark(), None);
    assert_eq!(f.held_bytes(), 0);
}
