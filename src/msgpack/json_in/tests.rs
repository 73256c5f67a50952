use std::fmt;

use proptest::prelude::*;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::*;
use crate::msgpack::reader::{Token, as_str_bytes, map_get, read_token, skip_value};
use crate::msgpack::writer::{write_i64, write_str, write_u64};

// ---- The reference: the serde_json visitor this module replaced. ----

#[derive(Debug)]
enum RefError {
    NotAnObject,
    // Only read through `Debug`, in failure messages.
    Syntax(#[allow(dead_code)] serde_json::Error),
}

fn reference(json: &[u8], out: &mut Vec<u8>) -> Result<(), RefError> {
    let start = out.len();
    let first = json.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(RefError::NotAnObject);
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let res = RefWriter { out: &mut *out }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    res.map_err(|e| {
        out.truncate(start);
        RefError::Syntax(e)
    })
}

struct RefWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for RefWriter<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RefWriter<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.push(0xc0);
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.out.push(if v { 0xc3 } else { 0xc2 });
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        write_u64(self.out, v);
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        write_i64(self.out, v);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.out.push(0xcb);
        self.out.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        write_str(self.out, v.as_bytes());
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let header = self.out.len();
        self.out.extend_from_slice(&[0xdd, 0, 0, 0, 0]);
        let mut n: u32 = 0;
        while seq
            .next_element_seed(RefWriter {
                out: &mut *self.out,
            })?
            .is_some()
        {
            n += 1;
        }
        self.out[header + 1..header + 5].copy_from_slice(&n.to_be_bytes());
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let header = self.out.len();
        self.out.extend_from_slice(&[0xdf, 0, 0, 0, 0]);
        let mut n: u32 = 0;
        while map
            .next_key_seed(RefWriter {
                out: &mut *self.out,
            })?
            .is_some()
        {
            map.next_value_seed(RefWriter {
                out: &mut *self.out,
            })?;
            n += 1;
        }
        self.out[header + 1..header + 5].copy_from_slice(&n.to_be_bytes());
        Ok(())
    }
}

// ---- Comparison helpers. ----

/// serde_json's default float parser is not correctly rounded (ours is): seen 2 ULPs off, e.g. on
/// `-1.9515593651224566e-233` (see `floats_are_correctly_rounded`).
const SERDE_FLOAT_ULPS: u64 = 4;

/// Same msgpack bytes, except that two f64 may differ by `SERDE_FLOAT_ULPS`.
fn same_but_float_rounding(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    let (mut pa, mut pb) = (0, 0);
    while pa < a.len() && pb < b.len() {
        let (Ok((ta, na)), Ok((tb, nb))) = (read_token(a, pa), read_token(b, pb)) else {
            return false;
        };
        let same = match (ta, tb) {
            (Token::F64(x), Token::F64(y)) => {
                x.is_sign_negative() == y.is_sign_negative()
                    && x.to_bits().abs_diff(y.to_bits()) <= SERDE_FLOAT_ULPS
            }
            _ => a[pa..na] == b[pb..nb],
        };
        if !same {
            return false;
        }
        (pa, pb) = (na, nb);
    }
    pa == a.len() && pb == b.len()
}

/// Runs both implementations on `json` after a prefix in `out`; checks they agree on the outcome and
/// bytes, and that `out` is restored on error. Returns whether the input was accepted.
fn check_against_reference(json: &[u8]) -> Result<bool, String> {
    let prefix = [0x42u8, 0x43];
    let (mut new_out, mut ref_out) = (prefix.to_vec(), prefix.to_vec());
    let new = json_object_to_msgpack(json, &mut new_out);
    let old = reference(json, &mut ref_out);
    let show = String::from_utf8_lossy(json);
    match (&new, &old) {
        (Ok(()), Ok(())) if same_but_float_rounding(&new_out, &ref_out) => Ok(true),
        (Ok(()), Ok(())) => Err(format!(
            "{show:?}: output differs\n new {new_out:02x?}\n ref {ref_out:02x?}"
        )),
        (Err(JsonToMsgpackError::NotAnObject), Err(RefError::NotAnObject))
        | (Err(JsonToMsgpackError::Syntax(_)), Err(RefError::Syntax(_)))
            if new_out == prefix =>
        {
            Ok(false)
        }
        _ => Err(format!("{show:?}: new {new:?} vs reference {old:?}")),
    }
}

fn syntax_error(json: &[u8]) -> Option<JsonSyntaxError> {
    match json_object_to_msgpack(json, &mut Vec::new()) {
        Err(JsonToMsgpackError::Syntax(e)) => Some(e),
        _ => None,
    }
}

// ---- Table tests. ----

