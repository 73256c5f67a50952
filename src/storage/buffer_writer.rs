//! The disk buffer's writer task: group commit, segment rotation, fsync policy.
//!
//! Invariants:
//! - Group commit: the task takes every append queued at that moment (up to [`GROUP_BYTES`]),
//!   writes them, then flushes once, and fsyncs once if any of them is durable, the mode is
//!   `Full`, or `sync_interval` has passed. A durable append is answered only after that fsync.
//! - After every group the data is flushed to the OS, so the consumer can read it at once.
//! - A segment is published as sealed only after its last frame is flushed and fsync'd; after a
//!   write error the segment is sealed and the next append starts a new one.
//! - Segment state changes are published (under the lock) only after the file reflects them.
//! - Records are numbered in write order across segments ([`super::codec::set_first_seq`]; each new
//!   segment's header carries the next number). An append that fails gives its numbers back, so
//!   a gap in the numbers on disk is always records that were written and then lost.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::FramePos;
use super::buffer::SyncMode;
use super::buffer_state::{SegInfo, Shared};
use super::codec::set_first_seq;
use super::frame::FRAME_HEADER_BYTES;
use super::segment::{SEGMENT_HEADER_BYTES, SegmentError, SegmentWriter};

/// Bytes of queued appends one group takes at most.
const GROUP_BYTES: usize = 4 << 20;

pub(crate) enum Cmd {
    Append(AppendCmd),
    Close(oneshot::Sender<()>),
}

pub(crate) struct AppendCmd {
    pub payload: Vec<u8>,
    pub records: u64,
    pub durable: bool,
    pub reserved_bytes: u64,
    pub reply: oneshot::Sender<io::Result<FramePos>>,
}

/// A change the writer made to its segments, published after the group.
enum SegEvent {
    Created {
        segment: u64,
        path: PathBuf,
    },
    Len {
        segment: u64,
        len: u64,
        records: u64,
    },
    Sealed {
        segment: u64,
    },
}

/// The blocking half: owns the segment being written.
pub(crate) struct WriterCore {
    dir: PathBuf,
    writer: Option<SegmentWriter>,
    next_id: u64,
    segment_bytes: u64,
    /// Records appended to the current segment and not yet published.
    unpublished_records: u64,
    /// Sequence number of the next record appended.
    next_seq: u64,
}

fn to_io(e: SegmentError) -> io::Error {
    match e {
        SegmentError::Io(e) => e,
        other => io::Error::other(other),
    }
}

impl WriterCore {
    /// Starts segment `id`, whose first record will be numbered `next_seq`.
    pub fn create(dir: PathBuf, id: u64, segment_bytes: u64, next_seq: u64) -> io::Result<Self> {
        let writer = SegmentWriter::create(&dir, id, next_seq).map_err(to_io)?;
        Ok(Self {
            dir,
            writer: Some(writer),
            next_id: id + 1,
            segment_bytes,
            unpublished_records: 0,
            next_seq,
        })
    }

    pub fn path(&self) -> PathBuf {
        self.writer
            .as_ref()
            .map(|w| w.path().to_path_buf())
            .unwrap_or_default()
    }

    /// Seals the current segment (fsync'd first; a failure is logged: acked durable frames were
    /// fsync'd already) and forgets it.
    fn seal(&mut self, events: &mut Vec<SegEvent>) -> io::Result<()> {
        let Some(mut w) = self.writer.take() else {
            return Ok(());
        };
        let synced = w.sync().map_err(to_io);
        events.push(SegEvent::Len {
            segment: w.id(),
            len: w.len_bytes(),
            records: std::mem::take(&mut self.unpublished_records),
        });
        events.push(SegEvent::Sealed { segment: w.id() });
        synced
    }

    /// Seals the segment a failed write or flush left (the appends in it have already failed);
    /// its fsync failing too is logged, not returned.
    fn seal_after_failure(&mut self, events: &mut Vec<SegEvent>) {
        if let Err(e) = self.seal(events) {
            tracing::warn!(error = %e, "disk buffer: fsync of the failed segment failed too");
        }
    }

