//! The disk buffer's consumer side: reading batches back, the low watermark, and damage found
//! while reading.
//!
//! Invariants:
//! - Batches come back in write order (segment id, then offset); previous runs' segments first.
//! - Memory: one [`SegmentReader`] at a time (one chunk plus at most one frame), plus the batch
//!   being returned; segments are never read whole.
//! - A segment is sealed for reading only once the writer published it sealed; an unsealed
//!   segment's end is waited at, never judged torn.
//! - A segment is finished (the watermark may pass to the next segment) only when it is sealed
//!   and read to its end, or when it was deleted (`DropOldest`); the checkpoint then names the
//!   next segment, so `dir::fully_consumed` and start-up free it.
//! - Damage found while reading is reported once, with the records it cost ([`super::loss`]):
//!   spans start-up already reported are skipped silently; a gap is priced only across segments
//!   that follow each other (none deleted in between).

use std::sync::Arc;

use tokio::sync::watch;

use super::FramePos;
use super::buffer_state::Shared;
use super::codec::decode_batch;
use super::loss::{Damage, DamageKind, Pricer};
use super::reader::{CorruptSpan, ReadItem, SegmentReader};
use super::segment::SegmentError;
use crate::event::Event;

/// The consumer name the checkpoint is saved under.
pub const CONSUMER: &str = "replay";

/// One batch read back.
#[derive(Debug)]
pub struct ReplayBatch {
    pub events: Vec<Event>,
    /// Where the batch's frame starts.
    pub pos: FramePos,
    /// Written by an earlier run (it may have been delivered before a crash: a duplicate).
    pub from_previous_run: bool,
    /// Drop it (or call [`Done::finish`]) once the batch is delivered.
    pub done: Done,
}

/// Marks a batch delivered when dropped.
#[derive(Debug)]
pub struct Done {
    shared: Arc<Shared>,
    seq: u64,
}

impl Done {
    pub fn finish(self) {}
}

impl Drop for Done {
    fn drop(&mut self) {
        let moved = self.shared.lock().watermark.finish(self.seq);
        if moved {
            self.shared.housekeeping.notify_one();
        }
    }
}

/// Called with each damaged region the consumer finds (after logging it).
pub type DamageHook = Box<dyn FnMut(&Damage) + Send>;

/// The single consumer of a disk buffer.
pub struct Replay {
    shared: Arc<Shared>,
    data: watch::Receiver<u64>,
    /// The position to read from next.
    cursor: FramePos,
    reader: Option<SegmentReader>,
    first_of_run: u64,
    /// The segment read to its end last (a gap is priced across it only to the next id).
    finished: Option<u64>,
    pricer: Pricer,
    on_damage: Option<DamageHook>,
    skipped_batches: u64,
    skipped_spans: u64,
    lost_records: u64,
    peak_buffer_bytes: usize,
}

impl Replay {
    /// `consumed_seq`: the number of the first record after `start`, if known.
    pub(crate) fn new(shared: Arc<Shared>, start: FramePos, consumed_seq: Option<u64>) -> Self {
        let first_of_run = shared.lock().first_of_run;
        Self {
            data: shared.data.subscribe(),
            shared,
            cursor: start,
            reader: None,
            first_of_run,
            finished: None,
            pricer: Pricer::new(consumed_seq, 0),
            on_damage: None,
            skipped_batches: 0,
            skipped_spans: 0,
            lost_records: 0,
            peak_buffer_bytes: 0,
        }
    }

    /// Calls `hook` with each damaged region found from now on (to count it in metrics).
    /// Damage found at start-up is in [`super::buffer::OpenReport`] instead.
    pub fn on_damage(&mut self, hook: DamageHook) {
        self.on_damage = Some(hook);
    }

    /// Records lost to damage found while reading (not at start-up), counted from numbers.
    pub fn lost_records(&self) -> u64 {
        self.lost_records
    }

    /// Batches whose payload did not decode (skipped, logged).
    pub fn skipped_batches(&self) -> u64 {
        self.skipped_batches
    }

    /// Damaged regions skipped while reading.
    pub fn skipped_spans(&self) -> u64 {
        self.skipped_spans
    }

