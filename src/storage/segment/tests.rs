use std::fs;

use proptest::prelude::*;

use super::*;
use crate::storage::frame::CorruptReason;
use crate::storage::reader::{ReadItem, SegmentReader};
use crate::storage::test_util::{image, payloads, read_sealed};

fn usable(r: Recovery) -> RecoveredSegment {
    match r {
        Recovery::Usable(s) => s,
        Recovery::Unusable(e) => panic!("unusable: {e}"),
    }
}

fn write_image(dir: &Path, id: u64, bytes: &[u8]) -> PathBuf {
    let path = dir.join(segment_file_name(id));
    fs::write(&path, bytes).unwrap();
    path
}

/// Every payload a sealed reader returns from `path`, and the spans it skipped.
fn read_back(path: &Path) -> (Vec<Vec<u8>>, Vec<CorruptSpan>) {
    let mut reader = SegmentReader::open(path, 0, 64).unwrap();
    reader.seal();
    let (mut frames, mut skipped) = (Vec::new(), Vec::new());
    while let Some(item) = reader.next_item().unwrap() {
        match item {
            ReadItem::Frame(f) => frames.push(f.payload.to_vec()),
            ReadItem::Skipped(s) => skipped.push(s),
        }
    }
    (frames, skipped)
}

#[test]
fn the_writer_returns_the_positions_readers_find() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::create(dir.path(), 4, 0).unwrap();
    assert_eq!(w.len_bytes(), SEGMENT_HEADER_BYTES as u64);
    let a = w.append(b"first").unwrap();
    let b = w.append(b"").unwrap();
    assert_eq!(
        a,
        FramePos {
            segment: 4,
            offset: 32
        }
    );
    assert_eq!(b.offset, 32 + 12 + 5);
    assert_eq!(w.len_bytes(), b.offset + 12);
    w.flush().unwrap();
    assert_eq!(fs::metadata(w.path()).unwrap().len(), w.len_bytes());
    let (frames, skipped) = read_back(w.path());
    assert_eq!(frames, vec![b"first".to_vec(), vec![]]);
    assert!(skipped.is_empty());
}

#[test]
fn the_writer_never_overwrites_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::create(dir.path(), 1, 0).unwrap();
    w.append(b"keep me").unwrap();
    w.sync().unwrap();
    assert!(SegmentWriter::create(dir.path(), 1, 0).is_err());
    assert_eq!(read_back(w.path()).0, vec![b"keep me".to_vec()]);
}

#[test]
fn an_oversized_payload_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::create(dir.path(), 1, 0).unwrap();
    let big = vec![0u8; MAX_PAYLOAD_BYTES + 1];
    assert!(matches!(
        w.append(&big),
        Err(SegmentError::PayloadTooLarge(_))
    ));
    assert_eq!(w.len_bytes(), SEGMENT_HEADER_BYTES as u64);
    w.append(b"after").unwrap();
    w.sync().unwrap();
    assert_eq!(read_back(w.path()).0, vec![b"after".to_vec()]);
}

#[test]
fn a_clean_segment_recovers_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(3, &payloads(4, 10));
    let path = write_image(dir.path(), 3, &img.bytes);
    let r = usable(recover(&path).unwrap());
    assert_eq!(
        r,
        RecoveredSegment {
            header: SegmentHeader {
                id: 3,
                first_seq: Some(0),
                len_bytes: SEGMENT_HEADER_BYTES as u64,
            },
            valid_frames: 4,
            corrupt_spans: vec![],
            torn: None,
            len_bytes: img.bytes.len() as u64,
        }
    );
}

#[test]
fn a_torn_write_at_every_offset_of_the_last_frame_is_cut_back_to_the_previous_frame() {
    let dir = tempfile::tempdir().unwrap();
    let written = payloads(3, 20);
    let img = image(1, &written);
    let last = img.frames[2].clone();
    for cut in last.start..last.end {
        let path = write_image(dir.path(), 1, &img.bytes[..cut]);
        let r = usable(recover(&path).unwrap());
        assert_eq!(r.torn_bytes(), (cut - last.start) as u64, "cut {cut}");
        assert_eq!(r.valid_frames, 2, "cut {cut}");
        assert!(r.corrupt_spans.is_empty(), "cut {cut}");
        assert_eq!(
            fs::read(&path).unwrap(),
            img.bytes[..last.start],
            "cut {cut}"
        );
        assert_eq!(
            read_back(&path),
            (written[..2].to_vec(), vec![]),
            "cut {cut}"
        );
        // Idempotent: a second recovery finds nothing more to do.
        assert_eq!(usable(recover(&path).unwrap()).torn_bytes(), 0);
    }
}