    /// Writes one group; returns each append's result and the segment changes. Blocking.
    fn write_group(
        &mut self,
        group: &mut [(Vec<u8>, u64)],
        sync: bool,
        close: bool,
    ) -> (Vec<io::Result<FramePos>>, Vec<SegEvent>) {
        let mut results: Vec<io::Result<FramePos>> = Vec::with_capacity(group.len());
        let mut events = Vec::new();
        // Indices of `results` in the current segment, not yet flushed, and the sequence number
        // of the first of them (given back if they fail).
        let mut unflushed: Vec<usize> = Vec::new();
        let mut unflushed_seq = self.next_seq;
        for (payload, records) in group.iter_mut() {
            let frame = (FRAME_HEADER_BYTES + payload.len()) as u64;
            let full = self.writer.as_ref().is_some_and(|w| {
                w.len_bytes() > SEGMENT_HEADER_BYTES as u64
                    && w.len_bytes() + frame > self.segment_bytes
            });
            if full {
                if let Err(e) = self.seal(&mut events) {
                    fail_all(&mut results, &mut unflushed, &e);
                    self.next_seq = unflushed_seq;
                }
                // Sealing fsync'd them: a later failure cannot undo them.
                unflushed.clear();
            }
            if unflushed.is_empty() {
                unflushed_seq = self.next_seq;
            }
            let appended = self.open_if_needed(&mut events).and_then(|()| {
                let w = self
                    .writer
                    .as_mut()
                    .ok_or_else(|| io::Error::other("no segment"))?;
                // Only a payload `encode_batch` made reaches the writer, so the slot is there.
                let numbered = set_first_seq(payload, self.next_seq);
                debug_assert!(numbered, "a payload without a sequence-number slot");
                w.append(payload).map_err(to_io)
            });
            match appended {
                Ok(pos) => {
                    self.unpublished_records += *records;
                    self.next_seq += *records;
                    unflushed.push(results.len());
                    results.push(Ok(pos));
                }
                Err(e) => {
                    tracing::error!(error = %e, "disk buffer write failed; rotating");
                    // Poisoned now: seal it so the next append starts a fresh segment.
                    self.seal_after_failure(&mut events);
                    fail_all(&mut results, &mut unflushed, &e);
                    self.next_seq = unflushed_seq;
                    results.push(Err(e));
                }
            }
        }
        let finished = if close {
            self.seal(&mut events)
        } else if let Some(w) = self.writer.as_mut() {
            let r = if sync { w.sync() } else { w.flush() };
            events.push(SegEvent::Len {
                segment: w.id(),
                len: w.len_bytes(),
                records: std::mem::take(&mut self.unpublished_records),
            });
            r.map_err(to_io)
        } else {
            Ok(())
        };
        if let Err(e) = finished {
            tracing::error!(error = %e, "disk buffer flush failed; rotating");
            self.seal_after_failure(&mut events);
            if !unflushed.is_empty() {
                self.next_seq = unflushed_seq;
            }
            fail_all(&mut results, &mut unflushed, &e);
        }
        (results, events)
    }

    fn open_if_needed(&mut self, events: &mut Vec<SegEvent>) -> io::Result<()> {
        if self.writer.is_some() {
            return Ok(());
        }
        let id = self.next_id;
        // Never retry an id whose file may exist (a failed create may have left it).
        self.next_id += 1;
        let w = SegmentWriter::create(&self.dir, id, self.next_seq).map_err(to_io)?;
        events.push(SegEvent::Created {
            segment: id,
            path: w.path().to_path_buf(),
        });
        self.writer = Some(w);
        Ok(())
    }
}

fn fail_all(results: &mut [io::Result<FramePos>], idx: &mut Vec<usize>, e: &io::Error) {
    for i in idx.drain(..) {
        results[i] = Err(io::Error::new(e.kind(), e.to_string()));
    }
}

