//! Decoding a connection's frames into pieces whose memory is charged before it is allocated.
//!
//! Invariants: an event list's capacity (`capacity * size_of::<Event>()`) is taken from the
//! process-wide account before the list is allocated, and never grows; a frame with more entries
//! than fit is decoded into several pieces, submitted in order, its ack travelling with the last;
//! decompression output is charged before it is written: the size the payload announces (gzip's
//! ISIZE, zstd's content size) at once, as long as it takes; growth past it (a payload that does
//! not announce its size, or lies) waits at most [`FRAME_STALL`] per step, since it holds what
//! it has, and other connections inflating could be waiting on it (closed, reason `memory`).
//! Nothing else here waits with a deadline. Pieces hold the charges of the buffers their
//! records slice ([`Piece::slices`]), so those stay counted as long as any record lives.

use std::sync::Arc;

use crate::event::Event;
use crate::forward::codec::{
    self, DecodeStats, Entries, Fill, FrameError, FrameScanner, Inflater, Opened, TagCache,
    grow_step,
};
use crate::input::forward::buffer::{FRAME_STALL, ReadBuffer};
use crate::input::forward::server::{Acks, ForwardHandler};
use crate::input::forward::submit::{Piece, Submission};
use crate::memory::{Account, Charge};

/// Bytes one event takes in an event list.
pub(super) const EVENT_BYTES: usize = std::mem::size_of::<Event>();

/// The largest event list of one piece, in bytes (16,384 events of 64 bytes): large enough that
/// per-batch costs stay small, small enough that a frame of tiny records is charged in steps.
pub(super) const PIECE_MAX_BYTES: usize = 1024 * 1024;

/// The smallest event list a piece starts with.
pub(super) const PIECE_MIN_EVENTS: usize = 64;

/// Most events of one piece: [`PIECE_MAX_BYTES`] worth, or an eighth of the input's share when
/// that is smaller (so a few connections' pieces cannot fill it), at least [`PIECE_MIN_EVENTS`].
pub(super) fn max_piece_events(share_limit_bytes: usize) -> usize {
    (PIECE_MAX_BYTES.min(share_limit_bytes / 8) / EVENT_BYTES).max(PIECE_MIN_EVENTS)
}

/// Events the next piece is sized for: as many as the previous read gave (no slack charged for
/// steady traffic), or, after a piece that filled up, twice as many; within the bounds above.
pub(super) fn piece_events(hint: usize, max_events: usize) -> usize {
    hint.clamp(PIECE_MIN_EVENTS, max_events.max(PIECE_MIN_EVENTS))
}

/// Per-connection decoding state.
pub(super) struct Decoding {
    pub scanner: FrameScanner,
    pub tags: TagCache,
    /// Events in the previous piece, to size the next one.
    pub events_hint: usize,
    pub max_events: usize,
}

/// Why decoding stopped the connection.
pub(super) enum Stop {
    Malformed(FrameError),
    /// A payload grew past the size it announced and no memory came for the rest in time.
    NoMemory {
        held_bytes: usize,
    },
}

/// A connection's pieces in the making.
struct Pieces<'a> {
    account: &'a Account,
    submission: &'a mut Submission,
    current: Option<Piece>,
    /// Events decoded in this call (sizes the next call's first piece).
    total: usize,
    max_events: usize,
}

impl Pieces<'_> {
    /// The piece being filled, with room for one more event (flushing a full one first).
    async fn room(&mut self, events: usize) -> &mut Piece {
        let mut events = events;
        if let Some(p) = &self.current
            && p.events.len() == p.events.capacity()
        {
            // Frames keep coming: the next piece is twice as large.
            events = (p.events.capacity() * 2).min(self.max_events).max(events);
            self.flush().await;
        }
        if self.current.is_none() {
            let p = self.start(events, false).await;
            self.current = Some(p);
        }
        match &mut self.current {
            Some(p) => p,
            // Set just above.
            None => unreachable!("a piece was just started"),
        }
    }

    /// A piece for `events`, its list charged first (waiting as long as it takes: the output
    /// frees memory, and reading can never take more than its part of the account).
    async fn start(&self, events: usize, continued: bool) -> Piece {
        let charge = self.account.charge(events * EVENT_BYTES).await;
        Piece {
            events: Vec::with_capacity(events),
            charge,
            shared: Vec::new(),
            data_bytes: 0,
            acks: Acks::default(),
            continued,
            open_end: false,
        }
    }

    async fn flush(&mut self) {
        if let Some(p) = self.current.take() {
            self.total += p.events.len();
            if !p.events.is_empty() || !p.acks.is_empty() {
                self.submission.submit(p).await;
            }
        }
    }
}