    /// Batches delivered and not yet done (plus done ones waiting behind them).
    pub fn in_flight_batches(&self) -> usize {
        self.shared.lock().watermark.in_flight()
    }

    /// The most memory the segment reader's buffer has held.
    pub fn peak_reader_buffer_bytes(&self) -> usize {
        self.peak_buffer_bytes
    }

    /// The next batch; waits for appends when caught up; `None` once closed and all is read.
    ///
    /// Cancel-safe (usable in `select!`): the read position moves only when a batch is returned,
    /// so a cancelled call loses nothing; the next call reopens the segment at that position.
    pub async fn next(&mut self) -> Option<ReplayBatch> {
        loop {
            // Seen before looking, so a change after the look wakes the wait below.
            self.data.borrow_and_update();
            let Some(mut reader) = self.reader.take() else {
                if self.open_next().await? {
                    continue;
                }
                let _ = self.data.changed().await;
                continue;
            };
            let seg = reader.segment();
            let known = self.shared.lock().segments.get(&seg).map(|s| s.sealed);
            let Some(sealed) = known else {
                self.finish_segment(seg); // deleted by DropOldest
                continue;
            };
            if sealed {
                reader.seal();
            }
            let (reader, item) = read_item(reader).await?;
            self.peak_buffer_bytes = self.peak_buffer_bytes.max(reader.buffer_capacity_bytes());
            self.reader = Some(reader);
            match item {
                Ok(Some(ReadItem::Frame(frame))) => {
                    self.cursor = frame.next;
                    if let Some(batch) = self.deliver(frame.pos, frame.next, &frame.payload) {
                        return Some(batch);
                    }
                }
                Ok(Some(ReadItem::Skipped(span))) => {
                    self.skipped_spans += 1;
                    self.skipped(seg, span);
                }
                Ok(None) if sealed => self.finish_segment(seg),
                Ok(None) => {
                    let _ = self.data.changed().await;
                }
                Err(e) if sealed => {
                    let offset = self.cursor.offset;
                    self.unreadable(seg, offset, e.to_string());
                    self.finish_segment(seg);
                }
                Err(e) => {
                    // The writer's segment: skipping it would lose what is still written to it.
                    tracing::error!(segment = seg, error = %e, "disk buffer: read failed; retrying");
                    tokio::time::sleep(self.shared.limits.sync_interval).await;
                }
            }
        }
    }

    /// Opens the next segment at or after the cursor. `Some(false)`: none yet, wait for data;
    /// `None`: closed and everything read.
    async fn open_next(&mut self) -> Option<bool> {
        let (next, closed) = {
            let st = self.shared.lock();
            let next = st.segments.range(self.cursor.segment..).next();
            (next.map(|(id, s)| (*id, s.path.clone())), st.closed)
        };
        let Some((id, path)) = next else {
            if closed {
                let priced = self.pricer.finish();
                self.report(priced);
                super::buffer_housekeeping::save_checkpoint(&self.shared).await;
                return None;
            }
            return Some(false);
        };
        let offset = if id == self.cursor.segment {
            self.cursor.offset
        } else {
            0
        };
        if self.finished.is_some_and(|f| f + 1 != id) {
            // Segments in between were deleted (`DropOldest`) or never written: nothing pending
            // can be priced across them.
            let priced = self.pricer.discontinuity();
            self.report(priced);
        }
        let chunk = self.shared.limits.read_chunk_bytes;
        let opened =
            tokio::task::spawn_blocking(move || SegmentReader::open(&path, offset, chunk)).await;
        match opened {
            Ok(Ok(reader)) => {
                let header = reader.header();
                if offset <= header.len_bytes {
                    let priced = self.pricer.segment_start(header.first_seq);
                    self.report(priced);
                }
                self.cursor = reader.position();
                self.reader = Some(reader);
            }
            Ok(Err(e)) => {
                self.unreadable(id, offset, e.to_string());
                self.finish_segment(id);
            }
            Err(_) => return None, // runtime shutting down
        }
        Some(true)
    }

