//! Storage layer of the disk buffer: a write-ahead log of batches in segment files.
//!
//! Layering (each piece pure where it can be, I/O at the edges):
//! - [`frame`]: checksummed, resynchronisable frames and a pure scanner;
//! - [`codec`]: one batch of events as one frame payload;
//! - [`segment`]: segment files (header, buffered writer, crash recovery);
//! - [`reader`]: reading frames back in bounded chunks;
//! - [`checkpoint`]: what each consumer has consumed, replaced atomically;
//! - [`dir`]: which segment files a directory holds and which every consumer has passed;
//! - [`loss`]: damage priced in records, from the records' sequence numbers;
//! - [`buffer`]: the disk buffer itself (writer task, replay to one consumer, limits), on top.
//!
//! Invariants across the layer: nothing that fails its CRC is ever returned; damage costs only the
//! frames it touched, and is reported once in records lost (or said to be uncountable, and why);
//! a missing or damaged checkpoint means "replay everything" (at-least-once), never "skip";
//! nothing here panics on what it reads from disk.

pub mod buffer;
mod buffer_housekeeping;
mod buffer_open;
mod buffer_replay;
mod buffer_state;
mod buffer_writer;
pub mod checkpoint;
pub mod codec;
pub mod dir;
pub mod frame;
pub mod loss;
pub mod reader;
pub mod segment;

/// A frame boundary in the log: a byte offset inside segment `segment`.
///
/// [`segment::SegmentWriter::append`] returns the position where a frame starts; readers report the
/// position right after each frame, which is where the next one starts; a checkpoint stores the
/// position a consumer resumes from (everything before it is consumed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FramePos {
    pub segment: u64,
    pub offset: u64,
}

#[cfg(test)]
mod test_util;
