//! State the disk buffer's writer, consumer and appenders share, and the consumer's low watermark.
//!
//! Invariants:
//! - `disk_bytes` is the sum of `len_bytes` of the segments in `segments`; `disk_bytes +
//!   reserved_bytes` (frames accepted but not yet written) is what the disk limit is checked against.
//! - A segment is `sealed` only once every byte the writer will ever put in it is in the file, so
//!   a reader that sees `sealed` before reading may treat the end of the file as final.
//! - The [`Watermark`] only moves forward, and only past batches that are done, in delivery order;
//!   its sequence number is one past the highest record it passed.
//! - `disk_bytes` is published on a watch channel on every change, so a gauge can follow it
//!   (segments are deleted by housekeeping, later than the delivery that made them deletable).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::FramePos;
use super::buffer::DiskOverflow;

/// One segment file the buffer knows about.
#[derive(Debug)]
pub(crate) struct SegInfo {
    pub path: PathBuf,
    pub len_bytes: u64,
    /// Records written to it (for recovered segments: those past the checkpoint).
    pub records: u64,
    /// Records the consumer has read from it (the rest are lost if it is dropped).
    pub read_records: u64,
    pub sealed: bool,
}

/// Everything behind the lock.
#[derive(Debug)]
pub(crate) struct State {
    pub segments: BTreeMap<u64, SegInfo>,
    /// The segment the writer appends to (never deleted while it is the writer's).
    pub current: u64,
    /// The first segment of this run: lower ids are from previous runs.
    pub first_of_run: u64,
    pub disk_bytes: u64,
    pub reserved_bytes: u64,
    pub closed: bool,
    pub watermark: Watermark,
    /// The position last saved in the checkpoint file.
    pub saved: Option<FramePos>,
    /// Where each damaged span start-up reported ends: the consumer skips these again and must
    /// not report them twice.
    pub reported_spans: HashSet<FramePos>,
}

impl State {
    pub fn add_disk_bytes(&mut self, delta: i64, mirror: &DiskBytes) {
        self.disk_bytes = self.disk_bytes.saturating_add_signed(delta);
        mirror.send_replace(self.disk_bytes);
    }

    /// Removes and returns the segments wholly below the watermark (sealed: never the writer's).
    pub fn take_consumed(&mut self, mirror: &DiskBytes) -> Vec<PathBuf> {
        let below = self.watermark.position().segment;
        let ids: Vec<u64> = self
            .segments
            .range(..below)
            .filter(|(_, s)| s.sealed)
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.remove_segment(id, mirror))
            .map(|s| s.path)
            .collect()
    }

    pub fn remove_segment(&mut self, id: u64, mirror: &DiskBytes) -> Option<SegInfo> {
        let seg = self.segments.remove(&id)?;
        self.add_disk_bytes(-(seg.len_bytes as i64), mirror);
        Some(seg)
    }
}

/// Mirror of `State::disk_bytes`, readable without the lock and followed by the bytes gauge.
pub(crate) type DiskBytes = watch::Sender<u64>;

/// Limits and timing the buffer was opened with (after adjustment, see `buffer::open`).
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// The buffer's name in logs (its input's).
    pub name: String,
    pub dir: PathBuf,
    pub total_limit_bytes: u64,
    pub segment_bytes: u64,
    pub overflow: DiskOverflow,
    pub sync_interval: Duration,
    pub read_chunk_bytes: usize,
}

pub(crate) struct Shared {
    pub limits: Limits,
    state: Mutex<State>,
    pub disk_bytes: DiskBytes,
    /// fsyncs of appended data the writer made (group commits and interval syncs).
    pub fsyncs: AtomicU64,
    /// Bytes were freed, or the buffer closed: blocked appends look again.
    pub space: Notify,
    /// The watermark moved: housekeeping deletes segments and saves the checkpoint. An `Arc` so
    /// the housekeeping task can wait on it without keeping the buffer alive.
    pub housekeeping: Arc<Notify>,
    /// Serialises checkpoint saves (they share a temporary file).
    pub save_lock: tokio::sync::Mutex<()>,
    /// Bumped whenever the writer made data visible, rotated or closed.
    pub data: watch::Sender<u64>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("dir", &self.limits.dir)
            .finish()
    }
}

