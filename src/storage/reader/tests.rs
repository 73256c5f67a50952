use std::fs::OpenOptions;
use std::io::Write;

use proptest::prelude::*;

use super::*;
use crate::storage::frame::{FRAME_HEADER_BYTES, encode_frame};
use crate::storage::segment::{SEGMENT_HEADER_BYTES, SegmentWriter};
use crate::storage::test_util::{image, payloads, read_sealed};

fn write_segment(dir: &Path, id: u64, payloads: &[Vec<u8>]) -> (std::path::PathBuf, Vec<FramePos>) {
    let mut w = SegmentWriter::create(dir, id, 0).unwrap();
    let pos = payloads.iter().map(|p| w.append(p).unwrap()).collect();
    w.sync().unwrap();
    (w.path().to_path_buf(), pos)
}

fn frames(reader: &mut SegmentReader) -> Vec<ReadFrame> {
    let mut out = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        match item {
            ReadItem::Frame(f) => out.push(f),
            ReadItem::Skipped(span) => panic!("unexpected skip {span:?}"),
        }
    }
    out
}

#[test]
fn a_small_chunk_still_reads_a_frame_larger_than_the_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let written = vec![vec![1u8; 10], vec![2u8; 10_000], vec![3u8; 5]];
    let (path, pos) = write_segment(dir.path(), 7, &written);
    let mut reader = SegmentReader::open(&path, 0, 16).unwrap();
    let read = frames(&mut reader);
    let payloads: Vec<Vec<u8>> = read.iter().map(|f| f.payload.to_vec()).collect();
    assert_eq!(payloads, written);
    assert_eq!(read.iter().map(|f| f.pos).collect::<Vec<_>>(), pos);
    assert_eq!(read[0].next, pos[1]);
    assert_eq!(read[2].next, reader.position());
}

#[test]
fn the_read_buffer_stays_within_one_chunk_or_one_frame() {
    let written = payloads(50, 300);
    let img = image(1, &written);
    let body = &img.bytes[SEGMENT_HEADER_BYTES..];
    let mut cursor = FrameCursor::new(body, SEGMENT_HEADER_BYTES as u64, 1000);
    let mut n = 0;
    loop {
        match cursor.step(true).unwrap() {
            Step::Frame { .. } => n += 1,
            Step::End { .. } => break,
            Step::Skipped(s) => panic!("{s:?}"),
        }
        assert!(
            cursor.buf.len() <= 1000 + FRAME_HEADER_BYTES + 300,
            "{}",
            cursor.buf.len()
        );
    }
    assert_eq!(n, 50);
}

#[test]
fn a_large_frame_does_not_keep_its_buffer() {
    let mut written = vec![vec![7u8; 200_000]];
    written.extend(payloads(20, 100));
    let img = image(1, &written);
    let body = &img.bytes[SEGMENT_HEADER_BYTES..];
    let mut cursor = FrameCursor::new(body, SEGMENT_HEADER_BYTES as u64, 1000);
    let mut n = 0;
    while let Step::Frame { .. } = cursor.step(true).unwrap() {
        n += 1;
    }
    assert_eq!(n, 21);
    assert!(
        cursor.buf.capacity() <= 4 * 1000,
        "{}",
        cursor.buf.capacity()
    );
}

#[test]
fn reading_resumes_from_a_returned_position() {
    let dir = tempfile::tempdir().unwrap();
    let written = payloads(5, 20);
    let (path, pos) = write_segment(dir.path(), 1, &written);
    let mut reader = SegmentReader::open(&path, pos[3].offset, 64).unwrap();
    let read = frames(&mut reader);
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].payload.as_ref(), written[3].as_slice());
}

#[test]
fn an_unsealed_reader_waits_for_a_frame_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_segment(dir.path(), 2, &payloads(1, 8));
    let mut reader = SegmentReader::open(&path, 0, 4).unwrap();
    assert_eq!(frames(&mut reader).len(), 1);
    let mut next = Vec::new();
    encode_frame(&mut next, b"arriving");
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&next[..5]).unwrap();
    assert_eq!(
        reader.next_item().unwrap(),
        None,
        "half a frame is not an error yet"
    );
    file.write_all(&next[5..]).unwrap();
    match reader.next_item().unwrap() {
        Some(ReadItem::Frame(f)) => assert_eq!(f.payload.as_ref(), b"arriving"),
        other => panic!("expected the frame, got {other:?}"),
    }
}

#[test]
fn a_sealed_reader_reports_a_torn_tail_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, pos) = write_segment(dir.path(), 3, &payloads(2, 8));
    let len = std::fs::metadata(&path).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let mut reader = SegmentReader::open(&path, 0, 4).unwrap();
    assert!(matches!(
        reader.next_item().unwrap(),
        Some(ReadItem::Frame(_))
    ));
    assert_eq!(
        reader.next_item().unwrap(),
        None,
        "unsealed: maybe still being written"
    );
    reader.seal();
    assert_eq!(
        reader.next_item().unwrap(),
        Some(ReadItem::Skipped(CorruptSpan {
            offset: pos[1].offset,
            len_bytes: len - 3 - pos[1].offset,
            reason: CorruptReason::Truncated,
        }))
    );
    assert_eq!(reader.next_item().unwrap(), None);
}

