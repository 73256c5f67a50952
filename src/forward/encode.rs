//! A round of batches as PackedForward frames: `[tag, <bin: [time, record] entries>, options]`.
//!
//! Invariants: events keep their order; one frame holds one run of consecutive events with the
//! same tag (after the `tag` override), split so that no payload exceeds `max_payload_bytes`
//! before compression; records are copied byte for byte (never re-encoded); every frame carries
//! `size` (its event count), and a fresh `chunk` id when acks are wanted. An event whose entry
//! alone exceeds the cap is left out and reported, never sent.

use std::io::Write;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::event::{Batch, EventTime};
use crate::msgpack::writer::{
    write_array_len, write_bin_header, write_i64, write_map_len, write_str,
};
use crate::rng::Rng;

/// How frames are written.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// Whole seconds instead of EventTime (fluentd v0.12).
    pub time_as_integer: bool,
    /// CompressedPackedForward with gzip.
    pub gzip: bool,
    /// Replaces every event's tag.
    pub tag: Option<Arc<str>>,
    /// Largest payload (concatenated entries, before compression) of one frame.
    pub max_payload_bytes: usize,
    /// Give each frame a `chunk` id, so the receiver acks it.
    pub with_chunk: bool,
}

/// One request ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Bytes,
    /// The `chunk` option (base64 of 16 random bytes), the id the ack echoes.
    pub chunk: Option<String>,
    pub records: usize,
}

/// The frames of a round, and the events left out.
#[derive(Debug, Default)]
pub struct Encoded {
    pub frames: Vec<Frame>,
    /// For each event too large for one frame, the index of its batch in the round.
    pub too_large: Vec<usize>,
}

/// Encodes the events of `batches`, in order, into frames.
pub fn encode_round(batches: &[Arc<Batch>], opts: &EncodeOptions, rng: &mut Rng) -> Encoded {
    let mut encoded = Encoded::default();
    let mut run = Run::default();
    for (index, batch) in batches.iter().enumerate() {
        for event in &batch.events {
            let tag = opts.tag.as_ref().unwrap_or(&event.tag);
            let entry_len = entry_len(event.time, event.record.len(), opts.time_as_integer);
            if entry_len > opts.max_payload_bytes {
                encoded.too_large.push(index);
                continue;
            }
            let same_tag = run.tag.as_ref().is_some_and(|t| **t == **tag);
            if !same_tag || run.payload.len() + entry_len > opts.max_payload_bytes {
                run.finish(opts, rng, &mut encoded.frames);
                run.tag = Some(Arc::clone(tag));
            }
            write_entry(
                &mut run.payload,
                event.time,
                &event.record,
                opts.time_as_integer,
            );
            run.records += 1;
        }
    }
    run.finish(opts, rng, &mut encoded.frames);
    encoded
}

/// The frame being filled.
#[derive(Debug, Default)]
struct Run {
    tag: Option<Arc<str>>,
    payload: Vec<u8>,
    records: usize,
}

impl Run {
    fn finish(&mut self, opts: &EncodeOptions, rng: &mut Rng, out: &mut Vec<Frame>) {
        if self.records == 0 {
            return;
        }
        let tag = self.tag.take().unwrap_or_else(|| Arc::from(""));
        let chunk = opts.with_chunk.then(|| new_chunk_id(rng));
        let body = if opts.gzip {
            gzip(&self.payload)
        } else {
            std::mem::take(&mut self.payload)
        };
        let mut frame = Vec::with_capacity(body.len() + tag.len() + 64);
        write_array_len(&mut frame, 3);
        write_str(&mut frame, tag.as_bytes());
        write_bin_header(&mut frame, body.len());
        frame.extend_from_slice(&body);
        write_map_len(
            &mut frame,
            1 + u32::from(chunk.is_some()) + u32::from(opts.gzip),
        );
        write_str(&mut frame, b"size");
        write_i64(&mut frame, self.records as i64);
        if let Some(chunk) = &chunk {
            write_str(&mut frame, b"chunk");
            write_str(&mut frame, chunk.as_bytes());
        }
        if opts.gzip {
            write_str(&mut frame, b"compressed");
            write_str(&mut frame, b"gzip");
        }
        out.push(Frame {
            bytes: Bytes::from(frame),
            chunk,
            records: self.records,
        });
        self.payload.clear();
        self.records = 0;
    }
}

/// Bytes of `[time, record]`: array header, time, record.
fn entry_len(time: EventTime, record_len: usize, time_as_integer: bool) -> usize {
    let time_len = if !time_as_integer {
        10
    } else if (0..128).contains(&time.secs) || (-32..0).contains(&time.secs) {
        1
    } else {
        9
    };
    1 + time_len + record_len
}

fn write_entry(out: &mut Vec<u8>, time: EventTime, record: &[u8], time_as_integer: bool) {
    out.push(0x92);
    if time_as_integer {
        write_i64(out, time.secs);
    } else {
        // EventTime has 32-bit seconds: times before 1970 or after 2106 are clamped.
        let secs = time.secs.clamp(0, i64::from(u32::MAX)) as u32;
        out.extend_from_slice(&[0xd7, 0x00]);
        out.extend_from_slice(&secs.to_be_bytes());
        out.extend_from_slice(&time.nanos.to_be_bytes());
    }
    out.extend_from_slice(record);
}

/// 16 random bytes in base64 (24 characters), as Docker's fluentd driver makes its chunk ids.
fn new_chunk_id(rng: &mut Rng) -> String {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    raw[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[allow(clippy::expect_used)]
fn gzip(payload: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(payload.len() / 4 + 64),
        Compression::fast(),
    );
    // Writing into a Vec cannot fail: it only grows.
    enc.write_all(payload).expect("writing to a Vec");
    enc.finish().expect("writing to a Vec")
}

#[cfg(test)]
mod tests;
