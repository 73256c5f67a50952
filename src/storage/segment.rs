//! Segment files: `<dir>/<16 lowercase hex digits id>.wal`, a file header, then frames.
//!
//! File header, version 2 (32 bytes): `SEGMENT_MAGIC (8) | format version (u32 LE) | segment id
//! (u64 LE) | sequence number of the segment's first record (u64 LE) | CRC32C of the previous 28
//! bytes (u32 LE)`. Version 1 (24 bytes, older builds; read, never written) has no sequence number.
//! Frames follow back to back (see [`super::frame`]).
//!
//! The sequence number in the header costs one write per segment, not per append, and makes the
//! end of the previous segment countable: records lost off the end of segment N are those between
//! its last whole frame and the first sequence number of segment N+1.
//!
//! Invariants:
//! - A writer only appends, and never opens an existing file: a segment is written by one writer,
//!   once. After a failed write the writer refuses further appends (the caller rotates), so the
//!   positions it returned always match the file.
//! - [`recover`] leaves a file whose every byte up to its length is either a valid frame or a
//!   reported corrupt span followed by a valid frame: a torn tail is cut off with `set_len`.
//! - A file whose header is bad is reported [`Recovery::Unusable`] for the caller to set aside;
//!   nothing here panics or fails in a way that would crash-loop on the same file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::FramePos;
use super::frame::{FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES, frame_header};
use super::reader::{CorruptSpan, FrameCursor, Step};

pub const SEGMENT_MAGIC: [u8; 8] = *b"FLANEWAL";
pub const SEGMENT_FORMAT_VERSION: u32 = 2;
/// Header size of the version written ([`SEGMENT_FORMAT_VERSION`]).
pub const SEGMENT_HEADER_BYTES: usize = 32;
/// Header size of version 1 (older builds).
pub const SEGMENT_V1_HEADER_BYTES: usize = 24;
/// Extension of segment file names.
pub const SEGMENT_EXTENSION: &str = "wal";

/// Chunk size recovery reads with.
const RECOVERY_CHUNK_BYTES: usize = 1 << 20;

/// Why a segment file's header is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("file is {0} bytes, shorter than a segment header")]
    TooShort(u64),
    #[error("not a firelane segment (bad magic)")]
    BadMagic,
    #[error("segment header CRC32C mismatch")]
    BadCrc,
    #[error("unsupported segment format version {0} (a newer version's, or a damaged header)")]
    UnsupportedVersion(u32),
    #[error("header says segment {header:016x} but the file is named {name:016x}")]
    IdMismatch { name: u64, header: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error("payload of {0} bytes above the maximum frame payload {MAX_PAYLOAD_BYTES}")]
    PayloadTooLarge(usize),
    #[error("an earlier write to this segment failed; rotate to a new segment")]
    Poisoned,
}

/// `<16 hex digits>.wal`.
pub fn segment_file_name(id: u64) -> String {
    format!("{id:016x}.{SEGMENT_EXTENSION}")
}

/// The id of a segment file name, if `name` is one (exactly 16 lowercase hex digits + `.wal`).
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(".wal")?;
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if hex.len() != 16 || !hex.bytes().all(is_hex) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// What a segment file's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub id: u64,
    /// Sequence number of the segment's first record; `None` in a version 1 header.
    pub first_seq: Option<u64>,
    /// Where the first frame starts.
    pub len_bytes: u64,
}

pub fn encode_header(id: u64, first_seq: u64) -> [u8; SEGMENT_HEADER_BYTES] {
    let mut h = [0u8; SEGMENT_HEADER_BYTES];
    h[..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
    h[12..20].copy_from_slice(&id.to_le_bytes());
    h[20..28].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[..28]);
    h[28..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Decodes a header of either version; `bytes` may be shorter than a header (a file cut short).
pub fn decode_header(bytes: &[u8]) -> Result<SegmentHeader, HeaderError> {
    let too_short = || HeaderError::TooShort(bytes.len() as u64);
    let magic = bytes.get(..8).ok_or_else(too_short)?;
    if magic != SEGMENT_MAGIC {
        return Err(HeaderError::BadMagic);
    }
    let le4 = |r: &[u8]| u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
    let le8 = |r: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&r[..8]);
        u64::from_le_bytes(a)
    };
    let version = le4(bytes.get(8..12).ok_or_else(too_short)?);
    let len = match version {
        1 => SEGMENT_V1_HEADER_BYTES,
        SEGMENT_FORMAT_VERSION => SEGMENT_HEADER_BYTES,
        // Checked before the CRC, whose place depends on the version; the CRC then decides.
        other => return Err(HeaderError::UnsupportedVersion(other)),
    };
    let h = bytes.get(..len).ok_or_else(too_short)?;
    if crc32c::crc32c(&h[..len - 4]) != le4(&h[len - 4..]) {
        return Err(HeaderError::BadCrc);
    }
    Ok(SegmentHeader {
        id: le8(&h[12..20]),
        first_seq: (version == SEGMENT_FORMAT_VERSION).then(|| le8(&h[20..28])),
        len_bytes: len as u64,
    })
}

/// Reads and checks the header at the start of `file`, leaving the file after it.
pub(crate) fn read_header(file: &mut File) -> Result<SegmentHeader, SegmentError> {
    let mut h = Vec::with_capacity(SEGMENT_HEADER_BYTES);
    file.seek(SeekFrom::Start(0))?;
    file.take(SEGMENT_HEADER_BYTES as u64).read_to_end(&mut h)?;
    let header = decode_header(&h)?;
    file.seek(SeekFrom::Start(header.len_bytes))?;
    Ok(header)
}

