use std::time::Instant;

use serde_json::json;

use super::super::test_support::{at, json, log_of, rec, tag};
use super::*;

fn config() -> MultilineConfig {
    MultilineConfig::default()
}

/// A piece as Docker's fluentd log driver sends it (the documented example's keys).
fn piece(container: &str, id: &str, ordinal: usize, last: bool, log: &str) -> Bytes {
    rec(&json!({
        "source": "stdout",
        "log": log,
        "partial_message": "true",
        "partial_id": id,
        "partial_ordinal": ordinal.to_string(),
        "partial_last": if last { "true" } else { "false" },
        "container_id": format!("{container}-id"),
        "container_name": format!("/{container}"),
    }))
}

#[test]
fn three_interleaved_containers_are_reassembled_without_the_partial_keys() {
    let mut f = Partials::new(config());
    let now = Instant::now();
    let (app, web) = (tag("docker.app"), tag("docker.web"));
    // Containers a and b log under one tag, c under another; their pieces interleave.
    let lines = [
        ("a", &app, "id-a", ["A1-", "A2-", "A3"]),
        ("b", &app, "id-b", ["B1-", "B2-", "B3"]),
        ("c", &web, "id-c", ["C1-", "C2-", "C3"]),
    ];
    let mut emit = Vec::new();
    for i in 0..3 {
        for (n, (container, t, id, parts)) in lines.iter().enumerate() {
            let time = EventTime::new(100 + (i * 3 + n) as i64, 0);
            let p = piece(container, id, i + 1, i == 2, parts[i]);
            f.push(now, t, time, &p, 7, &mut emit);
        }
        if i < 2 {
            assert!(emit.is_empty(), "nothing is emitted before a last piece");
        }
    }
    assert_eq!(emit.len(), 3);
    assert_eq!(f.open_groups(), 0);
    for (e, (container, t, _, parts)) in emit.iter().zip(&lines) {
        assert_eq!(e.outcome, EmitOutcome::Complete);
        assert_eq!(&e.tag, *t);
        assert_eq!(
            json(&e.record),
            json!({
                "source": "stdout",
                "log": parts.concat(),
                "container_id": format!("{container}-id"),
                "container_name": format!("/{container}"),
            })
        );
    }
    // Time of each container's first piece.
    assert_eq!(emit[0].time, EventTime::new(100, 0));
    assert_eq!(emit[2].time, EventTime::new(102, 0));
    assert_eq!(f.stats().complete, 3);
}

#[test]
fn the_same_partial_id_under_two_tags_makes_two_groups() {
    let mut f = Partials::new(config());
    let now = Instant::now();
    let mut emit = Vec::new();
    f.push(
        now,
        &tag("x"),
        EventTime::default(),
        &piece("a", "same", 1, false, "x1"),
        0,
        &mut emit,
    );
    f.push(
        now,
        &tag("y"),
        EventTime::default(),
        &piece("a", "same", 1, false, "y1"),
        0,
        &mut emit,
    );
    f.push(
        now,
        &tag("x"),
        EventTime::default(),
        &piece("a", "same", 2, true, "x2"),
        0,
        &mut emit,
    );
    assert_eq!(emit.len(), 1);
    assert_eq!(log_of(&emit[0]), "x1x2");
    assert_eq!(f.open_groups(), 1);
}

#[test]
fn records_that_are_not_pieces_pass_through_as_the_same_bytes() {
    let mut f = Partials::new(config());
    let now = Instant::now();
    let mut emit = Vec::new();
    let whole = rec(&json!({"log": "a whole line", "source": "stdout"}));
    let not_partial = rec(&json!({"log": "x", "partial_message": "false", "partial_id": "p"}));
    let no_content = rec(&json!({"msg": "x", "partial_message": "true", "partial_id": "p"}));
    let not_a_map = Bytes::from_static(&[0x92, 0x01, 0x02]);
    for r in [&whole, &not_partial, &no_content, &not_a_map] {
        f.push(now, &tag("t"), EventTime::default(), r, 1, &mut emit);
    }
    assert_eq!(emit.len(), 4);
    for (e, r) in emit
        .iter()
        .zip([&whole, &not_partial, &no_content, &not_a_map])
    {
        assert_eq!(e.outcome, EmitOutcome::Unchanged);
        assert_eq!(e.record.as_ptr(), r.as_ptr(), "not copied");
    }
    assert_eq!(f.low_watermark(), None);
    assert_eq!(f.stats().unchanged, 4);
}

