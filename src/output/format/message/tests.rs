//! Message tests: JSON and `log_key` messages, UTF-8 repair, truncation at the limit, and the escaped
//! form against the plain text escaped afterwards.

use proptest::prelude::*;

use super::*;
use crate::msgpack::writer::{write_map_len, write_str};

/// A msgpack map of string keys to already-encoded msgpack values.
fn record(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    write_map_len(&mut out, pairs.len() as u32);
    for (k, v) in pairs {
        write_str(&mut out, k.as_bytes());
        out.extend_from_slice(v);
    }
    out
}

fn mp_str(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_str(&mut out, s);
    out
}

fn encode(enc: &MessageEncoder, rec: &[u8]) -> (String, MessageInfo) {
    let mut out = b"left over".to_vec();
    let info = enc.encode(rec, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), info)
}

#[test]
fn without_log_key_the_record_is_json() {
    let rec = record(&[("log", &mp_str(b"hi \"x\"")), ("n", &[0x07])]);
    let (msg, info) = encode(&MessageEncoder::new(None), &rec);
    assert_eq!(msg, r#"{"log":"hi \"x\"","n":7}"#);
    assert_eq!(info, MessageInfo::default());
}

#[test]
fn log_key_string_value_is_sent_raw() {
    let rec = record(&[
        ("source", &mp_str(b"stdout")),
        ("log", &mp_str(b"a \"q\"\n")),
    ]);
    let (msg, info) = encode(&MessageEncoder::new(Some("log")), &rec);
    assert_eq!(msg, "a \"q\"\n");
    assert_eq!(info, MessageInfo::default());
}

#[test]
fn log_key_bin_value_is_sent_raw() {
    let rec = record(&[("log", &[0xc4, 0x03, b'a', b'b', b'c'])]);
    assert_eq!(encode(&MessageEncoder::new(Some("log")), &rec).0, "abc");
}

#[test]
fn log_key_non_string_value_is_json() {
    let inner = record(&[("level", &mp_str(b"info"))]);
    let rec = record(&[("log", &inner), ("n", &[0x01])]);
    let enc = MessageEncoder::new(Some("log"));
    assert_eq!(encode(&enc, &rec).0, r#"{"level":"info"}"#);
    let rec = record(&[("log", &[0xcd, 0x01, 0x00])]);
    assert_eq!(encode(&enc, &rec).0, "256");
    let rec = record(&[("log", &[0xc0])]);
    assert_eq!(encode(&enc, &rec).0, "null");
}

#[test]
fn missing_log_key_falls_back_to_the_whole_record() {
    let rec = record(&[("message", &mp_str(b"hi"))]);
    let (msg, info) = encode(&MessageEncoder::new(Some("log")), &rec);
    assert_eq!(msg, r#"{"message":"hi"}"#);
    assert!(info.log_key_missing);
    assert!(!info.truncated);
}

#[test]
fn empty_log_value_is_an_empty_message() {
    let rec = record(&[("log", &mp_str(b""))]);
    let (msg, info) = encode(&MessageEncoder::new(Some("log")), &rec);
    assert_eq!(msg, "");
    assert_eq!(info, MessageInfo::default());
}

#[test]
fn invalid_utf8_is_replaced_and_counted_raw_and_json() {
    let rec = record(&[("log", &mp_str(b"a\xffb\xe2\x82"))]);
    let (msg, info) = encode(&MessageEncoder::new(Some("log")), &rec);
    assert_eq!(msg, "a\u{FFFD}b\u{FFFD}");
    assert_eq!(info.invalid_utf8, 2);
    let (msg, info) = encode(&MessageEncoder::new(None), &rec);
    assert_eq!(msg, "{\"log\":\"a\u{FFFD}b\u{FFFD}\"}");
    assert_eq!(info.invalid_utf8, 2);
}

#[test]
fn long_message_is_cut_with_the_suffix_to_exactly_the_limit() {
    let rec = record(&[("log", &mp_str(&[b'x'; 100]))]);
    let enc = MessageEncoder::new(Some("log")).with_max_bytes(50);
    let (msg, info) = encode(&enc, &rec);
    assert!(info.truncated);
    assert_eq!(msg.len(), 50);
    assert_eq!(msg, format!("{}{TRUNCATED_SUFFIX}", "x".repeat(36)));
}

#[test]
fn message_at_the_limit_is_not_cut() {
    let rec = record(&[("log", &mp_str(&[b'x'; 50]))]);
    let enc = MessageEncoder::new(Some("log")).with_max_bytes(50);
    let (msg, info) = encode(&enc, &rec);
    assert!(!info.truncated);
    assert_eq!(msg.len(), 50);
}

#[test]
fn cut_never_splits_a_character() {
    // 'é' is 2 bytes; after the leading 'x' the 36-byte cut point falls inside the 18th 'é'.
    let text = format!("x{}", "é".repeat(50));
    let rec = record(&[("log", &mp_str(text.as_bytes()))]);
    let enc = MessageEncoder::new(Some("log")).with_max_bytes(50);
    let (msg, info) = encode(&enc, &rec);
    assert!(info.truncated);
    assert_eq!(msg, format!("x{}{TRUNCATED_SUFFIX}", "é".repeat(17)));
    assert_eq!(msg.len(), 49);
}

#[test]
fn json_record_over_the_limit_is_cut_too() {
    let rec = record(&[("log", &mp_str(&[b'y'; 200]))]);
    let (msg, info) = encode(&MessageEncoder::new(None).with_max_bytes(64), &rec);
    assert!(info.truncated);
    assert_eq!(
        msg,
        format!("{{\"log\":\"{}{TRUNCATED_SUFFIX}", "y".repeat(42))
    );
}

#[test]
fn corrupt_record_is_an_error_and_leaves_nothing() {
    let mut rec = record(&[("log", &mp_str(b"hello"))]);
    rec.truncate(rec.len() - 2);
    for enc in [MessageEncoder::new(None), MessageEncoder::new(Some("log"))] {
        let mut out = b"old".to_vec();
        assert!(enc.encode(&rec, &mut out).is_err());
        assert!(out.is_empty());
    }
}

proptest! {
    #[test]
    fn any_value_gives_valid_utf8_within_the_limit(
        raw in proptest::collection::vec(any::<u8>(), 0..300),
        max_bytes in 0usize..120,
        use_key in any::<bool>(),
    ) {
        let rec = record(&[("log", &mp_str(&raw))]);
        let enc = MessageEncoder::new(use_key.then_some("log")).with_max_bytes(max_bytes);
        let mut out = Vec::new();
        let info = enc.encode(&rec, &mut out).unwrap();
        let msg = String::from_utf8(out).unwrap();
        prop_assert!(msg.len() <= max_bytes);
        let full = if use_key {
            String::from_utf8_lossy(&raw).into_owned()
        } else {
            let mut json = Vec::new();
            let mut stats = TranscodeStats::default();
            write_value(&rec, &mut json, &mut stats).unwrap();
            String::from_utf8(json).unwrap()
        };
        prop_assert_eq!(info.truncated, full.len() > max_bytes);
        if info.truncated {
            let kept = msg.strip_suffix(TRUNCATED_SUFFIX).unwrap_or(&msg);
            prop_assert!(full.starts_with(kept));
            prop_assert!(kept.len() + 4 > max_bytes.saturating_sub(TRUNCATED_SUFFIX.len()));
        } else {
            prop_assert_eq!(msg, full);
        }
    }
}

/// The escaped message and raw length as today's path makes them: plain text, then escaped.
fn escaped_after(text: &str) -> Vec<u8> {
    let mut literal = Vec::new();
    crate::msgpack::json::write_str_valid(text, &mut literal);
    literal[1..literal.len() - 1].to_vec()
}

#[test]
fn encoded_messages_are_escaped_once_and_count_the_text() {
    let rec = record(&[("log", &mp_str(b"say \"hi\"\\\n\x01"))]);
    let mut scratch = Vec::new();
    let (message, info) = MessageEncoder::new(None)
        .encode_message(&rec, &mut scratch)
        .unwrap();
    let text = r#"{"log":"say \"hi\"\\\n\u0001"}"#;
    assert_eq!(message.raw_len(), text.len());
    assert_eq!(
        std::str::from_utf8(message.escaped()).unwrap(),
        r#"{\"log\":\"say \\\"hi\\\"\\\\\\n\\u0001\"}"#
    );
    assert_eq!(info, MessageInfo::default());
    let mut scratch = Vec::new();
    let (message, _) = MessageEncoder::new(Some("log"))
        .encode_message(&rec, &mut scratch)
        .unwrap();
    assert_eq!(message.escaped(), br#"say \"hi\"\\\n\u0001"#);
    assert_eq!(message.raw_len(), 11);
}

#[test]
fn a_cut_escaped_message_is_the_cut_text_escaped() {
    // 30 quotes: 30 bytes of text but 60 escaped; the limit applies to the text.
    let rec = record(&[("log", &mp_str(&[b'"'; 30]))]);
    let enc = MessageEncoder::new(Some("log")).with_max_bytes(30);
    let mut scratch = Vec::new();
    let (message, info) = enc.encode_message(&rec, &mut scratch).unwrap();
    assert!(!info.truncated);
    assert_eq!((message.raw_len(), message.escaped().len()), (30, 60));
    let enc = enc.with_max_bytes(20);
    let mut scratch = Vec::new();
    let (message, info) = enc.encode_message(&rec, &mut scratch).unwrap();
    assert!(info.truncated);
    let cut = format!("{}{TRUNCATED_SUFFIX}", "\"".repeat(6));
    assert_eq!(message.raw_len(), cut.len());
    assert_eq!(message.escaped(), escaped_after(&cut));
}

#[test]
fn a_corrupt_record_is_an_error_for_the_escaped_path_too() {
    let mut rec = record(&[("log", &mp_str(b"hello"))]);
    rec.truncate(rec.len() - 2);
    for enc in [MessageEncoder::new(None), MessageEncoder::new(Some("log"))] {
        let mut scratch = b"old".to_vec();
        assert!(enc.encode_message(&rec, &mut scratch).is_err());
        assert!(scratch.is_empty());
    }
}

/// A msgpack value of any type, for generating records.
#[derive(Debug, Clone)]
enum Mp {
    Nil,
    Bool(bool),
    UInt(u64),
    Int(i64),
    F32(f32),
    F64(f64),
    Str(Vec<u8>),
    Bin(Vec<u8>),
    Ext(i8, Vec<u8>),
    Array(Vec<Mp>),
    Map(Vec<(Mp, Mp)>),
}

impl Mp {
    fn encode(&self, out: &mut Vec<u8>) {
        use rmp::encode as e;
        match self {
            Mp::Nil => e::write_nil(out).unwrap(),
            Mp::Bool(b) => e::write_bool(out, *b).unwrap(),
            Mp::UInt(v) => drop(e::write_uint(out, *v).unwrap()),
            Mp::Int(v) => drop(e::write_sint(out, *v).unwrap()),
            Mp::F32(v) => e::write_f32(out, *v).unwrap(),
            Mp::F64(v) => e::write_f64(out, *v).unwrap(),
            Mp::Str(s) => write_str(out, s),
            Mp::Bin(b) => {
                e::write_bin(out, b).unwrap();
            }
            Mp::Ext(ty, data) => {
                e::write_ext_meta(out, data.len() as u32, *ty).unwrap();
                out.extend_from_slice(data);
            }
            Mp::Array(items) => {
                e::write_array_len(out, items.len() as u32).unwrap();
                items.iter().for_each(|i| i.encode(out));
            }
            Mp::Map(pairs) => {
                write_map_len(out, pairs.len() as u32);
                for (k, v) in pairs {
                    k.encode(out);
                    v.encode(out);
                }
            }
        }
    }
}

/// Bytes that need escaping, bytes of multi-byte characters (whole or cut) and invalid UTF-8.
fn tricky_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop_oneof![
        4 => proptest::sample::select(&b"ab \"\\/\n\r\t\x08\x0c\x00\x1f\x7f"[..]).prop_map(|b| vec![b]),
        1 => proptest::sample::select(vec!["é", "✓", "😀", "\u{2028}"]).prop_map(|s| s.as_bytes().to_vec()),
        1 => proptest::sample::select(&b"\xff\xfe\xe2\x82\xf0\x9f\xc3"[..]).prop_map(|b| vec![b]),
    ];
    proptest::collection::vec(pieces, 0..max_len).prop_map(|p| p.concat())
}

fn mp_value() -> impl Strategy<Value = Mp> {
    let event_time = (any::<u32>(), 0u32..1_000_000_000)
        .prop_map(|(s, n)| Mp::Ext(0, [s.to_be_bytes(), n.to_be_bytes()].concat()));
    let leaf = prop_oneof![
        1 => Just(Mp::Nil),
        1 => any::<bool>().prop_map(Mp::Bool),
        1 => any::<u64>().prop_map(Mp::UInt),
        1 => any::<i64>().prop_map(Mp::Int),
        1 => any::<f32>().prop_map(Mp::F32),
        1 => any::<f64>().prop_map(Mp::F64),
        3 => tricky_bytes(24).prop_map(Mp::Str),
        1 => any::<Vec<u8>>().prop_map(Mp::Str),
        1 => proptest::collection::vec(any::<u8>(), 0..10).prop_map(Mp::Bin),
        1 => (any::<i8>(), proptest::collection::vec(any::<u8>(), 0..10)).prop_map(|(t, d)| Mp::Ext(t, d)),
        1 => event_time,
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Mp::Array),
            proptest::collection::vec((inner.clone(), inner), 0..6).prop_map(Mp::Map),
        ]
    })
}

