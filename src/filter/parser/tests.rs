use proptest::prelude::*;

use super::*;
use crate::msgpack::json::{TranscodeStats, write_value};
use crate::msgpack::reader::{as_str_bytes, map_get};

pub(super) const NOW: EventTime = EventTime::new(1_791_756_855, 0); // 2026-10-11T22:14:15Z

/// Runs `def` on `text`; returns the fields as a JSON object and the parsed time.
pub(super) fn run(def: &ParserDef, text: &str) -> Option<(String, Option<EventTime>)> {
    let parser = Parser::compile(def).unwrap();
    let mut out = vec![0xaa];
    let Some(parsed) = parser.parse(text.as_bytes(), NOW, &mut out) else {
        assert_eq!(out, vec![0xaa], "no match must leave out untouched");
        return None;
    };
    let map = &out[1..];
    assert_eq!(
        read_token(map, 0).unwrap().0,
        Token::Map(parsed.entries),
        "one map holding the counted entries"
    );
    let mut json = Vec::new();
    let used = write_value(map, &mut json, &mut TranscodeStats::default()).unwrap();
    assert_eq!(used, map.len(), "entries count matches the bytes");
    Some((String::from_utf8(json).unwrap(), parsed.time))
}

fn regex_def(pattern: &str) -> ParserDef {
    ParserDef {
        regex: Some(pattern.to_owned()),
        ..ParserDef::new("t", "regex")
    }
}

