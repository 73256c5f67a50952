use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};

use super::*;
use crate::storage::codec::encode_batch;
use crate::storage::frame::encode_frame;
use crate::storage::segment::{SegmentWriter, segment_file_name};

#[tokio::test]
async fn a_torn_tail_a_flipped_byte_and_an_unusable_file_are_recovered_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, replay, _) = DiskBuffer::open(config(dir.path())).await.unwrap();
    let mut positions = Vec::new();
    for i in 0..10 {
        positions.push(buf.append(&batch(i, 2, 50), true).await.unwrap().pos);
    }
    drop((buf, replay));
    let seg = positions[0].segment;
    let name = segment_file_name(seg);
    let path = dir.path().join(&name);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    // Flip one payload byte of batch 3.
    let at = positions[3].offset + 20;
    let mut byte = [0u8];
    f.seek(SeekFrom::Start(at)).unwrap();
    f.read_exact(&mut byte).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&[byte[0] ^ 0x40]).unwrap();
    // A torn last write: the first 30 bytes of a frame.
    let mut frame = Vec::new();
    encode_frame(&mut frame, &encode_batch(&batch(10, 2, 50)));
    f.seek(SeekFrom::End(0)).unwrap();
    f.write_all(&frame[..30]).unwrap();
    drop(f);
    // A file with a segment name and no valid header.
    let junk = dir.path().join(segment_file_name(seg + 100));
    std::fs::write(&junk, b"not a segment at all, just junk bytes").unwrap();

    let (_buf, mut replay, report) = DiskBuffer::open(config(dir.path())).await.unwrap();
    assert_eq!(report.torn_bytes(), 30);
    let kinds: Vec<_> = report.damage.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [DamageKind::Damaged, DamageKind::Torn, DamageKind::Unusable],
        "{report:?}"
    );
    let span = &report.damage[0];
    assert_eq!(span.file, path);
    assert_eq!(span.offset, positions[3].offset);
    assert_eq!(span.len_bytes, positions[4].offset - positions[3].offset);
    // Batch 3 held records 6 and 7 (two a batch, numbered from 0).
    assert_eq!(span.lost, Lost::Records(6..8));
    // Nothing numbered follows the torn write and the junk: not countable.
    for d in &report.damage[1..] {
        assert_eq!(d.lost, Lost::Unknown(Uncounted::AtEnd), "{d:?}");
    }
    assert_eq!(report.lost_records(), 2);
    assert_eq!(report.damage[2].file, junk);
    assert!(!junk.exists());
    assert!(
        dir.path()
            .join(format!("{}.bad", segment_file_name(seg + 100)))
            .exists()
    );
    assert_eq!(report.replay_batches, 9);
    assert_eq!(report.replay_records, 18);
    for i in (0..10).filter(|i| *i != 3) {
        let b = next(&mut replay).await.unwrap();
        assert_eq!(b.events, batch(i, 2, 50), "batch {i}");
        assert!(b.from_previous_run);
    }
    assert_eq!(replay.skipped_spans(), 1);
    // This run's segment got an id above the unusable file's, and works.
    let pos = _buf.append(&batch(50, 1, 10), false).await.unwrap().pos;
    assert!(pos.segment > seg + 100);
    assert_eq!(next(&mut replay).await.unwrap().events, batch(50, 1, 10));
}

#[tokio::test]
async fn a_batch_that_does_not_decode_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SegmentWriter::create(dir.path(), 5, 0).unwrap();
    w.append(&encode_batch(&batch(0, 2, 10))).unwrap();
    // A valid frame (CRC matches) whose payload is not a batch.
    w.append(b"\x01\xff\xff\xff garbage").unwrap();
    w.append(&encode_batch(&batch(2, 1, 10))).unwrap();
    w.sync().unwrap();
    drop(w);

    let (_buf, mut replay, report) = DiskBuffer::open(config(dir.path())).await.unwrap();
    assert_eq!(report.replay_batches, 3);
    assert_eq!(report.replay_records, 3);
    assert_eq!(next(&mut replay).await.unwrap().events, batch(0, 2, 10));
    let b = next(&mut replay).await.unwrap();
    assert_eq!(b.events, batch(2, 1, 10));
    assert_eq!(replay.skipped_batches(), 1);
}

#[tokio::test]
async fn a_damaged_checkpoint_replays_everything_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(config(dir.path())).await.unwrap();
    for i in 0..3 {
        buf.append(&batch(i, 1, 10), false).await.unwrap();
    }
    next(&mut replay).await.unwrap().done.finish();
    buf.close().await;
    drop((buf, replay));
    std::fs::write(dir.path().join("checkpoint"), b"FLANECKP garbage").unwrap();

    let (_buf, mut replay, report) = DiskBuffer::open(config(dir.path())).await.unwrap();
    assert!(report.checkpoint_reset.is_some());
    assert_eq!(report.replay_batches, 3);
    assert_eq!(next(&mut replay).await.unwrap().events, batch(0, 1, 10));
}
