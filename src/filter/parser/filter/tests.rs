use crate::msgpack::reader::skip_value;
use proptest::prelude::*;

use super::super::tests::NOW;
use super::super::{ParserDef, ParserSet};
use super::*;
use crate::msgpack::json::{TranscodeStats, write_value};
use crate::msgpack::writer::json_object_to_msgpack;

fn record(json: &str) -> Vec<u8> {
    let mut out = Vec::new();
    json_object_to_msgpack(json.as_bytes(), &mut out).unwrap();
    out
}

fn to_json(msgpack: &[u8]) -> String {
    let mut json = Vec::new();
    let used = write_value(msgpack, &mut json, &mut TranscodeStats::default()).unwrap();
    assert_eq!(used, msgpack.len());
    String::from_utf8(json).unwrap()
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn filter(parsers: &[&str], reserve: bool, preserve: bool) -> ParserFilter {
    let set = ParserSet::with_builtins();
    ParserFilter::new("log", &names(parsers), reserve, preserve, &set).unwrap()
}

/// Applies `f`; returns the outcome, the new record as JSON (if replaced) and the time if it
/// changed.
fn apply(f: &ParserFilter, rec: &str) -> (RecordOutcome, Option<String>, Option<EventTime>) {
    let mut out = vec![0x55];
    let mut time = NOW;
    let outcome = f.apply(&record(rec), &mut time, &mut out);
    let json = match outcome {
        RecordOutcome::Replaced => Some(to_json(&out)),
        _ => {
            assert_eq!(time, NOW, "unchanged keeps the time");
            None
        }
    };
    (outcome, json, (time != NOW).then_some(time))
}

const FIRELENS: &str =
    r#"{"container_id":"abc","log":"{\"a\":1,\"level\":\"info\"}","source":"stdout"}"#;

#[test]
fn firelens_embedded_json_with_each_option_combination() {
    let cases = [
        (false, false, r#"{"a":1,"level":"info"}"#),
        (
            true,
            false,
            r#"{"a":1,"level":"info","container_id":"abc","source":"stdout"}"#,
        ),
        (
            false,
            true,
            r#"{"a":1,"level":"info","log":"{\"a\":1,\"level\":\"info\"}"}"#,
        ),
        (
            true,
            true,
            r#"{"a":1,"level":"info","container_id":"abc","log":"{\"a\":1,\"level\":\"info\"}","source":"stdout"}"#,
        ),
    ];
    for (reserve, preserve, want) in cases {
        let f = filter(&["json"], reserve, preserve);
        assert_eq!(
            apply(&f, FIRELENS),
            (RecordOutcome::Replaced, Some(want.to_owned()), None),
            "reserve {reserve} preserve {preserve}"
        );
    }
}

#[test]
fn records_left_unchanged() {
    let f = filter(&["json"], true, false);
    for rec in [
        r#"{"log":"plain text line"}"#,
        r#"{"log":"[1,2]"}"#,
        r#"{"log":5}"#,
        r#"{"message":"{\"a\":1}"}"#,
    ] {
        assert_eq!(
            apply(&f, rec),
            (RecordOutcome::Unchanged, None, None),
            "{rec}"
        );
    }
    let mut out = Vec::new();
    let mut time = NOW;
    assert_eq!(
        f.apply(&[0x92, 1, 2], &mut time, &mut out),
        RecordOutcome::Unchanged
    );
    assert_eq!(time, NOW);
}

#[test]
fn first_matching_parser_wins_and_sets_the_time() {
    let f = filter(&["json", "nginx", "logfmt"], false, false);
    let (outcome, json, time) = apply(
        &f,
        r#"{"log":"1.2.3.4 - - [17/May/2015:08:05:32 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\""}"#,
    );
    assert_eq!(outcome, RecordOutcome::Replaced);
    assert_eq!(time, Some(EventTime::new(1_431_849_932, 0)));
    assert!(json.unwrap().starts_with(r#"{"remote":"1.2.3.4""#));
    assert_eq!(
        apply(&f, r#"{"log":"a=1"}"#),
        (
            RecordOutcome::Replaced,
            Some(r#"{"a":"1"}"#.to_owned()),
            None
        )
    );
}

#[test]
fn parsed_keys_win_over_reserved_and_preserved_ones() {
    let f = filter(&["json"], true, true);
    assert_eq!(
        apply(
            &f,
            r#"{"a":"old","log":"{\"a\":\"new\",\"log\":\"inner\"}","b":2}"#
        )
        .1,
        Some(r#"{"a":"new","log":"inner","b":2}"#.to_owned())
    );
}

#[test]
fn regex_parser_with_reserve_data_from_the_docs() {
    let def = ParserDef {
        regex: Some(r"^(?<INT>[^ ]+) (?<FLOAT>[^ ]+) (?<BOOL>[^ ]+) (?<STRING>.+)$".to_owned()),
        ..ParserDef::new("dummy_test", "regex")
    };
    let mut set = ParserSet::with_builtins();
    set.add(&def).unwrap();
    let f = ParserFilter::new("data", &names(&["dummy_test"]), true, false, &set).unwrap();
    assert_eq!(
        apply(
            &f,
            r#"{"data":"100 0.5 true This is example","key1":"value1","key2":"value2"}"#
        )
        .1,
        Some(
            r#"{"INT":"100","FLOAT":"0.5","BOOL":"true","STRING":"This is example","key1":"value1","key2":"value2"}"#
                .to_owned()
        )
    );
}

#[test]
fn docs_example_alone_and_with_preserve_key() {
    let def = ParserDef {
        regex: Some(r"^(?<INT>[^ ]+) (?<FLOAT>[^ ]+) (?<BOOL>[^ ]+) (?<STRING>.+)$".to_owned()),
        ..ParserDef::new("dummy_test", "regex")
    };
    let mut set = ParserSet::with_builtins();
    set.add(&def).unwrap();
    let rec = r#"{"data":"100 0.5 true This is example"}"#;
    let plain = ParserFilter::new("data", &names(&["dummy_test"]), false, false, &set).unwrap();
    assert_eq!(
        apply(&plain, rec).1.unwrap(),
        r#"{"INT":"100","FLOAT":"0.5","BOOL":"true","STRING":"This is example"}"#
    );
    let keep = ParserFilter::new("data", &names(&["dummy_test"]), false, true, &set).unwrap();
    assert_eq!(
        apply(&keep, rec).1.unwrap(),
        r#"{"INT":"100","FLOAT":"0.5","BOOL":"true","STRING":"This is example","data":"100 0.5 true This is example"}"#
    );
}

#[test]
fn docker_json_log_sets_the_event_time_and_keeps_the_field() {
    let f = filter(&["docker"], false, false);
    let (outcome, json, time) = apply(
        &f,
        r#"{"log":"{\"log\":\"hello\\n\",\"stream\":\"stderr\",\"time\":\"2019-01-01T12:00:00.123456789Z\"}"}"#,
    );
    assert_eq!(outcome, RecordOutcome::Replaced);
    assert_eq!(
        json.unwrap(),
        r#"{"log":"hello\n","stream":"stderr","time":"2019-01-01T12:00:00.123456789Z"}"#
    );
    assert_eq!(time, Some(EventTime::new(1_546_344_000, 123_456_789)));
}

#[test]
fn apache_line_with_reserve_data() {
    let f = filter(&["apache2"], true, false);
    let (outcome, json, time) = apply(
        &f,
        r#"{"source":"stdout","log":"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\""}"#,
    );
    assert_eq!(outcome, RecordOutcome::Replaced);
    assert_eq!(
        json.unwrap(),
        r#"{"host":"127.0.0.1","user":"frank","method":"GET","path":"/apache_pb.gif","code":"200","size":"2326","referer":"http://www.example.com/start.html","agent":"Mozilla/4.08 [en] (Win98; I ;Nav)","source":"stdout"}"#
    );
    assert_eq!(time, Some(EventTime::new(971_211_336, 0)));
}

#[test]
fn a_user_parser_replaces_the_builtin_of_the_same_name() {
    let mut set = ParserSet::with_builtins();
    set.add(&ParserDef {
        regex: Some(r"^(?<word>\w+)$".to_owned()),
        ..ParserDef::new("json", "regex")
    })
    .unwrap();
    let f = ParserFilter::new("log", &names(&["json"]), false, false, &set).unwrap();
    assert_eq!(
        apply(&f, r#"{"log":"hello"}"#).1.unwrap(),
        r#"{"word":"hello"}"#
    );
    assert_eq!(
        apply(&f, r#"{"log":"{\"a\":1}"}"#).0,
        RecordOutcome::Unchanged
    );
}

#[test]
fn constructor_errors() {
    let set = ParserSet::with_builtins();
    assert_eq!(
        ParserFilter::new("", &names(&["json"]), false, false, &set).unwrap_err(),
        ParserFilterError::NoKeyName
    );
    assert_eq!(
        ParserFilter::new("log", &[], false, false, &set)
            .unwrap_err()
            .to_string(),
        "parser filter: at least one parser is required"
    );
    let err = ParserFilter::new("log", &names(&["json", "jsno"]), false, false, &set)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "parser filter: unknown parser `jsno` (known: apache, apache2, apache_error, cri, docker, docker-daemon, envoy, istio-envoy-proxy, json, k8s-nginx-ingress, kmsg-netfilter-log, kube-custom, logfmt, mongodb, nginx, syslog-rfc3164, syslog-rfc3164-local, syslog-rfc5424)"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn apply_never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let f = filter(&["json", "apache", "syslog-rfc3164", "logfmt"], true, true);
        let mut out = Vec::new();
        let mut time = NOW;
        let _ = f.apply(&bytes, &mut time, &mut out);
    }

    #[test]
    fn replaced_records_are_one_whole_map(
        text in "[ -~]{0,80}",
        other in proptest::collection::vec(("[a-z]{1,3}", "[ -~]{0,5}"), 0..4),
    ) {
        let f = filter(&["json", "nginx", "syslog-rfc5424", "logfmt"], true, true);
        let mut rec = Vec::new();
        crate::msgpack::writer::write_map_len(&mut rec, other.len() as u32 + 1);
        crate::msgpack::writer::write_str(&mut rec, b"log");
        crate::msgpack::writer::write_str(&mut rec, text.as_bytes());
        for (k, v) in &other {
            crate::msgpack::writer::write_str(&mut rec, k.as_bytes());
            crate::msgpack::writer::write_str(&mut rec, v.as_bytes());
        }
        let mut out = Vec::new();
        let mut time = NOW;
        if f.apply(&rec, &mut time, &mut out) == RecordOutcome::Replaced {
            prop_assert_eq!(skip_value(&out, 0), Ok(out.len()));
            let _ = to_json(&out);
        } else {
            prop_assert_eq!(time, NOW);
        }
    }
}
