//! Reading frames back from a segment in bounded chunks.
//!
//! Invariants:
//! - Memory is bounded: the read buffer holds at most `max(chunk_bytes, the frame being scanned)`
//!   bytes, and gives back the memory of a large frame once past it; a file is never read whole.
//! - Frames come back in file order, each with the position right after it; nothing that fails
//!   its CRC is returned.
//! - A damaged region is reported once, as one [`CorruptSpan`] from its first bad byte up to the
//!   next valid frame, and only once that frame is found: until then (or until the segment is
//!   sealed) the end of the file may simply be a frame still being written.
//! - Payloads are copied out of the read buffer, so a payload kept alive never pins a whole chunk.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use bytes::Bytes;

use super::FramePos;
use super::frame::{CorruptReason, Scanned, resync, scan};
use super::segment::{SegmentError, SegmentHeader, read_header};

/// Default read size of a [`SegmentReader`].
pub const DEFAULT_CHUNK_BYTES: usize = 256 << 10;

/// A damaged region of a segment that was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorruptSpan {
    pub offset: u64,
    pub len_bytes: u64,
    /// Why the first frame of the span was rejected.
    pub reason: CorruptReason,
}

/// One step of a [`FrameCursor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A valid frame starting at file offset `offset`; its payload is `cursor.bytes(payload)`
    /// until the next call; `next` is the file offset after it.
    Frame {
        offset: u64,
        payload: Range<usize>,
        next: u64,
    },
    /// A damaged region, followed by a valid frame (returned by the next call).
    Skipped(CorruptSpan),
    /// No whole frame readable now. With `sealed`, `trailing` is the damaged or torn region that
    /// runs to the end of the file, if any.
    End { trailing: Option<CorruptSpan> },
}

/// The chunked scanning engine shared by [`SegmentReader`] and segment recovery.
pub(crate) struct FrameCursor<R> {
    src: R,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_start: u64,
    /// Index into `buf` of the next byte to scan.
    pos: usize,
    chunk_bytes: usize,
    /// Start and reason of a damaged region whose end (the next valid frame) is not found yet.
    pending: Option<(u64, CorruptReason)>,
}

impl<R: Read> FrameCursor<R> {
    /// `src` is positioned at file offset `start`.
    pub(crate) fn new(src: R, start: u64, chunk_bytes: usize) -> Self {
        Self {
            src,
            buf: Vec::new(),
            buf_start: start,
            pos: 0,
            chunk_bytes: chunk_bytes.max(1),
            pending: None,
        }
    }

    /// File offset of the next byte to scan.
    pub(crate) fn offset(&self) -> u64 {
        self.buf_start + self.pos as u64
    }

    /// Capacity of the read buffer: the memory this cursor holds.
    pub(crate) fn buffer_capacity_bytes(&self) -> usize {
        self.buf.capacity()
    }

