use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn skips_message_vector_and_reports_incomplete_prefixes() {
    let v = hex("93a87461672e6e616d65ce55ece6f881a76d657373616765a3626172");
    assert_eq!(skip_value(&v, 0), Ok(v.len()));
    for cut in 0..v.len() {
        assert_eq!(
            skip_value(&v[..cut], 0),
            Err(ReadError::Incomplete),
            "cut {cut}"
        );
    }
}

#[test]
fn reads_every_integer_encoding() {
    let cases: &[(&str, Token)] = &[
        ("7f", Token::UInt(127)),
        ("ff", Token::Int(-1)),
        ("cc80", Token::UInt(128)),
        ("cd0100", Token::UInt(256)),
        ("ce55ece6f8", Token::UInt(1441588984)),
        ("cf0000000100000000", Token::UInt(1 << 32)),
        ("d0ff", Token::Int(-1)),
        ("d1ff00", Token::Int(-256)),
        ("d255ece6f8", Token::Int(1441588984)),
        ("d30000000055ece6f8", Token::Int(1441588984)),
    ];
    for (h, want) in cases {
        let b = hex(h);
        assert_eq!(read_token(&b, 0), Ok((*want, b.len())), "{h}");
    }
}

#[test]
fn rejects_reserved_marker_and_skips_deep_nesting_without_recursion() {
    assert!(matches!(read_token(&[0xc1], 0), Err(ReadError::Invalid(_))));
    let mut deep = vec![0x91u8; 100_000];
    deep.push(0xc0);
    assert_eq!(skip_value(&deep, 0), Ok(deep.len()));
    assert_eq!(
        skip_value(&deep[..deep.len() - 1], 0),
        Err(ReadError::Incomplete)
    );
    assert!(matches!(
        skip_value(&[0x92, 0x01, 0xc1], 0),
        Err(ReadError::Invalid(_))
    ));
}

#[test]
fn huge_container_count_is_incomplete_not_a_hang() {
    assert_eq!(
        skip_value(&[0xdd, 0xff, 0xff, 0xff, 0xff], 0),
        Err(ReadError::Incomplete)
    );
}

#[test]
fn map_get_finds_string_keys_only() {
    // {"a": 1, 2: "x", "log": "hi"}
    let rec = hex("83a16101 02a178 a36c6f67a26869".replace(' ', "").as_str());
    assert_eq!(map_get(&rec, b"a"), Some(&[0x01][..]));
    assert_eq!(
        as_str_bytes(map_get(&rec, b"log").unwrap()),
        Some(&b"hi"[..])
    );
    assert_eq!(map_get(&rec, b"zz"), None);
    assert_eq!(map_get(&[0x92, 1, 2], b"a"), None);
}

#[test]
fn map_entries_read_each_pair_once_and_stop_at_a_broken_one() {
    // {"a": 1, 2: "x", "log": "hi"}
    let rec = hex("83a16101 02a178 a36c6f67a26869".replace(' ', "").as_str());
    let all: Vec<Entry> = MapEntries::new(&rec).unwrap().map(Result::unwrap).collect();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[0],
        Entry {
            key: Some(b"a"),
            start: 1,
            value: 3,
            end: 4
        }
    );
    assert_eq!((all[1].key, all[1].value, all[1].end), (None, 5, 7));
    assert_eq!(
        (all[2].key, &rec[all[2].value..all[2].end]),
        (Some(&b"log"[..]), &hex("a26869")[..])
    );
    let cut: Vec<_> = MapEntries::new(&rec[..rec.len() - 1]).unwrap().collect();
    assert_eq!(cut.len(), 3);
    assert_eq!(cut[2], Err(ReadError::Incomplete));
    assert!(MapEntries::new(&[0x91, 0x01]).is_none());
}

proptest::proptest! {
    #[test]
    fn the_scalar_fast_path_agrees_with_the_general_walk(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        pos in 0usize..8,
    ) {
        proptest::prop_assert_eq!(skip_value(&bytes, pos), skip_any(&bytes, pos).map(|(end, _)| end));
    }
}

/// `levels` maps nested inside each other (`{"k": {"k": ... {}}}`), the outermost first.
fn nested_maps(levels: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..levels - 1 {
        v.extend_from_slice(&[0x81, 0xa1, b'k']);
    }
    v.push(0x80);
    v
}

#[test]
fn depth_check_agrees_with_what_the_json_transcoder_refuses() {
    for levels in [1, 2, 127, 128, 129, 130, 200] {
        let value = nested_maps(levels);
        let (end, too_deep) = skip_value_checking_depth(&value, 0).unwrap();
        assert_eq!(end, value.len());
        let mut out = Vec::new();
        let refused =
            crate::msgpack::json::write_value(&value, &mut out, &mut Default::default()).is_err();
        assert_eq!(too_deep, refused, "{levels} levels");
        assert_eq!(too_deep, levels > MAX_DEPTH, "{levels} levels");
    }
}

#[test]
fn many_containers_side_by_side_are_not_deep() {
    // A map of 300 empty arrays: 301 containers, two levels.
    let mut value = vec![0xde, 0x01, 0x2c];
    for i in 0..300u16 {
        value.extend_from_slice(&[0xcd]);
        value.extend_from_slice(&i.to_be_bytes());
        value.push(0x90);
    }
    assert_eq!(
        skip_value_checking_depth(&value, 0),
        Ok((value.len(), false))
    );
}
