//! The disk buffer: appends batches to the write-ahead log and replays them to one consumer.
//!
//! Pieces: [`DiskBuffer`] (cheap handle; limits and encoding, here), the writer task
//! ([`super::buffer_writer`]: group commit, rotation, fsync), [`Replay`] and [`Done`]
//! ([`super::buffer_replay`]: reading, the low watermark, damage found while reading),
//! housekeeping ([`super::buffer_housekeeping`]: checkpoints, deleting consumed segments),
//! recovery at start-up ([`super::buffer_open`]).
//!
//! Invariants:
//! - Nothing appended and acked as durable is lost across a crash. Delivery is at-least-once:
//!   after a crash, batches past the last saved checkpoint are replayed, so duplicates are possible;
//!   [`ReplayBatch::from_previous_run`] marks batches written by an earlier run.
//! - Memory held by the buffer itself is bounded independently of the backlog on disk: the writer
//!   holds a 256 KiB write buffer plus at most [`WRITER_QUEUE`] encoded batches queued for it (each
//!   a batch an appender handed over; appenders beyond wait); the reader holds one chunk
//!   (`read_chunk_bytes`) plus at most one frame (see [`Replay::peak_reader_buffer_bytes`]);
//!   in-flight bookkeeping is one small entry per batch the consumer holds and has not finished.
//! - Disk use stays <= `total_limit_bytes` plus one segment header (32 B, written when the writer
//!   rotates). To make that hold without a dead lock the effective segment size is at most half the
//!   limit, and a batch larger than half the limit is refused with [`AppendError::Full`] in every
//!   mode (it could never fit next to the segment being written). Freed bytes are counted as
//!   free when a segment is removed from the buffer's books, just before its file is unlinked, so
//!   for that moment a concurrent append may already be written. Segments recovered at start-up
//!   may exceed a limit that was lowered since; appends then wait, drop or refuse as configured.
//!   `DropOldest` never deletes the segment being written: if that is not enough (space reserved by
//!   appends still queued for the writer), the append waits as with `Block`.
//! - A corrupt or unusable file never stops start-up: torn tails are cut, damaged spans are
//!   skipped, files with a bad header are renamed to `*.bad`. Each damaged region is reported
//!   once (at start-up, or by the consumer for damage it finds later) with the records it cost,
//!   counted from the records' sequence numbers ([`super::loss`]).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::FramePos;
use super::buffer_state::{Limits, Shared, State};
use super::buffer_writer::{AppendCmd, Cmd};
use super::codec::encode_batch;
use super::frame::{FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES};
use crate::event::Event;

pub use super::buffer_replay::{Done, Replay, ReplayBatch};
pub use super::loss::{Damage, DamageKind, Lost, Uncounted};

/// Encoded batches that may wait for the writer; an append beyond waits for room (backpressure).
pub const WRITER_QUEUE: usize = 64;
/// Smallest segment size the buffer rotates at, whatever the configuration says.
const MIN_SEGMENT_BYTES: u64 = 4 << 10;

pub fn default_segment_bytes() -> u64 {
    8 << 20
}
pub fn default_sync_interval() -> Duration {
    Duration::from_millis(500)
}
pub fn default_read_chunk_bytes() -> usize {
    1 << 20
}

#[derive(Debug, Clone)]
pub struct BufferConfig {
    /// The buffer's name in its logs (the input's).
    pub name: String,
    /// One directory per buffer (created if missing).
    pub dir: PathBuf,
    /// Rotate the writer past this size (default 8 MiB; at most half of `total_limit_bytes`).
    pub segment_bytes: u64,
    /// All segments together.
    pub total_limit_bytes: u64,
    /// What an append does when the limit is reached.
    pub overflow: DiskOverflow,
    pub sync: SyncMode,
    /// Normal mode fsyncs at least this often (default 500 ms); also the checkpoint save interval.
    pub sync_interval: Duration,
    /// Bytes the reader reads at a time (default 1 MiB).
    pub read_chunk_bytes: usize,
}