#[test]
fn a_flipped_byte_anywhere_in_a_middle_frame_loses_only_that_frame() {
    let dir = tempfile::tempdir().unwrap();
    let written = payloads(5, 16);
    let img = image(1, &written);
    let hit = img.frames[2].clone();
    let mut expected = written.clone();
    expected.remove(2);
    for i in hit.clone() {
        for x in [0x01u8, 0x80, 0xff] {
            let mut bytes = img.bytes.clone();
            bytes[i] ^= x;
            let path = write_image(dir.path(), 1, &bytes);
            let r = usable(recover(&path).unwrap());
            assert_eq!(r.valid_frames, 4, "byte {i} ^ {x:#x}");
            assert_eq!(r.torn_bytes(), 0, "byte {i} ^ {x:#x}");
            assert_eq!(r.corrupt_spans.len(), 1, "byte {i} ^ {x:#x}");
            let span = r.corrupt_spans[0];
            assert_eq!(
                (span.offset, span.len_bytes),
                (hit.start as u64, hit.len() as u64),
                "byte {i} ^ {x:#x}"
            );
            let (frames, skipped) = read_back(&path);
            assert_eq!(frames, expected, "byte {i} ^ {x:#x}");
            assert_eq!(skipped, r.corrupt_spans);
        }
    }
}

#[test]
fn damage_with_no_valid_frame_after_it_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(1, &payloads(3, 16));
    let mut bytes = img.bytes.clone();
    bytes[img.frames[2].start + 14] ^= 0x10; // payload of the last frame
    bytes.extend_from_slice(&[0u8; 100]); // and zeros a crashed filesystem may leave
    let path = write_image(dir.path(), 1, &bytes);
    let r = usable(recover(&path).unwrap());
    assert_eq!(r.valid_frames, 2);
    assert_eq!(r.torn_bytes(), (bytes.len() - img.frames[2].start) as u64);
    assert_eq!(r.len_bytes, img.frames[2].start as u64);
    assert_eq!(fs::metadata(&path).unwrap().len(), r.len_bytes);
}

#[test]
fn a_damaged_length_in_the_middle_does_not_truncate_the_frames_after_it() {
    // A length that points past the end of the file looks like a torn frame; the valid frames
    // after it prove it is not, and must survive.
    let dir = tempfile::tempdir().unwrap();
    let written = payloads(4, 16);
    let img = image(1, &written);
    let mut bytes = img.bytes.clone();
    bytes[img.frames[1].start + 6] = 0x10; // length += 1 MiB, still below the maximum
    let path = write_image(dir.path(), 1, &bytes);
    let r = usable(recover(&path).unwrap());
    assert_eq!(r.valid_frames, 3);
    assert_eq!(r.torn_bytes(), 0);
    assert_eq!(r.corrupt_spans[0].reason, CorruptReason::Truncated);
    assert_eq!(r.corrupt_spans[0].offset, img.frames[1].start as u64);
    assert_eq!(read_back(&path).0, [&written[..1], &written[2..]].concat());
}

#[test]
fn a_bad_header_makes_the_file_unusable_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_image(dir.path(), 1, b"short");
    assert_eq!(
        recover(&path).unwrap(),
        Recovery::Unusable(HeaderError::TooShort(5))
    );
    let mut bytes = image(1, &payloads(2, 8)).bytes;
    bytes[2] ^= 1;
    let path = write_image(dir.path(), 1, &bytes);
    assert_eq!(
        recover(&path).unwrap(),
        Recovery::Unusable(HeaderError::BadMagic)
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        bytes,
        "an unusable file is left as it was"
    );
    let path = write_image(dir.path(), 2, &image(1, &[]).bytes);
    assert_eq!(
        recover(&path).unwrap(),
        Recovery::Unusable(HeaderError::IdMismatch { name: 2, header: 1 })
    );
}

