use super::*;
use crate::event::EventTime;
use crate::filter::record_modifier::RecordModifier;

pub(crate) fn msgpack(json: &str) -> Bytes {
    let mut out = Vec::new();
    crate::msgpack::writer::json_object_to_msgpack(json.as_bytes(), &mut out).unwrap();
    Bytes::from(out)
}

pub(crate) fn json(record: &[u8]) -> serde_json::Value {
    let mut out = Vec::new();
    let mut stats = crate::msgpack::json::TranscodeStats::default();
    crate::msgpack::json::write_value(record, &mut out, &mut stats).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn event(tag: &Arc<str>, json: &str) -> Event {
    Event {
        tag: tag.clone(),
        time: EventTime::new(1, 0),
        record: msgpack(json),
    }
}

fn modifier(name: &str, matcher: &str, record: &str) -> Stage {
    Stage {
        name: name.into(),
        matcher: TagMatcher::new(Some(matcher), None).unwrap(),
        kind: StageKind::RecordModifier(
            RecordModifier::new(&[record.to_owned()], &[], &[], None).unwrap(),
        ),
        metrics: StageMetrics::new(name),
    }
}

#[test]
fn filters_run_in_order_on_matching_tags_only() {
    let chain = FilterChain::new(vec![
        modifier("a", "app.*", "first 1"),
        modifier("b", "*", "second 2"),
    ]);
    let app: Arc<str> = "app.web".into();
    let other: Arc<str> = "sys".into();
    let out = chain.run(
        vec![
            event(&app, r#"{"log":"x"}"#),
            event(&other, r#"{"log":"y"}"#),
        ],
        &AckToken::none(),
    );
    assert_eq!(out.events.len(), 2);
    assert_eq!(
        json(&out.events[0].record),
        serde_json::json!({"log":"x","first":"1","second":"2"})
    );
    assert_eq!(
        json(&out.events[1].record),
        serde_json::json!({"log":"y","second":"2"})
    );
    assert!(out.written_bytes > 0);
    assert!(out.acks.is_empty());
}

#[test]
fn unchanged_records_keep_their_bytes() {
    let chain = FilterChain::new(vec![modifier("a", "*", "log already")]);
    let tag: Arc<str> = "t".into();
    let ev = event(&tag, r#"{"log":"x"}"#);
    let ptr = ev.record.as_ptr();
    let out = chain.run(vec![ev], &AckToken::none());
    assert_eq!(out.events[0].record.as_ptr(), ptr, "no copy");
    assert_eq!(out.written_bytes, 0);
}

#[test]
fn an_empty_chain_passes_everything() {
    let chain = FilterChain::default();
    let tag: Arc<str> = "t".into();
    let out = chain.run(vec![event(&tag, r#"{"a":1}"#)], &AckToken::none());
    assert_eq!(out.events.len(), 1);
    assert!(chain.is_empty());
}
