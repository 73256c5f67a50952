//! Start-up of a disk buffer directory: recover what a previous run left, price the damage found
//! in records, start this run's segment.
//!
//! Invariants:
//! - Nothing found on disk makes start-up fail: a segment whose header is bad, or that cannot be
//!   read at all, is renamed to `*.bad` (or, if even that fails, left and ignored) and reported.
//! - Segments below the checkpoint's segment were consumed and are deleted; the others are only
//!   read, never appended to: this run writes a new segment with a higher id than any seen,
//!   including the checkpoint's, so the consumer reads this run's batches after older ones.
//! - A checkpoint past the end of its (recovered) segment means "segment consumed".
//! - Every damaged region is reported once, here, with the records it cost (a gap in the record
//!   numbers, [`super::loss`]); regions behind the checkpoint cost nothing. The spans left in the
//!   files are remembered so the consumer, which skips them again, does not report them twice.
//! - Record numbers keep going up: this run starts after the highest number any intact frame,
//!   segment header or the checkpoint shows. Records of the newest segment's torn end are not
//!   known, so their numbers may be given again.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::FramePos;
use super::buffer::OpenReport;
use super::buffer_replay::CONSUMER;
use super::buffer_state::{Limits, SegInfo, State, Watermark};
use super::buffer_writer::WriterCore;
use super::checkpoint::{self, CheckpointProblem};
use super::codec::batch_head;
use super::dir::list_segments;
use super::loss::{Damage, DamageKind, Lost, Pricer};
use super::reader::{ReadItem, SegmentReader};
use super::segment::{self, Recovery, SEGMENT_HEADER_BYTES};

/// What [`open_dir`] returns: the writer, the shared state, where the consumer starts, the
/// number of the first record it has not consumed (if known), the report.
pub(crate) type Opened = (WriterCore, State, FramePos, Option<u64>, OpenReport);

/// Recovers `limits.dir` and creates this run's first segment. Blocking.
pub(crate) fn open_dir(limits: &Limits) -> io::Result<Opened> {
    let dir = &limits.dir;
    fs::create_dir_all(dir)?;
    let loaded = checkpoint::load(dir)?;
    let resume = loaded.checkpoints.get(CONSUMER).copied();
    let mut report = OpenReport::default();
    let found = list_segments(dir)?;
    match loaded.reset {
        Some(CheckpointProblem::Missing) if found.is_empty() => {}
        Some(problem) => report.checkpoint_reset = Some(problem.to_string()),
        None if resume.is_none() => {
            report.checkpoint_reset = Some(format!("checkpoint has no entry {CONSUMER:?}"));
        }
        None => {}
    }
    let start = resume.map_or(
        FramePos {
            segment: 0,
            offset: 0,
        },
        |c| c.pos,
    );
    let consumed_seq = resume.and_then(|c| c.next_seq);
    let mut scan = Scan {
        start,
        chunk_bytes: limits.read_chunk_bytes,
        pricer: Pricer::new(consumed_seq, consumed_seq.unwrap_or(0)),
        next_seq: consumed_seq.unwrap_or(0),
        reported_spans: HashSet::new(),
        report: &mut report,
    };
    let mut max_id = start.segment;
    let mut segments = BTreeMap::new();
    let mut disk_bytes = 0;
    for (id, path) in found {
        max_id = max_id.max(id);
        if id < start.segment {
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot delete a consumed segment");
            }
            continue;
        }
        let Some(seg) = scan.segment(&path, id) else {
            continue;
        };
        disk_bytes += seg.len_bytes;
        segments.insert(id, seg);
    }
    let (next_seq, reported_spans) = (scan.next_seq, scan.reported_spans);
    let at_end = scan.pricer.finish();
    report.damage.extend(at_end);
    for d in &report.damage {
        d.log(&limits.name);
    }
    let first_of_run = max_id + 1;
    let writer = WriterCore::create(dir.clone(), first_of_run, limits.segment_bytes, next_seq)?;
    disk_bytes += SEGMENT_HEADER_BYTES as u64;
    segments.insert(
        first_of_run,
        SegInfo {
            path: writer.path(),
            len_bytes: SEGMENT_HEADER_BYTES as u64,
            records: 0,
            read_records: 0,
            sealed: false,
        },
    );
    let state = State {
        segments,
        current: first_of_run,
        first_of_run,
        disk_bytes,
        reserved_bytes: 0,
        closed: false,
        watermark: Watermark::new(start, consumed_seq),
        saved: resume.map(|c| c.pos),
        reported_spans,
    };
    Ok((writer, state, start, consumed_seq, report))
}

