//! The disk buffer's housekeeping: saving the consumer's checkpoint, deleting consumed segments.
//!
//! Invariants:
//! - The checkpoint never names a position past a batch that is not done (it saves the
//!   watermark), and saves are serialised.
//! - A segment is deleted only once removed from the buffer's books (so its bytes are free
//!   before its file is gone, see [`super::buffer`]); a file already gone is not an error.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

use super::buffer_replay::CONSUMER;
use super::buffer_state::Shared;
use super::checkpoint::{self, Checkpoint, Checkpoints};

/// Saves the watermark as the checkpoint if it moved since the last save.
pub(crate) async fn save_checkpoint(shared: &Arc<Shared>) {
    let _one_at_a_time = shared.save_lock.lock().await;
    let (pos, next_seq, saved) = {
        let st = shared.lock();
        let w = &st.watermark;
        (w.position(), w.next_record(), st.saved)
    };
    if saved == Some(pos) {
        return;
    }
    let dir = shared.limits.dir.clone();
    let saving = tokio::task::spawn_blocking(move || {
        let mut checkpoints = Checkpoints::new();
        checkpoints.insert(CONSUMER.to_owned(), Checkpoint { pos, next_seq });
        checkpoint::save(&dir, &checkpoints)
    })
    .await;
    match saving {
        Ok(Ok(())) => shared.lock().saved = Some(pos),
        Ok(Err(e)) => tracing::error!(error = %e, "disk buffer: checkpoint save failed"),
        Err(_) => {}
    }
}

/// Deletes segment files (already removed from the state). Blocking work off the runtime.
pub(crate) async fn delete_files(paths: Vec<PathBuf>) {
    let _ = tokio::task::spawn_blocking(move || {
        for path in &paths {
            if let Err(e) = std::fs::remove_file(path)
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %e, "disk buffer: cannot delete segment");
            }
        }
    })
    .await;
}

/// Deletes consumed segments when the watermark moves, and saves the checkpoint at most every
/// `sync_interval`. Ends when the buffer is gone.
pub(crate) async fn housekeeping(weak: Weak<Shared>) {
    let Some((wake, interval)) = weak
        .upgrade()
        .map(|s| (Arc::clone(&s.housekeeping), s.limits.sync_interval))
    else {
        return;
    };
    let mut last_save = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
        let Some(shared) = weak.upgrade() else {
            return;
        };
        let consumed = shared.lock().take_consumed(&shared.disk_bytes);
        if !consumed.is_empty() {
            delete_files(consumed).await;
            shared.space.notify_waiters();
        }
        if last_save.elapsed() >= interval {
            save_checkpoint(&shared).await;
            last_save = tokio::time::Instant::now();
        }
    }
}
