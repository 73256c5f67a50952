use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::event::Event;
use crate::event::ack::AckToken;
use crate::forward::codec::{
    DecodeLimits, DecodeStats, FrameInfo, Mode, TagCache, check_frame, decode_frame,
};
use crate::rng::Rng;

const LIMITS: DecodeLimits = DecodeLimits {
    max_frame_bytes: 64 << 20,
    max_decompressed_bytes: 64 << 20,
};

fn opts() -> EncodeOptions {
    EncodeOptions {
        time_as_integer: false,
        gzip: false,
        tag: None,
        max_payload_bytes: 1 << 20,
        with_chunk: true,
    }
}

/// A record `{"log": <log>}`.
fn record(log: &[u8]) -> Bytes {
    let mut out = vec![0x81];
    write_str(&mut out, b"log");
    write_str(&mut out, log);
    Bytes::from(out)
}

fn event(tag: &str, secs: i64, nanos: u32, log: &[u8]) -> Event {
    Event {
        tag: Arc::from(tag),
        time: EventTime::new(secs, nanos),
        record: record(log),
    }
}

fn batch(events: Vec<Event>) -> Arc<Batch> {
    let bytes = Batch::record_bytes(&events);
    Arc::new(Batch::new(events, bytes, AckToken::none(), None))
}

/// Decodes every frame with the forward input's decoder: (events, info per frame).
fn decode(frames: &[Frame]) -> (Vec<Event>, Vec<FrameInfo>) {
    let mut tags = TagCache::new(None, None);
    let mut events = Vec::new();
    let mut infos = Vec::new();
    for f in frames {
        assert_eq!(check_frame(&f.bytes, &LIMITS), Ok(Some(f.bytes.len())));
        let mut stats = DecodeStats::default();
        let info = decode_frame(f.bytes.clone(), &LIMITS, &mut tags, &mut events, &mut stats)
            .expect("our frames decode");
        assert_eq!(stats.invalid_events, 0);
        assert_eq!(info.events, f.records);
        infos.push(info);
    }
    (events, infos)
}

#[test]
fn one_frame_per_tag_run_with_event_times_and_records_as_is() {
    let round = vec![
        batch(vec![
            event("a", 1_700_000_000, 5, b"one"),
            event("a", 1_700_000_001, 999_999_999, b"\xff\xfe not utf-8"),
        ]),
        batch(vec![event("b", 1, 0, b"three"), event("a", 2, 0, b"four")]),
    ];
    let mut rng = Rng::new(1);
    let enc = encode_round(&round, &opts(), &mut rng);
    assert!(enc.too_large.is_empty());
    assert_eq!(
        enc.frames.iter().map(|f| f.records).collect::<Vec<_>>(),
        [2, 1, 1]
    );
    let (events, infos) = decode(&enc.frames);
    let sent: Vec<Event> = round.iter().flat_map(|b| b.events.clone()).collect();
    assert_eq!(events, sent);
    for (info, frame) in infos.iter().zip(&enc.frames) {
        assert_eq!(info.mode, Mode::PackedForward);
        let chunk = frame.chunk.as_deref().expect("a chunk id");
        assert_eq!(chunk.len(), 24, "base64 of 16 bytes");
        let mut want = Vec::new();
        write_str(&mut want, chunk.as_bytes());
        assert_eq!(info.chunk.as_deref(), Some(&want[..]));
    }
    assert_ne!(enc.frames[0].chunk, enc.frames[1].chunk);
}

#[test]
fn gzip_frames_decode_as_compressed_packed_forward() {
    let round = vec![batch(
        (0..100)
            .map(|i| event("t", 1_700_000_000 + i, 7, format!("line {i}").as_bytes()))
            .collect(),
    )];
    let o = EncodeOptions {
        gzip: true,
        ..opts()
    };
    let enc = encode_round(&round, &o, &mut Rng::new(2));
    assert_eq!(enc.frames.len(), 1);
    let (events, infos) = decode(&enc.frames);
    assert_eq!(infos[0].mode, Mode::CompressedPackedForward);
    assert_eq!(events, round[0].events);
    let plain = encode_round(&round, &opts(), &mut Rng::new(2));
    assert!(enc.frames[0].bytes.len() < plain.frames[0].bytes.len() / 2);
}

#[test]
fn integer_times_drop_the_nanoseconds_and_the_tag_can_be_replaced() {
    let round = vec![batch(vec![
        event("a", 1_700_000_000, 123, b"x"),
        event("b", 5, 0, b"y"),
        event("c", 127, 0, b"z"),
    ])];
    let o = EncodeOptions {
        time_as_integer: true,
        tag: Some(Arc::from("agg.in")),
        with_chunk: false,
        ..opts()
    };
    let enc = encode_round(&round, &o, &mut Rng::new(3));
    assert_eq!(enc.frames.len(), 1, "one tag after the override");
    assert_eq!(enc.frames[0].chunk, None);
    let (events, infos) = decode(&enc.frames);
    assert_eq!(infos[0].chunk, None);
    let got: Vec<(&str, i64, u32)> = events
        .iter()
        .map(|e| (&*e.tag, e.time.secs, e.time.nanos))
        .collect();
    assert_eq!(
        got,
        [
            ("agg.in", 1_700_000_000, 0),
            ("agg.in", 5, 0),
            ("agg.in", 127, 0)
        ]
    );
}

#[test]
fn frames_are_split_at_the_cap_and_oversized_events_reported() {
    let round = vec![
        batch(vec![event("t", 1, 0, &[b'a'; 100]); 10]),
        batch(vec![event("t", 1, 0, &[b'b'; 2000])]),
    ];
    let o = EncodeOptions {
        max_payload_bytes: 500,
        ..opts()
    };
    let enc = encode_round(&round, &o, &mut Rng::new(4));
    assert_eq!(enc.too_large, [1]);
    // Each entry is 1 + 10 + 106 = 117 bytes: 4 fit in 500.
    assert_eq!(
        enc.frames.iter().map(|f| f.records).collect::<Vec<_>>(),
        [4, 4, 2]
    );
    let (events, _) = decode(&enc.frames);
    assert_eq!(events, round[0].events);
}

#[test]
fn an_empty_round_makes_no_frame() {
    let enc = encode_round(&[batch(Vec::new())], &opts(), &mut Rng::new(5));
    assert!(enc.frames.is_empty());
}

fn arb_event() -> impl Strategy<Value = Event> {
    (
        prop::sample::select(vec!["a", "b", "app.web"]),
        0i64..=i64::from(u32::MAX),
        0u32..1_000_000_000,
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(tag, secs, nanos, log)| event(tag, secs, nanos, &log))
}

proptest! {
    #[test]
    fn encode_then_decode_keeps_tags_times_and_records_in_order(
        batches in prop::collection::vec(prop::collection::vec(arb_event(), 0..20), 1..5),
        gzip in any::<bool>(),
        cap in 400usize..4000,
    ) {
        let round: Vec<Arc<Batch>> = batches.into_iter().map(batch).collect();
        let o = EncodeOptions { gzip, max_payload_bytes: cap, ..opts() };
        let enc = encode_round(&round, &o, &mut Rng::new(6));
        prop_assert!(enc.too_large.is_empty());
        let (events, _) = decode(&enc.frames);
        let sent: Vec<Event> = round.iter().flat_map(|b| b.events.clone()).collect();
        prop_assert_eq!(events, sent);
        for f in &enc.frames {
            prop_assert!(f.bytes.len() <= cap + 100);
        }
    }
}
