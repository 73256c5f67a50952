//! Helpers shared by the storage tests: segments built in memory and read back.

use std::ops::Range;

use super::frame::encode_frame;
use super::reader::{CorruptSpan, FrameCursor, Step};
use super::segment::{SEGMENT_HEADER_BYTES, encode_header};

/// A segment image: its bytes and where each frame (header included) lies.
pub(crate) struct Image {
    pub bytes: Vec<u8>,
    pub frames: Vec<Range<usize>>,
}

pub(crate) fn image(id: u64, payloads: &[Vec<u8>]) -> Image {
    let mut bytes = encode_header(id, 0).to_vec();
    let mut frames = Vec::new();
    for p in payloads {
        let start = bytes.len();
        encode_frame(&mut bytes, p);
        frames.push(start..bytes.len());
    }
    Image { bytes, frames }
}

/// Everything a sealed read of a segment image finds after its header.
#[derive(Debug, Default)]
pub(crate) struct Read {
    /// (frame offset, payload)
    pub frames: Vec<(u64, Vec<u8>)>,
    pub skipped: Vec<CorruptSpan>,
    pub trailing: Option<CorruptSpan>,
}

pub(crate) fn read_sealed(bytes: &[u8], chunk_bytes: usize) -> Read {
    let body = bytes.get(SEGMENT_HEADER_BYTES..).unwrap_or_default();
    let mut cursor = FrameCursor::new(body, SEGMENT_HEADER_BYTES as u64, chunk_bytes);
    let mut out = Read::default();
    loop {
        match cursor.step(true).unwrap() {
            Step::Frame {
                offset, payload, ..
            } => out.frames.push((offset, cursor.bytes(payload).to_vec())),
            Step::Skipped(span) => out.skipped.push(span),
            Step::End { trailing } => {
                out.trailing = trailing;
                return out;
            }
        }
    }
}

/// Payloads of distinct, recognisable content: frame `i` is `len` bytes of `i`-derived data.
pub(crate) fn payloads(n: usize, len: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| (0..len).map(|j| (i * 31 + j * 7) as u8).collect())
        .collect()
}

/// A version 1 segment header, as builds before record numbers wrote it, byte for byte.
pub(crate) fn v1_header(id: u64) -> Vec<u8> {
    let mut h = b"FLANEWAL".to_vec();
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&id.to_le_bytes());
    let crc = crc32c::crc32c(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// A version 1 batch payload (no record number), as builds before record numbers wrote it.
pub(crate) fn v1_payload(events: &[crate::event::Event]) -> Vec<u8> {
    let mut p = super::codec::encode_batch(events);
    // Version 2 is version 1 with the 8-byte number after the version byte.
    p.drain(1..9);
    p[0] = super::codec::CODEC_VERSION_1;
    p
}
