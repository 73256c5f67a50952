//! One event: its time slot and its record, as found in every Forward mode.
//!
//! Invariants: a bad time or a non-map record makes the event invalid (the caller skips and counts
//! it); nothing here fails the frame, allocates (beyond the caller's event list), or copies a
//! record. [`Entries`] reads a frame's entries in as many pieces as the caller wants.

use std::sync::Arc;

use bytes::Bytes;

use crate::event::{Event, EventTime};
use crate::msgpack::reader::{ReadError, Token, read_token, skip_value, skip_value_checking_depth};

use super::DecodeStats;

const NANOS_PER_SEC: u32 = 1_000_000_000;

/// Reads a time token: integer seconds (any encoding, signed ones too), EventTime (ext type 0 of
/// exactly 8 bytes: seconds u32 BE, nanoseconds u32 BE), or a float.
///
/// Floats are not in the spec (fluentd rejects them) but Fluent Bit accepts them, so we do:
/// seconds = floor, nanoseconds = the fraction, truncated. Negative, NaN, infinite or out of range
/// times, nanoseconds >= 1e9, other ext types or lengths, and non-numbers give `None`.
pub(super) fn time_from_token(tok: Token<'_>) -> Option<EventTime> {
    match tok {
        Token::UInt(secs) => i64::try_from(secs).ok().map(|s| EventTime::new(s, 0)),
        Token::Int(secs) if secs >= 0 => Some(EventTime::new(secs, 0)),
        Token::Ext(0, data) => {
            let data: &[u8; 8] = data.try_into().ok()?;
            let secs = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            let nanos = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
            (nanos < NANOS_PER_SEC).then(|| EventTime::new(i64::from(secs), nanos))
        }
        Token::F32(f) => time_from_float(f64::from(f)),
        Token::F64(f) => time_from_float(f),
        _ => None,
    }
}

fn time_from_float(f: f64) -> Option<EventTime> {
    // 2^63 as f64: the first value that does not fit in i64 seconds.
    const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(0.0..I64_LIMIT).contains(&f) {
        return None; // also rejects NaN
    }
    let secs = f.floor();
    // Truncation keeps nanos below 1e9 for any fraction < 1; `min` guards the rounding edge.
    let nanos = (((f - secs) * 1e9) as u32).min(NANOS_PER_SEC - 1);
    Some(EventTime::new(secs as i64, nanos))
}

/// Reads a time slot starting at `pos`: a plain time, or v1.5's `[time, {metadata}]` (metadata
/// ignored). Returns the time and the position after the slot.
pub(super) fn read_time_slot(buf: &[u8], pos: usize) -> Option<(EventTime, usize)> {
    let (tok, next) = read_token(buf, pos).ok()?;
    if let Token::Array(2) = tok {
        let (inner, after_time) = read_token(buf, next).ok()?;
        let time = time_from_token(inner)?;
        let (meta, _) = read_token(buf, after_time).ok()?;
        if !matches!(meta, Token::Map(_)) {
            return None;
        }
        return Some((time, skip_value(buf, after_time).ok()?));
    }
    Some((time_from_token(tok)?, next))
}

/// The value at `pos`, as a zero-copy record slice if it is a map no deeper than the outputs can
/// encode (`None`: not a record), and the position after it.
pub(super) fn record_at(buf: &Bytes, pos: usize) -> Result<(Option<Bytes>, usize), ReadError> {
    let (end, too_deep) = skip_value_checking_depth(buf, pos)?;
    // Nested past what the outputs can encode: an invalid event here, counted and not acked as
    // part of what will be delivered, rather than accepted and dropped at the output.
    let is_map = !too_deep && matches!(read_token(buf, pos), Ok((Token::Map(_), _)));
    Ok((is_map.then(|| buf.slice(pos..end)), end))
}