#[test]
fn json_object_entries_and_non_objects() {
    let def = ParserDef::new("j", "json");
    assert_eq!(
        run(&def, r#"{"a":1,"b":{"c":[true,null]},"s":"x"}"#),
        Some((r#"{"a":1,"b":{"c":[true,null]},"s":"x"}"#.to_owned(), None))
    );
    assert_eq!(run(&def, "{}\n"), Some(("{}".to_owned(), None)));
    for bad in ["[1,2]", "\"str\"", "12", "plain text", "{\"a\":", ""] {
        assert_eq!(run(&def, bad), None, "{bad}");
    }
}

/// The msgpack map the json parser makes of `text`.
fn json_map(text: &str) -> Option<Vec<u8>> {
    let parser = Parser::compile(&ParserDef::new("j", "json")).unwrap();
    let mut out = Vec::new();
    parser.parse(text.as_bytes(), NOW, &mut out)?;
    Some(out)
}

fn token<'a>(map: &'a [u8], key: &str) -> Token<'a> {
    let value = map_get(map, key.as_bytes()).unwrap_or_else(|| panic!("{key} missing"));
    read_token(value, 0).unwrap().0
}

#[test]
fn json_numbers_strings_and_nesting_are_exact() {
    let map = json_map(
        r#"{"int":42,"neg":-17,"min":-9223372036854775808,"max":18446744073709551615,
            "over":18446744073709551616,"f":-1.5e-7,"pi":3.141592653589793,"zero":0,
            "t":true,"n":null,
            "u":"caf\u00e9 \u4e2d \ud83d\ude00 \"q\" \\ \n\t\/",
            "raw":"é中😀",
            "nested":{"a":[1,[2,{"b":[]}],{}],"c":{"d":"e"}}}"#,
    )
    .unwrap();
    assert_eq!(token(&map, "int"), Token::UInt(42));
    assert_eq!(token(&map, "neg"), Token::Int(-17));
    assert_eq!(token(&map, "min"), Token::Int(i64::MIN));
    assert_eq!(token(&map, "max"), Token::UInt(u64::MAX));
    // Beyond u64 a JSON integer can only be a float (as in every JSON reader without bignums).
    assert_eq!(
        token(&map, "over"),
        Token::F64(18_446_744_073_709_551_616.0)
    );
    assert_eq!(token(&map, "f"), Token::F64(-1.5e-7));
    assert_eq!(token(&map, "pi"), Token::F64(std::f64::consts::PI));
    assert_eq!(token(&map, "zero"), Token::UInt(0));
    assert_eq!(token(&map, "t"), Token::Bool(true));
    assert_eq!(token(&map, "n"), Token::Nil);
    let s = |k: &str| {
        as_str_bytes(map_get(&map, k.as_bytes()).unwrap())
            .unwrap()
            .to_vec()
    };
    assert_eq!(s("u"), "café 中 😀 \"q\" \\ \n\t/".as_bytes());
    assert_eq!(s("raw"), "é中😀".as_bytes());
    let mut json = Vec::new();
    write_value(
        map_get(&map, b"nested").unwrap(),
        &mut json,
        &mut TranscodeStats::default(),
    )
    .unwrap();
    assert_eq!(json, br#"{"a":[1,[2,{"b":[]}],{}],"c":{"d":"e"}}"#);
    // A lone surrogate is not valid text: the line does not match rather than being altered.
    assert_eq!(json_map(r#"{"a":"\ud800"}"#), None);
}

#[test]
fn json_time_key_is_read_and_removed_unless_kept() {
    let mut def = ParserDef {
        time_key: Some("ts".to_owned()),
        time_format: Some("%Y-%m-%dT%H:%M:%S.%L%z".to_owned()),
        ..ParserDef::new("j", "json")
    };
    let line = r#"{"a":1,"ts":"2019-01-01T13:00:00.5+01:00","b":2}"#;
    let t = Some(EventTime::new(1_546_344_000, 500_000_000));
    assert_eq!(run(&def, line), Some((r#"{"a":1,"b":2}"#.to_owned(), t)));
    def.time_keep = true;
    assert_eq!(
        run(&def, line),
        Some((
            r#"{"a":1,"ts":"2019-01-01T13:00:00.5+01:00","b":2}"#.to_owned(),
            t
        ))
    );
    // A time that does not parse stays an ordinary field and sets no time.
    def.time_keep = false;
    assert_eq!(
        run(&def, r#"{"ts":"yesterday"}"#),
        Some((r#"{"ts":"yesterday"}"#.to_owned(), None))
    );
}

#[test]
fn json_time_key_is_the_first_that_reads_as_a_time_with_few_or_many_fields() {
    let def = ParserDef {
        time_key: Some("ts".to_owned()),
        time_format: Some("%Y-%m-%dT%H:%M:%S%z".to_owned()),
        ..ParserDef::new("j", "json")
    };
    let t = Some(EventTime::new(1_546_344_000, 0));
    // A number and an unreadable text under the key come first and stay; the readable one goes.
    let line = r#"{"ts":5,"tsx":1,"ts":"soon","ts":"2019-01-01T13:00:00+01:00","ts":"2020-01-01T00:00:00+00:00"}"#;
    assert_eq!(
        run(&def, line),
        Some((
            r#"{"ts":5,"tsx":1,"ts":"soon","ts":"2020-01-01T00:00:00+00:00"}"#.to_owned(),
            t
        ))
    );
    // More fields than the index holds: the map is walked, with the same answer.
    let many: String = (0..40).map(|i| format!(r#""k{i}":{i},"#)).collect();
    let line = format!(r#"{{{many}"ts":"2019-01-01T13:00:00+01:00","z":0}}"#);
    let (json, time) = run(&def, &line).unwrap();
    assert_eq!(time, t);
    assert_eq!(json, format!(r#"{{{many}"z":0}}"#));
}

#[test]
fn regex_named_groups_with_types() {
    // The example from Fluent Bit's parser filter documentation.
    let mut def = regex_def(r"^(?<INT>[^ ]+) (?<FLOAT>[^ ]+) (?<BOOL>[^ ]+) (?<STRING>.+)$");
    assert_eq!(
        run(&def, "100 0.5 true This is example").unwrap().0,
        r#"{"INT":"100","FLOAT":"0.5","BOOL":"true","STRING":"This is example"}"#
    );
    def.types = Some("INT:integer FLOAT:float BOOL:bool STRING:string".to_owned());
    assert_eq!(
        run(&def, "-100 0.5 TRUE This is example").unwrap().0,
        r#"{"INT":-100,"FLOAT":0.5,"BOOL":true,"STRING":"This is example"}"#
    );
    // Values that do not convert stay strings.
    assert_eq!(
        run(&def, "1x abc maybe s").unwrap().0,
        r#"{"INT":"1x","FLOAT":"abc","BOOL":"maybe","STRING":"s"}"#
    );
    let hex = ParserDef {
        types: Some("h:hex n:integer".to_owned()),
        ..regex_def(r"(?<h>\S+) (?<n>\S+)")
    };
    assert_eq!(
        run(&hex, "0xff 9223372036854775807").unwrap().0,
        r#"{"h":255,"n":9223372036854775807}"#
    );
    assert_eq!(run(&def, "no-spaces"), None);
}

#[test]
fn regex_unmatched_groups_and_empty_values_are_left_out() {
    let mut def = regex_def(r"^(?<a>\w+)(?: (?<b>\w+))?(?<c>x?)$");
    assert_eq!(run(&def, "one").unwrap().0, r#"{"a":"one"}"#);
    assert_eq!(
        run(&def, "one twox").unwrap().0,
        r#"{"a":"one","b":"twox"}"#
    );
    // Skip_Empty_Values off: an empty capture is a field, and so is a group that took no part
    // (Fluent Bit reads it as an empty value).
    def.skip_empty_values = false;
    assert_eq!(run(&def, "one").unwrap().0, r#"{"a":"one","b":"","c":""}"#);
    // A match in which no named group took part is no match (Fluent Bit's `flb_regex_parse`),
    // even when a later one would have had it: the first match is the empty one at 0.
    let optional = regex_def(r"(?<a>x)?");
    assert_eq!(run(&optional, "y"), None);
    assert_eq!(run(&optional, "yx"), None);
    assert_eq!(run(&optional, "xy").unwrap().0, r#"{"a":"x"}"#);
}

#[test]
fn regex_in_ruby_syntax_from_a_fluent_bit_file() {
    let def = regex_def(r"/^\<(?<pri>[0-9]+)\>(?<msg>.*)$/");
    assert_eq!(
        run(&def, "<34>hello").unwrap().0,
        r#"{"pri":"34","msg":"hello"}"#
    );
}

#[test]
fn time_key_defaults_to_time_and_time_offset_applies_to_zoneless_text() {
    let def = ParserDef {
        time_format: Some("%Y-%m-%d %H:%M:%S".to_owned()),
        time_offset: Some("+0200".to_owned()),
        ..regex_def(r"^(?<time>[^,]+),(?<msg>.*)$")
    };
    assert_eq!(
        run(&def, "2019-01-01 14:00:00,hi"),
        Some((
            r#"{"msg":"hi"}"#.to_owned(),
            Some(EventTime::new(1_546_344_000, 0))
        ))
    );
}

#[test]
fn logfmt_pairs_quotes_and_bare_keys() {
    let mut def = ParserDef {
        types: Some("n:integer".to_owned()),
        ..ParserDef::new("l", "logfmt")
    };
    assert_eq!(
        run(
            &def,
            r#"level=info msg="hello \"world\"" n=42 empty= verbose"#
        )
        .unwrap()
        .0,
        r#"{"level":"info","msg":"hello \"world\"","n":42,"empty":true,"verbose":true}"#
    );
    // As in Fluent Bit: `key=` is `true`, `key=""` an empty string.
    assert_eq!(run(&def, r#"a= b="""#).unwrap().0, r#"{"a":true,"b":""}"#);
    assert_eq!(run(&def, "just some words"), None);
    assert_eq!(run(&def, r#"a="unterminated"#), None);
    assert_eq!(run(&def, "=x"), None);
    def.logfmt_no_bare_keys = true;
    assert_eq!(run(&def, "a=1 flag"), None);
    assert_eq!(run(&def, "a=1").unwrap().0, r#"{"a":"1"}"#);
}

#[test]
fn logfmt_time_key() {
    let def = ParserDef {
        time_key: Some("ts".to_owned()),
        time_format: Some("%s".to_owned()),
        ..ParserDef::new("l", "logfmt")
    };
    assert_eq!(
        run(&def, "ts=1546344000 a=b"),
        Some((
            r#"{"a":"b"}"#.to_owned(),
            Some(EventTime::new(1_546_344_000, 0))
        ))
    );
}

#[test]
fn compile_errors_name_the_parser() {
    let no_regex = ParserDef::new("r", "regex");
    assert!(matches!(
        Parser::compile(&no_regex),
        Err(ParserError::MissingRegex { parser }) if parser == "r"
    ));
    assert!(matches!(
        Parser::compile(&regex_def("(?<a>")),
        Err(ParserError::BadRegex { .. })
    ));
    let bad_time = ParserDef {
        time_key: Some("t".to_owned()),
        time_format: Some("%Q".to_owned()),
        ..ParserDef::new("j", "json")
    };
    assert!(matches!(
        Parser::compile(&bad_time),
        Err(ParserError::BadTimeFormat { .. })
    ));
    assert_eq!(parse_types("a:int"), Err("a:int".to_owned()));
    assert!(parse_types("nocolon").is_err());
    assert!(parse_types(":integer").is_err());
    let bad_type = ParserDef {
        types: Some("n:integer x:number".to_owned()),
        ..regex_def("(?<n>.)")
    };
    assert_eq!(
        Parser::compile(&bad_type).unwrap_err().to_string(),
        "parser `t`: invalid Types entry `x:number` (expected name:integer|float|bool|string|hex)"
    );
    assert_eq!(
        Parser::compile(&ParserDef::new("x", "ltsv"))
            .unwrap_err()
            .to_string(),
        "parser `x`: unknown format `ltsv` (expected json, regex or logfmt)"
    );
    let bad_offset = ParserDef {
        time_format: Some("%s".to_owned()),
        time_offset: Some("2 hours".to_owned()),
        ..ParserDef::new("j", "json")
    };
    assert!(matches!(
        Parser::compile(&bad_offset),
        Err(ParserError::BadTimeOffset { .. })
    ));
    assert_eq!(
        Parser::compile(&regex_def("(?<a>x"))
            .unwrap_err()
            .to_string(),
        "parser `t`: invalid regex: end pattern with unmatched parenthesis (at character 6)"
    );
    let err = Parser::compile(&regex_def("(?<a>x)(?~y)"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("parser `t`: invalid regex: the absent operator"),
        "{err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn parsers_never_panic_and_write_whole_entries(text in "[ -~]{0,60}") {
        for def in [
            ParserDef::new("l", "logfmt"),
            ParserDef::new("j", "json"),
            regex_def(r"(?<k>\w+)=(?<v>\S*)"),
        ] {
            let _ = run(&def, &text);
        }
    }
}
