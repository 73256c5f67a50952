use proptest::prelude::*;

use super::*;
use crate::msgpack::writer::{json_object_to_msgpack, write_map_len, write_str};
use crate::output::cloudwatch::sanitize::{
    MAX_NAME_BYTES, is_group_byte, sanitize_group, sanitize_stream,
};

fn rec(json: &str) -> Vec<u8> {
    let mut out = Vec::new();
    json_object_to_msgpack(json.as_bytes(), &mut out).unwrap();
    out
}

fn render(template: &str, tag: &str, record: &[u8]) -> Option<String> {
    let t = NameTemplate::parse(template).unwrap();
    let mut out = String::from("stale");
    t.render(tag, record, &mut out).then_some(out)
}

const K8S: &str = r#"{"ecs_task_id":"abc123","kubernetes":{"host":"node-1","namespace_name":"prod",
    "labels":{"app":"web"}},"containers":["first","second"],"count":42,"neg":-7,"ratio":1.5,
    "ok":true,"nothing":null,"it's":"quoted"}"#;

#[test]
fn renders_fluent_bit_examples() {
    let r = rec(K8S);
    assert_eq!(
        render(
            "application-logs-$kubernetes['host'].$kubernetes['namespace_name']",
            "kube.var.log",
            &r
        )
        .as_deref(),
        Some("application-logs-node-1.prod")
    );
    assert_eq!(
        render("$TAG[1]-$ecs_task_id", "app.web.stdout", &r).as_deref(),
        Some("web-abc123")
    );
}

#[test]
fn renders_tag_and_tag_parts() {
    let r = rec("{}");
    assert_eq!(render("x/$TAG", "a.b.c", &r).as_deref(), Some("x/a.b.c"));
    assert_eq!(render("$TAG[0]$TAG[2]", "a.b.c", &r).as_deref(), Some("ac"));
    assert_eq!(render("$TAG[0]", "nodots", &r).as_deref(), Some("nodots"));
    // Fluent Bit treats `$TAG` as a prefix whatever follows it.
    assert_eq!(render("$TAGS", "t", &r).as_deref(), Some("tS"));
    // Out of range: the caller falls back to its static name.
    assert_eq!(render("$TAG[3]", "a.b.c", &r), None);
}

#[test]
fn names_end_at_the_first_non_identifier_char() {
    let r = rec(K8S);
    assert_eq!(
        render("$ecs_task_id-$count/$neg.$ok,$ratio", "t", &r).as_deref(),
        Some("abc123-42/-7.true,1.5")
    );
    assert_eq!(
        render("pre$ecs_task_id", "t", &r).as_deref(),
        Some("preabc123")
    );
}

#[test]
fn walks_nested_maps_arrays_and_quoted_keys() {
    let r = rec(K8S);
    assert_eq!(
        render("$kubernetes['labels']['app']", "t", &r).as_deref(),
        Some("web")
    );
    assert_eq!(render("$containers[1]", "t", &r).as_deref(), Some("second"));
    let quoted = rec(r#"{"m":{"it's":"q","a.b]":"dots"}}"#);
    assert_eq!(render("$m['it''s']", "t", &quoted).as_deref(), Some("q"));
    assert_eq!(render("$m['a.b]']", "t", &quoted).as_deref(), Some("dots"));
}

#[test]
fn missing_or_non_scalar_fields_fail_the_render() {
    let r = rec(K8S);
    for t in [
        "$absent",
        "$kubernetes['absent']",
        "$kubernetes['host']['deeper']",
        "$containers[2]",
        "$kubernetes",
        "$kubernetes['labels']",
        "$containers",
        "$nothing",
        "$count['x']",
    ] {
        assert_eq!(render(t, "t", &r), None, "{t}");
    }
    // Not a map at all, or truncated bytes.
    assert_eq!(render("$a", "t", &[0x92, 1, 2]), None);
    assert_eq!(render("$a", "t", &[]), None);
    let mut out = String::from("stale");
    let t = NameTemplate::parse("x-$absent").unwrap();
    assert!(!t.render("t", &r, &mut out));
    assert!(out.is_empty());
}

#[test]
fn str_and_bin_values_are_inserted_with_lossy_utf8() {
    // {"s": "a\xffb", "b": bin "raw"}
    let mut r = Vec::new();
    write_map_len(&mut r, 2);
    write_str(&mut r, b"s");
    write_str(&mut r, b"a\xffb");
    write_str(&mut r, b"b");
    r.extend_from_slice(&[0xc4, 3]);
    r.extend_from_slice(b"raw");
    assert_eq!(render("$s|$b", "t", &r).as_deref(), Some("a\u{FFFD}b|raw"));
}

#[test]
fn dollar_without_a_name_is_literal() {
    let r = rec(K8S);
    for (t, want) in [
        ("$", "$"),
        ("cost$", "cost$"),
        ("$5", "$5"),
        ("${X}", "${X}"),
        ("$$count", "$42"),
        ("a $ b", "a $ b"),
        ("$['x']", "$['x']"),
    ] {
        assert_eq!(render(t, "t", &r).as_deref(), Some(want), "{t}");
    }
    let plain = NameTemplate::parse("static/name").unwrap();
    assert!(!plain.uses_record());
    assert!(!NameTemplate::parse("$TAG[1]-$TAG").unwrap().uses_record());
    assert!(NameTemplate::parse("$TAG-$x").unwrap().uses_record());
}

#[test]
fn reports_malformed_subscripts() {
    use TemplateError::*;
    let cases = [
        ("$TAG[1", UnclosedBracket { at: 4 }),
        ("$TAG[x]", BadTagIndex { at: 4 }),
        ("$TAG[-1]", BadTagIndex { at: 4 }),
        ("$TAG[]", BadTagIndex { at: 4 }),
        ("ab$k['x'", UnclosedBracket { at: 4 }),
        ("$k['x", UnterminatedQuote { at: 3 }),
        ("$k['x'y]", BadSubscript { at: 2 }),
        ("$k[x]", BadSubscript { at: 2 }),
        ("$k[99999999999]", BadSubscript { at: 2 }),
        ("$k[1", UnclosedBracket { at: 2 }),
    ];
    for (t, want) in cases {
        assert_eq!(NameTemplate::parse(t), Err(want), "{t}");
    }
}

proptest! {
    #[test]
    fn render_never_panics_on_arbitrary_bytes(
        record in proptest::collection::vec(any::<u8>(), 0..256),
        tag in "[a-z.]{0,12}",
    ) {
        for t in ["$a", "$a['b'][0]", "$TAG[2]-$a['x']", "lit"] {
            let template = NameTemplate::parse(t).unwrap();
            let mut out = String::new();
            let _ = template.render(&tag, &record, &mut out);
        }
    }

    #[test]
    fn parse_never_panics_and_sanitized_names_are_valid(template in "[$a-zA-Z_\\['\\]0-9. é:*]{0,30}") {
        if let Ok(t) = NameTemplate::parse(&template) {
            let mut out = String::new();
            if t.render("a.b", &rec(K8S), &mut out) {
                let mut group = out.clone();
                if sanitize_group(&mut group) {
                    prop_assert!(group.len() <= MAX_NAME_BYTES);
                    prop_assert!(group.bytes().all(is_group_byte));
                }
                if sanitize_stream(&mut out) {
                    prop_assert!(!out.contains([':', '*']));
                }
            }
        }
    }
}
