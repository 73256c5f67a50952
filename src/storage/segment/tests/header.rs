//! Segment headers of both versions, and file names.

use super::*;
use crate::storage::test_util::v1_header;

#[test]
fn headers_round_trip_and_reject_damage() {
    let h = encode_header(0xabc, 1_000_001);
    let want = SegmentHeader {
        id: 0xabc,
        first_seq: Some(1_000_001),
        len_bytes: SEGMENT_HEADER_BYTES as u64,
    };
    assert_eq!(decode_header(&h), Ok(want));
    assert_eq!(decode_header(&h[..31]), Err(HeaderError::TooShort(31)));
    assert_eq!(decode_header(&h[..5]), Err(HeaderError::TooShort(5)));
    let mut bad = h;
    bad[0] ^= 1;
    assert_eq!(decode_header(&bad), Err(HeaderError::BadMagic));
    for i in [13, 22] {
        let mut bad = h;
        bad[i] ^= 1;
        assert_eq!(decode_header(&bad), Err(HeaderError::BadCrc), "byte {i}");
    }
    let mut v3 = h;
    v3[8] = 3;
    assert_eq!(decode_header(&v3), Err(HeaderError::UnsupportedVersion(3)));
}

#[test]
fn version_1_segments_of_older_builds_are_still_read() {
    let h = v1_header(0xabc);
    assert_eq!(h.len(), SEGMENT_V1_HEADER_BYTES);
    let want = SegmentHeader {
        id: 0xabc,
        first_seq: None,
        len_bytes: SEGMENT_V1_HEADER_BYTES as u64,
    };
    assert_eq!(decode_header(&h), Ok(want));
    let mut bad = h.clone();
    bad[13] ^= 1;
    assert_eq!(decode_header(&bad), Err(HeaderError::BadCrc));
    // Frames start right after the shorter header; recovery and readers find them there.
    let dir = tempfile::tempdir().unwrap();
    let written = payloads(3, 10);
    let mut bytes = v1_header(5);
    for p in &written {
        crate::storage::frame::encode_frame(&mut bytes, p);
    }
    bytes.extend_from_slice(&[0xfb, b'F']); // a torn write
    let path = write_image(dir.path(), 5, &bytes);
    let r = usable(recover(&path).unwrap());
    assert_eq!(r.header.first_seq, None);
    assert_eq!((r.valid_frames, r.torn_bytes()), (3, 2));
    let (frames, skipped) = read_back(&path);
    assert_eq!(frames, written);
    assert!(skipped.is_empty());
}

#[test]
fn file_names_are_sixteen_lowercase_hex_digits() {
    assert_eq!(segment_file_name(0x1f), "000000000000001f.wal");
    assert_eq!(parse_segment_file_name("000000000000001f.wal"), Some(0x1f));
    for bad in [
        "000000000000001F.wal",
        "1f.wal",
        "000000000000001f.wa",
        "+00000000000001f.wal",
    ] {
        assert_eq!(parse_segment_file_name(bad), None, "{bad}");
    }
}
