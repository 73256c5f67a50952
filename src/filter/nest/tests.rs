use super::*;
use crate::msgpack::json::{TranscodeStats, write_value};
use crate::msgpack::writer::json_object_to_msgpack;
use proptest::prelude::*;

fn rec(json: &str) -> Vec<u8> {
    let mut out = Vec::new();
    json_object_to_msgpack(json.as_bytes(), &mut out).unwrap();
    out
}

fn json(msgpack: &[u8]) -> String {
    let mut out = Vec::new();
    let used = write_value(msgpack, &mut out, &mut TranscodeStats::default()).unwrap();
    assert_eq!(used, msgpack.len(), "trailing bytes");
    String::from_utf8(out).unwrap()
}

fn nest(wildcards: &[&str], under: &str, add: Option<&str>, remove: Option<&str>) -> Nest {
    Nest::new("nest", wildcards, Some(under), None, add, remove).unwrap()
}

fn lift(under: &str, add: Option<&str>, remove: Option<&str>) -> Nest {
    Nest::new("lift", &[] as &[&str], None, Some(under), add, remove).unwrap()
}

/// Runs the filters in a chain; every one must change the record.
fn chain(filters: &[&Nest], input: &str) -> String {
    let mut record = rec(input);
    for f in filters {
        let mut out = b"stale".to_vec();
        assert_eq!(f.apply(&record, &mut out), RecordOutcome::Replaced, "{f:?}");
        record = out;
    }
    json(&record)
}

const MEM: &str = r#"{"Mem.total":4050908,"Mem.used":714984,"Mem.free":3335924,"Swap.total":1046524,"Swap.used":0,"Swap.free":1046524}"#;

#[test]
fn docs_intro_nest_and_lift() {
    let n = nest(&["Key*"], "NestKey", None, None);
    assert_eq!(
        chain(
            &[&n],
            r#"{"Key1":"Value1","Key2":"Value2","OtherKey":"Value3"}"#
        ),
        r#"{"OtherKey":"Value3","NestKey":{"Key1":"Value1","Key2":"Value2"}}"#
    );
    // The docs draw the lifted keys first; Fluent Bit's code appends them after the others.
    let l = lift("NestKey", None, None);
    assert_eq!(
        chain(
            &[&l],
            r#"{"OtherKey":"Value3","NestKey":{"Key1":"Value1","Key2":"Value2"}}"#
        ),
        r#"{"OtherKey":"Value3","Key1":"Value1","Key2":"Value2"}"#
    );
}

#[test]
fn docs_example_1_nest_with_remove_prefix() {
    let n = nest(&["Mem.*"], "Memstats", None, Some("Mem."));
    assert_eq!(
        chain(&[&n], MEM),
        r#"{"Swap.total":1046524,"Swap.used":0,"Swap.free":1046524,"Memstats":{"total":4050908,"used":714984,"free":3335924}}"#
    );
}

#[test]
fn docs_example_2_nest_and_lift_undo() {
    let n = nest(&["Mem.*", "Swap.*"], "Stats", Some("NESTED"), None);
    let l = lift("Stats", None, Some("NESTED"));
    assert_eq!(
        chain(&[&n], MEM),
        r#"{"Stats":{"NESTEDMem.total":4050908,"NESTEDMem.used":714984,"NESTEDMem.free":3335924,"NESTEDSwap.total":1046524,"NESTEDSwap.used":0,"NESTEDSwap.free":1046524}}"#
    );
    assert_eq!(chain(&[&n, &l], MEM), json(&rec(MEM)));
}

#[test]
fn docs_examples_3_and_4_three_levels_deep_and_back() {
    let l1 = nest(&["Mem.*"], "LAYER1", None, None);
    let l2 = nest(&["LAYER1*"], "LAYER2", None, None);
    let l3 = nest(&["LAYER2*"], "LAYER3", None, None);
    assert_eq!(
        chain(&[&l1, &l2, &l3], MEM),
        r#"{"Swap.total":1046524,"Swap.used":0,"Swap.free":1046524,"LAYER3":{"LAYER2":{"LAYER1":{"Mem.total":4050908,"Mem.used":714984,"Mem.free":3335924}}}}"#
    );
    let u3 = lift("LAYER3", Some("Lifted3_"), None);
    let u2 = lift("Lifted3_LAYER2", Some("Lifted3_Lifted2_"), None);
    let u1 = lift(
        "Lifted3_Lifted2_LAYER1",
        Some("Lifted3_Lifted2_Lifted1_"),
        None,
    );
    assert_eq!(
        chain(&[&l1, &l2, &l3, &u3, &u2, &u1], MEM),
        r#"{"Swap.total":1046524,"Swap.used":0,"Swap.free":1046524,"Lifted3_Lifted2_Lifted1_Mem.total":4050908,"Lifted3_Lifted2_Lifted1_Mem.used":714984,"Lifted3_Lifted2_Lifted1_Mem.free":3335924}"#
    );
}