impl ForwardHandler {
    /// Decodes every complete frame in `rb` and submits them: the frames of one read together
    /// as one piece when they fit, in several pieces when not.
    pub(super) async fn process(
        &self,
        rb: &mut ReadBuffer,
        state: &mut Decoding,
        submission: &mut Submission,
    ) -> Result<(), Stop> {
        let mut pieces = Pieces {
            account: self.intake.account(),
            submission,
            current: None,
            total: 0,
            max_events: state.max_events,
        };
        let mut stats = DecodeStats::default();
        let result = self.decode_all(rb, state, &mut pieces, &mut stats).await;
        pieces.flush().await;
        if stats.invalid_events > 0 {
            self.intake
                .metrics()
                .dropped_invalid_event
                .increment(stats.invalid_events);
        }
        state.events_hint = pieces.total;
        result
    }

    async fn decode_all(
        &self,
        rb: &mut ReadBuffer,
        state: &mut Decoding,
        pieces: &mut Pieces<'_>,
        stats: &mut DecodeStats,
    ) -> Result<(), Stop> {
        loop {
            let len = match state.scanner.check(rb.bytes(), &self.limits) {
                Ok(Some(len)) => len,
                Ok(None) => return Ok(()),
                Err(e) => return Err(Stop::Malformed(e)),
            };
            let frame = rb.split_frame(len);
            let block = rb.shared();
            let events = piece_events(state.events_hint, state.max_events);
            let piece = pieces.room(events).await;
            piece.slices(&block);
            piece.data_bytes += len;
            let room = piece.events.capacity() - piece.events.len();
            let opened = codec::open_frame(&frame, room, &mut state.tags, &mut piece.events, stats)
                .map_err(Stop::Malformed)?;
            match opened {
                Opened::Done { chunk, .. } => {
                    if let Some(chunk) = chunk {
                        piece.acks.push(&chunk);
                    }
                }
                Opened::Entries { entries, chunk } => {
                    self.drain(entries, &block, chunk, state, pieces, stats)
                        .await;
                }
                Opened::Compressed {
                    codec,
                    payload,
                    tag,
                    chunk,
                } => {
                    // Nothing is held while waiting for the payload's memory but the read block
                    // (in its part): the events so far go on first.
                    pieces.flush().await;
                    let (plain, charge) = self.inflate(codec, payload, pieces.account).await?;
                    stats.decompressed_bytes += plain.len() as u64;
                    pieces.room(PIECE_MIN_EVENTS).await.data_bytes += plain.len();
                    let entries = Entries::packed(plain, tag);
                    self.drain(entries, &[Arc::new(charge)], chunk, state, pieces, stats)
                        .await;
                }
            }
        }
    }

    /// Reads `entries` into as many pieces as they need; the frame's ack goes with the last.
    #[allow(clippy::too_many_arguments)]
    async fn drain(
        &self,
        mut entries: Entries,
        sliced: &[Arc<Charge>],
        chunk: Option<bytes::Bytes>,
        state: &Decoding,
        pieces: &mut Pieces<'_>,
        stats: &mut DecodeStats,
    ) {
        loop {
            let piece = pieces.room(PIECE_MIN_EVENTS).await;
            piece.slices(sliced);
            let cap = piece.events.capacity();
            if entries.next(&mut piece.events, cap, stats) {
                if let Some(chunk) = &chunk {
                    piece.acks.push(chunk);
                }
                return;
            }
            piece.open_end = true;
            let next = (cap * 2)
                .min(entries.len_hint())
                .clamp(PIECE_MIN_EVENTS, state.max_events.max(PIECE_MIN_EVENTS));
            pieces.flush().await;
            pieces.current = Some(pieces.start(next, true).await);
        }
    }

