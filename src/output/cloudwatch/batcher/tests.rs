//! Batcher tests: each limit at its edge, time and memory flushes with an injected clock, holders,
//! and properties over random event streams (limits kept, nothing lost or duplicated, order kept).

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;
use crate::output::cloudwatch::message::Message;

type H = Arc<u32>;

fn key(stream: &str) -> StreamKey {
    StreamKey {
        group: Arc::from("group"),
        stream: Arc::from(stream),
    }
}

fn small_limits() -> Limits {
    Limits {
        max_bytes: 1_000,
        max_events: 100,
        max_span_ms: 1_000,
        flush_after: Duration::from_secs(1),
        max_pending_bytes: 1 << 20,
        max_pending_memory: 1 << 30,
    }
}

/// A message of exactly `len` bytes.
fn msg(len: usize) -> Message {
    Message::from_text(&"m".repeat(len))
}

/// A message whose text is `n` written out.
fn num(n: impl ToString) -> Message {
    Message::from_text(&n.to_string())
}

/// The text of a message that needs no escaping (all messages here but the escaping test's).
fn text<'r>(req: &'r Request<H>, event: &PendingEvent) -> &'r str {
    std::str::from_utf8(req.message(event)).unwrap()
}

/// The messages of a request, checking that its body is the JSON of its events.
fn messages(req: &Request<H>) -> Vec<&str> {
    check_body(req);
    req.events.iter().map(|e| text(req, e)).collect()
}

/// The body parses as PutLogEvents JSON with the request's key and events, in order.
fn check_body(req: &Request<H>) {
    let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(v["logGroupName"], &*req.key.group);
    assert_eq!(v["logStreamName"], &*req.key.stream);
    let events = v["logEvents"].as_array().unwrap();
    assert_eq!(events.len(), req.events.len());
    for (json, ev) in events.iter().zip(&req.events) {
        assert_eq!(json["timestamp"], ev.timestamp_ms);
        let message = json["message"].as_str().unwrap();
        assert_eq!(message.len(), ev.raw_len as usize);
        let mut escaped = Vec::new();
        crate::msgpack::json::write_str_content_valid(message, &mut escaped);
        assert_eq!(req.message(ev), &escaped[..]);
    }
}