impl BufferConfig {
    /// Defaults for everything but the directory and the limit; named after the directory.
    pub fn new(dir: impl Into<PathBuf>, total_limit_bytes: u64) -> Self {
        let dir = dir.into();
        Self {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dir,
            segment_bytes: default_segment_bytes(),
            total_limit_bytes,
            overflow: DiskOverflow::default(),
            sync: SyncMode::default(),
            sync_interval: default_sync_interval(),
            read_chunk_bytes: default_read_chunk_bytes(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiskOverflow {
    /// Appends wait until consumption frees space.
    #[default]
    Block,
    /// The oldest segments are deleted, even unconsumed; the records lost are counted.
    DropOldest,
    /// Appends are refused with [`AppendError::Full`].
    DropNewest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// fsync at least every `sync_interval`, and before any durable append resolves.
    #[default]
    Normal,
    /// fsync after every append.
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub pos: FramePos,
    /// Records deleted unread by [`DiskOverflow::DropOldest`] to make room for this batch.
    pub dropped_oldest: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("disk buffer is full")]
    Full,
    #[error("disk buffer is closed")]
    Closed,
    #[error("disk buffer I/O error: {0}")]
    Io(#[from] io::Error),
}

/// What start-up recovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Batches past the checkpoint that will be replayed.
    pub replay_batches: u64,
    pub replay_records: u64,
    /// Every damaged region, in log order, with the records it cost: torn or cut segment ends
    /// (cut off), damaged spans (skipped by readers), unusable files (renamed to `*.bad`, or left
    /// if even that failed). Each is logged once.
    pub damage: Vec<Damage>,
    /// Why the checkpoint was not used (everything left is replayed), if it was not.
    pub checkpoint_reset: Option<String>,
}

impl OpenReport {
    /// Records lost to damage, counted from sequence numbers. Regions whose cost is unknown
    /// (see [`Damage::counted`]) add nothing here.
    pub fn lost_records(&self) -> u64 {
        self.damage.iter().map(Damage::records_lost).sum()
    }

    /// Bytes cut off the ends of segments.
    pub fn torn_bytes(&self) -> u64 {
        self.damage
            .iter()
            .filter(|d| d.kind == DamageKind::Torn)
            .map(|d| d.len_bytes)
            .sum()
    }
}

/// A cheap handle for every connection task.
#[derive(Clone)]
pub struct DiskBuffer {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Cmd>,
}

impl std::fmt::Debug for DiskBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskBuffer")
            .field("disk_bytes", &self.disk_bytes())
            .finish_non_exhaustive()
    }
}

impl DiskBuffer {
    /// Recovers what a previous run left, loads the checkpoint, starts a new segment for this run
    /// and spawns the writer task. Fails only if the directory itself is unusable.
    pub async fn open(cfg: BufferConfig) -> io::Result<(DiskBuffer, Replay, OpenReport)> {
        let half_limit = (cfg.total_limit_bytes / 2).max(MIN_SEGMENT_BYTES);
        let limits = Limits {
            name: cfg.name.clone(),
            dir: cfg.dir.clone(),
            total_limit_bytes: cfg.total_limit_bytes,
            segment_bytes: cfg.segment_bytes.clamp(MIN_SEGMENT_BYTES, half_limit),
            overflow: cfg.overflow,
            sync_interval: cfg.sync_interval.max(Duration::from_millis(1)),
            read_chunk_bytes: cfg.read_chunk_bytes.max(4 << 10),
        };
        let for_open = limits.clone();
        let opened = tokio::task::spawn_blocking(move || super::buffer_open::open_dir(&for_open))
            .await
            .map_err(io::Error::other)??;
        let (writer, state, start, consumed_seq, report) = opened;
        let shared = Arc::new(Shared::new(limits, state));
        let (tx, rx) = mpsc::channel(WRITER_QUEUE);
        tokio::spawn(super::buffer_writer::run(
            Arc::clone(&shared),
            writer,
            rx,
            cfg.sync,
        ));
        tokio::spawn(super::buffer_housekeeping::housekeeping(Arc::downgrade(
            &shared,
        )));
        let replay = Replay::new(Arc::clone(&shared), start, consumed_seq);
        Ok((DiskBuffer { shared, tx }, replay, report))
    }

