use std::path::Path;
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::event::EventTime;
use crate::storage::dir::list_segments;
use crate::storage::reader::{ReadItem, SegmentReader};

pub(super) fn ev(i: u64, record_bytes: usize) -> Event {
    let mut record = format!("record-{i}-").into_bytes();
    record.resize(record_bytes.max(record.len()), b'x');
    Event {
        tag: Arc::from(if i.is_multiple_of(2) {
            "app.even"
        } else {
            "app.odd"
        }),
        time: EventTime::new(1_700_000_000 + i as i64, (i % 1000) as u32),
        record: Bytes::from(record),
    }
}

/// Batch `i`: `n` events numbered `i * 100 ..`.
pub(super) fn batch(i: u64, n: u64, record_bytes: usize) -> Vec<Event> {
    (0..n).map(|j| ev(i * 100 + j, record_bytes)).collect()
}

pub(super) fn config(dir: &Path) -> BufferConfig {
    BufferConfig {
        sync_interval: Duration::from_millis(20),
        ..BufferConfig::new(dir, 1 << 30)
    }
}

pub(super) async fn next(replay: &mut Replay) -> Option<ReplayBatch> {
    tokio::time::timeout(Duration::from_secs(10), replay.next())
        .await
        .expect("replay.next() hung")
}

/// Polls `cond` for up to 5 s.
pub(super) async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

pub(super) fn segment_ids(dir: &Path) -> Vec<u64> {
    list_segments(dir).unwrap().into_keys().collect()
}

#[tokio::test]
async fn batches_come_back_in_order_with_their_events_intact() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, report) = DiskBuffer::open(config(dir.path())).await.unwrap();
    assert_eq!(
        report,
        OpenReport::default(),
        "a fresh directory reports nothing"
    );
    let mut written = Vec::new();
    for i in 0..50 {
        let events = batch(i, 3, 40);
        let appended = buf.append(&events, false).await.unwrap();
        assert_eq!(appended.dropped_oldest, 0);
        written.push((appended.pos, events));
    }
    for (pos, events) in &written {
        let b = next(&mut replay).await.unwrap();
        assert_eq!(b.pos, *pos);
        assert_eq!(&b.events, events);
        assert!(!b.from_previous_run);
    }
    assert!(buf.disk_bytes() > 50 * 3 * 40);
}

#[tokio::test]
async fn a_durable_append_is_in_the_file_when_it_resolves_and_replays_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, replay, _) = DiskBuffer::open(config(dir.path())).await.unwrap();
    let mut written = Vec::new();
    for i in 0..20 {
        let events = batch(i, 3, 30);
        let pos = buf.append(&events, true).await.unwrap().pos;
        // Read the file directly, behind the buffer's back: the frame must be there already.
        let path = dir
            .path()
            .join(crate::storage::segment::segment_file_name(pos.segment));
        let mut r = SegmentReader::open(&path, pos.offset, 1 << 16).unwrap();
        match r.next_item().unwrap() {
            Some(ReadItem::Frame(f)) => assert_eq!(f.pos, pos),
            other => panic!("durable batch {i} not in the file: {other:?}"),
        }
        written.push(events);
    }
    // A crash: nothing closed, nothing consumed.
    drop((buf, replay));
    let (_buf, mut replay, report) = DiskBuffer::open(config(dir.path())).await.unwrap();
    assert_eq!(report.replay_batches, 20);
    assert_eq!(report.replay_records, 60);
    assert_eq!(report.damage, vec![]);
    for events in &written {
        let b = next(&mut replay).await.unwrap();
        assert!(b.from_previous_run);
        assert_eq!(&b.events, events);
    }
    // This run's appends come after, not marked.
    _buf.append(&batch(99, 1, 10), false).await.unwrap();
    let b = next(&mut replay).await.unwrap();
    assert!(!b.from_previous_run);
    assert_eq!(b.events, batch(99, 1, 10));
}

#[tokio::test]
async fn concurrent_durable_appends_share_one_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(config(dir.path())).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let b = buf.clone();
            tokio::spawn(async move { b.append(&batch(i, 1, 20), true).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let fsyncs = buf.fsyncs_total();
    assert!(
        (1..10).contains(&fsyncs),
        "{fsyncs} fsyncs for 50 durable appends"
    );
    for _ in 0..50 {
        next(&mut replay).await.unwrap();
    }
}

#[tokio::test]
async fn full_mode_fsyncs_every_append_and_normal_mode_within_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = BufferConfig {
        sync: SyncMode::Full,
        ..config(dir.path())
    };
    let (buf, _replay, _) = DiskBuffer::open(cfg).await.unwrap();
    for i in 0..5 {
        buf.append(&batch(i, 1, 20), false).await.unwrap();
    }
    assert_eq!(buf.fsyncs_total(), 5);

    let dir = tempfile::tempdir().unwrap();
    let cfg = BufferConfig {
        sync_interval: Duration::from_secs(3600),
        ..config(dir.path())
    };
    let (buf, _replay, _) = DiskBuffer::open(cfg).await.unwrap();
    buf.append(&batch(0, 1, 20), false).await.unwrap();
    buf.append(&batch(1, 1, 20), false).await.unwrap();
    assert_eq!(
        buf.fsyncs_total(),
        0,
        "non-durable appends wait for the interval"
    );
    let dir = tempfile::tempdir().unwrap();
    let (buf, _replay, _) = DiskBuffer::open(config(dir.path())).await.unwrap();
    buf.append(&batch(0, 1, 20), false).await.unwrap();
    eventually("the interval sync runs", || buf.fsyncs_total() >= 1).await;
}

