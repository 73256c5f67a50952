use super::*;
use crate::msgpack::edit::MapEntries;
use crate::msgpack::json::{TranscodeStats, write_value};
use crate::msgpack::writer::json_object_to_msgpack;
use proptest::prelude::*;

fn rec(json: &str) -> Vec<u8> {
    let mut out = Vec::new();
    json_object_to_msgpack(json.as_bytes(), &mut out).unwrap();
    out
}

/// JSON text of a msgpack value: compares records whatever header sizes they were written with.
fn json(msgpack: &[u8]) -> String {
    let mut out = Vec::new();
    let used = write_value(msgpack, &mut out, &mut TranscodeStats::default()).unwrap();
    assert_eq!(used, msgpack.len(), "trailing bytes");
    String::from_utf8(out).unwrap()
}

fn modify(rules: &[(&str, &str)], conditions: &[&str]) -> Modify {
    Modify::from_config(rules, conditions).unwrap()
}

/// Runs the filter; returns the resulting record (the input when Unchanged).
fn run(m: &Modify, input: &str) -> (RecordOutcome, Vec<u8>) {
    let record = rec(input);
    let mut out = Vec::new();
    let outcome = m.apply(&record, &mut out);
    match outcome {
        RecordOutcome::Unchanged => {
            assert!(out.is_empty(), "out touched on Unchanged");
            (outcome, record)
        }
        _ => (outcome, out),
    }
}

fn assert_modifies(m: &Modify, input: &str, want: &str) {
    let (outcome, got) = run(m, input);
    assert_eq!(outcome, RecordOutcome::Replaced, "{input}");
    assert_eq!(json(&got), json(&rec(want)), "{input}");
}

fn assert_unchanged(m: &Modify, input: &str) {
    assert_eq!(run(m, input).0, RecordOutcome::Unchanged, "{input}");
}

#[test]
fn docs_intro_rename_and_add() {
    let m = modify(
        &[("Rename", "Key2 RenamedKey"), ("Add", "OtherKey Value3")],
        &[],
    );
    assert_modifies(
        &m,
        r#"{"Key1":"Value1","Key2":"Value2"}"#,
        r#"{"Key1":"Value1","RenamedKey":"Value2","OtherKey":"Value3"}"#,
    );
}

#[test]
fn docs_example_1_add_and_rename_memory_record() {
    let m = modify(
        &[
            ("Add", "Service1 SOMEVALUE"),
            ("Add", "Service3 SOMEVALUE3"),
            ("Add", "Mem.total2 TOTALMEM2"),
            ("Rename", "Mem.free MEMFREE"),
            ("Rename", "Mem.used MEMUSED"),
            ("Rename", "Swap.total SWAPTOTAL"),
            ("Add", "Mem.total TOTALMEM"),
        ],
        &[],
    );
    assert_modifies(
        &m,
        r#"{"Mem.total":4050908,"Mem.used":738100,"Mem.free":3312808,"Swap.total":1046524,"Swap.used":0,"Swap.free":1046524}"#,
        r#"{"Mem.total":4050908,"MEMUSED":738100,"MEMFREE":3312808,"SWAPTOTAL":1046524,"Swap.used":0,"Swap.free":1046524,"Service1":"SOMEVALUE","Service3":"SOMEVALUE3","Mem.total2":"TOTALMEM2"}"#,
    );
}

