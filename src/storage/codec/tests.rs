use proptest::prelude::*;

use super::*;

fn ev(tag: &str, secs: i64, nanos: u32, record: &[u8]) -> Event {
    Event {
        tag: Arc::from(tag),
        time: EventTime::new(secs, nanos),
        record: Bytes::copy_from_slice(record),
    }
}

fn events_of(payload: Vec<u8>) -> Vec<Event> {
    decode_batch(&Bytes::from(payload)).unwrap().events
}

/// A version 2 payload's head (version and sequence number 0) followed by `rest`.
fn v2(rest: &[u8]) -> Vec<u8> {
    let mut p = vec![CODEC_VERSION, 0, 0, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(rest);
    p
}

/// What a build before sequence numbers wrote for `[ev("app", 1_700_000_000, 5, b"\x81\xa1k\x01"),
/// ev("app", -1, 0, b"\x80")]`, byte for byte.
const V1_PAYLOAD: &[u8] = &[
    1, // version
    1, 3, b'a', b'p', b'p', // one tag
    2,    // two events
    0, 0x80, 0xc4, 0x9f, 0xd5, 0x0c, 5, 4, 0x81, 0xa1, b'k',
    0x01, // tag 0, secs, nanos, record
    0, 1, 0, 1, 0x80,
];

#[test]
fn version_1_payloads_of_older_builds_still_decode_without_sequence_numbers() {
    let batch = decode_batch(&Bytes::from_static(V1_PAYLOAD)).unwrap();
    assert_eq!(batch.first_seq, None);
    assert_eq!(
        batch.events,
        vec![
            ev("app", 1_700_000_000, 5, b"\x81\xa1k\x01"),
            ev("app", -1, 0, b"\x80"),
        ]
    );
    assert_eq!(
        crate::storage::test_util::v1_payload(&batch.events),
        V1_PAYLOAD,
        "the tests' old-format helper writes what older builds wrote"
    );
    let head = batch_head(V1_PAYLOAD).unwrap();
    assert_eq!(
        head,
        BatchHead {
            first_seq: None,
            records: 2
        }
    );
    assert_eq!(head.end_seq(), None);
    let mut old = V1_PAYLOAD.to_vec();
    assert!(!set_first_seq(&mut old, 7), "no slot to write in");
    assert_eq!(old, V1_PAYLOAD);
}

#[test]
fn the_writer_fills_in_the_first_sequence_number() {
    let events = vec![ev("a", 1, 2, b"\x80"), ev("b", 3, 4, b"\x80")];
    let mut payload = encode_batch(&events);
    assert_eq!(batch_head(&payload).unwrap().first_seq, Some(0));
    assert!(set_first_seq(&mut payload, 1_234_567));
    let head = batch_head(&payload).unwrap();
    assert_eq!(head.first_seq, Some(1_234_567));
    assert_eq!(head.end_seq(), Some(1_234_569));
    let batch = decode_batch(&Bytes::from(payload)).unwrap();
    assert_eq!(batch.first_seq, Some(1_234_567));
    assert_eq!(batch.events, events);
    assert!(!set_first_seq(&mut [CODEC_VERSION, 1, 2], 1), "too short");
}

#[test]
fn one_tag_is_stored_once_and_shared_after_decoding() {
    let events = vec![
        ev("app.web", 1_700_000_000, 5, b"\x81\xa3log\xa1a"),
        ev("app.web", 1_700_000_001, 999_999_999, b"\x80"),
    ];
    let payload = encode_batch(&events);
    assert_eq!(payload.windows(7).filter(|w| w == b"app.web").count(), 1);
    let decoded = events_of(payload);
    assert_eq!(decoded, events);
    assert!(Arc::ptr_eq(&decoded[0].tag, &decoded[1].tag));
}

#[test]
fn records_are_slices_of_the_payload() {
    let payload = Bytes::from(encode_batch(&[ev("t", 1, 2, b"\x81\xa1k\xa1v")]));
    let decoded = decode_batch(&payload).unwrap().events;
    let range = payload.as_ptr_range();
    assert!(range.contains(&decoded[0].record.as_ptr()));
}

#[test]
fn an_empty_batch_round_trips() {
    let payload = encode_batch(&[]);
    assert_eq!(events_of(payload), vec![]);
}

#[test]
fn invalid_payloads_are_errors() {
    let good = encode_batch(&[ev("t", -5, 7, b"\x80")]);
    assert_eq!(decode_batch(&Bytes::new()), Err(DecodeError::Empty));
    assert_eq!(
        decode_batch(&Bytes::from_static(&[9])),
        Err(DecodeError::UnknownVersion(9))
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        decode_batch(&Bytes::from(trailing)),
        Err(DecodeError::TrailingBytes(1))
    );
    for cut in 1..good.len() {
        assert!(
            decode_batch(&Bytes::copy_from_slice(&good[..cut])).is_err(),
            "cut {cut}"
        );
    }
    // A count of 2^62 events must be refused before allocating.
    let mut huge = v2(&[0]);
    put_varint(&mut huge, 1 << 62);
    assert_eq!(
        decode_batch(&Bytes::from(huge)),
        Err(DecodeError::CountTooLarge(1 << 62))
    );
    // nanos of 1e9 is not an EventTime.
    let mut bad_nanos = v2(&[1, 1, b't', 1, 0, 0]);
    put_varint(&mut bad_nanos, 1_000_000_000);
    bad_nanos.push(0);
    assert_eq!(
        decode_batch(&Bytes::from(bad_nanos)),
        Err(DecodeError::BadNanos(1_000_000_000))
    );
    // Tag index out of range.
    let bad_index = v2(&[1, 1, b't', 1, 1, 0, 0, 0]);
    assert_eq!(
        decode_batch(&Bytes::from(bad_index)),
        Err(DecodeError::BadTagIndex { index: 1, count: 1 })
    );
    // An 11-byte varint.
    let long = v2(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert_eq!(
        decode_batch(&Bytes::from(long)),
        Err(DecodeError::BadVarint("tag count"))
    );
}

#[test]
fn extreme_times_round_trip() {
    let events = vec![
        ev("a", i64::MIN, 0, b""),
        ev("b", i64::MAX, 999_999_999, b""),
    ];
    assert_eq!(events_of(encode_batch(&events)), events);
}

fn arb_event() -> impl Strategy<Value = Event> {
    (
        prop::sample::select(vec!["a", "b", "app.web", "", "ünï"]),
        any::<i64>(),
        0u32..1_000_000_000,
        proptest::collection::vec(any::<u8>(), 0..50),
    )
        .prop_map(|(tag, secs, nanos, record)| ev(tag, secs, nanos, &record))
}

proptest! {
    #[test]
    fn batches_round_trip(events in proptest::collection::vec(arb_event(), 0..20), seq in any::<u64>()) {
        let mut payload = encode_batch(&events);
        prop_assert!(set_first_seq(&mut payload, seq));
        let head = batch_head(&payload).unwrap();
        prop_assert_eq!(head, BatchHead { first_seq: Some(seq), records: events.len() as u64 });
        let decoded = decode_batch(&Bytes::from(payload)).unwrap();
        prop_assert_eq!(decoded.first_seq, Some(seq));
        prop_assert_eq!(decoded.events, events);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = bytes;
        if let Some(b) = bytes.first_mut() {
            // Reach past the version check most of the time, in both versions.
            *b = if *b & 1 == 0 { CODEC_VERSION } else { CODEC_VERSION_1 };
        }
        let _ = batch_head(&bytes);
        let _ = decode_batch(&Bytes::from(bytes));
    }

    #[test]
    fn decoding_damaged_batches_never_panics(
        events in proptest::collection::vec(arb_event(), 1..5),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let mut payload = encode_batch(&events);
        for (i, x) in flips {
            let i = i.index(payload.len());
            payload[i] ^= x;
        }
        let _ = batch_head(&payload);
        let _ = decode_batch(&Bytes::from(payload));
    }
}
