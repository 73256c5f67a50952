//! The payload of one frame: one batch of events in a compact binary encoding.
//!
//! Layout (all integers LEB128 varints unless said otherwise):
//! `CODEC_VERSION (1 byte) | first record's sequence number (u64 LE) | tag count |
//!  per tag: length, UTF-8 bytes | event count |
//!  per event: tag index, zigzag(secs), nanos, record length, record bytes`.
//!
//! The sequence number is a fixed-width slot so the buffer's writer can fill it in place
//! ([`set_first_seq`]) when it decides the batch's place in the log: records are numbered in write
//! order across the whole buffer, which is what lets damage be counted in records (see
//! [`super::loss`]). Version 1 payloads (older builds) have no slot; they still decode, with
//! `first_seq: None`.
//!
//! Invariants:
//! - Tags are stored once per batch; decoded events of one tag share one `Arc<str>`.
//! - Decoded records are zero-copy slices of the decoded `Bytes` ([`Bytes::slice`]).
//! - Decoding returns exactly the encoded events for an encoded batch, and for any other bytes
//!   events or an error: it never panics, allocates only in proportion to the input's length, and
//!   rejects trailing bytes.
//! - Records are opaque here: they were validated as msgpack when received, and the frame CRC
//!   checks they come back byte for byte.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::event::{Event, EventTime};

/// First byte of every encoded batch, so the encoding can change without misreading old segments.
pub const CODEC_VERSION: u8 = 2;
/// The version written before sequence numbers: decoded, never written.
pub const CODEC_VERSION_1: u8 = 1;
/// Bytes of the version and the sequence-number slot at the head of a version 2 payload.
const SEQ_SLOT: std::ops::Range<usize> = 1..9;

/// The smallest encoding of one event (tag index, secs, nanos, record length: one byte each); bounds
/// how many events a payload of a given size can claim.
const MIN_EVENT_BYTES: usize = 4;

/// Why a payload is not a valid batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty payload")]
    Empty,
    #[error("unknown batch encoding version {0}")]
    UnknownVersion(u8),
    #[error("payload ends inside {0}")]
    Truncated(&'static str),
    #[error("varint too long in {0}")]
    BadVarint(&'static str),
    #[error("tag is not UTF-8")]
    TagNotUtf8,
    #[error("event refers to tag {index} of {count}")]
    BadTagIndex { index: u64, count: usize },
    #[error("nanoseconds {0} not below 1e9")]
    BadNanos(u64),
    #[error("count {0} larger than the payload can hold")]
    CountTooLarge(u64),
    #[error("{0} bytes after the last event")]
    TrailingBytes(usize),
}

/// A decoded batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Sequence number of the first event; `None` in a version 1 payload.
    pub first_seq: Option<u64>,
    pub events: Vec<Event>,
}

/// What the head of a payload says, read without decoding the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHead {
    pub first_seq: Option<u64>,
    pub records: u64,
}

impl BatchHead {
    /// The sequence number after this batch's records, if they are numbered.
    pub fn end_seq(&self) -> Option<u64> {
        self.first_seq.map(|s| s.saturating_add(self.records))
    }
}

/// Encodes `events` as one batch payload, with sequence number 0 until [`set_first_seq`].
pub fn encode_batch(events: &[Event]) -> Vec<u8> {
    let mut tag_index: HashMap<&str, u64> = HashMap::new();
    let mut tags: Vec<&str> = Vec::new();
    let mut indices = Vec::with_capacity(events.len());
    for e in events {
        let next = tags.len() as u64;
        let i = *tag_index.entry(&e.tag).or_insert_with(|| {
            tags.push(&e.tag);
            next
        });
        indices.push(i);
    }
    let body: usize = events.iter().map(|e| e.record.len() + 16).sum();
    let mut out = Vec::with_capacity(
        SEQ_SLOT.end + 10 + tags.iter().map(|t| t.len() + 5).sum::<usize>() + body,
    );
    out.push(CODEC_VERSION);
    out.extend_from_slice(&0u64.to_le_bytes());
    put_varint(&mut out, tags.len() as u64);
    for t in &tags {
        put_varint(&mut out, t.len() as u64);
        out.extend_from_slice(t.as_bytes());
    }
    put_varint(&mut out, events.len() as u64);
    for (e, i) in events.iter().zip(indices) {
        put_varint(&mut out, i);
        put_varint(&mut out, zigzag(e.time.secs));
        put_varint(&mut out, u64::from(e.time.nanos));
        put_varint(&mut out, e.record.len() as u64);
        out.extend_from_slice(&e.record);
    }
    out
}