#[test]
fn recovery_reads_a_file_larger_than_its_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let written = payloads(3, RECOVERY_CHUNK_BYTES + 100);
    let path = write_image(dir.path(), 1, &image(1, &written).bytes);
    assert_eq!(usable(recover(&path).unwrap()).valid_frames, 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Through real files: recovery's verdict matches a sealed read, the truncated file reads
    /// back the same frames, and recovery is idempotent.
    #[test]
    fn recovery_agrees_with_a_sealed_read(
        written in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 1..10),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..3),
        cut in any::<prop::sample::Index>(),
    ) {
        let img = image(1, &written);
        let mut bytes = img.bytes.clone();
        let body = bytes.len() - SEGMENT_HEADER_BYTES;
        for (i, x) in flips {
            bytes[SEGMENT_HEADER_BYTES + i.index(body)] ^= x;
        }
        bytes.truncate(SEGMENT_HEADER_BYTES + cut.index(body + 1));
        let expected = read_sealed(&bytes, 7);
        let dir = tempfile::tempdir().unwrap();
        let path = write_image(dir.path(), 1, &bytes);
        let r = usable(recover(&path).unwrap());
        prop_assert_eq!(r.valid_frames, expected.frames.len() as u64);
        prop_assert_eq!(&r.corrupt_spans, &expected.skipped);
        prop_assert_eq!(r.torn_bytes(), expected.trailing.map_or(0, |t| t.len_bytes));
        let payloads: Vec<Vec<u8>> = expected.frames.iter().map(|f| f.1.clone()).collect();
        // Readers with other chunk sizes find the same frames and spans; a span's reason names the
        // first problem seen, which depends on how much of the file was in hand (a damaged length
        // can look like a torn frame in a small window and like a CRC mismatch in a larger one).
        let where_ = |spans: &[CorruptSpan]| -> Vec<(u64, u64)> {
            spans.iter().map(|c| (c.offset, c.len_bytes)).collect()
        };
        let (frames, skipped) = read_back(&path);
        prop_assert_eq!(frames, payloads);
        prop_assert_eq!(where_(&skipped), where_(&expected.skipped));
        let again = usable(recover(&path).unwrap());
        prop_assert_eq!(again.torn_bytes(), 0);
        prop_assert_eq!(again.valid_frames, r.valid_frames);
    }
}

#[test]
fn batches_survive_the_whole_storage_path() {
    use crate::event::{Event, EventTime};
    use crate::storage::codec::{decode_batch, encode_batch};
    use std::sync::Arc;

    let batch = |n: i64| -> Vec<Event> {
        (0..3)
            .map(|i| Event {
                tag: Arc::from("app.web"),
                time: EventTime::new(1_700_000_000 + n, i),
                record: bytes::Bytes::from(format!("\u{81}\u{a3}log\u{a1}{i}").into_bytes()),
            })
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::create(dir.path(), 1, 0).unwrap();
    for n in 0..4 {
        w.append(&encode_batch(&batch(n))).unwrap();
    }
    w.sync().unwrap();
    drop(w);
    let path = dir.path().join(segment_file_name(1));
    assert_eq!(usable(recover(&path).unwrap()).valid_frames, 4);
    let mut reader = SegmentReader::open(&path, 0, 32).unwrap();
    let mut n = 0;
    while let Some(ReadItem::Frame(f)) = reader.next_item().unwrap() {
        assert_eq!(decode_batch(&f.payload).unwrap().events, batch(n));
        n += 1;
    }
    assert_eq!(n, 4);
}

/// A tmpfs of `bytes`, mounted on a fresh directory and unmounted on drop. `None`, with the
/// reason on stderr, where this process may not mount (not root): the test is then skipped, as
/// the image tests are where they cannot chroot.
struct TinyFs(tempfile::TempDir);

impl TinyFs {
    fn mount(bytes: usize) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(out) if out.status.success() => Some(Self(dir)),
            Ok(out) => {
                let why = String::from_utf8_lossy(&out.stderr);
                eprintln!("SKIPPED: cannot mount a tmpfs: {}", why.trim());
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let unmounted = std::process::Command::new("umount")
            .arg(self.0.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            eprintln!(
                "could not unmount the test tmpfs at {}",
                self.0.path().display()
            );
        }
    }
}

#[test]
fn a_segment_whose_header_cannot_be_written_leaves_no_file() {
    let Some(fs) = TinyFs::mount(4096) else {
        return;
    };
    let dir = fs.0.path();
    // Fill the filesystem: the next file can be created, but not written. The filler's own
    // write may run out of room before its end; the filesystem is full either way.
    let filler = vec![0u8; 4096];
    if let Err(e) = fs::write(dir.join("filler"), &filler) {
        assert_eq!(e.raw_os_error(), Some(28), "only ENOSPC is expected: {e}");
    }
    let err = SegmentWriter::create(dir, 7, 0).err();
    assert!(err.is_some(), "the header cannot fit");
    let names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["filler"], "no empty segment left behind");
}

mod header;
