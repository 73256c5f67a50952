//! Damage priced in records, end to end through [`DiskBuffer`]: every record written is either
//! delivered or reported lost, by number, exactly once.

use std::collections::{BTreeSet, HashMap};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::sync::Mutex;

use super::*;
use crate::storage::reader::SegmentReader;
use crate::storage::segment::segment_file_name;
use crate::storage::test_util::{v1_header, v1_payload};

/// A batch as written: where its frame starts, the numbers of its records, the records.
struct Written {
    pos: FramePos,
    seqs: Range<u64>,
    events: Vec<Event>,
}

fn small_segments(dir: &Path) -> BufferConfig {
    BufferConfig {
        segment_bytes: 4 << 10,
        ..config(dir)
    }
}

/// Appends `n` batches of 1 to 5 records each, numbered from `first_seq`; all acked and durable
/// when it returns (the last append waits for the fsync of everything before it, and sealed
/// segments were fsync'd when sealed: one fsync instead of `n`, to spare the other tests' timing).
async fn write_batches(buf: &DiskBuffer, n: u64, first_seq: u64) -> Vec<Written> {
    let mut seq = first_seq;
    let mut out = Vec::new();
    for i in 0..n {
        let events = batch(i, i % 5 + 1, 120);
        let pos = buf.append(&events, i + 1 == n).await.unwrap().pos;
        let count = events.len() as u64;
        out.push(Written {
            pos,
            seqs: seq..seq + count,
            events,
        });
        seq += count;
    }
    out
}

fn records(written: &[Written]) -> u64 {
    written.iter().map(|w| w.seqs.end - w.seqs.start).sum()
}

fn path_of(dir: &Path, seg: u64) -> PathBuf {
    dir.join(segment_file_name(seg))
}

fn file_len(dir: &Path, seg: u64) -> u64 {
    std::fs::metadata(path_of(dir, seg)).unwrap().len()
}

/// The numbers of the records whose frames overlap `bytes` of segment `seg`.
fn touched(written: &[Written], dir: &Path, seg: u64, bytes: Range<u64>) -> BTreeSet<u64> {
    let in_seg: Vec<&Written> = written.iter().filter(|w| w.pos.segment == seg).collect();
    let ends = in_seg
        .iter()
        .skip(1)
        .map(|w| w.pos.offset)
        .chain([file_len(dir, seg)]);
    in_seg
        .iter()
        .zip(ends)
        .filter(|(w, end)| w.pos.offset < bytes.end && *end > bytes.start)
        .flat_map(|(w, _)| w.seqs.clone())
        .collect()
}

/// Inverts `len` bytes of segment `seg` from `at`.
fn flip(dir: &Path, seg: u64, at: u64, len: usize) {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path_of(dir, seg))
        .unwrap();
    let mut bytes = vec![0u8; len];
    f.seek(SeekFrom::Start(at)).unwrap();
    f.read_exact(&mut bytes).unwrap();
    bytes.iter_mut().for_each(|b| *b ^= 0xff);
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&bytes).unwrap();
}

/// Closes the buffer and reads everything; returns the numbers of the records delivered, checking
/// each record came back as written.
async fn deliver_all(buf: &DiskBuffer, replay: &mut Replay, written: &[Written]) -> BTreeSet<u64> {
    let by_time: HashMap<EventTime, (u64, &Event)> = written
        .iter()
        .flat_map(|w| w.seqs.clone().zip(&w.events))
        .map(|(seq, e)| (e.time, (seq, e)))
        .collect();
    buf.close().await;
    let mut delivered = BTreeSet::new();
    while let Some(b) = next(replay).await {
        for e in &b.events {
            let (seq, sent) = by_time[&e.time];
            assert_eq!(e, sent, "record {seq} came back changed");
            assert!(delivered.insert(seq), "record {seq} delivered twice");
        }
    }
    delivered
}

/// The record numbers the report counts lost, checking no number is counted twice.
fn reported_lost(damage: &[Damage]) -> BTreeSet<u64> {
    let mut lost = BTreeSet::new();
    for d in damage {
        assert!(d.counted(), "every region is countable here: {d:?}");
        if let Lost::Records(r) = &d.lost {
            for seq in r.clone() {
                assert!(lost.insert(seq), "record {seq} reported twice");
            }
        }
    }
    lost
}

