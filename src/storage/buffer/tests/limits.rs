use super::*;

const LIMIT: u64 = 64 << 10;

fn limited(dir: &Path, overflow: DiskOverflow) -> BufferConfig {
    BufferConfig {
        total_limit_bytes: LIMIT,
        segment_bytes: 8 << 10,
        overflow,
        ..config(dir)
    }
}

#[tokio::test]
async fn block_waits_for_space_and_resumes_when_batches_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(limited(dir.path(), DiskOverflow::Block))
        .await
        .unwrap();
    let mut appended = 0;
    let blocked = loop {
        let b = buf.clone();
        let task = tokio::spawn(async move { b.append(&batch(appended, 1, 4000), false).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !task.is_finished() {
            break task;
        }
        task.await.unwrap().unwrap();
        appended += 1;
        assert!(appended < 100, "never blocked");
    };
    assert!(buf.disk_bytes() <= LIMIT, "{} on disk", buf.disk_bytes());
    assert!(buf.disk_bytes() + 4000 > LIMIT - (8 << 10));
    // Reading alone frees nothing: the batches are not delivered yet.
    let mut held = Vec::new();
    for _ in 0..appended {
        held.push(next(&mut replay).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !blocked.is_finished(),
        "space freed before batches finished"
    );
    drop(held);
    let res = tokio::time::timeout(Duration::from_secs(5), blocked).await;
    res.expect("append still blocked after batches finished")
        .unwrap()
        .unwrap();
    assert!(buf.disk_bytes() <= LIMIT);
    assert_eq!(
        next(&mut replay).await.unwrap().events,
        batch(appended, 1, 4000)
    );
}

#[tokio::test]
async fn drop_newest_refuses_when_full_and_accepts_again_once_consumed() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(limited(dir.path(), DiskOverflow::DropNewest))
        .await
        .unwrap();
    let mut appended = 0;
    loop {
        match buf.append(&batch(appended, 1, 4000), false).await {
            Ok(_) => appended += 1,
            Err(AppendError::Full) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(appended < 100, "never full");
    }
    assert!(appended >= 10, "only {appended} fit");
    assert!(buf.disk_bytes() <= LIMIT);
    assert!(matches!(
        buf.append(&batch(0, 1, 4000), false).await,
        Err(AppendError::Full)
    ));
    for i in 0..appended {
        let b = next(&mut replay).await.unwrap();
        assert_eq!(b.events, batch(i, 1, 4000));
    }
    let mut accepted = false;
    for _ in 0..200 {
        if buf.append(&batch(500, 1, 4000), false).await.is_ok() {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(accepted, "still full after every batch finished");
}

#[tokio::test]
async fn a_batch_over_half_the_limit_is_refused_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, _replay, _) = DiskBuffer::open(limited(dir.path(), DiskOverflow::Block))
        .await
        .unwrap();
    let huge = batch(0, 1, (LIMIT / 2) as usize);
    assert!(matches!(
        buf.append(&huge, false).await,
        Err(AppendError::Full)
    ));
    buf.append(&batch(1, 1, 100), false).await.unwrap();
}

#[tokio::test]
async fn drop_oldest_deletes_the_oldest_segments_and_counts_the_records_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(limited(dir.path(), DiskOverflow::DropOldest))
        .await
        .unwrap();
    buf.append(&batch(0, 2, 2000), false).await.unwrap();
    // The reader is inside the first segment when it is deleted under it.
    let first = next(&mut replay).await.unwrap();
    let mut dropped = 0;
    for i in 1..60 {
        dropped += buf
            .append(&batch(i, 2, 2000), false)
            .await
            .unwrap()
            .dropped_oldest;
        assert!(buf.disk_bytes() <= LIMIT, "{} on disk", buf.disk_bytes());
    }
    assert!(dropped > 0);
    buf.close().await;
    let mut read_records = first.events.len() as u64;
    let mut last = 0;
    while let Some(b) = next(&mut replay).await {
        read_records += b.events.len() as u64;
        last = b.events[0].time.secs;
    }
    assert_eq!(
        read_records + dropped,
        120,
        "read {read_records}, dropped {dropped}"
    );
    assert_eq!(
        last,
        batch(59, 2, 2000)[0].time.secs,
        "the newest batch survives"
    );
}

#[tokio::test]
async fn a_large_backlog_replays_with_the_reader_holding_one_chunk_and_one_frame() {
    let dir = tempfile::tempdir().unwrap();
    let chunk = 1 << 20;
    let cfg = BufferConfig {
        read_chunk_bytes: chunk,
        ..config(dir.path())
    };
    let (buf, mut replay, _) = DiskBuffer::open(cfg).await.unwrap();
    let record_bytes = 64 << 10;
    let batches = 800;
    for i in 0..batches {
        buf.append(&batch(i, 1, record_bytes), false).await.unwrap();
    }
    assert!(
        buf.disk_bytes() > 50_000_000,
        "{} on disk",
        buf.disk_bytes()
    );
    let frame_bytes = record_bytes + 100;
    for i in 0..batches {
        let b = next(&mut replay).await.unwrap();
        assert_eq!(b.events[0].time, ev(i * 100, 0).time);
        assert!(replay.in_flight_batches() <= 1);
    }
    let peak = replay.peak_reader_buffer_bytes();
    assert!(peak > 0);
    assert!(peak <= chunk + frame_bytes, "reader held {peak} bytes");
    eventually("consumed segments are deleted", || {
        buf.disk_bytes() < 9 << 20
    })
    .await;
}

#[tokio::test]
async fn the_bytes_on_disk_are_followed_down_after_the_buffer_was_full_and_drained() {
    let dir = tempfile::tempdir().unwrap();
    let (buf, mut replay, _) = DiskBuffer::open(limited(dir.path(), DiskOverflow::DropNewest))
        .await
        .unwrap();
    let mut watched = buf.watch_disk_bytes();
    let mut i = 0;
    while buf.append(&batch(i, 1, 4000), false).await.is_ok() {
        i += 1;
    }
    assert!(*watched.borrow_and_update() > 48 << 10, "full");
    for _ in 0..i {
        next(&mut replay).await.unwrap().done.finish();
    }
    let on_disk = || -> u64 {
        list_segments(dir.path())
            .unwrap()
            .values()
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum()
    };
    // Consumed segments are deleted after the deliveries, by housekeeping: the watched value
    // must follow that, down to what the files hold.
    eventually("the watched bytes match the files", || {
        *watched.borrow_and_update() == on_disk() && on_disk() < 16 << 10
    })
    .await;
    assert_eq!(buf.disk_bytes(), on_disk());
}