/// The walk over a previous run's segments, in log order.
struct Scan<'a> {
    /// Where the consumer resumes: damage before it cost nothing.
    start: FramePos,
    chunk_bytes: usize,
    pricer: Pricer,
    /// One past the highest record number seen.
    next_seq: u64,
    reported_spans: HashSet<FramePos>,
    report: &'a mut OpenReport,
}

impl Scan<'_> {
    /// Recovers one segment, prices its damage and counts what the consumer will replay from it.
    fn segment(&mut self, path: &Path, id: u64) -> Option<SegInfo> {
        let recovered = match segment::recover(path) {
            Ok(Recovery::Usable(r)) => r,
            Ok(Recovery::Unusable(e)) => {
                self.set_aside(path, id, e.to_string());
                return None;
            }
            Err(e) => {
                self.set_aside(path, id, e.to_string());
                return None;
            }
        };
        let first_seq = recovered.header.first_seq;
        self.next_seq = self.next_seq.max(first_seq.unwrap_or(0));
        let priced = self.pricer.segment_start(first_seq);
        self.report.damage.extend(priced);
        let records = self.frames(path, id);
        if let Some(torn) = recovered.torn {
            let region = Damage::new(
                path.to_path_buf(),
                torn.offset,
                torn.len_bytes,
                DamageKind::Torn,
                torn.reason.to_string(),
            );
            self.damage(id, region);
        }
        Some(SegInfo {
            path: path.to_path_buf(),
            len_bytes: recovered.len_bytes,
            records,
            read_records: 0,
            sealed: true,
        })
    }

    /// Reads a recovered segment from its start: numbers of intact records, damaged spans, and
    /// the records from the checkpoint on (returned). A read error ends it: the consumer will
    /// meet the same error and report it.
    fn frames(&mut self, path: &Path, id: u64) -> u64 {
        let Ok(mut reader) = SegmentReader::open(path, 0, self.chunk_bytes) else {
            return 0;
        };
        reader.seal();
        let mut records = 0;
        while let Ok(Some(item)) = reader.next_item() {
            match item {
                ReadItem::Frame(f) => {
                    // A frame that does not decode holds no numbered records; the consumer
                    // skips and counts it.
                    let head = batch_head(&f.payload).ok();
                    if let Some(head) = head {
                        let priced = self.pricer.records(head.first_seq, head.records);
                        self.report.damage.extend(priced);
                        self.next_seq = self.next_seq.max(head.end_seq().unwrap_or(0));
                    }
                    if f.pos >= self.start {
                        let n = head.map_or(0, |h| h.records);
                        self.report.replay_batches += 1;
                        self.report.replay_records += n;
                        records += n;
                    }
                }
                ReadItem::Skipped(span) => {
                    let end = span.offset + span.len_bytes;
                    self.reported_spans.insert(FramePos {
                        segment: id,
                        offset: end,
                    });
                    let region = Damage::new(
                        path.to_path_buf(),
                        span.offset,
                        span.len_bytes,
                        DamageKind::Damaged,
                        span.reason.to_string(),
                    );
                    self.damage(id, region);
                }
            }
        }
        records
    }

    /// Prices `region` of segment `id` with its neighbours, unless it lies behind the checkpoint.
    fn damage(&mut self, id: u64, mut region: Damage) {
        let end = FramePos {
            segment: id,
            offset: region.offset + region.len_bytes,
        };
        if end <= self.start {
            region.lost = Lost::Consumed;
            self.report.damage.push(region);
        } else {
            self.pricer.damage(region);
        }
    }

    /// Renames an unusable file to `<name>.bad` so later start-ups do not trip on it again.
    fn set_aside(&mut self, path: &Path, id: u64, reason: String) {
        let len_bytes = fs::metadata(path).map_or(0, |m| m.len());
        let mut bad = path.as_os_str().to_owned();
        bad.push(".bad");
        let bad = PathBuf::from(bad);
        let reason = match fs::rename(path, &bad).and_then(|()| segment::sync_dir(parent(path))) {
            Ok(()) => format!("{reason}; renamed to {}", bad.display()),
            Err(e) => format!("{reason}; could not rename it aside: {e}"),
        };
        let mut region = Damage::new(
            path.to_path_buf(),
            0,
            len_bytes,
            DamageKind::Unusable,
            reason,
        );
        if len_bytes <= SEGMENT_HEADER_BYTES as u64 {
            // Too short to hold a frame (a crash while it was created): it held no record.
            region.lost = Lost::Records(0..0);
            self.report.damage.push(region);
        } else {
            self.damage(id, region);
        }
    }
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}