#[test]
fn docs_example_2_conditional_filters_in_a_chain() {
    let first = modify(
        &[("Set", "cpustats UNKNOWN")],
        &["Key_Does_Not_Exist cpustats", "Key_Exists Mem.used"],
    );
    let second = modify(
        &[("Add", "sourcetype memstats")],
        &["Key_Value_Does_Not_Equal cpustats KNOWN"],
    );
    let third = modify(
        &[
            ("Remove_wildcard", "Mem"),
            ("Remove_wildcard", "Swap"),
            ("Add", "cpustats_more STILL_UNKNOWN"),
        ],
        &["Key_Value_Equals cpustats UNKNOWN"],
    );
    let mut record = rec(
        r#"{"Mem.total":1016044,"Mem.used":841388,"Mem.free":174656,"Swap.total":2064380,"Swap.used":139888,"Swap.free":1924492}"#,
    );
    for m in [&first, &second, &third] {
        let mut out = Vec::new();
        assert_eq!(m.apply(&record, &mut out), RecordOutcome::Replaced);
        record = out;
    }
    assert_eq!(
        json(&record),
        r#"{"cpustats":"UNKNOWN","sourcetype":"memstats","cpustats_more":"STILL_UNKNOWN"}"#
    );
    // Without Mem.used the first filter's conditions fail: nothing changes.
    assert_unchanged(&first, r#"{"Swap.total":3}"#);
    // Key_value_does_not_equal is false when the key is absent.
    assert_unchanged(&second, r#"{"x":1}"#);
}

#[test]
fn docs_example_3_emoji() {
    let m = modify(
        &[
            ("Remove_Wildcard", "Mem"),
            ("Remove_Wildcard", "Swap"),
            ("Set", "This_plugin_is_on 🔥"),
            ("Set", "🔥 is_hot"),
            ("Copy", "🔥 💦"),
            ("Rename", " 💦 ❄️"),
            ("Set", "❄️ is_cold"),
            ("Set", "💦 is_wet"),
        ],
        &[],
    );
    assert_modifies(
        &m,
        r#"{"Mem.total":1,"Mem.used":2,"Swap.free":3}"#,
        r#"{"This_plugin_is_on":"🔥","🔥":"is_hot","❄️":"is_cold","💦":"is_wet"}"#,
    );
}

#[test]
fn set_replaces_every_duplicate_at_the_end_and_values_may_be_quoted() {
    let m = modify(&[("set", "a new")], &[]);
    let dup = [0x83, 0xa1, b'a', 1, 0xa1, b'b', 2, 0xa1, b'a', 3];
    let mut out = Vec::new();
    assert_eq!(m.apply(&dup, &mut out), RecordOutcome::Replaced);
    assert_eq!(json(&out), r#"{"b":2,"a":"new"}"#);
    assert_modifies(&m, r#"{}"#, r#"{"a":"new"}"#);
    let quoted = modify(&[("Set", r#"msg "hello world""#)], &[]);
    assert_modifies(&quoted, r#"{"x":1}"#, r#"{"x":1,"msg":"hello world"}"#);
}

#[test]
fn soft_and_hard_rename_and_copy() {
    let rename = modify(&[("Rename", "a b")], &[]);
    assert_unchanged(&rename, r#"{"a":1,"b":2}"#);
    assert_unchanged(&rename, r#"{"z":1}"#);
    assert_modifies(
        &rename,
        r#"{"x":0,"a":{"n":[1]}}"#,
        r#"{"x":0,"b":{"n":[1]}}"#,
    );
    let hard_rename = modify(&[("Hard_rename", "a b")], &[]);
    assert_modifies(&hard_rename, r#"{"b":2,"a":1,"z":3}"#, r#"{"b":1,"z":3}"#);
    assert_unchanged(&hard_rename, r#"{"b":2}"#);
    let copy = modify(&[("Copy", "a c")], &[]);
    assert_modifies(&copy, r#"{"a":[1],"z":3}"#, r#"{"a":[1],"c":[1],"z":3}"#);
    assert_unchanged(&copy, r#"{"a":1,"c":2}"#);
    let hard_copy = modify(&[("HARD_COPY", "a b")], &[]);
    assert_modifies(&hard_copy, r#"{"b":2,"a":1}"#, r#"{"a":1,"b":1}"#);
    assert_modifies(&hard_copy, r#"{"a":1}"#, r#"{"a":1,"b":1}"#);
    assert_unchanged(&hard_copy, r#"{"z":1}"#);
    // A source key that appears twice is not copied (Fluent Bit).
    let mut out = Vec::new();
    let twice = [0x82, 0xa1, b'a', 1, 0xa1, b'a', 2];
    assert_eq!(copy.apply(&twice, &mut out), RecordOutcome::Unchanged);
    // Onto itself: nothing changes.
    assert_unchanged(&modify(&[("Hard_rename", "a a")], &[]), r#"{"a":1}"#);
    assert_unchanged(&modify(&[("Hard_copy", "a a")], &[]), r#"{"a":1}"#);
}

#[test]
fn removals_and_moves() {
    let remove = modify(&[("Remove", "a")], &[]);
    assert_modifies(&remove, r#"{"a":1,"b":2}"#, r#"{"b":2}"#);
    assert_unchanged(&remove, r#"{"b":2}"#);
    let wildcard = modify(&[("Remove_wildcard", "k8s*")], &[]);
    assert_modifies(
        &wildcard,
        r#"{"k8s.pod":1,"log":"x","k8s":2}"#,
        r#"{"log":"x"}"#,
    );
    let regex = modify(&[("Remove_regex", "^[0-9]+$")], &[]);
    assert_modifies(&regex, r#"{"12":1,"a1":2,"3":3}"#, r#"{"a1":2}"#);
    let start = modify(&[("Move_to_start", "z")], &[]);
    assert_modifies(
        &start,
        r#"{"a":1,"z1":2,"b":3,"z2":4}"#,
        r#"{"z1":2,"z2":4,"a":1,"b":3}"#,
    );
    let end = modify(&[("Move_to_end", "a")], &[]);
    assert_modifies(
        &end,
        r#"{"a":1,"z1":2,"ab":3,"z2":4}"#,
        r#"{"z1":2,"z2":4,"a":1,"ab":3}"#,
    );
    assert_unchanged(&end, r#"{"z":1}"#);
}

#[test]
fn conditions_must_all_hold_and_follow_fluent_bit_types() {
    let when = |c: &[&str]| modify(&[("Set", "hit y")], c);
    let hit = |m: &Modify, input: &str| run(m, input).0 == RecordOutcome::Replaced;
    let matches = when(&["Key_value_matches $k['v'] ^tr"]);
    assert!(hit(&matches, r#"{"k":{"v":"trace"}}"#));
    assert!(hit(&matches, r#"{"k":{"v":true}}"#));
    assert!(!hit(&matches, r#"{"k":{"v":1}}"#));
    assert!(!hit(&matches, r#"{"k":{}}"#));
    let not_match = when(&["Key_value_does_not_match v ^tr"]);
    assert!(hit(&not_match, r#"{"v":"debug"}"#));
    assert!(!hit(&not_match, r#"{"w":"debug"}"#));
    let equals = when(&["key_value_equals v 1"]);
    assert!(!hit(&equals, r#"{"v":1}"#));
    assert!(hit(&equals, r#"{"v":"1"}"#));
    let quoted = when(&[r#"Key_value_equals msg "a b""#]);
    assert!(hit(&quoted, r#"{"msg":"a b"}"#));
    let a_key = when(&["A_key_matches ^ku"]);
    assert!(hit(&a_key, r#"{"kube":1}"#));
    assert!(!hit(&a_key, r#"{"x":1}"#));
    let no_key = when(&["No_key_matches ^ku"]);
    assert!(!hit(&no_key, r#"{"kube":1}"#));
    assert!(hit(&no_key, r#"{"x":1}"#));
    let all = when(&["Matching_keys_have_matching_values ^l ok"]);
    assert!(hit(&all, r#"{"l1":"ok","l2":"is ok","x":"no"}"#));
    assert!(!hit(&all, r#"{"l1":"ok","l2":"no"}"#));
    let not_all = when(&["Matching_keys_do_not_have_matching_values ^l ok"]);
    assert!(hit(&not_all, r#"{"l1":"ok","l2":"no"}"#));
    assert!(!hit(&not_all, r#"{"l1":"ok","l2":"ok"}"#));
    let both = when(&["Key_exists a", "Key_does_not_exist b"]);
    assert!(hit(&both, r#"{"a":1}"#));
    assert!(!hit(&both, r#"{"a":1,"b":2}"#));
    assert!(!hit(&both, r#"{"c":1}"#));
}

#[test]
fn rejects_bad_configs_with_one_line_reasons() {
    let rule_err = |name: &str, args: &str| Modify::from_config(&[(name, args)], &[] as &[&str]);
    let cond_err = |c: &str| Modify::from_config(&[("Set", "a b")], &[c]);
    assert_eq!(
        rule_err("Explode", "a").unwrap_err(),
        ModifyError::UnknownRule("Explode".into())
    );
    let wrong = rule_err("Set", "a").unwrap_err();
    assert_eq!(
        wrong.to_string(),
        "`Set a`: expected Set KEY VALUE (quote a value that holds spaces)"
    );
    assert!(matches!(
        rule_err("Set", "a b c"),
        Err(ModifyError::WrongArgs { .. })
    ));
    assert!(matches!(
        rule_err("Rename", "a"),
        Err(ModifyError::WrongArgs { .. })
    ));
    assert!(matches!(
        rule_err("Set", "a \"b"),
        Err(ModifyError::UnterminatedQuote { .. })
    ));
    let bad = rule_err("Remove_regex", "(").unwrap_err();
    assert!(matches!(bad, ModifyError::BadRegex { .. }));
    assert!(!bad.to_string().contains('\n'), "{bad}");
    assert!(matches!(
        rule_err("Remove", "\"\""),
        Err(ModifyError::EmptyKey { .. })
    ));
    assert!(matches!(
        cond_err("Key_exists $a["),
        Err(ModifyError::BadKey { .. })
    ));
    assert!(matches!(
        cond_err("Key_is_blue a"),
        Err(ModifyError::UnknownCondition(_))
    ));
    assert!(matches!(
        cond_err("Key_value_equals a"),
        Err(ModifyError::WrongArgs { .. })
    ));
    assert!(matches!(
        cond_err("A_key_matches ["),
        Err(ModifyError::BadRegex { .. })
    ));
}

#[test]
fn non_maps_and_truncated_records_are_left_alone() {
    let m = modify(&[("Set", "a b")], &[]);
    let mut out = Vec::new();
    assert_eq!(m.apply(&[0x91, 0x01], &mut out), RecordOutcome::Unchanged);
    let truncated = rec(r#"{"a":"long enough"}"#);
    let truncated = &truncated[..truncated.len() - 1];
    assert_eq!(m.apply(truncated, &mut out), RecordOutcome::Unchanged);
    assert!(out.is_empty());
}

#[test]
fn out_holds_only_the_new_record_after_many_rules() {
    // Three changing rules: the result moves between buffers and must end in `out`.
    let m = modify(
        &[
            ("Add", "a 1"),
            ("Add", "b 2"),
            ("Remove", "zz"),
            ("Add", "c 3"),
        ],
        &[],
    );
    let record = rec(r#"{"x":0}"#);
    for _ in 0..3 {
        let mut out = b"stale".to_vec();
        assert_eq!(m.apply(&record, &mut out), RecordOutcome::Replaced);
        assert_eq!(json(&out), r#"{"x":0,"a":"1","b":"2","c":"3"}"#);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn output_is_always_one_map_and_never_panics(
        keys in proptest::collection::vec("[abc]{1,2}", 0..12),
        bytes in proptest::collection::vec(any::<u8>(), 0..48),
    ) {
        let m = modify(
            &[
                ("Copy", "a b"),
                ("Hard_rename", "b c"),
                ("Set", "ab v"),
                ("Move_to_start", "c"),
                ("Remove_wildcard", "ba"),
            ],
            &["No_key_matches ^z"],
        );
        let json = format!(
            "{{{}}}",
            keys.iter().enumerate().map(|(i, k)| format!("\"{k}\":{i}")).collect::<Vec<_>>().join(",")
        );
        let record = rec(&json);
        let mut out = Vec::new();
        prop_assert_eq!(m.apply(&record, &mut out), RecordOutcome::Replaced);
        prop_assert!(is_whole_map(&out));
        // "ab" is set exactly once, whatever the input held.
        let ab = MapEntries::new(&out).unwrap().filter(|e| e.key_text() == Some(&b"ab"[..])).count();
        prop_assert_eq!(ab, 1);
        let _ = m.apply(&bytes, &mut out);
    }
}