    /// Encodes and appends one batch; with `durable`, resolves once the batch is fsync'd.
    pub async fn append(&self, events: &[Event], durable: bool) -> Result<Appended, AppendError> {
        let payload = encode_batch(events);
        let frame_bytes = (FRAME_HEADER_BYTES + payload.len()) as u64;
        if payload.len() > MAX_PAYLOAD_BYTES
            || frame_bytes > self.shared.limits.total_limit_bytes / 2
        {
            return Err(AppendError::Full);
        }
        // Dropped (this future cancelled) before the writer has the batch: given back.
        let (reservation, dropped_oldest) = self.reserve(frame_bytes).await?;
        let (reply, answer) = oneshot::channel();
        let cmd = Cmd::Append(AppendCmd {
            payload,
            records: events.len() as u64,
            durable,
            reserved_bytes: frame_bytes,
            reply,
        });
        if self.tx.send(cmd).await.is_err() {
            return Err(AppendError::Closed);
        }
        // The writer releases it now, whatever happens to this future.
        std::mem::forget(reservation);
        // The writer replies to every command it takes; a dropped reply means it stopped.
        let pos = answer.await.map_err(|_| AppendError::Closed)??;
        Ok(Appended {
            pos,
            dropped_oldest,
        })
    }

    /// Bytes on disk now (all segments).
    pub fn disk_bytes(&self) -> u64 {
        *self.shared.disk_bytes.borrow()
    }

    /// [`Self::disk_bytes`], changed on every write and deletion: what a gauge follows. Ends
    /// (`changed()` fails) once the buffer is gone.
    pub fn watch_disk_bytes(&self) -> watch::Receiver<u64> {
        self.shared.disk_bytes.subscribe()
    }

    /// fsyncs of appended data so far (one per group commit or interval sync; a metric).
    pub fn fsyncs_total(&self) -> u64 {
        self.shared.fsyncs.load(Ordering::Relaxed)
    }

    /// Flushes, fsyncs and stops the writer; the consumer then drains what is written and ends.
    pub async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Cmd::Close(reply)).await.is_ok() {
            let _ = done.await;
        }
        super::buffer_housekeeping::save_checkpoint(&self.shared).await;
    }

    /// Reserves `frame_bytes` under the limit as the overflow mode says; returns records dropped.
    async fn reserve(&self, frame_bytes: u64) -> Result<(Reservation<'_>, u64), AppendError> {
        let limits = &self.shared.limits;
        let fits = |st: &State| {
            st.disk_bytes + st.reserved_bytes + frame_bytes <= limits.total_limit_bytes
        };
        let mut dropped_records = 0;
        loop {
            let freed = self.shared.space.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let mut dropped_paths = Vec::new();
            let reserved = {
                let mut st = self.shared.lock();
                if st.closed {
                    return Err(AppendError::Closed);
                }
                match limits.overflow {
                    _ if fits(&st) => {}
                    DiskOverflow::DropNewest => return Err(AppendError::Full),
                    DiskOverflow::Block => {}
                    DiskOverflow::DropOldest => {
                        // Never the writer's segment: it holds at most half the limit, and a
                        // frame at most the other half, so this loop always makes room.
                        while !fits(&st) {
                            let oldest = st.segments.keys().next().copied();
                            let Some(oldest) = oldest.filter(|id| *id != st.current) else {
                                break;
                            };
                            if let Some(seg) = st.remove_segment(oldest, &self.shared.disk_bytes) {
                                dropped_records += seg.records.saturating_sub(seg.read_records);
                                dropped_paths.push(seg.path);
                            }
                        }
                    }
                }
                let ok = fits(&st);
                if ok {
                    st.reserved_bytes += frame_bytes;
                }
                ok.then(|| Reservation {
                    shared: &self.shared,
                    bytes: frame_bytes,
                })
            };
            if !dropped_paths.is_empty() {
                tracing::warn!(
                    segments = dropped_paths.len(),
                    records = dropped_records,
                    "disk buffer full: oldest segments deleted unread"
                );
                super::buffer_housekeeping::delete_files(dropped_paths).await;
                // The consumer may be reading a deleted segment: let it notice.
                self.shared.bump_data();
            }
            if let Some(reservation) = reserved {
                return Ok((reservation, dropped_records));
            }
            freed.await;
        }
    }
}

/// Frame bytes counted against the limit before the writer has the batch.
struct Reservation<'a> {
    shared: &'a Shared,
    bytes: u64,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.reserved_bytes = st.reserved_bytes.saturating_sub(self.bytes);
        drop(st);
        self.shared.space.notify_waiters();
    }
}

#[cfg(test)]
mod tests;