/// A record: a map with string keys (sometimes "log"), a few of any type, and maybe a long value.
fn mp_record() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        Just(Mp::Str(b"log".to_vec())),
        tricky_bytes(6).prop_map(Mp::Str),
        mp_value(),
    ];
    let value = prop_oneof![4 => mp_value(), 1 => tricky_bytes(200).prop_map(Mp::Str)];
    proptest::collection::vec((key, value), 0..6).prop_map(|pairs| {
        let mut out = Vec::new();
        Mp::Map(pairs).encode(&mut out);
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The one-pass escaped message is byte for byte today's: encode, then escape the text.
    #[test]
    fn escaped_path_equals_encode_then_escape(
        rec in mp_record(),
        max_bytes in 0usize..300,
        log_key in proptest::sample::select(vec![None, Some("log"), Some("absent")]),
        cut in proptest::option::weighted(0.1, any::<proptest::sample::Index>()),
    ) {
        let mut rec = rec;
        if let Some(cut) = cut {
            rec.truncate(cut.index(rec.len()));
        }
        let enc = MessageEncoder::new(log_key).with_max_bytes(max_bytes);
        let mut plain = Vec::new();
        let mut scratch = b"junk".to_vec();
        match (enc.encode(&rec, &mut plain), enc.encode_message(&rec, &mut scratch)) {
            (Ok(info), Ok((message, new_info))) => {
                prop_assert_eq!(new_info, info);
                let text = String::from_utf8(plain).unwrap();
                prop_assert_eq!(message.raw_len(), text.len());
                prop_assert_eq!(message.is_empty(), text.is_empty());
                prop_assert_eq!(message.escaped(), &escaped_after(&text)[..]);
            }
            (Err(old), Err(new)) => prop_assert_eq!(old, new),
            (old, new) => prop_assert!(false, "{:?} vs {:?}", old, new),
        }
    }
}
