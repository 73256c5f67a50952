use proptest::prelude::*;

use super::*;

fn frames(payloads: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
    let mut buf = Vec::new();
    let mut starts = Vec::new();
    for p in payloads {
        starts.push(buf.len());
        encode_frame(&mut buf, p);
    }
    (buf, starts)
}

/// Every valid frame `scan` finds from position 0, following `resume` after corruption.
fn all_payloads(buf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        match scan(buf, pos) {
            Scanned::Frame { payload, next } => {
                out.push(buf[payload].to_vec());
                pos = next;
            }
            Scanned::Corrupt { at, resume, .. } => {
                assert!(resume > at, "resume must make progress");
                pos = resume;
            }
            Scanned::Incomplete { .. } => {
                if pos >= buf.len() {
                    return out;
                }
                // Treat the rest as corrupt and look further (what a sealed-file reader does).
                pos = resync(buf, pos + 1);
            }
        }
    }
}

#[test]
fn frames_scan_back_in_order() {
    let (buf, starts) = frames(&[b"one", b"", b"three"]);
    assert_eq!(
        scan(&buf, 0),
        Scanned::Frame {
            payload: 12..15,
            next: starts[1]
        }
    );
    assert_eq!(
        scan(&buf, starts[1]),
        Scanned::Frame {
            payload: starts[1] + 12..starts[1] + 12,
            next: starts[2]
        }
    );
    assert_eq!(
        all_payloads(&buf),
        vec![b"one".to_vec(), vec![], b"three".to_vec()]
    );
}

#[test]
fn a_split_at_every_byte_is_incomplete_never_corrupt() {
    let (buf, _) = frames(&[b"hello world"]);
    for cut in 0..buf.len() {
        let needed = if cut < FRAME_HEADER_BYTES {
            12
        } else {
            buf.len()
        };
        assert_eq!(
            scan(&buf[..cut], 0),
            Scanned::Incomplete { needed },
            "cut {cut}"
        );
    }
    assert!(matches!(scan(&buf, 0), Scanned::Frame { .. }));
}

#[test]
fn a_bad_crc_is_corrupt_and_resumes_at_the_next_valid_frame() {
    let (mut buf, starts) = frames(&[b"first", b"second", b"third"]);
    buf[starts[1] + 13] ^= 0x01;
    assert_eq!(
        scan(&buf, starts[1]),
        Scanned::Corrupt {
            at: starts[1],
            resume: starts[2],
            reason: CorruptReason::CrcMismatch
        }
    );
    assert_eq!(
        all_payloads(&buf),
        vec![b"first".to_vec(), b"third".to_vec()]
    );
}

#[test]
fn a_huge_length_is_rejected_from_the_header_alone() {
    let mut buf = SYNC_MARKER.to_vec();
    buf.extend_from_slice(&(MAX_PAYLOAD_BYTES as u32 + 1).to_le_bytes());
    buf.extend_from_slice(&0u32.to_le_bytes());
    match scan(&buf, 0) {
        Scanned::Corrupt { reason, resume, .. } => {
            assert_eq!(
                reason,
                CorruptReason::LengthTooLarge(MAX_PAYLOAD_BYTES as u32 + 1)
            );
            assert_eq!(resume, buf.len());
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[test]
fn a_maximum_length_is_only_incomplete() {
    let mut buf = SYNC_MARKER.to_vec();
    buf.extend_from_slice(&(MAX_PAYLOAD_BYTES as u32).to_le_bytes());
    buf.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(
        scan(&buf, 0),
        Scanned::Incomplete {
            needed: FRAME_HEADER_BYTES + MAX_PAYLOAD_BYTES
        }
    );
}

#[test]
fn resume_stops_at_a_marker_the_buffer_cuts_off() {
    let (full, starts) = frames(&[b"aaaa", b"bbbb"]);
    let mut buf = vec![0u8; 5];
    buf.extend_from_slice(&full[starts[1]..starts[1] + 6]); // marker + part of the length
    assert_eq!(
        scan(&buf, 0),
        Scanned::Corrupt {
            at: 0,
            resume: 5,
            reason: CorruptReason::BadMarker
        }
    );
    // A lone marker prefix at the very end is also a place to look again.
    let buf = [0u8, 0, SYNC_MARKER[0], SYNC_MARKER[1]];
    assert!(matches!(scan(&buf, 0), Scanned::Corrupt { resume: 2, .. }));
}

#[test]
fn a_position_past_the_end_does_not_panic() {
    assert_eq!(scan(b"", 10), Scanned::Incomplete { needed: 12 });
    assert_eq!(resync(b"abc", 10), 3);
}

proptest! {
    #[test]
    fn scan_never_panics_and_only_returns_matching_crcs(
        buf in proptest::collection::vec(any::<u8>(), 0..300),
        pos in 0usize..320,
    ) {
        match scan(&buf, pos) {
            Scanned::Frame { payload, next } => {
                prop_assert_eq!(payload.end, next);
                let h = &buf[payload.start - 12..payload.start];
                let crc = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
                prop_assert_eq!(crc32c::crc32c(&buf[payload]), crc);
            }
            Scanned::Corrupt { at, resume, .. } => prop_assert!(resume > at && resume <= buf.len()),
            Scanned::Incomplete { needed } => prop_assert!(needed >= 12),
        }
    }

    #[test]
    fn garbage_between_frames_costs_no_frame(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..8),
        garbage in proptest::collection::vec(any::<u8>(), 1..30),
        at in any::<prop::sample::Index>(),
    ) {
        let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_slice()).collect();
        let (mut buf, starts) = frames(&refs);
        let insert_at = starts[at.index(starts.len())];
        buf.splice(insert_at..insert_at, garbage.iter().copied());
        prop_assert_eq!(all_payloads(&buf), payloads);
    }
}