    pub(crate) fn bytes(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// The next frame, damaged region or end. `sealed`: the end of the file is final (nothing is
    /// being written to it), so a frame cut by it is torn, not still arriving.
    pub(crate) fn step(&mut self, sealed: bool) -> io::Result<Step> {
        loop {
            match scan(&self.buf, self.pos) {
                Scanned::Frame { payload, next } => {
                    let offset = self.offset();
                    if let Some((start, reason)) = self.pending.take() {
                        // Report the span first; the frame is scanned again on the next call.
                        return Ok(Step::Skipped(CorruptSpan {
                            offset: start,
                            len_bytes: offset - start,
                            reason,
                        }));
                    }
                    self.pos = next;
                    return Ok(Step::Frame {
                        offset,
                        payload,
                        next: self.offset(),
                    });
                }
                Scanned::Corrupt { at, resume, reason } => {
                    let at = self.buf_start + at as u64;
                    self.pending.get_or_insert((at, reason));
                    self.pos = resume;
                }
                Scanned::Incomplete { needed } => {
                    if self.fill(needed)? {
                        continue;
                    }
                    if !sealed {
                        return Ok(Step::End { trailing: None });
                    }
                    if self.pos >= self.buf.len() {
                        let end = self.offset();
                        let trailing = self.pending.take().map(|(start, reason)| CorruptSpan {
                            offset: start,
                            len_bytes: end - start,
                            reason,
                        });
                        return Ok(Step::End { trailing });
                    }
                    // A sealed file ends inside this frame: it is torn, or its length is damaged
                    // and valid frames follow. Look for them.
                    let at = self.offset();
                    self.pending.get_or_insert((at, CorruptReason::Truncated));
                    self.pos = resync(&self.buf, self.pos + 1);
                }
            }
        }
    }

    /// Reads until `needed` bytes (at least one chunk) are buffered from `pos`, or the end of the
    /// source. Returns whether any byte arrived.
    fn fill(&mut self, needed: usize) -> io::Result<bool> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.buf_start += self.pos as u64;
            self.pos = 0;
        }
        let target = needed.max(self.chunk_bytes);
        // One maximum-size frame must not keep its buffer for the reader's lifetime.
        if self.buf.capacity() > 4 * target {
            self.buf.shrink_to(target);
        }
        self.buf.reserve(target.saturating_sub(self.buf.len()));
        let before = self.buf.len();
        while self.buf.len() < target {
            let want = (target - self.buf.len()) as u64;
            // `take` + `read_to_end` grows the buffer as bytes arrive instead of zero-filling a
            // length a damaged header claimed.
            let n = (&mut self.src).take(want).read_to_end(&mut self.buf)?;
            if n == 0 {
                break;
            }
        }
        Ok(self.buf.len() > before)
    }
}

/// One item read from a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadItem {
    Frame(ReadFrame),
    /// A damaged region that was skipped; frames after it follow.
    Skipped(CorruptSpan),
}

/// A frame read back: where it starts, its payload, and where the next frame starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFrame {
    pub pos: FramePos,
    pub payload: Bytes,
    pub next: FramePos,
}

/// Reads the frames of one segment file from a position, in bounded chunks.
pub struct SegmentReader {
    segment: u64,
    header: SegmentHeader,
    cursor: FrameCursor<File>,
    sealed: bool,
}

impl SegmentReader {
    /// Opens `path` (its header must be valid) to read frames from `from_offset` (a position a
    /// writer or reader returned; offsets inside the header mean "from the first frame").
    pub fn open(path: &Path, from_offset: u64, chunk_bytes: usize) -> Result<Self, SegmentError> {
        let mut file = File::open(path)?;
        let header = read_header(&mut file)?;
        let start = from_offset.max(header.len_bytes);
        file.seek(SeekFrom::Start(start))?;
        Ok(Self {
            segment: header.id,
            header,
            cursor: FrameCursor::new(file, start, chunk_bytes),
            sealed: false,
        })
    }

    pub fn segment(&self) -> u64 {
        self.segment
    }

    pub fn header(&self) -> SegmentHeader {
        self.header
    }

    /// The position the next call to [`Self::next_item`] starts from.
    pub fn position(&self) -> FramePos {
        FramePos {
            segment: self.segment,
            offset: self.cursor.offset(),
        }
    }

    /// Bytes of memory the read buffer holds now (bounded as the module doc states).
    pub fn buffer_capacity_bytes(&self) -> usize {
        self.cursor.buffer_capacity_bytes()
    }

    /// Declares that no writer will append to this segment any more: a frame cut by the end of
    /// the file is then torn (reported as a final [`ReadItem::Skipped`]) instead of awaited.
    pub fn seal(&mut self) {
        self.sealed = true;
    }

    /// The next frame or skipped region; `None` when no whole frame is readable now (for an
    /// unsealed segment, calling again later picks up frames appended since).
    pub fn next_item(&mut self) -> Result<Option<ReadItem>, SegmentError> {
        let pos = |offset| FramePos {
            segment: self.segment,
            offset,
        };
        Ok(match self.cursor.step(self.sealed)? {
            Step::Frame {
                offset,
                payload,
                next,
            } => Some(ReadItem::Frame(ReadFrame {
                pos: pos(offset),
                payload: Bytes::copy_from_slice(self.cursor.bytes(payload)),
                next: pos(next),
            })),
            Step::Skipped(span) => Some(ReadItem::Skipped(span)),
            Step::End { trailing } => trailing.map(ReadItem::Skipped),
        })
    }
}

#[cfg(test)]
mod tests;
