use std::time::Instant;

use proptest::prelude::*;
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
const DOC_TEST_LOG: &str = r#"single line...
Dec 14 06:41:08 Exception in thread "main" java.lang.RuntimeException: Something has gone wrong, aborting!
    at com.myproject.module.MyProject.badMethod(MyProject.java:22)
    at com.myproject.module.MyProject.oneMoreMethod(MyProject.java:18)
    at com.myproject.module.MyProject.anotherMethod(MyProject.java:14)
    at com.myproject.module.MyProject.someMethod(MyProject.java:10)
    at com.myproject.module.MyProject.main(MyProject.java:6)
another line...
panic: my panic

goroutine 4 [running]:
panic(0x45cb40, 0x47ad70)
  /usr/local/go/src/runtime/panic.go:542 +0x46c fp=0xc42003f7b8 sp=0xc42003f710 pc=0x422f7c
main.main.func1(0xc420024120)
  foo.go:6 +0x39 fp=0xc42003f7d8 sp=0xc42003f7b8 pc=0x451339
runtime.goexit()
  /usr/local/go/src/runtime/asm_amd64.s:2337 +0x1 fp=0xc42003f7e0 sp=0xc42003f7d8 pc=0x44b4d1
created by main.main
  foo.go:5 +0x58

goroutine 1 [chan receive]:
runtime.gopark(0x4739b8, 0xc420024178, 0x46fcd7, 0xc, 0xc420028e17, 0x3)
  /usr/local/go/src/runtime/proc.go:280 +0x12c fp=0xc420053e30 sp=0xc420053e00 pc=0x42503c
runtime.goparkunlock(0xc420024178, 0x46fcd7, 0xc, 0x1000f010040c217, 0x3)
  /usr/local/go/src/runtime/proc.go:286 +0x5e fp=0xc420053e70 sp=0xc420053e30 pc=0x42512e
runtime.chanrecv(0xc420024120, 0x0, 0xc420053f01, 0x4512d8)
  /usr/local/go/src/runtime/chan.go:506 +0x304 fp=0xc420053f20 sp=0xc420053e70 pc=0x4046b4
runtime.chanrecv1(0xc420024120, 0x0)
  /usr/local/go/src/runtime/chan.go:388 +0x2b fp=0xc420053f50 sp=0xc420053f20 pc=0x40439b
main.main()
  foo.go:9 +0x6f fp=0xc420053f80 sp=0xc420053f50 pc=0x4512ef
runtime.main()
  /usr/local/go/src/runtime/proc.go:185 +0x20d fp=0xc420053fe0 sp=0xc420053f80 pc=0x424bad
runtime.goexit()
  /usr/local/go/src/runtime/asm_amd64.s:2337 +0x1 fp=0xc420053fe8 sp=0xc420053fe0 pc=0x44b4d1

goroutine 2 [force gc (idle)]:
runtime.gopark(0x4739b8, 0x4ad720, 0x47001e, 0xf, 0x14, 0x1)
  /usr/local/go/src/runtime/proc.go:280 +0x12c fp=0xc42003e768 sp=0xc42003e738 pc=0x42503c
runtime.goparkunlock(0x4ad720, 0x47001e, 0xf, 0xc420000114, 0x1)
  /usr/local/go/src/runtime/proc.go:286 +0x5e fp=0xc42003e7a8 sp=0xc42003e768 pc=0x42512e
runtime.forcegchelper()
  /usr/local/go/src/runtime/proc.go:238 +0xcc fp=0xc42003e7e0 sp=0xc42003e7a8 pc=0x424e5c
runtime.goexit()
  /usr/local/go/src/runtime/asm_amd64.s:2337 +0x1 fp=0xc42003e7e8 sp=0xc42003e7e0 pc=0x44b4d1
created by runtime.init.4
  /usr/local/go/src/runtime/proc.go:227 +0x35

goroutine 3 [GC sweep wait]:
runtime.gopark(0x4739b8, 0x4ad7e0, 0x46fdd2, 0xd, 0x419914, 0x1)
  /usr/local/go/src/runtime/proc.go:280 +0x12c fp=0xc42003ef60 sp=0xc42003ef30 pc=0x42503c
runtime.goparkunlock(0x4ad7e0, 0x46fdd2, 0xd, 0x14, 0x1)
  /usr/local/go/src/runtime/proc.go:286 +0x5e fp=0xc42003efa0 sp=0xc42003ef60 pc=0x42512e
runtime.bgsweep(0xc42001e150)
  /usr/local/go/src/runtime/mgcsweep.go:52 +0xa3 fp=0xc42003efd8 sp=0xc42003efa0 pc=0x419973
runtime.goexit()
  /usr/local/go/src/runtime/asm_amd64.s:2337 +0x1 fp=0xc42003efe0 sp=0xc42003efd8 pc=0x44b4d1
created by runtime.gcenable
  /usr/local/go/src/runtime/mgc.go:216 +0x58
one more line, no multiline"#;

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

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