    /// Decompresses `payload`, charging the output before it is written (see the module doc).
    async fn inflate(
        &self,
        codec: codec::Codec,
        payload: bytes::Bytes,
        account: &Account,
    ) -> Result<(bytes::Bytes, Charge), Stop> {
        let max = self.limits.max_decompressed_bytes;
        let announced = codec::announced_size(codec, &payload);
        let mut inflater = Inflater::new(codec, payload, max).map_err(Stop::Malformed)?;
        let mut out: Vec<u8> = Vec::new();
        // One more byte than announced, so that a payload that keeps its word ends in one step.
        let first = announced.map_or(grow_step(0, max), |n| n.min(max).saturating_add(1));
        let mut charge = account.charge(first).await;
        out.reserve_exact(first);
        while inflater.fill(&mut out).map_err(Stop::Malformed)? == Fill::Full {
            let step = grow_step(out.capacity(), max);
            let more = tokio::time::timeout(FRAME_STALL, account.charge(step))
                .await
                .map_err(|_| Stop::NoMemory {
                    held_bytes: out.len(),
                })?;
            charge.merge(more);
            out.reserve_exact(step);
        }
        // Growth doubles, so up to half the buffer can be spare; give it back.
        if out.capacity() - out.len() > out.len() / 8 {
            out.shrink_to_fit();
        }
        charge.shrink_to(out.capacity());
        Ok((bytes::Bytes::from(out), charge))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn pieces_are_bounded_by_the_cap_and_by_an_eighth_of_the_share() {
        assert_eq!(max_piece_events(32 * MIB), PIECE_MAX_BYTES / EVENT_BYTES);
        assert_eq!(max_piece_events(4 * MIB), (MIB / 2) / EVENT_BYTES);
        assert_eq!(max_piece_events(1000), PIECE_MIN_EVENTS);
        for share in [1, 100_000, 8 * MIB, 1 << 40] {
            let max = max_piece_events(share);
            assert!(max * EVENT_BYTES <= PIECE_MAX_BYTES.max(PIECE_MIN_EVENTS * EVENT_BYTES));
        }
    }

    fn tiny_entries(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| [0x92, 0xce, 0, 0, (i >> 8) as u8, i as u8, 0x80])
            .collect()
    }

    /// A payload read in pieces of at most `cap` events gives the same events, in order, as read
    /// at once, and never grows a piece's list past its capacity.
    #[test]
    fn entries_read_in_pieces_equal_entries_read_at_once() {
        let payload = bytes::Bytes::from(tiny_entries(1000));
        let mut stats = DecodeStats::default();
        let mut whole = Vec::new();
        assert!(Entries::packed(payload.clone(), "t".into()).next(
            &mut whole,
            usize::MAX,
            &mut stats
        ));
        assert_eq!(whole.len(), 1000);
        for cap in [1, 7, 64, 999, 1000, 5000] {
            let mut entries = Entries::packed(payload.clone(), "t".into());
            let mut all = Vec::new();
            loop {
                let mut piece = Vec::with_capacity(cap);
                let done = entries.next(&mut piece, cap, &mut stats);
                assert!(piece.len() <= cap && piece.capacity() == cap, "cap {cap}");
                all.extend(piece);
                if done {
                    break;
                }
            }
            assert_eq!(all, whole, "cap {cap}");
        }
    }

    /// Decompressing step by step (the buffer grown by `grow_step`) gives the payload.
    #[test]
    fn inflating_in_charged_steps_gives_the_whole_payload() {
        let plain = tiny_entries(100_000);
        let z = bytes::Bytes::from(zstd::encode_all(&plain[..], 3).unwrap());
        let mut inflater = Inflater::new(codec::Codec::Zstd, z.clone(), plain.len()).unwrap();
        let mut out = Vec::new();
        let mut steps = 0;
        loop {
            out.reserve_exact(grow_step(out.capacity(), plain.len()));
            steps += 1;
            if inflater.fill(&mut out).unwrap() == Fill::End {
                break;
            }
        }
        assert_eq!(out, plain);
        assert!(out.capacity() <= plain.len() + 1);
        assert!(steps > 3, "grew in steps: {steps}");
        // One byte under the payload: an error, not a larger buffer.
        let mut inflater = Inflater::new(codec::Codec::Zstd, z, plain.len() - 1).unwrap();
        let mut out = Vec::new();
        let err = loop {
            out.reserve_exact(grow_step(out.capacity(), plain.len() - 1));
            match inflater.fill(&mut out) {
                Ok(Fill::Full) => {}
                Ok(Fill::End) => panic!("over the cap"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.reason(), "decompressed_too_large");
        assert!(out.capacity() <= plain.len());
    }

    #[test]
    fn a_piece_is_sized_like_the_previous_read_within_bounds() {
        let max = max_piece_events(32 * MIB);
        assert_eq!(piece_events(0, max), PIECE_MIN_EVENTS);
        assert_eq!(piece_events(700, max), 700);
        assert_eq!(piece_events(10_000_000, max), max);
    }
}
