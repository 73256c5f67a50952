//! The disk buffer's consumer side: reading batches back and the low watermark (checkpoints and
//! deleting consumed segments: [`super::buffer_housekeeping`]).
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

use std::sync::Arc;

use tokio::sync::watch;

use super::FramePos;
use super::buffer_state::Shared;
use super::codec::decode_batch;
use super::reader::{ReadItem, SegmentReader};
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

/// The single consumer of a disk buffer.
pub struct Replay {
    shared: Arc<Shared>,
    data: watch::Receiver<u64>,
    /// The position to read from next.
    cursor: FramePos,
    reader: Option<SegmentReader>,
    first_of_run: u64,
    skipped_batches: u64,
    skipped_spans: u64,
    peak_buffer_bytes: usize,
}

impl Replay {
    pub(crate) fn new(shared: Arc<Shared>, start: FramePos) -> Self {
        let first_of_run = shared.lock().first_of_run;
        Self {
            data: shared.data.subscribe(),
            shared,
            cursor: start,
            reader: None,
            first_of_run,
            skipped_batches: 0,
            skipped_spans: 0,
            peak_buffer_bytes: 0,
        }
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
                    tracing::warn!(segment = seg, offset = span.offset, bytes = span.len_bytes, reason = %span.reason, "disk buffer: damaged span skipped");
                }
                Ok(None) if sealed => self.finish_segment(seg),
                Ok(None) => {
                    let _ = self.data.changed().await;
                }
                Err(e) if sealed => {
                    tracing::error!(segment = seg, error = %e, "disk buffer: segment unreadable; skipped");
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
        let chunk = self.shared.limits.read_chunk_bytes;
        let opened =
            tokio::task::spawn_blocking(move || SegmentReader::open(&path, offset, chunk)).await;
        match opened {
            Ok(Ok(reader)) => {
                self.cursor = reader.position();
                self.reader = Some(reader);
            }
            Ok(Err(e)) => {
                tracing::error!(segment = id, error = %e, "disk buffer: cannot open segment; skipped");
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
        self.cursor = FramePos {
            segment: seg + 1,
            offset: 0,
        };
        self.shared.lock().watermark.push(self.cursor, None, true);
        self.shared.housekeeping.notify_one();
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
