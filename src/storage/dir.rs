//! The segment files of a buffer directory, and which of them every consumer has passed.
//!
//! Invariants:
//! - Only names that [`parse_segment_file_name`] accepts are segments; everything else (the
//!   checkpoint, set-aside files, editor litter) is ignored, never deleted.
//! - A segment is deletable only when every configured consumer has a checkpoint in a later
//!   segment. A consumer with no checkpoint has consumed nothing, so then nothing is deletable;
//!   with no consumers at all nothing is deletable either (nobody has read the data).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::checkpoint::Checkpoints;
use super::segment::parse_segment_file_name;

/// Segment id -> path, in id order.
pub fn list_segments(dir: &Path) -> io::Result<BTreeMap<u64, PathBuf>> {
    let mut segments = BTreeMap::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(id) = entry.file_name().to_str().and_then(parse_segment_file_name) else {
            continue;
        };
        if entry.file_type()?.is_file() {
            segments.insert(id, entry.path());
        }
    }
    Ok(segments)
}

/// The ids in `segments` that every consumer in `consumers` has fully passed.
///
/// A checkpoint at `(s, offset)` means frames before `offset` of segment `s` are consumed; segment
/// `s` itself is kept even if `offset` is its end, because it may still be appended to: a
/// consumer moves its checkpoint to the next segment once it has finished a sealed one.
pub fn fully_consumed(segments: &[u64], checkpoints: &Checkpoints, consumers: &[&str]) -> Vec<u64> {
    let oldest_needed = consumers
        .iter()
        .map(|c| checkpoints.get(*c).map(|cp| cp.pos.segment))
        .try_fold(u64::MAX, |min, s| s.map(|s| min.min(s)));
    match oldest_needed {
        Some(oldest) if !consumers.is_empty() => {
            segments.iter().copied().filter(|s| *s < oldest).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