/// Collects what the consumer reports from now on.
fn collect_damage(replay: &mut Replay) -> Arc<Mutex<Vec<Damage>>> {
    let found = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&found);
    replay.on_damage(Box::new(move |d| sink.lock().unwrap().push(d.clone())));
    found
}

/// Cuts segment `seg` to `len` bytes.
fn cut(dir: &Path, seg: u64, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path_of(dir, seg))
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Reopens the buffer: one damaged region of `kind` is reported, losing exactly `expected`, and
/// every other record written is delivered.
async fn reopen_expecting_one(
    config: BufferConfig,
    written: &[Written],
    kind: DamageKind,
    expected: &BTreeSet<u64>,
) {
    let (buf, mut replay, report) = DiskBuffer::open(config).await.unwrap();
    assert_eq!(report.damage.len(), 1, "{report:#?}");
    assert_eq!(report.damage[0].kind, kind);
    assert_eq!(&reported_lost(&report.damage), expected);
    let delivered = deliver_all(&buf, &mut replay, written).await;
    assert_eq!(
        delivered.len() as u64 + report.lost_records(),
        records(written)
    );
}

#[tokio::test]
async fn a_cut_sealed_segment_and_16_flipped_bytes_are_reported_in_exact_records() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, replay, _) = DiskBuffer::open(small_segments(dir.path())).await.unwrap();
    let written = write_batches(&buf, 150, 0).await;
    let (sent, acked) = (records(&written), records(&written));
    drop((buf, replay)); // a crash: nothing consumed
    let segs = segment_ids(dir.path());
    assert!(segs.len() >= 6, "{} segments", segs.len());

    // A sealed segment that is not the last, cut in half; 16 bytes inverted in another.
    let (cut_seg, flip_seg) = (segs[1], segs[3]);
    let cut_len = file_len(dir.path(), cut_seg);
    let cut_at = cut_len / 2;
    let mid = file_len(dir.path(), flip_seg) / 2;
    let mut expected = touched(&written, dir.path(), cut_seg, cut_at..cut_len);
    expected.extend(touched(&written, dir.path(), flip_seg, mid..mid + 16));
    cut(dir.path(), cut_seg, cut_at);
    flip(dir.path(), flip_seg, mid, 16);

    let (buf, mut replay, report) = DiskBuffer::open(small_segments(dir.path())).await.unwrap();
    let found = collect_damage(&mut replay);
    assert_eq!(report.damage.len(), 2, "{report:#?}");
    let cut = &report.damage[0];
    assert_eq!(
        (cut.kind, &cut.file),
        (DamageKind::Torn, &path_of(dir.path(), cut_seg))
    );
    assert_eq!(report.damage[1].file, path_of(dir.path(), flip_seg));
    let lost = reported_lost(&report.damage);
    assert_eq!(
        lost, expected,
        "the records reported lost are the ones damaged"
    );
    assert_eq!(report.lost_records(), expected.len() as u64);

    let delivered = deliver_all(&buf, &mut replay, &written).await;
    eprintln!(
        "sent {sent} acked {acked} delivered {} lost {} reported lost {}",
        delivered.len(),
        acked - delivered.len() as u64,
        report.lost_records()
    );
    assert!(delivered.is_disjoint(&lost));
    assert_eq!(delivered.len() as u64 + report.lost_records(), acked);
    // The consumer skipped the damaged span again, and did not report it twice.
    assert!(found.lock().unwrap().is_empty());
    assert_eq!(replay.lost_records(), 0);
}

#[tokio::test]
async fn the_cut_end_of_a_segment_followed_by_an_empty_one_is_counted_from_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, replay, _) = DiskBuffer::open(config(dir.path())).await.unwrap();
    let written = write_batches(&buf, 20, 0).await;
    drop((buf, replay));
    // A run that wrote nothing: its segment holds only a header, with the next record number.
    let (buf, replay, report) = DiskBuffer::open(config(dir.path())).await.unwrap();
    assert_eq!(report.damage, vec![]);
    drop((buf, replay));
    let seg = written[0].pos.segment;
    let len = file_len(dir.path(), seg);
    let expected = touched(&written, dir.path(), seg, len - 10..len);
    cut(dir.path(), seg, len - 10);

    reopen_expecting_one(config(dir.path()), &written, DamageKind::Torn, &expected).await;
}