/// Decodes the `[time, record]` entry at `pos`: the event (`None`: an invalid event) and where the
/// entry ends. `Err` only if the bytes at `pos` are not one complete msgpack value. A well-formed
/// entry is scanned once; only an invalid one is skipped a second time, to find its end.
pub(super) fn read_entry(
    buf: &Bytes,
    pos: usize,
) -> Result<(Option<(EventTime, Bytes)>, usize), ReadError> {
    if let Some((time, record, end)) = try_entry(buf, pos) {
        return Ok((Some((time, record)), end));
    }
    Ok((None, skip_value(buf, pos)?))
}

fn try_entry(buf: &Bytes, pos: usize) -> Option<(EventTime, Bytes, usize)> {
    let (tok, p) = read_token(buf, pos).ok()?;
    if tok != Token::Array(2) {
        return None;
    }
    let (time, p) = read_time_slot(buf, p)?;
    match record_at(buf, p).ok()? {
        (Some(record), end) => Some((time, record, end)),
        (None, _) => None,
    }
}

/// Entries of one frame still to be read: a Forward array (validated already) or a PackedForward
/// payload (plain or decompressed). Records slice `buf`.
#[derive(Debug)]
pub struct Entries {
    pub(super) buf: Bytes,
    pub(super) pos: usize,
    pub(super) end: usize,
    /// Forward array: entries left. `None`: a packed payload, read to its end.
    pub(super) left: Option<u32>,
    pub(super) tag: Arc<str>,
}

impl Entries {
    /// The entries of a PackedForward payload.
    pub fn packed(payload: Bytes, tag: Arc<str>) -> Self {
        Self {
            end: payload.len(),
            buf: payload,
            pos: 0,
            left: None,
            tag,
        }
    }

    /// The buffer the records slice (what they keep alive).
    pub fn buf(&self) -> &Bytes {
        &self.buf
    }

    /// Bytes not read yet.
    pub fn remaining_bytes(&self) -> usize {
        self.end - self.pos
    }

    /// Most events left (a Forward array's count; a packed entry is at least 3 bytes).
    pub fn len_hint(&self) -> usize {
        match self.left {
            Some(n) => n as usize,
            None => self.remaining_bytes() / 3,
        }
    }

    /// Appends events until `out` holds `max_len` or the entries end; `true` once they ended.
    /// Never fails: a truncated or malformed packed tail cannot be resynchronised, so it counts
    /// as one invalid event and ends the payload.
    pub fn next(&mut self, out: &mut Vec<Event>, max_len: usize, stats: &mut DecodeStats) -> bool {
        while out.len() < max_len {
            if self.pos >= self.end || self.left == Some(0) {
                self.pos = self.end;
                return true;
            }
            match push_entry(&self.buf, self.pos, &self.tag, out, stats) {
                Ok(end) => self.pos = end,
                Err(_) => {
                    stats.invalid_events += 1;
                    self.pos = self.end;
                    return true;
                }
            }
            if let Some(left) = &mut self.left {
                *left -= 1;
            }
        }
        self.pos >= self.end || self.left == Some(0)
    }
}