#[tokio::test]
async fn close_then_next_drains_then_returns_none() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(config(dir.path())).await.unwrap();
    for i in 0..5 {
        buf.append(&batch(i, 2, 10), false).await.unwrap();
    }
    buf.close().await;
    assert!(matches!(
        buf.append(&batch(9, 1, 10), false).await,
        Err(AppendError::Closed)
    ));
    for i in 0..5 {
        assert_eq!(next(&mut replay).await.unwrap().events, batch(i, 2, 10));
    }
    assert!(next(&mut replay).await.is_none());
    assert!(next(&mut replay).await.is_none());
}

#[tokio::test]
async fn next_waits_for_appends_when_caught_up() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(config(dir.path())).await.unwrap();
    let waiting = tokio::spawn(async move {
        let b = next(&mut replay).await.unwrap();
        b.events
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished());
    buf.append(&batch(1, 1, 10), false).await.unwrap();
    assert_eq!(waiting.await.unwrap(), batch(1, 1, 10));
}

#[tokio::test]
async fn consumed_segments_are_deleted_and_a_reopen_replays_only_unfinished_batches() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = BufferConfig {
        segment_bytes: 4 << 10,
        ..config(dir.path())
    };
    let (buf, mut replay, _) = DiskBuffer::open(cfg.clone()).await.unwrap();
    for i in 0..40 {
        buf.append(&batch(i, 1, 1000), false).await.unwrap();
    }
    let segments_written = segment_ids(dir.path()).len();
    assert!(segments_written >= 10, "{segments_written} segments");
    let mut read = Vec::new();
    for _ in 0..40 {
        read.push(next(&mut replay).await.unwrap());
    }
    let held = read.remove(30);
    let held_early = read.remove(25);
    assert_eq!(held_early.events, batch(25, 1, 1000));
    // Finish the rest out of order: newest first.
    while let Some(b) = read.pop() {
        b.done.finish();
    }
    let early_segment = held_early.pos.segment;
    eventually("segments before the unfinished batch are deleted", || {
        segment_ids(dir.path())
            .first()
            .is_some_and(|first| *first == early_segment)
    })
    .await;
    buf.close().await;
    // Crash with batches 25 and 30 never finished.
    std::mem::forget((held, held_early));
    drop((buf, replay));

    let (_buf, mut replay, report) = DiskBuffer::open(cfg).await.unwrap();
    assert_eq!(report.checkpoint_reset, None);
    // Everything from the earliest unfinished batch on (at-least-once: 26..29 again).
    assert_eq!(report.replay_batches, 15);
    for i in 25..40 {
        let b = next(&mut replay).await.unwrap();
        assert!(b.from_previous_run);
        assert_eq!(b.events, batch(i, 1, 1000), "batch {i}");
    }
}

#[tokio::test]
async fn a_checkpoint_past_the_end_of_a_recovered_segment_means_consumed() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(config(dir.path())).await.unwrap();
    for i in 0..4 {
        buf.append(&batch(i, 1, 100), false).await.unwrap();
    }
    let mut end = None;
    for _ in 0..4 {
        let b = next(&mut replay).await.unwrap();
        end = Some(b.pos);
        b.done.finish();
    }
    let end = std::fs::metadata(dir.path().join(crate::storage::segment::segment_file_name(
        end.unwrap().segment,
    )))
    .unwrap()
    .len();
    // Saved while the segment is still the writer's: the checkpoint points inside it, at its end.
    eventually("the checkpoint is saved", || {
        crate::storage::checkpoint::load(dir.path())
            .unwrap()
            .checkpoints
            .get("replay")
            .is_some_and(|c| c.pos.offset == end)
    })
    .await;
    let seg = segment_ids(dir.path())[0];
    drop((buf, replay));
    // The delivered tail was never fsync'd and is gone after the crash.
    let path = dir
        .path()
        .join(crate::storage::segment::segment_file_name(seg));
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(f.metadata().unwrap().len() - 50).unwrap();
    drop(f);

    let (buf, mut replay, report) = DiskBuffer::open(config(dir.path())).await.unwrap();
    assert_eq!(report.replay_batches, 0, "{report:?}");
    // The cut-off records had been delivered: nothing lost.
    assert_eq!(report.damage.len(), 1, "{report:?}");
    assert_eq!(report.damage[0].lost, Lost::Consumed);
    buf.append(&batch(7, 1, 10), false).await.unwrap();
    let b = next(&mut replay).await.unwrap();
    assert_eq!(b.events, batch(7, 1, 10));
}

mod recovery;

mod limits;

mod damage;
