use proptest::prelude::*;

use super::*;
use crate::msgpack::writer::{write_map_len, write_str};

/// A map of `pairs`; a key starting with `#` is written as that many-th integer instead of a str.
fn map(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    write_map_len(&mut out, pairs.len() as u32);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if k.starts_with('#') {
            out.push(i as u8);
        } else {
            write_str(&mut out, k.as_bytes());
        }
        write_str(&mut out, v.as_bytes());
    }
    out
}

#[test]
fn finds_the_last_duplicate_and_only_str_keys() {
    let rec = map(&[("a", "1"), ("#", "int key"), ("b", "2"), ("a", "3")]);
    let mut ix = MapIndex::new();
    assert_eq!(ix.get(&rec, b"a"), Some(&[0xa1, b'3'][..]));
    assert_eq!(ix.get(&rec, b"b"), Some(&[0xa1, b'2'][..]));
    assert_eq!(ix.get(&rec, b"c"), None);
    let slots = ix.entries(&rec).unwrap();
    assert_eq!(slots.len(), 4);
    assert_eq!(slots[1].key(&rec), None);
    assert_eq!(slots[3].pair(&rec), &[0xa1, b'a', 0xa1, b'3']);
}

#[test]
fn what_it_cannot_index_is_walked() {
    let mut ix = MapIndex::new();
    // Not a map.
    assert_eq!(ix.entries(&[0x91, 0x01]), None);
    assert_eq!(ix.get(&[0x91, 0x01], b"a"), None);
    // More entries than it holds: lookups still find them.
    let keys: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("k{i}")).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
    let big = map(&pairs);
    ix.clear();
    assert_eq!(ix.entries(&big), None);
    assert_eq!(ix.get(&big, b"k32"), Some(&[0xa1, b'v'][..]));
    // A truncated record.
    let rec = map(&[("a", "1"), ("b", "2")]);
    ix.clear();
    assert_eq!(ix.entries(&rec[..rec.len() - 1]), None);
    assert_eq!(ix.get(&rec[..rec.len() - 1], b"a"), None);
}

#[test]
fn a_cleared_index_reads_the_next_record() {
    let mut ix = MapIndex::new();
    let one = map(&[("a", "1")]);
    let two = map(&[("b", "2"), ("a", "22")]);
    assert!(ix.get(&one, b"a").is_some());
    ix.clear();
    assert_eq!(ix.get(&two, b"a"), Some(&[0xa2, b'2', b'2'][..]));
    assert!(ix.describes(&two));
    assert!(!ix.describes(&one));
}

#[test]
fn a_written_index_describes_the_record_written() {
    let mut rec = Vec::new();
    let mut ix = MapIndex::new();
    rec.extend_from_slice(&[0xdf, 0, 0, 0, 2]);
    ix.begin();
    for (k, v) in [("key", "value"), ("k2", "v2")] {
        let start = rec.len();
        write_str(&mut rec, k.as_bytes());
        let value = rec.len();
        write_str(&mut rec, v.as_bytes());
        ix.push_str_key(start, k.len(), value, rec.len());
    }
    assert!(ix.describes(&rec));
    // Shifting by a header that shrank to a fixmap.
    let mut small = vec![0x82];
    small.extend_from_slice(&rec[5..]);
    let mut shifted = MapIndex::new();
    shifted.begin();
    for s in ix.entries(&rec).unwrap() {
        shifted.push(s.shifted(-4));
    }
    assert!(shifted.describes(&small));
    assert!(!shifted.describes(&rec));
}

#[test]
fn pushing_past_the_capacity_makes_it_unindexable() {
    let mut ix = MapIndex::new();
    ix.begin();
    for _ in 0..=MAX_ENTRIES {
        ix.push(Slot::default());
    }
    assert!(ix.is_known());
    assert_eq!(ix.entries(&[0x80]), None);
}

proptest! {
    /// Lookups through the index answer as `map_get` does, for any bytes after a map header.
    #[test]
    fn answers_as_map_get(
        pairs in proptest::collection::vec(("[abc]{0,2}", "[a-z]{0,3}"), 0..40),
        cut in any::<prop::sample::Index>(),
        probe in "[abc]{0,2}",
    ) {
        let owned: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let rec = map(&owned);
        let end = cut.index(rec.len() + 1);
        for rec in [&rec[..], &rec[..end]] {
            let mut ix = MapIndex::new();
            prop_assert_eq!(ix.get(rec, probe.as_bytes()), map_get(rec, probe.as_bytes()));
            prop_assert!(ix.describes(rec));
        }
    }
}