impl Shared {
    pub fn new(limits: Limits, state: State) -> Self {
        let disk = state.disk_bytes;
        Self {
            limits,
            state: Mutex::new(state),
            disk_bytes: watch::Sender::new(disk),
            fsyncs: AtomicU64::new(0),
            space: Notify::new(),
            housekeeping: Arc::new(Notify::new()),
            save_lock: tokio::sync::Mutex::new(()),
            data: watch::Sender::new(0),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain counters behind; keep serving rather than
        // turning one panic into a crash of every connection.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn bump_data(&self) {
        self.data.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// The consumer's low watermark: the position before the earliest delivered batch not yet done.
///
/// Entries are kept in delivery order; each knows the position after its batch and the sequence
/// number after its records. Done entries at the front are popped and the watermark moves to the
/// last popped one's `next`.
#[derive(Debug)]
pub(crate) struct Watermark {
    base_seq: u64,
    entries: VecDeque<(FramePos, Option<u64>, bool)>,
    pos: FramePos,
    /// One past the highest record number passed (`None`: no numbered record yet).
    next_record: Option<u64>,
}

impl Watermark {
    pub fn new(start: FramePos, next_record: Option<u64>) -> Self {
        Self {
            base_seq: 0,
            entries: VecDeque::new(),
            pos: start,
            next_record,
        }
    }

    pub fn position(&self) -> FramePos {
        self.pos
    }

    /// Every record numbered below it is done (see [`super::checkpoint::Checkpoint::next_seq`]).
    pub fn next_record(&self) -> Option<u64> {
        self.next_record
    }

    /// Batches delivered and not yet done, plus done ones waiting behind them.
    pub fn in_flight(&self) -> usize {
        self.entries.len()
    }

    /// Records a delivered item whose end is `next` and whose records end before record number
    /// `next_record` (`None`: none numbered); returns the item's place in the delivery order.
    pub fn push(&mut self, next: FramePos, next_record: Option<u64>, done: bool) -> u64 {
        let seq = self.base_seq + self.entries.len() as u64;
        self.entries.push_back((next, next_record, done));
        if done {
            self.advance();
        }
        seq
    }

    /// Marks `seq` done; returns whether the watermark moved.
    pub fn finish(&mut self, seq: u64) -> bool {
        let Some(i) = seq.checked_sub(self.base_seq) else {
            return false;
        };
        match self.entries.get_mut(i as usize) {
            Some(e) => e.2 = true,
            None => return false,
        }
        self.advance()
    }

    fn advance(&mut self) -> bool {
        let mut moved = false;
        while let Some(&(next, next_record, true)) = self.entries.front() {
            self.entries.pop_front();
            self.base_seq += 1;
            self.pos = self.pos.max(next);
            self.next_record = self.next_record.max(next_record);
            moved = true;
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segment: u64, offset: u64) -> FramePos {
        FramePos { segment, offset }
    }

    #[test]
    fn the_watermark_waits_for_the_earliest_unfinished_batch() {
        let mut w = Watermark::new(p(1, 0), None);
        let a = w.push(p(1, 10), Some(5), false);
        let b = w.push(p(1, 20), Some(9), false);
        let c = w.push(p(1, 30), None, false);
        assert!(!w.finish(c));
        assert!(!w.finish(b));
        assert_eq!(w.position(), p(1, 0));
        assert_eq!(w.next_record(), None);
        assert!(w.finish(a));
        assert_eq!(w.position(), p(1, 30));
        assert_eq!(
            w.next_record(),
            Some(9),
            "an unnumbered batch keeps the number"
        );
        assert_eq!(w.in_flight(), 0);
        // A done marker (end of a segment) with nothing in flight moves at once.
        w.push(p(2, 0), None, true);
        assert_eq!(w.position(), p(2, 0));
        assert_eq!(w.next_record(), Some(9));
        assert!(!w.finish(a), "finishing twice is harmless");
    }
}
