use proptest::prelude::*;

use super::*;

fn ev(tag: &str, secs: i64, nanos: u32, record: &[u8]) -> Event {
    Event {
        tag: Arc::from(tag),
        time: EventTime::new(secs, nanos),
        record: Bytes::copy_from_slice(record),
    }
}

#[test]
fn one_tag_is_stored_once_and_shared_after_decoding() {
    let events = vec![
        ev("app.web", 1_700_000_000, 5, b"\x81\xa3log\xa1a"),
        ev("app.web", 1_700_000_001, 999_999_999, b"\x80"),
    ];
    let payload = encode_batch(&events);
    assert_eq!(payload.windows(7).filter(|w| w == b"app.web").count(), 1);
    let decoded = decode_batch(&Bytes::from(payload)).unwrap();
    assert_eq!(decoded, events);
    assert!(Arc::ptr_eq(&decoded[0].tag, &decoded[1].tag));
}

#[test]
fn records_are_slices_of_the_payload() {
    let payload = Bytes::from(encode_batch(&[ev("t", 1, 2, b"\x81\xa1k\xa1v")]));
    let decoded = decode_batch(&payload).unwrap();
    let range = payload.as_ptr_range();
    assert!(range.contains(&decoded[0].record.as_ptr()));
}

#[test]
fn an_empty_batch_round_trips() {
    let payload = encode_batch(&[]);
    assert_eq!(decode_batch(&Bytes::from(payload)).unwrap(), vec![]);
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
    let mut huge = vec![CODEC_VERSION, 0];
    put_varint(&mut huge, 1 << 62);
    assert_eq!(
        decode_batch(&Bytes::from(huge)),
        Err(DecodeError::CountTooLarge(1 << 62))
    );
    // nanos of 1e9 is not an EventTime.
    let mut bad_nanos = vec![CODEC_VERSION, 1, 1, b't', 1, 0, 0];
    put_varint(&mut bad_nanos, 1_000_000_000);
    bad_nanos.push(0);
    assert_eq!(
        decode_batch(&Bytes::from(bad_nanos)),
        Err(DecodeError::BadNanos(1_000_000_000))
    );
    // Tag index out of range.
    let bad_index = vec![CODEC_VERSION, 1, 1, b't', 1, 1, 0, 0, 0];
    assert_eq!(
        decode_batch(&Bytes::from(bad_index)),
        Err(DecodeError::BadTagIndex { index: 1, count: 1 })
    );
    // An 11-byte varint.
    let long = vec![
        CODEC_VERSION,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0x7f,
    ];
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
    let decoded = decode_batch(&Bytes::from(encode_batch(&events))).unwrap();
    assert_eq!(decoded, events);
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
    fn batches_round_trip(events in proptest::collection::vec(arb_event(), 0..20)) {
        let decoded = decode_batch(&Bytes::from(encode_batch(&events))).unwrap();
        prop_assert_eq!(decoded, events);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = bytes;
        if let Some(b) = bytes.first_mut() {
            *b = CODEC_VERSION; // reach past the version check most of the time
        }
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
        let _ = decode_batch(&Bytes::from(payload));
    }
}
