//! Transcoder tests: a table of every msgpack type, error atomicity, and properties (never panics,
//! output always parses, round trip through rmp-encoded values).

use proptest::prelude::*;
use serde_json::Value;

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn to_json(msgpack: &[u8]) -> Result<(String, u64), TranscodeError> {
    let mut out = Vec::new();
    let mut stats = TranscodeStats::default();
    let used = write_value(msgpack, &mut out, &mut stats)?;
    assert_eq!(used, msgpack.len(), "consumed the whole value");
    Ok((
        String::from_utf8(out).unwrap(),
        stats.invalid_utf8_sequences,
    ))
}

/// Checks `write_value_escaped` against `write_value` then `write_str_valid`: same text between the
/// quotes, same plain length, same stats, same error (with the buffer untouched).
fn check_escaped(msgpack: &[u8]) -> Result<(), TestCaseError> {
    let (mut plain, mut escaped) = (b"p".to_vec(), b"e".to_vec());
    let (mut plain_stats, mut stats) = (TranscodeStats::default(), TranscodeStats::default());
    let want = write_value(msgpack, &mut plain, &mut plain_stats);
    let got = write_value_escaped(msgpack, &mut escaped, &mut stats);
    prop_assert_eq!(plain_stats, stats);
    match (want, got) {
        (Ok(consumed), Ok(got)) => {
            let text = std::str::from_utf8(&plain[1..]).unwrap();
            let mut literal = b"e".to_vec();
            write_str_valid(text, &mut literal);
            literal.pop();
            literal.remove(1);
            prop_assert_eq!(
                String::from_utf8(escaped).unwrap(),
                String::from_utf8(literal).unwrap()
            );
            prop_assert_eq!(
                got,
                EscapedJson {
                    consumed,
                    plain_len: text.len()
                }
            );
        }
        (Err(want), Err(got)) => {
            prop_assert_eq!(want, got);
            prop_assert_eq!(escaped, b"e");
        }
        (want, got) => prop_assert!(false, "{:?} vs {:?}", want, got),
    }
    Ok(())
}