#[test]
fn a_bad_header_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0000000000000001.wal");
    std::fs::write(&path, b"garbage").unwrap();
    assert!(matches!(
        SegmentReader::open(&path, 0, 16),
        Err(SegmentError::Header(_))
    ));
}

#[derive(Debug, Clone)]
enum Damage {
    Flip(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Insert(prop::sample::Index, Vec<u8>),
}

fn arb_damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Damage::Flip(i, x)),
        any::<prop::sample::Index>().prop_map(Damage::Truncate),
        (
            any::<prop::sample::Index>(),
            proptest::collection::vec(any::<u8>(), 1..40)
        )
            .prop_map(|(i, g)| Damage::Insert(i, g)),
    ]
}

/// Applies `damage` to the frames area of a segment image. Returns the damaged bytes and, per
/// byte, `Some((original index, still original))` or `None` for inserted garbage.
fn apply_damage(bytes: &[u8], damage: &[Damage]) -> (Vec<u8>, Vec<Option<(usize, bool)>>) {
    let mut out = bytes.to_vec();
    let mut origin: Vec<Option<(usize, bool)>> =
        (0..bytes.len()).map(|i| Some((i, true))).collect();
    for d in damage {
        let body = out.len() - SEGMENT_HEADER_BYTES;
        match d {
            Damage::Flip(i, x) if body > 0 => {
                let i = SEGMENT_HEADER_BYTES + i.index(body);
                out[i] ^= x;
                if let Some(o) = origin[i].as_mut() {
                    o.1 = false;
                }
            }
            Damage::Truncate(i) => {
                let at = SEGMENT_HEADER_BYTES + i.index(body + 1);
                out.truncate(at);
                origin.truncate(at);
            }
            Damage::Insert(i, garbage) => {
                let at = SEGMENT_HEADER_BYTES + i.index(body + 1);
                out.splice(at..at, garbage.iter().copied());
                origin.splice(at..at, garbage.iter().map(|_| None));
            }
            Damage::Flip(..) => {}
        }
    }
    (out, origin)
}

/// Checks what was read from a damaged image against what was written.
fn check_read(
    written: &[Vec<u8>],
    frame_starts: &[usize],
    origin: &[Option<(usize, bool)>],
    read: &[(u64, Vec<u8>)],
) -> Result<(), TestCaseError> {
    let mut yielded = Vec::new();
    for (offset, payload) in read {
        let orig = origin[*offset as usize].map(|o| o.0);
        let i = orig.and_then(|o| frame_starts.iter().position(|s| *s == o));
        prop_assert!(i.is_some(), "a frame at {} that was not written", offset);
        let i = i.unwrap_or_default();
        prop_assert_eq!(payload, &written[i], "frame {} came back changed", i);
        yielded.push(i);
    }
    prop_assert!(
        yielded.windows(2).all(|w| w[0] < w[1]),
        "order: {:?}",
        yielded
    );
    for (i, start) in frame_starts.iter().enumerate() {
        let len = FRAME_HEADER_BYTES + written[i].len();
        let at = origin.iter().position(|o| o.map(|o| o.0) == Some(*start));
        let intact = at.is_some_and(|at| {
            (0..len).all(|k| origin.get(at + k) == Some(&Some((start + k, true))))
        });
        prop_assert!(
            !intact || yielded.contains(&i),
            "untouched frame {} lost",
            i
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn corruption_never_panics_never_invents_and_keeps_every_untouched_frame(
        written in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 1..12),
        damage in proptest::collection::vec(arb_damage(), 1..4),
        chunk in 1usize..100,
    ) {
        let img = image(9, &written);
        let starts: Vec<usize> = img.frames.iter().map(|f| f.start).collect();
        let (damaged, origin) = apply_damage(&img.bytes, &damage);
        let read = read_sealed(&damaged, chunk);
        check_read(&written, &starts, &origin, &read.frames)?;
        // Spans and frames tile the file: nothing is both skipped and returned.
        let mut covered = SEGMENT_HEADER_BYTES as u64;
        let mut spans = read.skipped.iter().chain(read.trailing.iter()).peekable();
        for (offset, payload) in &read.frames {
            while let Some(s) = spans.next_if(|s| s.offset < *offset) {
                prop_assert_eq!(s.offset, covered);
                covered += s.len_bytes;
            }
            prop_assert_eq!(*offset, covered);
            covered += (FRAME_HEADER_BYTES + payload.len()) as u64;
        }
        for s in spans {
            prop_assert_eq!(s.offset, covered);
            covered += s.len_bytes;
        }
        prop_assert_eq!(covered, damaged.len() as u64);
    }
}
