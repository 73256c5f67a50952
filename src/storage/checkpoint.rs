//! What each consumer (an output, by name) has consumed: the position it resumes reading from.
//!
//! File `<dir>/checkpoint`: `CHECKPOINT_MAGIC (8) | format version (u32 LE) | entry count (u32 LE) |
//! per entry: name length (u16 LE), UTF-8 name, segment (u64 LE), offset (u64 LE), next sequence
//! number (u64 LE; `u64::MAX`: not known) | CRC32C of everything before it (u32 LE)`. Version 1
//! (older builds; read, never written) has no sequence number.
//!
//! The sequence number is that of the first record not consumed: it keeps record numbers going up
//! after every segment was consumed and deleted, and says which records of a damaged region the
//! consumer already had.
//!
//! Invariants:
//! - Saving is atomic: write `checkpoint.tmp`, fsync it, rename it over `checkpoint`, fsync the
//!   directory. A crash at any point leaves either the old or the new checkpoint, whole.
//! - A missing or damaged checkpoint loads as "nothing consumed" with the reason: consumers replay
//!   everything (at-least-once). It never loads as a position further than what was saved.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use super::FramePos;
use super::segment::sync_dir;

pub const CHECKPOINT_MAGIC: [u8; 8] = *b"FLANECKP";
pub const CHECKPOINT_FORMAT_VERSION: u32 = 2;
/// The version before sequence numbers: read, never written.
const CHECKPOINT_V1: u32 = 1;
/// Stored for a sequence number that is not known.
const UNKNOWN_SEQ: u64 = u64::MAX;
pub const CHECKPOINT_FILE: &str = "checkpoint";
pub const CHECKPOINT_TMP_FILE: &str = "checkpoint.tmp";

/// Where a consumer resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Everything before this position is consumed.
    pub pos: FramePos,
    /// Sequence number of the first record not consumed (every lower one was); `None` when not
    /// known (a version 1 file, or nothing numbered consumed yet).
    pub next_seq: Option<u64>,
}

impl From<FramePos> for Checkpoint {
    fn from(pos: FramePos) -> Self {
        Self {
            pos,
            next_seq: None,
        }
    }
}

/// Consumer name -> where it resumes.
pub type Checkpoints = BTreeMap<String, Checkpoint>;

/// Why a checkpoint file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointProblem {
    #[error("no checkpoint file")]
    Missing,
    #[error("not a firelane checkpoint (bad magic)")]
    BadMagic,
    #[error("checkpoint CRC32C mismatch")]
    BadCrc,
    #[error("unsupported checkpoint format version {0}")]
    UnsupportedVersion(u32),
    #[error("checkpoint is malformed: {0}")]
    Malformed(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("consumer name of {0} bytes is longer than 65535")]
    NameTooLong(usize),
}

/// What [`load`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub checkpoints: Checkpoints,
    /// Set when the file was missing or damaged and `checkpoints` is therefore empty.
    pub reset: Option<CheckpointProblem>,
}

pub fn encode(checkpoints: &Checkpoints) -> Result<Vec<u8>, CheckpointError> {
    let mut out = Vec::with_capacity(20 + checkpoints.len() * 40);
    out.extend_from_slice(&CHECKPOINT_MAGIC);
    out.extend_from_slice(&CHECKPOINT_FORMAT_VERSION.to_le_bytes());
    let count = u32::try_from(checkpoints.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_le_bytes());
    for (name, cp) in checkpoints.iter().take(count as usize) {
        let len =
            u16::try_from(name.len()).map_err(|_| CheckpointError::NameTooLong(name.len()))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&cp.pos.segment.to_le_bytes());
        out.extend_from_slice(&cp.pos.offset.to_le_bytes());
        let seq = cp
            .next_seq
            .filter(|s| *s != UNKNOWN_SEQ)
            .unwrap_or(UNKNOWN_SEQ);
        out.extend_from_slice(&seq.to_le_bytes());
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

pub fn decode(bytes: &[u8]) -> Result<Checkpoints, CheckpointProblem> {
    if bytes.len() < 8 || bytes[..8] != CHECKPOINT_MAGIC {
        return Err(CheckpointProblem::BadMagic);
    }
    let Some(body_len) = bytes.len().checked_sub(4).filter(|n| *n >= 16) else {
        return Err(CheckpointProblem::Malformed("shorter than its header"));
    };
    let (body, crc) = bytes.split_at(body_len);
    if crc32c::crc32c(body) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err(CheckpointProblem::BadCrc);
    }
    let mut r = Fields { buf: body, pos: 8 };
    let version = r.u32()?;
    if version != CHECKPOINT_FORMAT_VERSION && version != CHECKPOINT_V1 {
        return Err(CheckpointProblem::UnsupportedVersion(version));
    }
    let count = r.u32()?;
    let mut checkpoints = Checkpoints::new();
    for _ in 0..count {
        let len = usize::from(r.u16()?);
        let name = std::str::from_utf8(r.take(len)?)
            .map_err(|_| CheckpointProblem::Malformed("consumer name is not UTF-8"))?
            .to_owned();
        let segment = r.u64()?;
        let offset = r.u64()?;
        let next_seq = match version {
            CHECKPOINT_V1 => None,
            _ => Some(r.u64()?).filter(|s| *s != UNKNOWN_SEQ),
        };
        let cp = Checkpoint {
            pos: FramePos { segment, offset },
            next_seq,
        };
        if checkpoints.insert(name, cp).is_some() {
            return Err(CheckpointProblem::Malformed("consumer named twice"));
        }
    }
    if r.pos != body.len() {
        return Err(CheckpointProblem::Malformed("bytes after the last entry"));
    }
    Ok(checkpoints)
}

struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Fields<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CheckpointProblem> {
        let end = self.pos.saturating_add(n);
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or(CheckpointProblem::Malformed("ends inside an entry"))?;
        self.pos = end;
        Ok(bytes)
    }

    fn u16(&mut self) -> Result<u16, CheckpointProblem> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, CheckpointProblem> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, CheckpointProblem> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
}

/// Loads `<dir>/checkpoint`. Missing or damaged: empty, with the reason. Other I/O errors (the
/// directory is unreadable) are returned: the buffer cannot work there at all.
pub fn load(dir: &Path) -> io::Result<Loaded> {
    let bytes = match fs::read(dir.join(CHECKPOINT_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Loaded {
                checkpoints: Checkpoints::new(),
                reset: Some(CheckpointProblem::Missing),
            });
        }
        Err(e) => return Err(e),
    };
    Ok(match decode(&bytes) {
        Ok(checkpoints) => Loaded {
            checkpoints,
            reset: None,
        },
        Err(problem) => Loaded {
            checkpoints: Checkpoints::new(),
            reset: Some(problem),
        },
    })
}

/// Saves `checkpoints` atomically as `<dir>/checkpoint`.
pub fn save(dir: &Path, checkpoints: &Checkpoints) -> Result<(), CheckpointError> {
    let bytes = encode(checkpoints)?;
    let tmp = dir.join(CHECKPOINT_TMP_FILE);
    let mut file = File::create(&tmp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, dir.join(CHECKPOINT_FILE))?;
    sync_dir(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests;