#[tokio::test]
async fn an_unusable_segment_is_counted_from_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, replay, _) = DiskBuffer::open(small_segments(dir.path())).await.unwrap();
    let written = write_batches(&buf, 80, 0).await;
    drop((buf, replay));
    let segs = segment_ids(dir.path());
    let bad = segs[2];
    let expected = touched(&written, dir.path(), bad, 0..u64::MAX);
    flip(dir.path(), bad, 0, 1); // its magic

    reopen_expecting_one(
        small_segments(dir.path()),
        &written,
        DamageKind::Unusable,
        &expected,
    )
    .await;
}

#[tokio::test]
async fn damage_found_while_reading_is_reported_once_in_records() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(small_segments(dir.path())).await.unwrap();
    let found = collect_damage(&mut replay);
    let written = write_batches(&buf, 60, 0).await;
    // A sealed segment of this run, damaged before the consumer reads it.
    let seg = segment_ids(dir.path())[1];
    let mid = file_len(dir.path(), seg) / 2;
    let expected = touched(&written, dir.path(), seg, mid..mid + 16);
    flip(dir.path(), seg, mid, 16);

    let delivered = deliver_all(&buf, &mut replay, &written).await;
    let found = found.lock().unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(reported_lost(&found), expected);
    assert_eq!(replay.lost_records(), expected.len() as u64);
    assert_eq!(
        delivered.len() as u64 + replay.lost_records(),
        records(&written)
    );
}

#[tokio::test]
async fn record_numbers_keep_rising_after_every_segment_was_consumed() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(config(dir.path())).await.unwrap();
    let written = write_batches(&buf, 3, 0).await; // 1 + 2 + 3 records
    let delivered = deliver_all(&buf, &mut replay, &written).await;
    assert_eq!(delivered.len(), 6);
    drop((buf, replay));

    let (buf, _replay, report) = DiskBuffer::open(config(dir.path())).await.unwrap();
    assert_eq!(report.replay_batches, 0);
    let segs = segment_ids(dir.path());
    assert_eq!(segs.len(), 1, "consumed segments are deleted");
    let header = SegmentReader::open(&path_of(dir.path(), segs[0]), 0, 4096)
        .unwrap()
        .header();
    assert_eq!(
        header.first_seq,
        Some(6),
        "numbering continues from the checkpoint"
    );
    drop(buf);
}

#[tokio::test]
async fn segments_of_older_builds_replay_and_their_damage_is_said_uncountable() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = v1_header(5);
    let mut starts = Vec::new();
    for i in 0..3 {
        starts.push(bytes.len());
        crate::storage::frame::encode_frame(&mut bytes, &v1_payload(&batch(i, 2, 30)));
    }
    bytes[starts[1] + 20] ^= 0x01; // inside the middle frame's payload
    std::fs::write(path_of(dir.path(), 5), &bytes).unwrap();

    let (buf, mut replay, report) = DiskBuffer::open(config(dir.path())).await.unwrap();
    assert_eq!(report.damage.len(), 1, "{report:#?}");
    assert_eq!(report.damage[0].lost, Lost::Unknown(Uncounted::OldFormat));
    assert_eq!(report.lost_records(), 0);
    assert_eq!(report.replay_records, 4);
    assert_eq!(next(&mut replay).await.unwrap().events, batch(0, 2, 30));
    assert_eq!(next(&mut replay).await.unwrap().events, batch(2, 2, 30));
    // This run numbers its records, from 0: the old ones had no numbers.
    let pos = buf.append(&batch(9, 1, 10), true).await.unwrap().pos;
    let header = SegmentReader::open(&path_of(dir.path(), pos.segment), 0, 4096)
        .unwrap()
        .header();
    assert_eq!(header.first_seq, Some(0));
    assert_eq!(next(&mut replay).await.unwrap().events, batch(9, 1, 10));
}