#[test]
fn a_group_without_its_last_piece_is_flushed_by_tick_after_flush_ms() {
    let mut f = Partials::new(config());
    let t0 = Instant::now();
    let mut emit = Vec::new();
    f.push(
        t0,
        &tag("t"),
        EventTime::default(),
        &piece("a", "p1", 1, false, "early "),
        1,
        &mut emit,
    );
    f.push(
        at(t0, 1500),
        &tag("t"),
        EventTime::default(),
        &piece("b", "p2", 1, false, "late"),
        2,
        &mut emit,
    );
    f.tick(at(t0, 1999), &mut emit);
    assert!(emit.is_empty());
    f.tick(at(t0, 2000), &mut emit);
    assert_eq!(emit.len(), 1);
    assert_eq!(emit[0].outcome, EmitOutcome::FlushedTimeout);
    assert_eq!(json(&emit[0].record)["log"], "early ");
    assert!(json(&emit[0].record).get("partial_id").is_none());
    assert_eq!(f.low_watermark(), Some(2));
    f.flush_all(&mut emit);
    assert_eq!(emit[1].outcome, EmitOutcome::FlushedAll);
    assert_eq!(f.stats().flushed_timeout, 1);
    assert_eq!(f.stats().flushed_all, 1);
    assert_eq!(f.held_bytes(), 0);
}

#[test]
fn a_group_at_max_group_bytes_is_emitted_early_and_the_rest_starts_a_new_group() {
    let mut f = Partials::new(MultilineConfig {
        max_group_bytes: 10,
        ..config()
    });
    let now = Instant::now();
    let mut emit = Vec::new();
    let t = tag("t");
    for (i, part) in ["aaaa", "bbbb", "cccc", "dd"].iter().enumerate() {
        f.push(
            now,
            &t,
            EventTime::default(),
            &piece("a", "p", i + 1, i == 3, part),
            0,
            &mut emit,
        );
    }
    let logs: Vec<(String, EmitOutcome)> = emit.iter().map(|e| (log_of(e), e.outcome)).collect();
    assert_eq!(
        logs,
        vec![
            ("aaaabbbb".to_owned(), EmitOutcome::FlushedSizeCap),
            ("ccccdd".to_owned(), EmitOutcome::Complete),
        ]
    );
    // One piece as large as the cap is emitted at once.
    emit.clear();
    f.push(
        now,
        &t,
        EventTime::default(),
        &piece("a", "q", 1, false, "0123456789AB"),
        0,
        &mut emit,
    );
    assert_eq!(emit.len(), 1);
    assert_eq!(emit[0].outcome, EmitOutcome::FlushedSizeCap);
    assert_eq!(f.open_groups(), 0);
    assert_eq!(f.stats().flushed_size_cap, 2);
}

#[test]
fn past_max_total_bytes_the_oldest_groups_are_emitted_and_memory_stays_bounded() {
    let max_total_bytes = 1000;
    let mut f = Partials::new(MultilineConfig {
        max_total_bytes,
        ..config()
    });
    let now = Instant::now();
    let mut emit = Vec::new();
    let t = tag("t");
    let body = "x".repeat(100);
    for id in 0..20 {
        f.push(
            now,
            &t,
            EventTime::default(),
            &piece("a", &format!("p{id}"), 1, false, &body),
            id,
            &mut emit,
        );
        assert!(f.held_bytes() <= max_total_bytes, "{}", f.held_bytes());
    }
    assert!(!emit.is_empty());
    assert!(
        emit.iter()
            .all(|e| e.outcome == EmitOutcome::FlushedSizeCap)
    );
    // Oldest first: the groups emitted are p0, p1, ... in order, and the rest are still open.
    assert_eq!(f.low_watermark(), Some(emit.len() as u64));
    assert_eq!(emit.len() + f.open_groups(), 20);
    let first_open = f.low_watermark().unwrap();
    assert!(first_open >= 1);
}

#[test]
fn low_watermark_is_the_smallest_mark_still_held() {
    let mut f = Partials::new(config());
    let now = Instant::now();
    let mut emit = Vec::new();
    let t = tag("t");
    assert_eq!(f.low_watermark(), None);
    f.push(
        now,
        &t,
        EventTime::default(),
        &piece("a", "a", 1, false, "a1"),
        3,
        &mut emit,
    );
    f.push(
        now,
        &t,
        EventTime::default(),
        &piece("b", "b", 1, false, "b1"),
        4,
        &mut emit,
    );
    f.push(
        now,
        &t,
        EventTime::default(),
        &rec(&json!({"log": "whole"})),
        5,
        &mut emit,
    );
    assert_eq!(f.low_watermark(), Some(3));
    f.push(
        now,
        &t,
        EventTime::default(),
        &piece("a", "a", 2, true, "a2"),
        6,
        &mut emit,
    );
    assert_eq!(
        f.low_watermark(),
        Some(4),
        "a's pieces (3 and 6) are forwarded"
    );
    f.push(
        now,
        &t,
        EventTime::default(),
        &piece("b", "b", 2, true, "b2"),
        7,
        &mut emit,
    );
    assert_eq!(f.low_watermark(), None);
}
