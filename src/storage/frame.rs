//! Record framing inside a segment file, and a pure scanner that finds whole, checksummed frames.
//!
//! A frame is `SYNC_MARKER (4 bytes) | payload length (u32 LE) | CRC32C of the payload (u32 LE) |
//! payload`. Invariants:
//! - [`scan`] never panics on any input and never returns a payload whose CRC32C does not match.
//! - A length above [`MAX_PAYLOAD_BYTES`] is corruption, decided from the 12 header bytes alone, so a
//!   damaged length can never make a reader load more than one maximum frame.
//! - "The buffer ends inside a frame" ([`Scanned::Incomplete`]) is its own outcome, not an error:
//!   the caller reads more, or, at the real end of a file, decides it is a torn tail.
//! - After corruption, scanning resumes at the next sync marker whose frame validates, so damage in
//!   the middle of a file costs only the frame(s) it touched.
//!
//! Known limit: resynchronisation trusts any well-formed frame. A payload that itself contains a
//! whole valid frame (marker, length, matching CRC) could be surfaced as a frame if corruption makes
//! the scanner resynchronise inside it. This needs crafted content and prior corruption of the
//! enclosing frame; the CRC of the enclosing frame protects the normal (undamaged) path fully.

use std::ops::Range;

/// Marks the start of every frame; bytes 0xF0..0xFF never appear in UTF-8 text, which makes
/// accidental markers inside log lines rarer (the CRC, not the marker, is what decides).
pub const SYNC_MARKER: [u8; 4] = [0xFB, b'F', b'L', b'W'];

/// Marker + length + CRC.
pub const FRAME_HEADER_BYTES: usize = 12;

/// Largest payload a frame may carry; a larger length in a header is corruption.
pub const MAX_PAYLOAD_BYTES: usize = 64 << 20;

/// Why bytes at a position are not a valid frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptReason {
    /// The 4 bytes at the position are not [`SYNC_MARKER`].
    BadMarker,
    /// The header's length is above [`MAX_PAYLOAD_BYTES`].
    LengthTooLarge(u32),
    /// The payload's CRC32C does not match the header.
    CrcMismatch,
    /// The file ends inside this frame although it is sealed (only reported by readers that know
    /// the end of the file is final; [`scan`] itself reports [`Scanned::Incomplete`]).
    Truncated,
}

impl std::fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadMarker => f.write_str("no sync marker"),
            Self::LengthTooLarge(n) => write!(f, "frame length {n} above {MAX_PAYLOAD_BYTES}"),
            Self::CrcMismatch => f.write_str("payload CRC32C mismatch"),
            Self::Truncated => f.write_str("file ends inside the frame"),
        }
    }
}

/// The outcome of [`scan`] at one position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// A whole valid frame: `buf[payload]` is its payload, `next` the position right after it.
    Frame { payload: Range<usize>, next: usize },
    /// The buffer ends inside a frame (or inside a header that is valid so far): at least
    /// `needed` bytes from the scanned position are required to decide.
    Incomplete { needed: usize },
    /// The bytes at `at` are not a valid frame. `resume` is the position of the next sync marker
    /// after `at` whose frame validates; or of the first marker (or marker prefix) that the end of
    /// the buffer cuts off, to be scanned again once more bytes are read; or `buf.len()`.
    Corrupt {
        at: usize,
        resume: usize,
        reason: CorruptReason,
    },
}

/// Appends one frame carrying `payload` to `out`.
///
/// The caller guarantees `payload.len() <= MAX_PAYLOAD_BYTES` (the segment writer checks it); a
/// longer payload would be written with a length the scanner rejects.
pub fn encode_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&frame_header(payload));
    out.extend_from_slice(payload);
}

/// The 12 header bytes of the frame carrying `payload`.
pub fn frame_header(payload: &[u8]) -> [u8; FRAME_HEADER_BYTES] {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut h = [0u8; FRAME_HEADER_BYTES];
    h[..4].copy_from_slice(&SYNC_MARKER);
    h[4..8].copy_from_slice(&len.to_le_bytes());
    h[8..].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    h
}

/// Looks for a frame at `buf[pos..]`. Pure: no I/O, never panics (a `pos` past the end is treated
/// as the end).
pub fn scan(buf: &[u8], pos: usize) -> Scanned {
    let pos = pos.min(buf.len());
    match check_at(buf, pos) {
        Check::Frame(payload) => Scanned::Frame {
            next: payload.end,
            payload,
        },
        Check::Incomplete(needed) => Scanned::Incomplete { needed },
        Check::Corrupt(reason) => Scanned::Corrupt {
            at: pos,
            resume: resync(buf, pos + 1),
            reason,
        },
    }
}

/// The first position `>= from` where scanning should resume: a sync marker whose frame validates,
/// or a marker (or marker prefix at the very end) whose frame the buffer cuts off; else `buf.len()`.
pub fn resync(buf: &[u8], from: usize) -> usize {
    let mut p = from;
    while p < buf.len() {
        let Some(off) = buf[p..].iter().position(|&b| b == SYNC_MARKER[0]) else {
            return buf.len();
        };
        p += off;
        match check_at(buf, p) {
            Check::Frame(_) | Check::Incomplete(_) => return p,
            Check::Corrupt(_) => p += 1,
        }
    }
    buf.len()
}

enum Check {
    Frame(Range<usize>),
    Incomplete(usize),
    Corrupt(CorruptReason),
}

fn check_at(buf: &[u8], pos: usize) -> Check {
    let avail = &buf[pos..];
    let marker_len = avail.len().min(SYNC_MARKER.len());
    if avail[..marker_len] != SYNC_MARKER[..marker_len] {
        return Check::Corrupt(CorruptReason::BadMarker);
    }
    let Some(header) = avail.get(..FRAME_HEADER_BYTES) else {
        return Check::Incomplete(FRAME_HEADER_BYTES);
    };
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let crc = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    let len_usize = len as usize;
    if len_usize > MAX_PAYLOAD_BYTES {
        return Check::Corrupt(CorruptReason::LengthTooLarge(len));
    }
    let total = FRAME_HEADER_BYTES + len_usize;
    let Some(payload) = avail.get(FRAME_HEADER_BYTES..total) else {
        return Check::Incomplete(total);
    };
    if crc32c::crc32c(payload) != crc {
        return Check::Corrupt(CorruptReason::CrcMismatch);
    }
    Check::Frame(pos + FRAME_HEADER_BYTES..pos + total)
}

#[cfg(test)]
mod tests;