#[test]
fn wildcards_without_star_match_exactly_and_lone_star_matches_all() {
    let exact = nest(&["log"], "n", None, None);
    assert_eq!(
        chain(&[&exact], r#"{"log":1,"logger":2}"#),
        r#"{"logger":2,"n":{"log":1}}"#
    );
    let all = nest(&["*"], "all", None, None);
    assert_eq!(
        chain(&[&all], r#"{"a":1,"b":[2]}"#),
        r#"{"all":{"a":1,"b":[2]}}"#
    );
}

#[test]
fn nothing_to_move_leaves_the_record_untouched() {
    let mut out = Vec::new();
    let n = nest(&["zz*"], "n", None, None);
    assert_eq!(n.apply(&rec(MEM), &mut out), RecordOutcome::Unchanged);
    let l = lift("Mem.total", None, None);
    // Mem.total is a number, not a map: nothing to lift.
    assert_eq!(l.apply(&rec(MEM), &mut out), RecordOutcome::Unchanged);
    assert_eq!(l.apply(&[0x91, 0x01], &mut out), RecordOutcome::Unchanged);
    let truncated = rec(MEM);
    assert_eq!(
        n.apply(&truncated[..truncated.len() - 1], &mut out),
        RecordOutcome::Unchanged
    );
    assert!(out.is_empty());
}

#[test]
fn lift_takes_every_map_with_the_key_and_prefixes_only_lifted_keys() {
    let l = lift("k", Some("p_"), None);
    assert_eq!(
        chain(
            &[&l],
            r#"{"k":{"a":1},"x":2,"k":{"b":{"c":3}},"y":{"k":4}}"#
        ),
        r#"{"x":2,"y":{"k":4},"p_a":1,"p_b":{"c":3}}"#
    );
    // Remove_prefix leaves keys without the prefix as they are; an empty map just goes away.
    let r = lift("k", None, Some("p_"));
    assert_eq!(
        chain(&[&r], r#"{"k":{"p_a":1,"b":2},"k":{}}"#),
        r#"{"a":1,"b":2}"#
    );
}

#[test]
fn rejects_bad_configs_like_fluent_bit() {
    let none: &[&str] = &[];
    let err = |op: &str, w: &[&str], nu: Option<&str>, ndu: Option<&str>, a, r| {
        Nest::new(op, w, nu, ndu, a, r).unwrap_err()
    };
    assert_eq!(
        err("move", none, None, None, None, None).to_string(),
        r#"Operation "move": expected nest or lift"#
    );
    assert_eq!(
        err("nest", none, Some("n"), None, None, None),
        NestError::NoWildcard
    );
    assert_eq!(
        err("nest", &["a*"], None, Some("n"), None, None),
        NestError::NoNestUnder
    );
    assert_eq!(
        err("lift", &["a*"], Some("n"), None, None, None),
        NestError::NoNestedUnder
    );
    assert_eq!(
        err("lift", none, None, Some("n"), Some("a"), Some("b")),
        NestError::BothPrefixes
    );
    assert_eq!(
        err("nest", &[""], Some("n"), None, None, None),
        NestError::Empty("Wildcard")
    );
    assert_eq!(
        err("lift", none, None, Some("n"), Some(""), None),
        NestError::Empty("Add_prefix")
    );
    assert!(Nest::new("LIFT", none, None, Some("n"), None, None).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn never_panics_and_always_writes_one_map(
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        keys in proptest::collection::vec("[ab]{1,2}", 0..10),
    ) {
        let n = nest(&["a*"], "b", Some("p"), None);
        let l = lift("b", None, Some("p"));
        let mut out = Vec::new();
        for f in [&n, &l] {
            if f.apply(&bytes, &mut out) == RecordOutcome::Replaced {
                prop_assert!(is_whole_map(&out));
            }
        }
        let json = format!(
            "{{{}}}",
            keys.iter().enumerate().map(|(i, k)| format!("\"{k}\":{{\"a{i}\":{i}}}")).collect::<Vec<_>>().join(",")
        );
        let record = rec(&json);
        for f in [&n, &l] {
            if f.apply(&record, &mut out) == RecordOutcome::Replaced {
                prop_assert!(is_whole_map(&out));
            }
        }
    }
}