/// Publishes the writer's segment changes.
fn publish(shared: &Shared, events: Vec<SegEvent>, released_bytes: u64) {
    let mut st = shared.lock();
    st.reserved_bytes = st.reserved_bytes.saturating_sub(released_bytes);
    for ev in events {
        match ev {
            SegEvent::Created { segment, path } => {
                st.segments.insert(
                    segment,
                    SegInfo {
                        path,
                        len_bytes: SEGMENT_HEADER_BYTES as u64,
                        records: 0,
                        read_records: 0,
                        sealed: false,
                    },
                );
                st.current = segment;
                st.add_disk_bytes(SEGMENT_HEADER_BYTES as i64, &shared.disk_bytes);
            }
            SegEvent::Len {
                segment,
                len,
                records,
            } => {
                let Some(seg) = st.segments.get_mut(&segment) else {
                    continue; // dropped by DropOldest meanwhile
                };
                let delta = len as i64 - seg.len_bytes as i64;
                seg.len_bytes = len;
                seg.records += records;
                st.add_disk_bytes(delta, &shared.disk_bytes);
            }
            SegEvent::Sealed { segment } => {
                if let Some(seg) = st.segments.get_mut(&segment) {
                    seg.sealed = true;
                }
            }
        }
    }
    drop(st);
    shared.bump_data();
    shared.space.notify_waiters();
}

/// The writer task: runs until closed or until every [`super::buffer::DiskBuffer`] is dropped.
pub(crate) async fn run(
    shared: Arc<Shared>,
    core: WriterCore,
    mut rx: mpsc::Receiver<Cmd>,
    mode: SyncMode,
) {
    let interval = shared.limits.sync_interval;
    let mut core = core;
    let mut dirty = false;
    let mut last_sync = Instant::now();
    loop {
        let first = if dirty {
            tokio::select! {
                cmd = rx.recv() => cmd,
                () = tokio::time::sleep_until(last_sync + interval) => {
                    let (c, (_, events)) = match blocking(core, Vec::new(), true, false).await {
                        Some(r) => r,
                        None => return,
                    };
                    core = c;
                    shared.fsyncs.fetch_add(1, Ordering::Relaxed);
                    publish(&shared, events, 0);
                    dirty = false;
                    last_sync = Instant::now();
                    continue;
                }
            }
        } else {
            rx.recv().await
        };
        let mut group = Vec::new();
        // Every handle dropped without close(): stop as close() would, so the consumer ends.
        let mut close = None;
        let mut stop = first.is_none();
        match first {
            Some(Cmd::Append(a)) => group.push(a),
            Some(Cmd::Close(reply)) => close = Some(reply),
            None => {}
        }
        let mut bytes: usize = group.iter().map(|a| a.payload.len()).sum();
        while close.is_none() && !stop && bytes < GROUP_BYTES {
            match rx.try_recv() {
                Ok(Cmd::Append(a)) => {
                    bytes += a.payload.len();
                    group.push(a);
                }
                Ok(Cmd::Close(reply)) => close = Some(reply),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => stop = true,
            }
        }
        let closing = close.is_some() || stop;
        let sync = closing
            || mode == SyncMode::Full
            || group.iter().any(|a| a.durable)
            || last_sync.elapsed() >= interval;
        let payloads: Vec<(Vec<u8>, u64)> = group
            .iter_mut()
            .map(|a| (std::mem::take(&mut a.payload), a.records))
            .collect();
        let Some((c, (results, events))) = blocking(core, payloads, sync, closing).await else {
            return; // the blocking pool is gone (runtime shutdown): replies drop as Closed
        };
        core = c;
        let released = group.iter().map(|a| a.reserved_bytes).sum();
        if closing {
            let mut st = shared.lock();
            st.closed = true;
        }
        publish(&shared, events, released);
        if sync {
            shared.fsyncs.fetch_add(1, Ordering::Relaxed);
            dirty = false;
            last_sync = Instant::now();
        } else {
            dirty = true;
        }
        for (a, r) in group.into_iter().zip(results) {
            let _ = a.reply.send(r);
        }
        if closing {
            if let Some(reply) = close {
                let _ = reply.send(());
            }
            shared.housekeeping.notify_one();
            return;
        }
    }
}

type GroupOut = (Vec<io::Result<FramePos>>, Vec<SegEvent>);

async fn blocking(
    mut core: WriterCore,
    mut payloads: Vec<(Vec<u8>, u64)>,
    sync: bool,
    close: bool,
) -> Option<(WriterCore, GroupOut)> {
    tokio::task::spawn_blocking(move || {
        let out = core.write_group(&mut payloads, sync, close);
        (core, out)
    })
    .await
    .ok()
}
