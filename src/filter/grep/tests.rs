use super::*;
use crate::msgpack::writer::json_object_to_msgpack;
use GrepKind::{Exclude, Regex as Re};
use proptest::prelude::*;

fn rec(json: &str) -> Vec<u8> {
    let mut out = Vec::new();
    json_object_to_msgpack(json.as_bytes(), &mut out).unwrap();
    out
}

fn grep(rules: &[(GrepKind, &str)], op: Option<&str>) -> Grep {
    Grep::from_config(rules, op).unwrap()
}

/// Which of the docs' sample lines (`{"log": "aaa"}` ...) pass.
fn kept(grep: &Grep) -> Vec<&'static str> {
    let lines = ["aaa", "aab", "bbb", "ccc", "ddd", "eee", "fff", "ggg"];
    lines
        .into_iter()
        .filter(|l| grep.apply(&rec(&format!(r#"{{"log":"{l}"}}"#))) == RecordOutcome::Unchanged)
        .collect()
}

#[test]
fn docs_example_regex_keeps_lines_starting_with_aa() {
    assert_eq!(kept(&grep(&[(Re, "log aa")], None)), ["aaa", "aab"]);
    assert_eq!(kept(&grep(&[(Re, "$log ^aa")], None)), ["aaa", "aab"]);
    assert_eq!(
        kept(&grep(&[(Exclude, "log ^aa")], Some("legacy"))),
        ["bbb", "ccc", "ddd", "eee", "fff", "ggg"]
    );
}

#[test]
fn legacy_needs_every_regex_and_no_exclude_whatever_the_order() {
    // Fluent Bit's code would keep "aab" here (the first rule matches and ends the loop); the
    // documented semantics drop it.
    let g = grep(&[(Re, "log ^a"), (Exclude, "log b$")], None);
    assert_eq!(kept(&g), ["aaa"]);
    let g = grep(&[(Exclude, "log b$"), (Re, "log ^a")], None);
    assert_eq!(kept(&g), ["aaa"]);
    let g = grep(&[(Re, "log a"), (Re, "log b")], None);
    assert_eq!(kept(&g), ["aab"]);
    let g = grep(&[(Exclude, "log ^a"), (Exclude, "log ^b")], None);
    assert_eq!(kept(&g), ["ccc", "ddd", "eee", "fff", "ggg"]);
}

#[test]
fn docs_logical_op_and_or() {
    let two = |kind| [(kind, "log a"), (kind, "log b")];
    assert_eq!(kept(&grep(&two(Re), Some("AND"))), ["aab"]);
    assert_eq!(kept(&grep(&two(Re), Some("or"))), ["aaa", "aab", "bbb"]);
    assert_eq!(
        kept(&grep(&two(Exclude), Some("And"))),
        ["aaa", "bbb", "ccc", "ddd", "eee", "fff", "ggg"]
    );
    assert_eq!(
        kept(&grep(&two(Exclude), Some("OR"))),
        ["ccc", "ddd", "eee", "fff", "ggg"]
    );
    // The docs' OR example: keep records whose log contains foo or bar.
    let g = grep(&[(Re, "log foo"), (Re, "log bar")], Some("OR"));
    assert_eq!(
        g.apply(&rec(r#"{"log":"a bar"}"#)),
        RecordOutcome::Unchanged
    );
    assert_eq!(g.apply(&rec(r#"{"log":"baz"}"#)), RecordOutcome::Dropped);
}

#[test]
fn docs_record_accessor_examples() {
    // Keep records whose labels color is blue.
    let g = grep(&[(Re, "$labels['color'] ^blue$")], None);
    let blue = rec(r#"{"log":"x","labels":{"color":"blue","project":{"env":"production"}}}"#);
    let red = rec(r#"{"log":"x","labels":{"color":"red"}}"#);
    assert_eq!(g.apply(&blue), RecordOutcome::Unchanged);
    assert_eq!(g.apply(&red), RecordOutcome::Dropped);
    let g = grep(&[(Re, "$labels['project']['env'] production")], None);
    assert_eq!(g.apply(&blue), RecordOutcome::Unchanged);
    assert_eq!(g.apply(&red), RecordOutcome::Dropped);
    // Drop records whose app label is "myapp".
    let g = grep(&[(Exclude, "$kubernetes['labels']['app'] myapp")], None);
    let mine = rec(r#"{"log":"x","kubernetes":{"labels":{"app":"myapp"}}}"#);
    let other = rec(r#"{"log":"x","kubernetes":{"labels":{"app":"web"}}}"#);
    let unlabeled = rec(r#"{"log":"x","kubernetes":{}}"#);
    assert_eq!(g.apply(&mine), RecordOutcome::Dropped);
    assert_eq!(g.apply(&other), RecordOutcome::Unchanged);
    assert_eq!(g.apply(&unlabeled), RecordOutcome::Unchanged);
}

#[test]
fn patterns_may_hold_spaces_and_search_anywhere() {
    let g = grep(&[(Re, "log   hello world$")], None);
    assert_eq!(
        g.apply(&rec(r#"{"log":"say hello world"}"#)),
        RecordOutcome::Unchanged
    );
    assert_eq!(
        g.apply(&rec(r#"{"log":"hello world!"}"#)),
        RecordOutcome::Dropped
    );
}

#[test]
fn non_string_and_missing_values_never_match() {
    let keep = grep(&[(Re, "n 1")], None);
    let drop = grep(&[(Exclude, "n 1")], None);
    for r in [
        r#"{"n":1}"#,
        r#"{"n":true}"#,
        r#"{"n":null}"#,
        r#"{"n":["1"]}"#,
        r#"{"n":{"1":"1"}}"#,
        r#"{"other":"1"}"#,
    ] {
        assert_eq!(keep.apply(&rec(r)), RecordOutcome::Dropped, "{r}");
        assert_eq!(drop.apply(&rec(r)), RecordOutcome::Unchanged, "{r}");
    }
    assert_eq!(keep.apply(&rec(r#"{"n":"10"}"#)), RecordOutcome::Unchanged);
    // Not a map at all: left as it is.
    assert_eq!(keep.apply(&[0x91, 0x01]), RecordOutcome::Unchanged);
    assert_eq!(keep.apply(&[]), RecordOutcome::Unchanged);
}

#[test]
fn rejects_bad_configs_with_one_line_reasons() {
    let err = |rules: &[(GrepKind, &str)], op| Grep::from_config(rules, op).unwrap_err();
    assert_eq!(err(&[], None), GrepError::NoRules);
    assert!(matches!(
        err(&[(Re, "log")], None),
        GrepError::NotKeyAndRegex { .. }
    ));
    assert!(matches!(
        err(&[(Re, "  log   ")], None),
        GrepError::NotKeyAndRegex { .. }
    ));
    let bad_regex = err(&[(Re, "log (")], None);
    assert!(matches!(bad_regex, GrepError::BadRegex { .. }));
    assert!(!bad_regex.to_string().contains('\n'), "{bad_regex}");
    assert!(matches!(
        err(&[(Re, "a x"), (Re, "$k[ x")], None),
        GrepError::BadKey { .. }
    ));
    assert_eq!(
        err(&[(Re, "a x")], Some("xor")),
        GrepError::BadLogicalOp("xor".into())
    );
    let mixed = [(Re, "a x"), (Exclude, "b y")];
    assert!(Grep::from_config(&mixed, Some("legacy")).is_ok());
    assert_eq!(err(&mixed, Some("OR")), GrepError::MixedKindsWithLogicalOp);
    assert_eq!(
        err(&[(Exclude, "log")], None).to_string(),
        r#"Exclude "log": expected KEY REGEX (a key, a space, then a regular expression)"#
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let g = grep(&[(Re, "$a['b'][0] x"), (Exclude, "a y")], None);
        let _ = g.apply(&bytes);
        let g = grep(&[(Re, "a x"), (Re, "b .")], Some("OR"));
        let _ = g.apply(&bytes);
    }
}