/// Appends frames to a new segment file. Writes are buffered: [`Self::flush`] hands them to the
/// OS, [`Self::sync`] makes them durable.
pub struct SegmentWriter {
    id: u64,
    path: PathBuf,
    out: BufWriter<File>,
    len_bytes: u64,
    poisoned: bool,
}

impl SegmentWriter {
    /// Creates `<dir>/<id>.wal` (refusing to overwrite an existing file), writes its header
    /// (`first_seq`: the sequence number its first record will have) and makes the file and its
    /// directory entry durable. If that fails (a full disk), the file is removed: it never held a
    /// frame, and left behind it would be set aside as a segment with a bad header at the next
    /// start, one per failed attempt.
    pub fn create(dir: &Path, id: u64, first_seq: u64) -> Result<Self, SegmentError> {
        let path = dir.join(segment_file_name(id));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let durable = file
            .write_all(&encode_header(id, first_seq))
            .and_then(|()| file.sync_data())
            .and_then(|()| sync_dir(dir));
        if let Err(e) = durable {
            drop(file);
            if let Err(rm) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %rm, "could not remove a segment file whose header could not be written");
            }
            return Err(e.into());
        }
        Ok(Self {
            id,
            path,
            out: BufWriter::with_capacity(256 << 10, file),
            len_bytes: SEGMENT_HEADER_BYTES as u64,
            poisoned: false,
        })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length of the segment including buffered frames (the caller rotates on it).
    pub fn len_bytes(&self) -> u64 {
        self.len_bytes
    }

    /// Appends one frame (buffered) and returns the position where it starts.
    pub fn append(&mut self, payload: &[u8]) -> Result<FramePos, SegmentError> {
        if self.poisoned {
            return Err(SegmentError::Poisoned);
        }
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(SegmentError::PayloadTooLarge(payload.len()));
        }
        let pos = FramePos {
            segment: self.id,
            offset: self.len_bytes,
        };
        let written = self
            .out
            .write_all(&frame_header(payload))
            .and_then(|()| self.out.write_all(payload));
        self.poison_on_err(written)?;
        self.len_bytes += (FRAME_HEADER_BYTES + payload.len()) as u64;
        Ok(pos)
    }

    /// Hands buffered frames to the OS (visible to readers, not yet durable).
    pub fn flush(&mut self) -> Result<(), SegmentError> {
        if self.poisoned {
            return Err(SegmentError::Poisoned);
        }
        let flushed = self.out.flush();
        self.poison_on_err(flushed)
    }

    /// Flushes and `fsync`s the data: every frame appended so far survives a crash.
    pub fn sync(&mut self) -> Result<(), SegmentError> {
        self.flush()?;
        let synced = self.out.get_ref().sync_data();
        self.poison_on_err(synced)
    }

    fn poison_on_err(&mut self, r: io::Result<()>) -> Result<(), SegmentError> {
        // After a failed write, part of a frame may be in the file and part in the buffer: the
        // positions we would return next no longer match the file.
        r.map_err(|e| {
            self.poisoned = true;
            SegmentError::Io(e)
        })
    }
}

/// `fsync` a directory so entries created or renamed in it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What [`recover`] found in a segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    Usable(RecoveredSegment),
    /// The header is bad: the caller sets the file aside; nothing in it can be trusted.
    Unusable(HeaderError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredSegment {
    pub header: SegmentHeader,
    pub valid_frames: u64,
    /// Damaged regions in the middle of the file, each followed by a valid frame; they stay in
    /// the file and readers skip them again.
    pub corrupt_spans: Vec<CorruptSpan>,
    /// The region cut off the end (a torn last write, or damage with no valid frame after it).
    pub torn: Option<CorruptSpan>,
    /// Length of the file after recovery.
    pub len_bytes: u64,
}

impl RecoveredSegment {
    /// Bytes cut off the end.
    pub fn torn_bytes(&self) -> u64 {
        self.torn.map_or(0, |t| t.len_bytes)
    }
}

/// Validates a segment file chunk by chunk after a restart and truncates a torn tail.
pub fn recover(path: &Path) -> Result<Recovery, SegmentError> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let header = match read_header(&mut file) {
        Ok(h) => h,
        Err(SegmentError::Header(e)) => return Ok(Recovery::Unusable(e)),
        Err(e) => return Err(e),
    };
    let name_id = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_segment_file_name);
    if let Some(name) = name_id.filter(|n| *n != header.id) {
        return Ok(Recovery::Unusable(HeaderError::IdMismatch {
            name,
            header: header.id,
        }));
    }
    let mut cursor = FrameCursor::new(&mut file, header.len_bytes, RECOVERY_CHUNK_BYTES);
    let mut valid_frames = 0;
    let mut corrupt_spans = Vec::new();
    let trailing = loop {
        match cursor.step(true)? {
            Step::Frame { .. } => valid_frames += 1,
            Step::Skipped(span) => corrupt_spans.push(span),
            Step::End { trailing } => break trailing,
        }
    };
    let len_bytes = match trailing {
        Some(span) => {
            file.set_len(span.offset)?;
            file.sync_all()?;
            span.offset
        }
        None => cursor.offset(),
    };
    Ok(Recovery::Usable(RecoveredSegment {
        header,
        valid_frames,
        corrupt_spans,
        torn: trailing,
        len_bytes,
    }))
}

#[cfg(test)]
mod tests;
