use super::*;
use crate::filter::test_support::msgpack;

fn rules(v: &[&str]) -> RewriteTag {
    RewriteTag::new(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap()
}

fn err(v: &[&str]) -> String {
    RewriteTag::new(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        .unwrap_err()
        .to_string()
}

/// (outcome, new tag) for one record.
fn run(f: &RewriteTag, tag: &str, record: &str) -> (Option<bool>, String) {
    let mut new_tag = String::from("stale");
    let outcome = f.apply(tag, &msgpack(record), &mut new_tag);
    (outcome, new_tag)
}

const DOC_RECORD: &str = r#"{"name": "abc-123", "ss": {"s1": {"s2": "flb"}}}"#;

#[test]
fn documented_new_tag_with_captures_tag_parts_and_nested_keys() {
    // Fluent Bit's New_Tag example, with ${HOSTNAME} already expanded to `fluent` by the config
    // loader.
    let f = rules(&[
        "$name ^([a-z]+)-([0-9]+)$ newtag.$TAG.$TAG[1].$1.$ss['s1']['s2'].out.fluent false",
    ]);
    assert_eq!(
        run(&f, "aa.bb.cc", DOC_RECORD),
        (
            Some(false),
            "newtag.aa.bb.cc.bb.abc.flb.out.fluent".to_owned()
        )
    );
}

#[test]
fn documented_configuration_example() {
    let f = rules(&["$tool ^(fluent)$  from.$TAG.new.$tool.$sub['s1']['s2'].out false"]);
    assert_eq!(
        run(
            &f,
            "test_tag",
            r#"{"tool": "fluent", "sub": {"s1": {"s2": "bit"}}}"#
        ),
        (Some(false), "from.test_tag.new.fluent.bit.out".to_owned())
    );
}

#[test]
fn nested_key_selects_the_value_and_keep_true_keeps_the_original() {
    let f = rules(&["$kubernetes['labels']['app'] ^(web|api)-(\\w+)$ k8s.$2.$1.$0 true"]);
    let rec = r#"{"log":"x","kubernetes":{"labels":{"app":"api-payments"}}}"#;
    assert_eq!(
        run(&f, "kube.var.log", rec),
        (Some(true), "k8s.payments.api.api-payments".to_owned())
    );
    assert_eq!(
        run(&f, "t", r#"{"kubernetes":{"labels":{"app":"db-main"}}}"#).0,
        None
    );
}

#[test]
fn no_match_leaves_the_tag_buffer_alone_and_first_matching_rule_wins() {
    let f = rules(&[
        "$level ^error$ alerts.$TAG false",
        "$level ^(warn|error)$ warnings.$1 true",
        "$log . all true",
    ]);
    assert_eq!(
        run(&f, "app", r#"{"level":"error","log":"x"}"#),
        (Some(false), "alerts.app".to_owned())
    );
    assert_eq!(
        run(&f, "app", r#"{"level":"warn","log":"x"}"#),
        (Some(true), "warnings.warn".to_owned())
    );
    assert_eq!(
        run(&f, "app", r#"{"level":"info","log":"x"}"#),
        (Some(true), "all".to_owned())
    );
    assert_eq!(
        run(&f, "app", r#"{"level":"info","log":""}"#),
        (None, "stale".to_owned())
    );
}

#[test]
fn only_string_values_can_match() {
    let f = rules(&["$v ^1$ one false"]);
    assert_eq!(run(&f, "t", r#"{"v":1}"#).0, None);
    assert_eq!(run(&f, "t", r#"{"v":true}"#).0, None);
    assert_eq!(run(&f, "t", r#"{"v":["1"]}"#).0, None);
    assert_eq!(run(&f, "t", r#"{"w":"1"}"#).0, None);
    assert_eq!(run(&f, "t", r#"{"v":"1"}"#).0, Some(false));
    let mut tag = String::new();
    assert_eq!(f.apply("t", &[0x92, 0xa1, b'1', 0x01], &mut tag), None);
    assert_eq!(f.apply("t", &[0x81, 0xa1], &mut tag), None);
    assert_eq!(f.apply("t", &[], &mut tag), None);
}

#[test]
fn tag_parts_out_of_range_and_missing_fields_render_as_nothing() {
    let f = rules(&["$a ^x$ p.$TAG[0].$TAG[5].${b}.$c[2].$TAGS true"]);
    assert_eq!(
        run(&f, "one.two", r#"{"a":"x","b":7,"c":[1,2]}"#),
        (Some(true), "p.one..7..one.twoS".to_owned())
    );
    // A tag that renders empty is no match.
    let f = rules(&["$a ^x$ $missing true"]);
    assert_eq!(run(&f, "t", r#"{"a":"x"}"#), (None, String::new()));
}

#[test]
fn literal_dollars_missing_groups_and_quoted_parts() {
    let f = rules(&[r#"$msg "^(a b)( c)?$" cost$.$-$1$2 yes"#]);
    assert_eq!(
        run(&f, "t", r#"{"msg":"a b"}"#),
        (Some(true), "cost$.$-a b".to_owned())
    );
    let f = rules(&[
        r#"$msg "say \"hi\"" greeted off"#,
        r#"$msg 'it\'s' quoted on"#,
    ]);
    assert_eq!(
        run(&f, "t", r#"{"msg":"they say \"hi\" here"}"#),
        (Some(false), "greeted".to_owned())
    );
    assert_eq!(
        run(&f, "t", r#"{"msg":"it's"}"#),
        (Some(true), "quoted".to_owned())
    );
}

#[test]
fn bad_rules_are_refused_with_a_reason() {
    assert_eq!(RewriteTag::new(&[]).unwrap_err(), RewriteTagError::NoRules);
    assert_eq!(
        err(&["$a ^x$ new"]),
        "rule `$a ^x$ new` must have four parts: KEY REGEX NEW_TAG KEEP"
    );
    assert_eq!(
        err(&["$a ^x$ new true extra"]),
        "rule `$a ^x$ new true extra` must have four parts: KEY REGEX NEW_TAG KEEP"
    );
    assert_eq!(
        err(&["$a ^x$ new maybe"]),
        "rule `$a ^x$ new maybe`: KEEP must be true or false, not `maybe`"
    );
    let e = err(&["$a ^(x$ new true"]);
    assert!(
        e.starts_with("rule `$a ^(x$ new true`: invalid regex"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    assert!(err(&["$a['b' ^x$ new true"]).starts_with("rule `$a['b' ^x$ new true`: key: "));
    assert_eq!(
        err(&[r#"$a "^x new true"#]),
        r#"rule `$a "^x new true` has a quote that is never closed"#
    );
    assert!(err(&["$a ^x$ t.$TAG[x] true"]).contains("new tag: $TAG[n]"));
    assert!(err(&["$a ^x$ t.${b true"]).contains("new tag: "));
    assert!(err(&["$a ^x$ t.$b['c' true"]).contains("new tag: "));
}
