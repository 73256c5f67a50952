use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::msgpack::json_in::checked;
use crate::msgpack::json_in::tests::{
    arb_fragments, arb_object, arb_string, arb_value, mutate, render,
};

/// What the fast path makes of `json` (output after a prefix, and index), or `None` if it fell
/// back, in which case it must have left `out` as it was.
fn fast(json: &[u8], prefix: &[u8]) -> Option<(Vec<u8>, MapIndex)> {
    let mut out = prefix.to_vec();
    let mut index = MapIndex::new();
    index.begin();
    match transcode(json, &mut out, Some(&mut index)) {
        Ok(()) => Some((out, index)),
        Err(Fallback) => {
            assert_eq!(out, prefix, "a fallback left output behind");
            None
        }
    }
}

/// What the checked path makes of `json`, or `None` if it rejects it.
fn slow(json: &[u8], prefix: &[u8]) -> Option<(Vec<u8>, MapIndex)> {
    let mut out = prefix.to_vec();
    let mut index = MapIndex::new();
    index.begin();
    checked(json, &mut out, Some(&mut index)).ok()?;
    Some((out, index))
}

/// Both paths' output and index are the same (the indexes compared by what they say about the
/// record).
fn same(a: &(Vec<u8>, MapIndex), b: &(Vec<u8>, MapIndex), prefix: usize) -> bool {
    a.0 == b.0 && a.1.slots() == b.1.slots() && a.1.describes(&a.0[prefix..])
}

fn nested(depth: usize) -> String {
    format!(
        r#"{{"a":{}1{}}}"#,
        "[".repeat(depth - 1),
        "]".repeat(depth - 1)
    )
}

#[test]
fn takes_a_typical_log_line() {
    let json = br#"{"n":7,"ts":"2024-01-01T00:00:00.000Z","level":"info","msg":"request \"handled\"","status":200,"ok":true,"tags":["a",null,-3.5e2],"user":{"id":"\u00e9"}}"#;
    let got = fast(json, b"\x01").expect("the fast path took it");
    assert!(same(&got, &slow(json, b"\x01").unwrap(), 1));
    assert_eq!(got.1.slots().len(), 8);
}

#[test]
fn falls_back_past_its_limits_and_on_anything_invalid() {
    // Nesting: the document's object and 15 more containers are taken, one more is not.
    assert!(fast(nested(DEPTH).as_bytes(), b"").is_some());
    assert!(fast(nested(DEPTH + 1).as_bytes(), b"").is_none());
    assert!(slow(nested(DEPTH + 1).as_bytes(), b"").is_some());
    // Length.
    let long = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_LEN));
    assert!(fast(long.as_bytes(), b"").is_none());
    let longest = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_LEN - 8));
    let got = fast(longest.as_bytes(), b"").unwrap();
    assert!(same(&got, &slow(longest.as_bytes(), b"").unwrap(), 0));
    for bad in [
        &b"{"[..],
        b"",
        b"[1]",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{\"a\":01}",
        b"{\"a\":tru}",
        b"{\"a\":\"\x01\"}",
        b"{\"a\":\"\\x\"}",
        b"{\"a\":\"\\ud800\"}",
        b"{\"a\":\"\xff\"}",
        b"{} {}",
        b"{\"a\":[1}",
        b"{\"a\":1e999}",
        b"\x0c{}",
    ] {
        assert!(
            fast(bad, b"").is_none(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn the_room_holds_the_most_growing_documents() {
    // Values that grow the most: past the usual room (so transcoded again, with the index begun
    // again), within the worst case's 2.5x but for the nesting limit.
    let arrays = format!(r#"{{"a":[{}[]]}}"#, "[],".repeat(1000));
    let numbers = format!(r#"{{"a":[{}128]}}"#, "128,".repeat(1000));
    let floats = format!(r#"{{"":[{}1e1]}}"#, "1e1,".repeat(1000));
    let deep = nested(DEPTH - 1).replace('1', "[]");
    for json in [arrays, numbers, floats, deep] {
        let got = fast(json.as_bytes(), b"").expect("taken");
        assert!(same(&got, &slow(json.as_bytes(), b"").unwrap(), 0));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every valid document within its limits is taken, and written as the checked path writes it.
    #[test]
    fn takes_valid_documents_and_writes_what_the_checked_path_writes(
        pairs in prop::collection::vec(
            (prop_oneof![arb_string(), "[a-z]{30,300}"], arb_value()),
            0..40,
        ),
        pretty in any::<bool>(),
        escape in prop::option::of(any::<bool>()),
        prefix in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        let value = Value::Object(pairs.into_iter().collect());
        let json = render(&value, pretty, escape);
        let got = fast(json.as_bytes(), &prefix);
        prop_assert!(got.is_some(), "fell back on {}", json);
        prop_assert!(same(&got.unwrap(), &slow(json.as_bytes(), &prefix).unwrap(), prefix.len()));
    }

    /// Whatever it takes of invalid or odd input, the checked path takes too, and writes the same.
    #[test]
    fn takes_nothing_the_checked_path_rejects(
        bytes in prop_oneof![
            arb_fragments(),
            prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| [&b"{"[..], &b].concat()),
            (arb_object(), prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4))
                .prop_map(|(v, edits)| mutate(&v.to_string(), &edits)),
        ],
    ) {
        if let Some(got) = fast(&bytes, b"") {
            let want = slow(&bytes, b"");
            prop_assert!(want.is_some(), "taken but invalid: {:?}", String::from_utf8_lossy(&bytes));
            prop_assert!(same(&got, &want.unwrap(), 0));
        }
    }
}