#[test]
fn every_msgpack_type_has_the_documented_json() {
    let cases: &[(&str, &str)] = &[
        ("c0", "null"),
        ("c2", "false"),
        ("c3", "true"),
        ("00", "0"),
        ("7f", "127"),
        ("ccff", "255"),
        ("cdffff", "65535"),
        ("ceffffffff", "4294967295"),
        ("cfffffffffffffffff", "18446744073709551615"),
        ("e0", "-32"),
        ("ff", "-1"),
        ("d080", "-128"),
        ("d18000", "-32768"),
        ("d280000000", "-2147483648"),
        ("d38000000000000000", "-9223372036854775808"),
        ("d37fffffffffffffff", "9223372036854775807"),
        ("ca3dcccccd", "0.1"),
        ("ca7f800000", "null"),
        ("cb3ff8000000000000", "1.5"),
        ("cb4000000000000000", "2.0"),
        ("cb7ff8000000000000", "null"),
        ("cbfff0000000000000", "null"),
        ("a0", r#""""#),
        ("a3666f6f", r#""foo""#),
        ("d903666f6f", r#""foo""#),
        ("da0003666f6f", r#""foo""#),
        ("db00000003666f6f", r#""foo""#),
        ("a5 22 5c 0a 09 01", r#""\"\\\n\t\u0001""#),
        ("c403010203", r#""AQID""#),
        ("c50002fbff", r#""+/8=""#),
        ("c600000000", r#""""#),
        ("90", "[]"),
        ("80", "{}"),
        ("9201a161", r#"[1,"a"]"#),
        ("dc000201c0", "[1,null]"),
        ("dd00000001c3", "[true]"),
        ("de0001a16101", r#"{"a":1}"#),
        ("df00000001a16101", r#"{"a":1}"#),
        ("82 a161 81a162c0 a163 9101", r#"{"a":{"b":null},"c":[1]}"#),
        // EventTime as fixext8 and ext8: seconds with nine exact fraction digits.
        ("d7004b921e6500000100", "1267867237.000000256"),
        ("c708004b921e6500000100", "1267867237.000000256"),
        // Nanoseconds >= 1e9 is not an EventTime: generic ext object.
        (
            "d70000000001ffffffff",
            r#"{"type":0,"data":"AAAAAf////8="}"#,
        ),
        ("d405ff", r#"{"type":5,"data":"/w=="}"#),
        ("d6ff00000000", r#"{"type":-1,"data":"AAAAAA=="}"#),
        ("c70007", r#"{"type":7,"data":""}"#),
        // Non-string keys become string keys.
        (
            "86 01a161 c0a162 c3a163 cb3ff8000000000000a164 c401ffa165 ffa166",
            r#"{"1":"a","null":"b","true":"c","1.5":"d","/w==":"e","-1":"f"}"#,
        ),
        ("81 9201a178 c0", r#"{"[1,\"x\"]":null}"#),
        ("81 81a161a162 c0", r#"{"{\"a\":\"b\"}":null}"#),
        (
            "81 d7004b921e6500000100 c0",
            r#"{"1267867237.000000256":null}"#,
        ),
        ("81 d405ff c0", r#"{"{\"type\":5,\"data\":\"/w==\"}":null}"#),
    ];
    for (h, want) in cases {
        let (got, bad) = to_json(&hex(h)).unwrap_or_else(|e| panic!("{h}: {e}"));
        assert_eq!(got, *want, "{h}");
        assert_eq!(bad, 0);
        let parsed: Value = serde_json::from_str(&got).unwrap_or_else(|e| panic!("{h}: {e}"));
        let reparsed: Value = serde_json::from_str(want).unwrap();
        assert_eq!(parsed, reparsed);
        check_escaped(&hex(h)).unwrap_or_else(|e| panic!("{h}: {e}"));
    }
}

#[test]
fn invalid_utf8_log_from_the_protocol_vectors_is_replaced_and_counted() {
    let v = hex("93a87461672e6e616d65ce55ece6f881a36c6f67a2fffe");
    let (json, bad) = to_json(&v).unwrap();
    assert_eq!(
        json,
        "[\"tag.name\",1441588984,{\"log\":\"\u{FFFD}\u{FFFD}\"}]"
    );
    assert_eq!(bad, 2);
    // Invalid keys are repaired too.
    let (json, bad) = to_json(&hex("81 a1ff 01")).unwrap();
    assert_eq!(json, "{\"\u{FFFD}\":1}");
    assert_eq!(bad, 1);
}

#[test]
fn map_entries_have_no_braces_and_count_pairs() {
    let rec = hex("82 a36c6f67a26869 a6736f75726365a6737464657272");
    let mut out = b"{\"date\":1,".to_vec();
    let mut stats = TranscodeStats::default();
    assert_eq!(write_map_entries(&rec, &mut out, &mut stats), Ok(2));
    out.push(b'}');
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"date":1,"log":"hi","source":"stderr"}"#
    );
    let mut out = Vec::new();
    assert_eq!(write_map_entries(&[0x80], &mut out, &mut stats), Ok(0));
    assert!(out.is_empty());
}

#[test]
fn errors_leave_the_buffer_and_stats_as_they_were() {
    let mut stats = TranscodeStats::default();
    let mut out = b"prefix".to_vec();
    // A map whose second value is cut short, after an invalid UTF-8 string was already written.
    let truncated = hex("82 a1ff 01 a162 a3 6f");
    assert_eq!(
        write_value(&truncated, &mut out, &mut stats),
        Err(TranscodeError::Read(ReadError::Incomplete))
    );
    assert_eq!(
        write_map_entries(&truncated, &mut out, &mut stats),
        Err(TranscodeError::Read(ReadError::Incomplete))
    );
    assert!(matches!(
        write_value(&hex("91c1"), &mut out, &mut stats),
        Err(TranscodeError::Read(ReadError::Invalid(_)))
    ));
    assert_eq!(
        write_map_entries(&hex("9101"), &mut out, &mut stats),
        Err(TranscodeError::NotAMap)
    );
    assert_eq!(out, b"prefix");
    assert_eq!(stats, TranscodeStats::default());
}

#[test]
fn nesting_is_limited_to_max_depth() {
    let nested = |levels: usize| {
        let mut v = vec![0x91u8; levels];
        v.push(0xc0);
        v
    };
    let ok = to_json(&nested(MAX_DEPTH)).unwrap().0;
    assert_eq!(ok.len(), 2 * MAX_DEPTH + 4);
    assert_eq!(
        to_json(&nested(MAX_DEPTH + 1)),
        Err(TranscodeError::TooDeep)
    );
    // Deep keys count too: a map key made of nested arrays.
    let mut deep_key = vec![0x81u8];
    deep_key.extend(nested(MAX_DEPTH));
    deep_key.push(0xc0);
    assert_eq!(to_json(&deep_key), Err(TranscodeError::TooDeep));
}

#[test]
fn huge_declared_counts_fail_fast() {
    for h in ["ddffffffff", "dfffffffff", "dfffffffff01"] {
        assert_eq!(
            to_json(&hex(h)),
            Err(TranscodeError::Read(ReadError::Incomplete))
        );
    }
}

/// Encodes a JSON value as msgpack with rmp (keys as str, ints in the smallest encoding).
fn encode(v: &Value, out: &mut Vec<u8>) {
    use rmp::encode as e;
    match v {
        Value::Null => e::write_nil(out).unwrap(),
        Value::Bool(b) => e::write_bool(out, *b).unwrap(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                e::write_uint(out, u).unwrap();
            } else if let Some(i) = n.as_i64() {
                e::write_sint(out, i).unwrap();
            } else {
                e::write_f64(out, n.as_f64().unwrap()).unwrap();
            }
        }
        Value::String(s) => e::write_str(out, s).unwrap(),
        Value::Array(items) => {
            e::write_array_len(out, items.len() as u32).unwrap();
            items.iter().for_each(|i| encode(i, out));
        }
        Value::Object(map) => {
            e::write_map_len(out, map.len() as u32).unwrap();
            for (k, v) in map {
                e::write_str(out, k).unwrap();
                encode(v, out);
            }
        }
    }
}

/// Equality that forgives serde_json's parser being off by a few ulps on long float mantissas (its
/// default, non-`float_roundtrip` mode); exact float round trip is tested on the text in number.rs.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same_json(vx, vy))
        }
        _ => a == b,
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN/inf", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[\"\\\\\\n\\t\\x00-\\x1f a-z]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_give_valid_json_or_nothing(
        bytes in prop::collection::vec(any::<u8>(), 0..256)
    ) {
        let mut out = b"x".to_vec();
        let mut stats = TranscodeStats::default();
        match write_value(&bytes, &mut out, &mut stats) {
            Ok(used) => {
                prop_assert!(used <= bytes.len());
                let text = std::str::from_utf8(&out[1..]).unwrap();
                prop_assert!(serde_json::from_str::<Value>(text).is_ok(), "{}", text);
            }
            Err(_) => prop_assert_eq!(&out, b"x"),
        }
        check_escaped(&bytes)?;
        let mut out = Vec::new();
        if write_map_entries(&bytes, &mut out, &mut stats).is_ok() {
            let text = format!("{{{}}}", std::str::from_utf8(&out).unwrap());
            prop_assert!(serde_json::from_str::<Value>(&text).is_ok(), "{}", text);
        }
    }

    #[test]
    fn json_values_round_trip_through_msgpack(v in json_value()) {
        let mut msgpack = Vec::new();
        encode(&v, &mut msgpack);
        let mut out = Vec::new();
        let mut stats = TranscodeStats::default();
        prop_assert_eq!(write_value(&msgpack, &mut out, &mut stats), Ok(msgpack.len()));
        let back: Value = serde_json::from_slice(&out).unwrap();
        prop_assert!(same_json(&back, &v), "{} vs {}", back, v);
        prop_assert_eq!(stats.invalid_utf8_sequences, 0);
        check_escaped(&msgpack)?;
    }

    #[test]
    fn escaped_json_of_tricky_strings_and_keys_is_the_json_escaped(
        strings in prop::collection::vec(prop::collection::vec(
            prop::sample::select(&b"a\"\\\n\x01\x1f\x7f\xc3\xa9\xff\xe2\x82"[..]), 0..12), 1..6),
        key_kind in 0u8..4,
    ) {
        // A map of these strings keyed by a str, an int, a bin or an array (non-string keys).
        let mut msgpack = Vec::new();
        rmp::encode::write_map_len(&mut msgpack, strings.len() as u32).unwrap();
        for (i, s) in strings.iter().enumerate() {
            match key_kind {
                0 => crate::msgpack::writer::write_str(&mut msgpack, s),
                1 => drop(rmp::encode::write_uint(&mut msgpack, i as u64).unwrap()),
                2 => rmp::encode::write_bin(&mut msgpack, s).unwrap(),
                _ => {
                    rmp::encode::write_array_len(&mut msgpack, 1).unwrap();
                    crate::msgpack::writer::write_str(&mut msgpack, s);
                }
            }
            crate::msgpack::writer::write_str(&mut msgpack, s);
        }
        check_escaped(&msgpack)?;
    }
}