/// Appends the entry at `pos` (or counts it invalid); returns where it ends. `Err` only when the
/// bytes at `pos` are not one complete msgpack value.
pub(super) fn push_entry(
    buf: &Bytes,
    pos: usize,
    tag: &Arc<str>,
    out: &mut Vec<Event>,
    stats: &mut DecodeStats,
) -> Result<usize, ReadError> {
    let (event, end) = read_entry(buf, pos)?;
    match event {
        Some((time, record)) => out.push(Event {
            tag: Arc::clone(tag),
            time,
            record,
        }),
        None => stats.invalid_events += 1,
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time_of(bytes: &[u8]) -> Option<EventTime> {
        read_time_slot(bytes, 0).map(|(t, _)| t)
    }

    #[test]
    fn accepts_every_integer_encoding_and_event_time() {
        let t = |s| Some(EventTime::new(s, 0));
        assert_eq!(time_of(&[0x05]), t(5));
        assert_eq!(time_of(&[0xcc, 0xff]), t(255));
        assert_eq!(time_of(&[0xcd, 0x01, 0x00]), t(256));
        assert_eq!(time_of(&[0xce, 0x55, 0xec, 0xe6, 0xf8]), t(1441588984));
        assert_eq!(time_of(&[0xcf, 0, 0, 0, 1, 0, 0, 0, 0]), t(1 << 32));
        assert_eq!(time_of(&[0xd0, 0x05]), t(5));
        assert_eq!(time_of(&[0xd2, 0x55, 0xec, 0xe6, 0xf8]), t(1441588984));
        assert_eq!(
            time_of(&[0xd3, 0, 0, 0, 0, 0x55, 0xec, 0xe6, 0xf8]),
            t(1441588984)
        );
        let et = Some(EventTime::new(0x4b92_1e65, 256));
        assert_eq!(time_of(&[0xd7, 0, 0x4b, 0x92, 0x1e, 0x65, 0, 0, 1, 0]), et);
        assert_eq!(
            time_of(&[0xc7, 8, 0, 0x4b, 0x92, 0x1e, 0x65, 0, 0, 1, 0]),
            et
        );
    }

    #[test]
    fn float_time_is_split_into_seconds_and_nanoseconds() {
        let mut f = vec![0xcb];
        f.extend_from_slice(&1.5f64.to_be_bytes());
        assert_eq!(time_of(&f), Some(EventTime::new(1, 500_000_000)));
        let mut f = vec![0xca];
        f.extend_from_slice(&2.0f32.to_be_bytes());
        assert_eq!(time_of(&f), Some(EventTime::new(2, 0)));
    }

    #[test]
    fn rejects_bad_times() {
        let mut neg_float = vec![0xcb];
        neg_float.extend_from_slice(&(-1.0f64).to_be_bytes());
        let mut nan = vec![0xcb];
        nan.extend_from_slice(&f64::NAN.to_be_bytes());
        let bad: &[&[u8]] = &[
            &[0xff],                                                 // -1
            &[0xd0, 0x80],                                           // -128
            &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // > i64::MAX
            &[0xd7, 0, 0, 0, 0, 1, 0x3b, 0x9a, 0xca, 0x00],          // nanos = 1e9
            &[0xd7, 1, 0, 0, 0, 1, 0, 0, 0, 0],                      // ext type 1
            &[0xd6, 0, 0, 0, 0, 1],                                  // ext type 0, 4 bytes
            &[0xc7, 9, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],                // ext8 of 9 bytes
            &[0xa1, b'1'],
            &[0xc0],
            &neg_float,
            &nan,
        ];
        for b in bad {
            assert_eq!(time_of(b), None, "{b:02x?}");
        }
    }

    #[test]
    fn v15_time_slot_with_metadata_is_accepted() {
        // [[7, {"k": 1}], {"a": 1}]
        let buf = Bytes::from_static(&[
            0x92, 0x92, 0x07, 0x81, 0xa1, b'k', 0x01, 0x81, 0xa1, b'a', 0x01,
        ]);
        let (event, end) = read_entry(&buf, 0).unwrap();
        let (time, record) = event.unwrap();
        assert_eq!((time, end), (EventTime::new(7, 0), buf.len()));
        assert_eq!(&record[..], &[0x81, 0xa1, b'a', 0x01]);
        // Metadata that is not a map: invalid.
        let bad = Bytes::from_static(&[0x92, 0x92, 0x07, 0x01, 0x81, 0xa1, b'a', 0x01]);
        assert_eq!(read_entry(&bad, 0), Ok((None, bad.len())));
    }

    #[test]
    fn entry_needs_two_elements_and_a_map_record() {
        for b in [
            &[0x91, 0x07][..],
            &[0x93, 0x07, 0x80, 0x80],
            &[0x92, 0x07, 0xa1, b'x'],
            &[0x92, 0x07, 0x90],
        ] {
            let buf = Bytes::copy_from_slice(b);
            assert_eq!(read_entry(&buf, 0), Ok((None, buf.len())), "{b:02x?}");
        }
    }
}