/// Writes the sequence number of the first record into a payload [`encode_batch`] made. Returns
/// false (and changes nothing) if `payload` is not a current-version payload.
pub fn set_first_seq(payload: &mut [u8], seq: u64) -> bool {
    if payload.first() != Some(&CODEC_VERSION) {
        return false;
    }
    match payload.get_mut(SEQ_SLOT) {
        Some(slot) => {
            slot.copy_from_slice(&seq.to_le_bytes());
            true
        }
        None => false,
    }
}

/// Decodes a batch payload (version 2, or 1 from older builds); records are slices of `payload`.
pub fn decode_batch(payload: &Bytes) -> Result<Batch, DecodeError> {
    let (first_seq, mut r) = head(payload)?;
    let tag_count = r.count("tag count", 1)?;
    let mut tags: Vec<Arc<str>> = Vec::with_capacity(tag_count);
    for _ in 0..tag_count {
        let len = r.len("tag")?;
        let bytes = r.take(len, "tag")?;
        let tag = std::str::from_utf8(bytes).map_err(|_| DecodeError::TagNotUtf8)?;
        tags.push(Arc::from(tag));
    }
    let event_count = r.count("event count", MIN_EVENT_BYTES)?;
    let mut events = Vec::with_capacity(event_count);
    for _ in 0..event_count {
        let index = r.varint("tag index")?;
        let tag = usize::try_from(index)
            .ok()
            .and_then(|i| tags.get(i))
            .ok_or(DecodeError::BadTagIndex {
                index,
                count: tags.len(),
            })?
            .clone();
        let secs = unzigzag(r.varint("seconds")?);
        let nanos = r.varint("nanoseconds")?;
        let nanos = u32::try_from(nanos)
            .ok()
            .filter(|n| *n < 1_000_000_000)
            .ok_or(DecodeError::BadNanos(nanos))?;
        let len = r.len("record")?;
        let start = r.pos;
        r.take(len, "record")?;
        events.push(Event {
            tag,
            time: EventTime::new(secs, nanos),
            record: payload.slice(start..start + len),
        });
    }
    match payload.len() - r.pos {
        0 => Ok(Batch { first_seq, events }),
        n => Err(DecodeError::TrailingBytes(n)),
    }
}

/// The first sequence number and the number of events a batch payload claims, read from its head
/// without decoding the events (cheap counting at start-up; the events are checked when decoded).
pub fn batch_head(payload: &[u8]) -> Result<BatchHead, DecodeError> {
    let (first_seq, mut r) = head(payload)?;
    let tag_count = r.count("tag count", 1)?;
    for _ in 0..tag_count {
        let len = r.len("tag")?;
        r.take(len, "tag")?;
    }
    let records = r.count("event count", MIN_EVENT_BYTES)? as u64;
    Ok(BatchHead { first_seq, records })
}

/// The version and, in version 2, the sequence number; the reader is left after them.
fn head(payload: &[u8]) -> Result<(Option<u64>, Reader<'_>), DecodeError> {
    let (&version, _) = payload.split_first().ok_or(DecodeError::Empty)?;
    let mut r = Reader {
        buf: payload,
        pos: 1,
    };
    let first_seq = match version {
        CODEC_VERSION => {
            let mut seq = [0u8; 8];
            seq.copy_from_slice(r.take(8, "sequence number")?);
            Some(u64::from_le_bytes(seq))
        }
        CODEC_VERSION_1 => None,
        other => return Err(DecodeError::UnknownVersion(other)),
    };
    Ok((first_seq, r))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let &b = self.buf.get(self.pos).ok_or(DecodeError::Truncated(what))?;
            self.pos += 1;
            // The tenth byte may only carry the top bit of a u64.
            if shift == 63 && b > 1 {
                return Err(DecodeError::BadVarint(what));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::BadVarint(what))
    }

    /// A length that must fit in the rest of the payload.
    fn len(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let n = self.varint(what)?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.buf.len() - self.pos)
            .ok_or(DecodeError::Truncated(what))
    }

    /// A count of items each taking at least `min_bytes`, so a damaged count cannot make us
    /// allocate more than the payload justifies.
    fn count(&mut self, what: &'static str, min_bytes: usize) -> Result<usize, DecodeError> {
        let n = self.varint(what)?;
        usize::try_from(n)
            .ok()
            .filter(|n| n.saturating_mul(min_bytes) <= self.buf.len() - self.pos)
            .ok_or(DecodeError::CountTooLarge(n))
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&[u8], DecodeError> {
        let end = self
            .pos
            .checked_add(len)
            .ok_or(DecodeError::Truncated(what))?;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated(what))?;
        self.pos = end;
        Ok(bytes)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests;
