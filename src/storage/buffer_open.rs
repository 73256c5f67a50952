//! Start-up of a disk buffer directory: recover what a previous run left, start this run's segment.
//!
//! Invariants:
//! - Nothing found on disk makes start-up fail: a segment whose header is bad, or that cannot be
//!   read at all, is renamed to `*.bad` (or, if even that fails, left and ignored) and reported.
//! - Segments below the checkpoint's segment were consumed and are deleted; the others are only
//!   read, never appended to: this run writes a new segment with a higher id than any seen,
//!   including the checkpoint's, so the consumer reads this run's batches after older ones.
//! - A checkpoint past the end of its (recovered) segment means "segment consumed".
//! - Record numbers keep going up: this run starts after the highest number any intact frame,
//!   segment header or the checkpoint shows. Records of the newest segment's torn end are not
//!   known, so their numbers may be given again.

use std::collections::BTreeMap;
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
use super::reader::{ReadItem, SegmentReader};
use super::segment::{self, Recovery, SEGMENT_HEADER_BYTES};

/// What [`open_dir`] returns: the writer, the shared state, where the consumer starts, the report.
pub(crate) type Opened = (WriterCore, State, FramePos, OpenReport);

/// One past the highest record number seen (0: none).
type NextSeq = u64;

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
    let mut next_seq: NextSeq = consumed_seq.unwrap_or(0);
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
        let Some(seg) = recover_one(&path, id, start, limits, &mut report, &mut next_seq) else {
            continue;
        };
        disk_bytes += seg.len_bytes;
        segments.insert(id, seg);
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
    };
    Ok((writer, state, start, report))
}

/// Recovers one segment of a previous run and counts what the consumer will replay from it.
fn recover_one(
    path: &Path,
    id: u64,
    start: FramePos,
    limits: &Limits,
    report: &mut OpenReport,
    next_seq: &mut NextSeq,
) -> Option<SegInfo> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let recovered = match segment::recover(path) {
        Ok(Recovery::Usable(r)) => r,
        Ok(Recovery::Unusable(e)) => {
            set_aside(path, e.to_string(), report);
            return None;
        }
        Err(e) => {
            set_aside(path, e.to_string(), report);
            return None;
        }
    };
    if recovered.torn_bytes() > 0 {
        tracing::warn!(file = %name, bytes = recovered.torn_bytes(), "disk buffer: torn tail cut off");
    }
    report.torn_bytes += recovered.torn_bytes();
    *next_seq = (*next_seq).max(recovered.header.first_seq.unwrap_or(0));
    for span in &recovered.corrupt_spans {
        tracing::warn!(file = %name, offset = span.offset, bytes = span.len_bytes, reason = %span.reason, "disk buffer: damaged span skipped");
        report.corrupt_spans.push((
            name.clone(),
            span.offset,
            span.len_bytes,
            span.reason.to_string(),
        ));
    }
    let from = if id == start.segment { start.offset } else { 0 };
    let (batches, records) = count_from(path, from, limits.read_chunk_bytes, next_seq);
    report.replay_batches += batches;
    report.replay_records += records;
    Some(SegInfo {
        path: path.to_path_buf(),
        len_bytes: recovered.len_bytes,
        records,
        read_records: 0,
        sealed: true,
    })
}

/// Batches and records from `offset` to the end of a recovered segment (a second, chunked pass:
/// recovery itself does not look into payloads), raising `next_seq` past their numbers. Errors end
/// the count: it is only a report.
fn count_from(path: &Path, offset: u64, chunk_bytes: usize, next_seq: &mut NextSeq) -> (u64, u64) {
    let Ok(mut reader) = SegmentReader::open(path, offset, chunk_bytes) else {
        return (0, 0);
    };
    reader.seal();
    let (mut batches, mut records) = (0, 0);
    while let Ok(Some(item)) = reader.next_item() {
        if let ReadItem::Frame(f) = item {
            let head = batch_head(&f.payload).ok();
            batches += 1;
            records += head.map_or(0, |h| h.records);
            *next_seq = (*next_seq).max(head.and_then(|h| h.end_seq()).unwrap_or(0));
        }
    }
    (batches, records)
}

/// Renames an unusable file to `<name>.bad` so later start-ups do not trip on it again.
fn set_aside(path: &Path, reason: String, report: &mut OpenReport) {
    let mut bad = path.as_os_str().to_owned();
    bad.push(".bad");
    let bad = PathBuf::from(bad);
    let reason = match fs::rename(path, &bad).and_then(|()| segment::sync_dir(parent(path))) {
        Ok(()) => reason,
        Err(e) => format!("{reason}; could not rename it aside: {e}"),
    };
    tracing::error!(file = %path.display(), reason = %reason, "disk buffer: unusable segment set aside");
    report.unusable_files.push((path.to_path_buf(), reason));
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}