#[test]
fn events_wait_per_stream_until_flushed() {
    let mut b = Batcher::new(small_limits());
    let (h, now, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    b.push(
        &key("a"),
        1,
        Message::from("a1").view(),
        &h,
        now,
        &mut ready,
    );
    b.push(
        &key("b"),
        2,
        Message::from("b1").view(),
        &h,
        now,
        &mut ready,
    );
    b.push(
        &key("a"),
        3,
        Message::from("a2").view(),
        &h,
        now,
        &mut ready,
    );
    assert!(ready.is_empty());
    assert_eq!((b.streams(), b.pending_events()), (2, 3));
    assert_eq!(b.pending_bytes(), 6 + 3 * EVENT_OVERHEAD_BYTES);
    b.flush_all(&mut ready);
    assert_eq!(ready.len(), 2);
    assert_eq!(ready[0].key, key("a"));
    assert_eq!(messages(&ready[0]), ["a1", "a2"]);
    assert_eq!(ready[0].bytes, 4 + 2 * EVENT_OVERHEAD_BYTES);
    assert_eq!(messages(&ready[1]), ["b1"]);
    assert_eq!(
        (b.streams(), b.pending_events(), b.pending_bytes()),
        (0, 0, 0)
    );
    assert_eq!(b.next_deadline(), None);
}

#[test]
fn byte_limit_counts_26_per_event_and_splits_before_the_overflowing_event() {
    let mut b = Batcher::new(small_limits());
    let (h, now, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    // 474 + 26 = 500: two such events are exactly 1,000 bytes, which is allowed and full.
    b.push(&key("a"), 0, msg(474).view(), &h, now, &mut ready);
    b.push(&key("a"), 0, msg(474).view(), &h, now, &mut ready);
    assert_eq!(
        ready.len(),
        1,
        "a request at exactly the limit goes out at once"
    );
    assert_eq!(ready[0].bytes, 1_000);
    ready.clear();
    b.push(&key("a"), 0, msg(474).view(), &h, now, &mut ready);
    b.push(&key("a"), 0, msg(475).view(), &h, now, &mut ready);
    assert_eq!(ready.len(), 1, "one byte over: the first goes alone");
    assert_eq!(ready[0].events.len(), 1);
    assert_eq!(b.pending_bytes(), 501);
}

#[test]
fn bytes_count_the_message_text_not_its_escaped_form() {
    let mut b = Batcher::new(small_limits());
    let (h, now, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    // 474 quotes are 948 bytes escaped, but CloudWatch counts 474 + 26: two fill a request exactly.
    let quotes = Message::from_text(&"\"".repeat(474));
    assert_eq!((quotes.raw_len(), quotes.escaped().len()), (474, 948));
    b.push(&key("a"), 0, quotes.view(), &h, now, &mut ready);
    assert_eq!(b.pending_bytes(), 500);
    b.push(&key("a"), 0, quotes.view(), &h, now, &mut ready);
    assert_eq!(ready.len(), 1);
    assert_eq!((ready[0].events.len(), ready[0].bytes), (2, 1_000));
}

#[test]
fn a_maximal_event_is_a_request_of_its_own() {
    let mut b = Batcher::new(Limits::default());
    let (h, now, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    b.push(
        &key("a"),
        0,
        msg(MAX_BATCH_BYTES - 26).view(),
        &h,
        now,
        &mut ready,
    );
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].bytes, MAX_BATCH_BYTES);
    assert_eq!(b.streams(), 0);
}

#[test]
fn count_limit_sends_a_full_request_at_once() {
    let mut b = Batcher::new(Limits::default());
    let (h, now, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    for i in 0..MAX_BATCH_EVENTS + 1 {
        b.push(&key("a"), 0, num(i).view(), &h, now, &mut ready);
    }
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].events.len(), MAX_BATCH_EVENTS);
    assert_eq!(ready[0].holders.len(), 1, "one holder entry for one source");
    assert_eq!(b.pending_events(), 1);
}

#[test]
fn events_are_sorted_and_equal_timestamps_keep_arrival_order() {
    let mut b = Batcher::new(small_limits());
    let (h, now, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    for (ts, m) in [(5, "a"), (3, "b"), (5, "c"), (1, "d"), (3, "e")] {
        b.push(&key("s"), ts, Message::from(m).view(), &h, now, &mut ready);
    }
    b.flush_all(&mut ready);
    assert_eq!(messages(&ready[0]), ["d", "b", "e", "a", "c"]);
}

#[test]
fn many_equal_timestamps_keep_arrival_order() {
    let mut b = Batcher::new(Limits::default());
    let (h, now, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    for i in 0..2_000usize {
        let ts = [4, 1, 3, 0, 2][i % 5];
        b.push(&key("s"), ts, num(i).view(), &h, now, &mut ready);
    }
    b.flush_all(&mut ready);
    let got: Vec<(i64, usize)> = ready[0]
        .events
        .iter()
        .map(|e| (e.timestamp_ms, text(&ready[0], e).parse().unwrap()))
        .collect();
    let mut want = got.clone();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn a_span_of_24_hours_starts_a_new_request() {
    let mut b = Batcher::new(Limits::default());
    let (h, now, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    b.push(
        &key("s"),
        0,
        Message::from("first").view(),
        &h,
        now,
        &mut ready,
    );
    b.push(
        &key("s"),
        MAX_SPAN_MS - 1,
        Message::from("within").view(),
        &h,
        now,
        &mut ready,
    );
    assert!(ready.is_empty(), "a span just under 24 h is fine");
    b.push(
        &key("s"),
        MAX_SPAN_MS,
        Message::from("next day").view(),
        &h,
        now,
        &mut ready,
    );
    assert_eq!(ready.len(), 1);
    assert_eq!(messages(&ready[0]), ["first", "within"]);
    // Going back in time counts as well.
    b.push(
        &key("s"),
        0,
        Message::from("back").view(),
        &h,
        now,
        &mut ready,
    );
    assert_eq!(ready.len(), 2);
    assert_eq!(messages(&ready[1]), ["next day"]);
}

#[test]
fn time_flush_sends_only_buffers_that_waited_long_enough() {
    let mut b = Batcher::new(small_limits());
    let (h, t0, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    let ms = Duration::from_millis;
    b.push(&key("a"), 0, Message::from("a").view(), &h, t0, &mut ready);
    b.push(
        &key("b"),
        0,
        Message::from("b").view(),
        &h,
        t0 + ms(400),
        &mut ready,
    );
    b.push(
        &key("a"),
        0,
        Message::from("a2").view(),
        &h,
        t0 + ms(900),
        &mut ready,
    );
    assert_eq!(b.next_deadline(), Some(t0 + ms(1000)));
    b.flush_due(t0 + ms(999), &mut ready);
    assert!(ready.is_empty());
    b.flush_due(t0 + ms(1000), &mut ready);
    assert_eq!(ready.len(), 1);
    assert_eq!(messages(&ready[0]), ["a", "a2"]);
    assert_eq!(b.next_deadline(), Some(t0 + ms(1400)));
    // A new buffer of a flushed stream waits its own full delay.
    b.push(
        &key("a"),
        0,
        Message::from("a3").view(),
        &h,
        t0 + ms(1100),
        &mut ready,
    );
    b.flush_due(t0 + ms(2000), &mut ready);
    assert_eq!(ready.len(), 2);
    assert_eq!(messages(&ready[1]), ["b"]);
    assert_eq!(b.next_deadline(), Some(t0 + ms(2100)));
}

#[test]
fn pending_byte_limit_flushes_the_oldest_buffers_first() {
    let limits = Limits {
        max_pending_bytes: 200,
        ..small_limits()
    };
    let mut b = Batcher::new(limits);
    let (h, t0, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    for (i, s) in ["a", "b", "c", "d"].into_iter().enumerate() {
        let now = t0 + Duration::from_millis(i as u64);
        b.push(&key(s), 0, msg(24).view(), &h, now, &mut ready); // 50 bytes each
    }
    assert!(ready.is_empty(), "exactly at the limit is allowed");
    b.push(&key("b"), 0, msg(74).view(), &h, t0, &mut ready); // +100 bytes: 300 pending
    let sent: Vec<_> = ready.iter().map(|r| r.key.stream.to_string()).collect();
    assert_eq!(sent, ["a", "b"], "oldest first, until within the limit");
    assert_eq!(b.pending_bytes(), 100);
    assert_eq!(b.streams(), 2);
}

#[test]
fn pending_memory_limit_flushes_the_oldest_buffers_first() {
    // A new stream's body starts with BODY_START_BYTES (16 KiB) of room: three fit in 50 KiB.
    let limits = Limits {
        max_pending_memory: 50 * 1024,
        ..small_limits()
    };
    let mut b = Batcher::new(limits);
    let (h, t0, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    for (i, s) in ["a", "b", "c"].into_iter().enumerate() {
        let now = t0 + Duration::from_millis(i as u64);
        b.push(&key(s), 0, msg(24).view(), &h, now, &mut ready);
    }
    assert!(ready.is_empty());
    let three = b.pending_memory();
    assert!(
        (3 * BODY_START_BYTES..=50 * 1024).contains(&three),
        "{three}"
    );
    b.push(&key("d"), 0, msg(24).view(), &h, t0, &mut ready);
    let sent: Vec<_> = ready.iter().map(|r| r.key.stream.to_string()).collect();
    assert_eq!(sent, ["a"], "oldest first, until within the limit");
    assert!(b.pending_memory() <= 50 * 1024);
    assert_eq!((b.streams(), b.pending_bytes()), (3, 150));
    b.flush_all(&mut ready);
    assert_eq!(b.pending_memory(), 0);
}

#[test]
fn a_quiet_old_stream_does_not_let_the_age_queue_grow() {
    let limits = Limits {
        max_events: 2,
        ..small_limits()
    };
    let mut b = Batcher::new(limits);
    let (h, t0, mut ready) = (Arc::new(0), Instant::now(), Vec::new());
    b.push(
        &key("quiet"),
        0,
        Message::from("q").view(),
        &h,
        t0,
        &mut ready,
    );
    for i in 0..10_000 {
        // Every second push fills the busy stream's buffer and sends it.
        b.push(&key("busy"), 0, num(i).view(), &h, t0, &mut ready);
    }
    assert_eq!(ready.len(), 5_000);
    assert!(b.by_age.len() <= 2 * b.streams() + 16);
    assert_eq!(b.next_deadline(), Some(t0 + limits.flush_after));
    b.flush_due(t0 + limits.flush_after, &mut ready);
    assert_eq!(messages(ready.last().unwrap()), ["q"]);
    assert_eq!(b.streams(), 0);
}

#[test]
fn consecutive_events_of_one_source_share_a_holder_entry() {
    let mut b = Batcher::new(small_limits());
    let (x, y) = (Arc::new(1), Arc::new(2));
    let (now, mut ready) = (Instant::now(), Vec::new());
    for (ts, h) in [(10, &x), (11, &x), (5, &y), (12, &x), (1, &y)] {
        b.push(&key("s"), ts, num(ts).view(), h, now, &mut ready);
    }
    b.flush_all(&mut ready);
    let req = &ready[0];
    assert_eq!(req.holders.len(), 4, "x, y, x, y: only runs are merged");
    let holder_of = |m: &str| {
        let ev = req.events.iter().find(|e| text(req, e) == m).unwrap();
        *req.holders[ev.holder as usize]
    };
    assert_eq!(["10", "11", "5", "12", "1"].map(holder_of), [1, 1, 2, 1, 2]);
    // Sorted: 1(y) 5(y) 10(x) 11(x) 12(x).
    let of = |r: Range<usize>| req.holders_of(r).map(|h| **h).collect::<Vec<_>>();
    assert_eq!(of(0..5), [2, 1], "each source once");
    assert_eq!(of(2..5), [1]);
    assert_eq!(of(1..3), [2, 1]);
    assert_eq!(of(3..3), Vec::<u32>::new());
    assert_eq!(
        of(4..9),
        Vec::<u32>::new(),
        "a range past the end yields nothing"
    );
}

/// One generated event: stream index, timestamp, message length, source, clock advance in ms.
type Op = (usize, i64, usize, u32, u64);

/// Pushes `ops`, checking the pending limit after each push and the time flush as the clock moves;
/// returns every request sent (after a final flush_all).
fn run(limits: Limits, ops: &[Op]) -> Vec<Request<H>> {
    let mut b = Batcher::new(limits);
    let holders: Vec<H> = (0..4).map(Arc::new).collect();
    let keys: Vec<StreamKey> = (0..8).map(|i| key(&i.to_string())).collect();
    let (mut now, mut ready) = (Instant::now(), Vec::new());
    for (i, &(stream, ts, len, holder, advance_ms)) in ops.iter().enumerate() {
        now += Duration::from_millis(advance_ms);
        b.flush_due(now, &mut ready);
        if let Some(deadline) = b.next_deadline() {
            assert!(deadline > now, "flush_due left a due buffer");
        }
        // Unique messages of the wanted size: "<index>:" then padding.
        let mut m = format!("{i}:");
        m.extend(std::iter::repeat_n('é', len.saturating_sub(m.len()) / 2));
        b.push(
            &keys[stream],
            ts,
            Message::from_text(&m).view(),
            &holders[holder as usize],
            now,
            &mut ready,
        );
        assert!(b.pending_bytes() <= limits.max_pending_bytes);
        assert!(b.pending_memory() <= limits.max_pending_memory);
    }
    b.flush_all(&mut ready);
    assert_eq!(
        (
            b.pending_bytes(),
            b.pending_events(),
            b.streams(),
            b.pending_memory()
        ),
        (0, 0, 0, 0)
    );
    ready
}

/// Checks every request against the limits, and that the events out are exactly the events in.
fn check(limits: Limits, ops: &[Op], reqs: &[Request<H>]) -> Result<(), TestCaseError> {
    let mut seen: HashMap<usize, (&str, &PendingEvent, u32)> = HashMap::new();
    for req in reqs {
        prop_assert!(!req.events.is_empty());
        check_body(req);
        prop_assert!(req.events.len() <= limits.max_events);
        let bytes: usize = req.events.iter().map(|e| e.raw_len as usize + 26).sum();
        prop_assert_eq!(req.bytes, bytes);
        prop_assert!(bytes <= limits.max_bytes);
        let first = req.events[0].timestamp_ms;
        let last = req.events[req.events.len() - 1].timestamp_ms;
        prop_assert!(last - first < limits.max_span_ms);
        for pair in req.holders.windows(2) {
            prop_assert!(!pair[0].same(&pair[1]), "consecutive holders are merged");
        }
        let mut prev: Option<(i64, usize)> = None;
        for ev in &req.events {
            let (index, _) = text(req, ev).split_once(':').unwrap();
            let index: usize = index.parse().unwrap();
            if let Some((ts, i)) = prev {
                prop_assert!(ts < ev.timestamp_ms || (ts == ev.timestamp_ms && i < index));
            }
            prev = Some((ev.timestamp_ms, index));
            let holder = *req.holders[ev.holder as usize];
            prop_assert!(seen.insert(index, (&req.key.stream, ev, holder)).is_none());
        }
    }
    prop_assert_eq!(seen.len(), ops.len(), "nothing lost");
    for (i, &(stream, ts, _, holder, _)) in ops.iter().enumerate() {
        let (got_stream, ev, got_holder) = seen[&i];
        prop_assert_eq!(got_stream, stream.to_string());
        prop_assert_eq!(ev.timestamp_ms, ts);
        prop_assert_eq!(got_holder, holder);
    }
    Ok(())
}

fn ops(max_len: usize, max_ts: i64, n: usize) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec((0..8usize, 0..max_ts, 0..max_len, 0..4u32, 0..300u64), 0..n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn small_limits_hold_for_random_streams(
        ops in ops(120, 50, 200),
        max_events in 1..8usize,
        max_span_ms in 1..40i64,
        max_pending_bytes in 150..2_000usize,
    ) {
        let limits = Limits {
            max_bytes: 300,
            max_events,
            max_span_ms,
            flush_after: Duration::from_secs(1),
            max_pending_bytes,
            max_pending_memory: 1 << 30,
        };
        let reqs = run(limits, &ops);
        check(limits, &ops, &reqs)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn cloudwatch_limits_hold_for_large_events_across_days(
        ops in ops(MAX_BATCH_BYTES - 26, 5 * MAX_SPAN_MS, 40),
    ) {
        let reqs = run(Limits::default(), &ops);
        check(Limits::default(), &ops, &reqs)?;
    }
}