    /// Decodes a frame into a batch, or skips it (counted) if it does not decode.
    fn deliver(
        &mut self,
        pos: FramePos,
        next: FramePos,
        payload: &bytes::Bytes,
    ) -> Option<ReplayBatch> {
        let mut st = self.shared.lock();
        match decode_batch(payload) {
            Ok(batch) => {
                let (first_seq, events) = (batch.first_seq, batch.events);
                let records = events.len() as u64;
                let end_seq = first_seq.map(|s| s.saturating_add(records));
                let seq = st.watermark.push(next, end_seq, false);
                if let Some(seg) = st.segments.get_mut(&pos.segment) {
                    seg.read_records += records;
                }
                drop(st);
                let priced = self.pricer.records(first_seq, records);
                self.report(priced);
                Some(ReplayBatch {
                    events,
                    pos,
                    from_previous_run: pos.segment < self.first_of_run,
                    done: Done {
                        shared: Arc::clone(&self.shared),
                        seq,
                    },
                })
            }
            Err(e) => {
                st.watermark.push(next, None, true);
                drop(st);
                self.skipped_batches += 1;
                tracing::warn!(segment = pos.segment, offset = pos.offset, error = %e, "disk buffer: batch does not decode; skipped");
                self.shared.housekeeping.notify_one();
                None
            }
        }
    }

    /// The segment is read to its end (or gone): move on, and let the watermark pass it.
    fn finish_segment(&mut self, seg: u64) {
        self.reader = None;
        self.finished = Some(seg);
        self.cursor = FramePos {
            segment: seg + 1,
            offset: 0,
        };
        let deleted = {
            let mut st = self.shared.lock();
            st.watermark.push(self.cursor, None, true);
            !st.segments.contains_key(&seg)
        };
        if deleted {
            // Deleted unread (`DropOldest`, counted there): its records are not damage.
            let priced = self.pricer.discontinuity();
            self.report(priced);
        }
        self.shared.housekeeping.notify_one();
    }

    /// A damaged span of segment `seg`: priced with its neighbours, unless start-up reported it.
    fn skipped(&mut self, seg: u64, span: CorruptSpan) {
        let end = FramePos {
            segment: seg,
            offset: span.offset + span.len_bytes,
        };
        let (known, path) = {
            let st = self.shared.lock();
            let path = st.segments.get(&seg).map(|s| s.path.clone());
            (st.reported_spans.contains(&end), path)
        };
        let Some(path) = path.filter(|_| !known) else {
            // Reported at start-up with the records it cost (the gap is not ours to price
            // again), or the segment was deleted under the reader (`DropOldest`, counted there).
            let priced = self.pricer.discontinuity();
            self.report(priced);
            return;
        };
        self.pricer.damage(Damage::new(
            path,
            span.offset,
            span.len_bytes,
            DamageKind::Damaged,
            span.reason.to_string(),
        ));
    }

    /// Segment `seg` cannot be read from `offset` on: the rest of it is priced as lost.
    fn unreadable(&mut self, seg: u64, offset: u64, reason: String) {
        let path = self
            .shared
            .lock()
            .segments
            .get(&seg)
            .map(|s| s.path.clone());
        let Some(path) = path else {
            return; // deleted meanwhile (`DropOldest`): not damage
        };
        let len_bytes = std::fs::metadata(&path).map_or(0, |m| m.len().saturating_sub(offset));
        self.pricer.damage(Damage::new(
            path,
            offset,
            len_bytes,
            DamageKind::Unusable,
            format!("segment unreadable: {reason}"),
        ));
    }

    /// Logs, counts and hands on regions just priced.
    fn report(&mut self, priced: Vec<Damage>) {
        for d in &priced {
            d.log(&self.shared.limits.name);
            self.lost_records += d.records_lost();
            if let Some(hook) = self.on_damage.as_mut() {
                hook(d);
            }
        }
    }
}

type ReadOut = Result<Option<ReadItem>, SegmentError>;

async fn read_item(mut reader: SegmentReader) -> Option<(SegmentReader, ReadOut)> {
    tokio::task::spawn_blocking(move || {
        let item = reader.next_item();
        (reader, item)
    })
    .await
    .ok()
}
