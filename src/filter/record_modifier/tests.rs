use super::*;
use crate::filter::test_support::{json, msgpack};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

const MEM: &str = r#"{"Mem.total":1016024,"Mem.used":716672,"Mem.free":299352,"Swap.total":2064380,"Swap.used":32656,"Swap.free":2031724}"#;

#[test]
fn records_are_appended_as_in_the_fluent_bit_example() {
    let f = RecordModifier::new(
        &strings(&["hostname localhost", "product Awesome_Tool"]),
        &[],
        &[],
        None,
    )
    .unwrap();
    let mut out = Vec::new();
    let outcome = f.apply(&msgpack(MEM), &mut Rng::new(1), &mut out);
    assert_eq!(outcome, RecordOutcome::Replaced);
    let mut want: serde_json::Value = serde_json::from_str(MEM).unwrap();
    want["hostname"] = "localhost".into();
    want["product"] = "Awesome_Tool".into();
    assert_eq!(json(&out), want);
}

#[test]
fn remove_and_allowlist_keep_the_documented_fields() {
    let mut out = Vec::new();
    let remove = RecordModifier::new(
        &[],
        &strings(&["Swap.total", "Swap.used", "Swap.free"]),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(
        remove.apply(&msgpack(MEM), &mut Rng::new(1), &mut out),
        RecordOutcome::Replaced
    );
    assert_eq!(
        json(&out),
        serde_json::json!({"Mem.total":1016024,"Mem.used":716672,"Mem.free":299352})
    );
    let allow = RecordModifier::new(&[], &[], &strings(&["Mem.total", "Mem.free"]), None).unwrap();
    assert_eq!(
        allow.apply(&msgpack(MEM), &mut Rng::new(1), &mut out),
        RecordOutcome::Replaced
    );
    assert_eq!(
        json(&out),
        serde_json::json!({"Mem.total":1016024,"Mem.free":299352})
    );
    assert_eq!(
        RecordModifier::new(&[], &strings(&["a"]), &strings(&["b"]), None).unwrap_err(),
        RecordModifierError::RemoveAndAllowlist
    );
}

#[test]
fn a_record_that_needs_nothing_is_passed_through_untouched() {
    let f = RecordModifier::new(&strings(&["env prod"]), &strings(&["absent"]), &[], None).unwrap();
    let rec = msgpack(r#"{"env":"staging","log":"x"}"#);
    let mut out = b"junk".to_vec();
    assert_eq!(
        f.apply(&rec, &mut Rng::new(1), &mut out),
        RecordOutcome::Unchanged
    );
    assert_eq!(out, b"junk", "the output buffer is not touched");
    // Not a map: left alone.
    assert_eq!(
        f.apply(&[0x92, 1, 2], &mut Rng::new(1), &mut out),
        RecordOutcome::Unchanged
    );
}

#[test]
fn uuid_key_adds_a_fresh_v4_uuid_and_values_may_hold_spaces() {
    let f = RecordModifier::new(&strings(&["msg  hello  world"]), &[], &[], Some("uuid")).unwrap();
    let mut rng = Rng::new(7);
    let mut out = Vec::new();
    f.apply(&msgpack(r#"{"log":"x"}"#), &mut rng, &mut out);
    let first = json(&out);
    assert_eq!(first["msg"], "hello  world");
    let id = first["uuid"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
    assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    f.apply(&msgpack(r#"{"log":"x"}"#), &mut rng, &mut out);
    assert_ne!(json(&out)["uuid"], first["uuid"]);
    assert!(RecordModifier::new(&strings(&["novalue"]), &[], &[], None).is_err());
}

#[test]
fn maps_of_sixteen_or_more_entries_get_a_wider_header() {
    let fields: Vec<String> = (0..15).map(|i| format!("\"k{i}\":{i}")).collect();
    let rec = msgpack(&format!("{{{}}}", fields.join(",")));
    let f = RecordModifier::new(&strings(&["a 1", "b 2"]), &[], &[], None).unwrap();
    let mut out = Vec::new();
    f.apply(&rec, &mut Rng::new(1), &mut out);
    let v = json(&out);
    assert_eq!(v.as_object().unwrap().len(), 17);
    assert_eq!(v["k14"], 14);
    assert_eq!(v["b"], "2");
}

/// The map of `json` with a header of the kind `marker` starts (0x80 fixmap, 0xde map16, 0xdf
/// map32: what `msgpack` writes, as the parser does).
fn with_header(marker: u8, json: &str) -> Vec<u8> {
    let map32 = msgpack(json);
    let n = u32::from_be_bytes(map32[1..5].try_into().unwrap());
    let mut out = match marker {
        0x80 => vec![0x80 | n as u8],
        0xde => vec![0xde, 0, n as u8],
        _ => map32[..5].to_vec(),
    };
    out.extend_from_slice(&map32[5..]);
    out
}

#[test]
fn appending_in_place_gives_what_a_new_record_gives() {
    let f = RecordModifier::new(&strings(&["cluster prod", "log dup"]), &[], &[], None).unwrap();
    let fields: Vec<String> = (0..14).map(|i| format!("\"k{i}\":{i}")).collect();
    let fourteen = format!("{{{}}}", fields.join(","));
    for rec in [
        with_header(0xdf, r#"{"log":"x"}"#),
        with_header(0x80, r#"{"log":"x"}"#),
        with_header(0xde, r#"{"log":"x","a":1}"#),
    ] {
        let mut out = Vec::new();
        assert_eq!(
            f.apply(&rec, &mut Rng::new(1), &mut out),
            RecordOutcome::Replaced
        );
        let mut edited = rec.clone();
        let mut index = MapIndex::new();
        let outcome = f.append_in_place(&mut edited, &mut index, &mut Rng::new(1));
        assert_eq!(outcome, Some(RecordOutcome::Replaced));
        assert_eq!(json(&edited), json(&out));
        // The entries it had are where they were: only the count changed before them.
        let header = match rec[0] {
            0xdf => 5,
            0xde => 3,
            _ => 1,
        };
        assert_eq!(edited[header..rec.len()], rec[header..]);
        assert!(index.describes(&edited));
    }
    // A fixmap that would need a wider header, a record losing a field, a record with nothing
    // to add.
    let mut index = MapIndex::new();
    let mut rec = with_header(0x80, &fourteen);
    assert_eq!(
        f.append_in_place(&mut rec, &mut index, &mut Rng::new(1)),
        None
    );
    let remove = RecordModifier::new(&[], &strings(&["log"]), &[], None).unwrap();
    let mut rec = with_header(0xdf, r#"{"log":"x","a":1}"#);
    index.clear();
    assert_eq!(
        remove.append_in_place(&mut rec, &mut index, &mut Rng::new(1)),
        None
    );
    let mut rec = with_header(0xdf, r#"{"cluster":"mine","log":"x"}"#);
    index.clear();
    assert_eq!(
        f.append_in_place(&mut rec, &mut index, &mut Rng::new(1)),
        Some(RecordOutcome::Unchanged)
    );
    assert_eq!(rec, with_header(0xdf, r#"{"cluster":"mine","log":"x"}"#));
}

#[test]
fn long_record_keys_and_values_get_wider_headers_and_a_true_index() {
    // A 40-byte key (str8) and a 300-byte value (str16) next to short ones.
    let key = "k".repeat(40);
    let value = "v".repeat(300);
    let f = RecordModifier::new(
        &[format!("{key} {value}"), "a b".to_owned()],
        &[],
        &[],
        None,
    )
    .unwrap();
    let rec = msgpack(r#"{"log":"x"}"#);
    let mut out = Vec::new();
    let mut out_index = MapIndex::new();
    let outcome = f.apply_indexed(
        &rec,
        &mut MapIndex::new(),
        &mut Rng::new(1),
        &mut out,
        &mut out_index,
    );
    assert_eq!(outcome, RecordOutcome::Replaced);
    let mut want = serde_json::json!({"log": "x", "a": "b"});
    want[key.as_str()] = value.clone().into();
    assert_eq!(json(&out), want);
    assert!(out_index.describes(&out));
    assert_eq!(
        out_index.get(&out, key.as_bytes()),
        Some(&msgpack_str(&value)[..])
    );
    let mut edited = rec.clone();
    let mut index = MapIndex::new();
    assert_eq!(
        f.append_in_place(&mut edited, &mut index, &mut Rng::new(1)),
        Some(RecordOutcome::Replaced)
    );
    // (In place, the map keeps its map32 header; a new record gets the smallest.)
    assert_eq!(json(&edited), want);
    assert!(index.describes(&edited));
    assert_eq!(
        index.get(&edited, key.as_bytes()),
        Some(&msgpack_str(&value)[..])
    );
}

/// `s` as one msgpack str value.
fn msgpack_str(s: &str) -> Vec<u8> {
    let mut v = Vec::new();
    crate::msgpack::writer::write_str(&mut v, s.as_bytes());
    v
}