#[test]
fn json_object_becomes_one_msgpack_map() {
    let mut out = vec![0x01];
    json_object_to_msgpack(br#" {"log":"a \"q\"","n":-5,"big":18446744073709551615,"f":1.5,"arr":[true,null,{"x":"y"}]} "#, &mut out)
            .unwrap();
    let rec = &out[1..];
    assert_eq!(skip_value(rec, 0), Ok(rec.len()));
    assert_eq!(
        as_str_bytes(map_get(rec, b"log").unwrap()),
        Some(&b"a \"q\""[..])
    );
    assert_eq!(
        read_token(map_get(rec, b"n").unwrap(), 0).unwrap().0,
        Token::Int(-5)
    );
    assert_eq!(
        read_token(map_get(rec, b"big").unwrap(), 0).unwrap().0,
        Token::UInt(u64::MAX)
    );
    assert_eq!(
        read_token(map_get(rec, b"f").unwrap(), 0).unwrap().0,
        Token::F64(1.5)
    );
    assert_eq!(
        read_token(map_get(rec, b"arr").unwrap(), 0).unwrap().0,
        Token::Array(3)
    );
}

#[test]
fn rejects_non_objects_and_bad_json_leaving_buffer_untouched() {
    let mut out = vec![7];
    for non_object in [&b"[1]"[..], b"", b"   ", b"\"s\"", b"1", b"\x0c[1]"] {
        assert_eq!(
            json_object_to_msgpack(non_object, &mut out),
            Err(JsonToMsgpackError::NotAnObject)
        );
    }
    assert!(json_object_to_msgpack(br#"{"a": tru"#, &mut out).is_err());
    assert!(json_object_to_msgpack(br#"{"a":1} x"#, &mut out).is_err());
    assert_eq!(out, vec![7]);
}

#[test]
fn encodings_match_the_serde_transcoder() {
    let long = "x".repeat(40);
    let escaped_long = "\\n".repeat(20);
    let escaped_300 = "\\u00e9".repeat(150);
    let escaped_70k = "\\t".repeat(70_000);
    let cases = [
        r#"{}"#.to_string(),
        r#" {"a":[]} "#.to_string(),
        "\t\r\n{ \"a\" : [ 1 , 2 ] }\n".to_string(),
        r#"{"a":1,"a":2}"#.to_string(),
        r#"{"n":[0,127,128,18446744073709551615,18446744073709551616,-1,-32,-33]}"#.to_string(),
        r#"{"n":[-9223372036854775808,-9223372036854775809,-0,-0.0,0.0,1e2,1E+2,1e-2,2.5e-3]}"#
            .to_string(),
        r#"{"n":[1e-400,0e999,-1e-400,123456789012345678901234567890,1e308,5e-324]}"#.to_string(),
        r#"{"n":0e99999999999999999999}"#.to_string(),
        r#"{"s":["","\"\\\/\b\f\n\r\t","\u0000\u001f\u00e9\u20AC","\ud83d\ude00","😀é",""]}"#
            .to_string(),
        format!(r#"{{"{long}":"{escaped_long}","b":"{escaped_300}","c":"{escaped_70k}"}}"#),
        format!(
            r#"{{"a":"{}","b":"a\n{}"}}"#,
            "y".repeat(300),
            "z".repeat(70_000)
        ),
        r#"{"t":true,"f":false,"n":null,"o":{"p":{"q":[[],[{}]]}}}"#.to_string(),
        "{\"del\":\"\x7f\"}".to_string(),
    ];
    for json in cases {
        assert_eq!(check_against_reference(json.as_bytes()), Ok(true));
    }
}

#[test]
fn floats_are_correctly_rounded() {
    // serde_json reads these 2 ULPs off; `str::parse` gets the value ryu printed back exactly.
    for (text, value) in [
        ("-1.9515593651224566e-233", -1.9515593651224566e-233_f64),
        ("1.7976931348623157e308", f64::MAX),
        ("5e-324", 5e-324),
    ] {
        let mut out = Vec::new();
        json_object_to_msgpack(format!(r#"{{"f":{text}}}"#).as_bytes(), &mut out).unwrap();
        let f = map_get(&out, b"f").unwrap();
        assert_eq!(f[0], 0xcb);
        assert_eq!(f[1..9], value.to_be_bytes(), "{text}");
    }
}

#[test]
fn rejects_what_serde_json_rejects() {
    let cases: &[&[u8]] = &[
        br#"{"a":1,}"#,
        br#"{"a":[1,]}"#,
        br#"{,}"#,
        br#"{"a":[,1]}"#,
        br#"{"a":01}"#,
        br#"{"a":-01}"#,
        br#"{"a":-}"#,
        br#"{"a":-a}"#,
        br#"{"a":1.}"#,
        br#"{"a":.5}"#,
        br#"{"a":1e}"#,
        br#"{"a":1e+}"#,
        br#"{"a":+1}"#,
        br#"{"a":1e400}"#,
        br#"{"a":-1e400}"#,
        br#"{"a":1e99999999999999999999}"#,
        b"{\"a\":\"x\ty\"}",
        b"{\"a\":\"\x00\"}",
        b"{\"a\x1f\":1}",
        br#"{"a":"\x"}"#,
        br#"{"a":"\a"}"#,
        br#"{"a":"\u12"}"#,
        br#"{"a":"\u12G4"}"#,
        br#"{"a":"\ud800"}"#,
        br#"{"a":"\ud800x"}"#,
        br#"{"a":"\ud800\n"}"#,
        br#"{"a":"\ud800\u0041"}"#,
        br#"{"a":"\ud800\ud800"}"#,
        br#"{"a":"\udc00"}"#,
        br#"{"a":"\udc00\ud800"}"#,
        b"{\"a\":\"\xff\"}",
        b"{\"a\":\"\xc3\"}",
        b"{\"a\":\"\xed\xa0\x80\"}",
        b"{\"\xc3\\n\":1}",
        b"{\"a\":\"\xc3\\u00a9\"}",
        br#"{"a":1} x"#,
        br#"{"a":1}}"#,
        br#"{"a":1} {}"#,
        b"\x0c{}",
        b"{}\x0c",
        br#"{"a":tru}"#,
        br#"{"a":nulll}"#,
        br#"{"a":True}"#,
        br#"{"a" 1}"#,
        br#"{a:1}"#,
        br#"{1:1}"#,
        br#"{"a":1 "b":2}"#,
        br#"{"a":[1 2]}"#,
        br#"{"a":"unterminated}"#,
        br#"{"a":"\"#,
        br#"{"a":1"#,
        br#"{"a":"#,
        br#"{"#,
        br#"{"a":[1,{"b":}]}"#,
    ];
    for json in cases {
        assert!(
            syntax_error(json).is_some(),
            "{:?} accepted",
            String::from_utf8_lossy(json)
        );
        assert_eq!(check_against_reference(json), Ok(false));
    }
}

#[test]
fn syntax_errors_say_where_and_why() {
    let msg = |json: &[u8]| {
        json_object_to_msgpack(json, &mut Vec::new())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(msg(br#"{"a" 1}"#), "invalid JSON at byte 5: expected `:`");
    assert_eq!(
        msg(br#"{"a":01}"#),
        "invalid JSON at byte 6: invalid number: leading zero"
    );
    assert_eq!(
        msg(br#"{"a":1,}"#),
        "invalid JSON at byte 7: expected a string key"
    );
    assert_eq!(
        msg(br#"{"a":"\ud800"}"#),
        "invalid JSON at byte 12: lone surrogate in a \\u escape"
    );
    assert_eq!(
        msg(br#"{"a":1e400}"#),
        "invalid JSON at byte 5: number out of range"
    );
    assert_eq!(
        msg(br#"{"a":1"#),
        "invalid JSON at byte 6: unexpected end of input"
    );
    assert_eq!(msg(b"[]"), "a record must be a JSON object");
}

/// `{"a":{"a":...{}}}` with `depth` objects, and the same depth made of arrays inside one object.
fn nested(depth: usize) -> [String; 2] {
    let objects = format!(
        "{}{{}}{}",
        r#"{"a":"#.repeat(depth - 1),
        "}".repeat(depth - 1)
    );
    let arrays = match depth {
        1 => "{}".to_string(),
        _ => format!(
            "{{\"a\":{}{}}}",
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        ),
    };
    [objects, arrays]
}

#[test]
fn nesting_limit_matches_serde_json() {
    for depth in [1, 2, 126, 127, 128, 129, 300] {
        for json in nested(depth) {
            let accepted = check_against_reference(json.as_bytes());
            assert_eq!(accepted, Ok(depth <= 127), "depth {depth}");
        }
    }
    let [too_deep, _] = nested(128);
    assert_eq!(
        syntax_error(too_deep.as_bytes()).map(|e| e.reason),
        Some("recursion limit exceeded")
    );
}

// ---- Property tests. ----

pub(super) fn arb_string() -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        4 => any::<char>(),
        2 => (0x20u8..0x7f).prop_map(char::from),
        1 => (0u8..0x20).prop_map(char::from),
        1 => prop::sample::select(vec!['"', '\\', '/', '\u{7f}', '\u{ffff}', '\u{10000}', '😀']),
    ];
    prop::collection::vec(chars, 0..24).prop_map(String::from_iter)
}

fn arb_number() -> impl Strategy<Value = Value> {
    let edges_u = vec![
        0,
        1,
        127,
        128,
        i64::MAX as u64,
        i64::MAX as u64 + 1,
        u64::MAX,
    ];
    let edges_i = vec![-1, -32, -33, i64::MIN, i64::MIN + 1];
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(edges_u).prop_map(Value::from),
        prop::sample::select(edges_i).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        (-1e6f64..1e6).prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
    ]
}

pub(super) fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number(),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((arb_string(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

pub(super) fn arb_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((arb_string(), arb_value()), 0..8)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

/// `value` as serde_json writes it, compact or pretty, then with every non-ASCII character and `/`
/// escaped if `escape` is `Some(upper)` (see [`escape_more`]).
pub(super) fn render(value: &Value, pretty: bool, escape: Option<bool>) -> String {
    let json = if pretty {
        serde_json::to_string_pretty(value).unwrap()
    } else {
        serde_json::to_string(value).unwrap()
    };
    match escape {
        Some(upper) => escape_more(&json, upper),
        None => json,
    }
}

/// Rewrites serde_json's output so strings use `\uXXXX` for every non-ASCII character and `\/` for
/// `/` (both only occur inside strings in serde_json's output).
fn escape_more(json: &str, upper: bool) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c == '/' {
            out.push_str("\\/");
        } else if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                if upper {
                    out.push_str(&format!("\\u{unit:04X}"));
                } else {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

fn arb_number_text() -> impl Strategy<Value = String> {
    "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?"
}

/// Byte strings built from JSON's punctuation and troublemakers, most starting with `{`.
pub(super) fn arb_fragments() -> impl Strategy<Value = Vec<u8>> {
    let pieces: Vec<&'static [u8]> = vec![
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b"\\",
        b":",
        b",",
        b" ",
        b"\n",
        b"\x0c",
        b"0",
        b"1",
        b"-",
        b".",
        b"e",
        b"+",
        b"u",
        b"d800",
        b"DC00",
        b"00e9",
        b"true",
        b"nul",
        b"a",
        "é".as_bytes(),
        b"\x00",
        b"\x1f",
        b"\xff",
        b"\xc3",
        b"99999999999999999999",
        b"1e400",
        b"\\u",
        b"\\n",
        b"\t",
        b"\"a\":",
        b"\"\"",
    ];
    (
        any::<bool>(),
        prop::collection::vec(prop::sample::select(pieces), 0..40),
    )
        .prop_map(|(brace, parts)| {
            let mut bytes = if brace { b"{".to_vec() } else { Vec::new() };
            parts.iter().for_each(|p| bytes.extend_from_slice(p));
            bytes
        })
}

/// Inserts, replaces or deletes bytes of `json`.
pub(super) fn mutate(json: &str, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut bytes = json.as_bytes().to_vec();
    for &(at, byte, kind) in edits {
        let at = at % (bytes.len() + 1);
        match kind % 3 {
            0 => bytes.insert(at, byte),
            1 if at < bytes.len() => bytes[at] = byte,
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_json_transcodes_like_serde(
        value in arb_object(),
        pretty in any::<bool>(),
        escape in prop::option::of(any::<bool>()),
    ) {
        let json = render(&value, pretty, escape);
        prop_assert_eq!(check_against_reference(json.as_bytes()), Ok(true));
    }

    #[test]
    fn numbers_transcode_like_serde(text in arb_number_text()) {
        let json = format!(r#"{{"n":{text}}}"#);
        prop_assert!(check_against_reference(json.as_bytes()).is_ok());
    }

    #[test]
    fn arbitrary_bytes_agree_with_serde(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        prop_assert!(check_against_reference(&bytes).is_ok());
        let mut braced = b"{".to_vec();
        braced.extend_from_slice(&bytes);
        prop_assert!(check_against_reference(&braced).is_ok());
    }

    #[test]
    fn fragments_agree_with_serde(bytes in arb_fragments()) {
        prop_assert!(check_against_reference(&bytes).is_ok());
    }

    #[test]
    fn mutated_json_agrees_with_serde(
        value in arb_object(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4),
    ) {
        let json = serde_json::to_string(&value).unwrap();
        prop_assert!(check_against_reference(&mutate(&json, &edits)).is_ok());
    }
}

proptest! {
    /// The indexed transcoder's index is what reading the map it wrote gives, whatever `out`
    /// held before, for keys of every str header size, escaped or not, and maps past the index's
    /// capacity.
    #[test]
    fn the_index_describes_the_map_written(
        pairs in prop::collection::vec(
            (prop_oneof![arb_string(), "[a-z]{30,300}"], arb_value()),
            0..40,
        ),
        escape in prop::option::of(any::<bool>()),
        prefix in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        let value = Value::Object(pairs.into_iter().collect());
        let json = render(&value, false, escape);
        let mut out = prefix.clone();
        let mut index = MapIndex::new();
        json_object_to_msgpack_indexed(json.as_bytes(), &mut out, &mut index).unwrap();
        prop_assert!(index.is_known());
        prop_assert!(index.describes(&out[prefix.len()..]));
    }
}
