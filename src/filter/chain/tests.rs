use super::*;
use crate::event::EventTime;
use crate::filter::record_modifier::RecordModifier;
use bytes::Bytes;

use crate::filter::test_support::{json, json_text};

fn msgpack(json: &str) -> Bytes {
    Bytes::from(crate::filter::test_support::msgpack(json))
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

fn stage(name: &str, matcher: &str, kind: StageKind) -> Stage {
    Stage {
        name: name.into(),
        matcher: TagMatcher::new(Some(matcher), None).unwrap(),
        kind,
        metrics: StageMetrics::new(name),
    }
}

#[test]
fn a_rewrite_rule_that_matches_its_own_output_does_not_loop() {
    use crate::filter::rewrite_tag::RewriteTag;
    let rewrite = RewriteTag::new(&["$log ^. x.$TAG false".to_owned()]).unwrap();
    let chain = FilterChain::new(vec![
        stage("rw", "*", StageKind::RewriteTag(rewrite)),
        modifier("m", "x.*", "seen yes"),
    ]);
    let tag: Arc<str> = "app".into();
    let out = chain.run(
        vec![event(&tag, r#"{"log":"a"}"#), event(&tag, r#"{"log":"b"}"#)],
        &AckToken::none(),
    );
    let tags: Vec<&str> = out.events.iter().map(|e| &*e.tag).collect();
    assert_eq!(
        tags,
        ["x.app", "x.app"],
        "re-tagged once, originals dropped"
    );
    assert_eq!(
        json(&out.events[0].record),
        serde_json::json!({"log":"a","seen":"yes"}),
        "the re-emitted record ran the filters after the rewrite too"
    );
}

#[tokio::test]
async fn held_records_keep_their_batch_acks_until_the_joined_record_goes_out() {
    use crate::event::ack::AckOutcome;
    use crate::filter::held::MultilineStage;
    use crate::filter::multiline::{MultilineConfig, MultilineFilter};
    let ml = MultilineFilter::new(
        Some("partial_message"),
        None,
        &[],
        MultilineConfig::default(),
    )
    .unwrap();
    let chain = FilterChain::new(vec![stage(
        "ml",
        "*",
        StageKind::Multiline(Box::new(MultilineStage::new(ml))),
    )]);
    let tag: Arc<str> = "app".into();
    let piece = |log: &str, last: &str| {
        event(
            &tag,
            &format!(
                r#"{{"log":"{log}","partial_message":"true","partial_id":"p1","partial_ordinal":"1","partial_last":"{last}"}}"#
            ),
        )
    };
    let (ack1, wait1) = AckToken::new();
    let first = chain.run(vec![piece("he", "false")], &ack1);
    drop(ack1);
    assert!(first.events.is_empty(), "held");
    assert!(first.acks.is_empty());
    let mut wait1 = Box::pin(wait1.wait());
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(20), &mut wait1)
            .await
            .is_err(),
        "the first batch's ack waits for the joined record"
    );
    let (ack2, wait2) = AckToken::new();
    let second = chain.run(vec![piece("llo", "true")], &ack2);
    assert_eq!(second.events.len(), 1);
    assert_eq!(
        json(&second.events[0].record),
        serde_json::json!({"log":"hello"})
    );
    assert_eq!(
        second.acks.len(),
        1,
        "the first batch's ack travels with it"
    );
    // The output gives up on the joined record: both batches learn it.
    let merged = AckToken::merge(second.acks.into_iter().chain([ack2]).collect());
    merged.dropped();
    drop(merged);
    drop(second.events);
    assert_eq!(wait1.await, AckOutcome::Dropped);
    assert_eq!(wait2.wait().await, AckOutcome::Dropped);
}

/// A FireLens-like chain with filters of every record kind, some on a narrower match.
fn record_filters() -> Vec<Stage> {
    use crate::filter::grep::{Grep, GrepKind};
    use crate::filter::parser::{ParserFilter, ParserSet};
    let parser = ParserFilter::new(
        "log",
        &["json".to_owned()],
        true,
        false,
        &ParserSet::with_builtins(),
    )
    .unwrap();
    let grep = Grep::from_config(&[(GrepKind::Exclude, "level ^debug")], None).unwrap();
    vec![
        stage("p", "app.*", StageKind::Parser(parser)),
        modifier("m", "*", "cluster prod"),
        stage("g", "*", StageKind::Grep(grep)),
        modifier("n", "app.b", "team b"),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Record filters run fused (record by record) give what running them one at a time over
    /// the whole batch gives: same records, times, tags and order.
    #[test]
    fn fused_filters_equal_one_filter_at_a_time(
        recs in proptest::collection::vec((0usize..3, 0usize..5, 0usize..3, 0usize..40), 0..40)
    ) {
        let tags: [Arc<str>; 3] = ["app.a".into(), "app.b".into(), "sys".into()];
        // More fields than a record index holds.
        let wide: Vec<String> = (0..40).map(|i| format!(r#"\"k{i}\":{i}"#)).collect();
        let wide = format!("{{{}}}", wide.join(","));
        let logs = [
            r#"{\"level\":\"info\",\"ts\":1}"#,
            r#"{\"level\":\"debug\"}"#,
            "plain text",
            r#"{\"cluster\":\"mine\"}"#,
            &wide,
        ];
        let levels = ["info", "debug", "warn"];
        let events: Vec<Event> = recs
            .iter()
            .map(|&(t, l, v, extra)| {
                // Extra fields before `log`, up to more than a record index holds.
                let extra: String = (0..extra).map(|i| format!(r#""x{i}":"{i}","#)).collect();
                event(
                    &tags[t],
                    &format!(r#"{{{extra}"log":"{}","level":"{}"}}"#, logs[l], levels[v]),
                )
            })
            .collect();
        let fused = FilterChain::new(record_filters()).run(events.clone(), &AckToken::none());
        let mut one_by_one = events;
        for stage in record_filters() {
            one_by_one = FilterChain::new(vec![stage])
                .run(one_by_one, &AckToken::none())
                .events;
        }
        // As outputs see them (`record_modifier` appends in place to a record the parser wrote,
        // keeping its map32 header, where run alone it writes a new one with the shortest).
        let seen = |events: &[Event]| -> Vec<_> {
            events
                .iter()
                .map(|e| (e.tag.clone(), e.time, json_text(&e.record)))
                .collect()
        };
        proptest::prop_assert_eq!(seen(&fused.events), seen(&one_by_one));
    }
}
