//! Groups events per (log group, log stream) into PutLogEvents requests; pure, with an injected clock.
//!
//! Invariants of every [`Request`] (the PutLogEvents rules, exactly):
//! - at most `max_events` events and at most `max_bytes` bytes, counting message bytes + 26 per event
//!   (the bytes of the message text itself, [`Message::raw_len`], not of its escaped form);
//! - events sorted by timestamp, stable: equal timestamps keep their arrival order;
//! - newest minus oldest timestamp is below `max_span_ms` (24 h);
//! - each event's holder is in `holders`, consecutive events from one holder sharing one entry;
//! - `body` is the request's JSON, its events in the order of `events`, each event's `message` span
//!   pointing at its escaped message in it.
//!
//! A buffer goes out when the next event would break a limit (that event starts a new buffer), when
//! it is full, when its first event has waited `flush_after`, or, oldest first, while all buffers
//! together hold more than `max_pending_bytes` (counted as CloudWatch counts them) or their bodies
//! take more than `max_pending_memory` (allocated bytes, the output's share of the memory account). A flushed stream keeps no state. The only exception
//! to the byte limit is an event that alone exceeds it (callers encode with
//! [`super::message::MAX_EVENT_BYTES`], so it does not happen): it is sent alone.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::body::{self, Span};
use super::message::MessageRef;

/// PutLogEvents: at most 1 MiB per request, counted as message bytes + 26 per event.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// PutLogEvents: bytes counted per event on top of its message.
pub const EVENT_OVERHEAD_BYTES: usize = 26;
/// PutLogEvents: at most 10,000 events per request.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// PutLogEvents: the events of one request must span less than 24 hours.
pub const MAX_SPAN_MS: i64 = 86_400_000;

/// Room a new body starts with; it grows by doubling up to a request's size.
const BODY_START_BYTES: usize = 16 * 1024;
/// Room left above a body's projected full size, for events that escape to more bytes than the
/// average so far.
const BODY_SLACK_BYTES: usize = 32 * 1024;

/// Something that keeps a source batch alive (its ack and memory) until a request is done.
pub trait Holder: Clone {
    /// Whether both hold the same source.
    fn same(&self, other: &Self) -> bool;
}

impl<T: ?Sized> Holder for Arc<T> {
    fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(self, other)
    }
}

/// Destination of an event. Clones are two `Arc` clones.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub group: Arc<str>,
    pub stream: Arc<str>,
}

/// One log event waiting to be sent; its message is in the body of its buffer or request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    pub timestamp_ms: i64,
    /// Where the escaped message lies in the body.
    pub message: Span,
    /// Bytes of the message text itself (what CloudWatch counts).
    pub raw_len: u32,
    /// Index into the request's `holders`.
    pub holder: u32,
}

/// One PutLogEvents request, ready to send.
#[derive(Debug)]
pub struct Request<H> {
    pub key: StreamKey,
    /// Sorted by timestamp; equal timestamps in arrival order.
    pub events: Vec<PendingEvent>,
    /// The sources of `events`; dropping them releases acks and memory.
    pub holders: Vec<H>,
    /// Sum of message bytes + [`EVENT_OVERHEAD_BYTES`] per event.
    pub bytes: usize,
    /// The PutLogEvents JSON document of `events`, shared by every attempt.
    pub body: Bytes,
}

impl<H: Holder> Request<H> {
    /// The escaped message of one of this request's events.
    pub fn message(&self, event: &PendingEvent) -> &[u8] {
        &self.body[event.message.start as usize..event.message.end as usize]
    }

    /// The distinct sources of `events[range]` (e.g. a rejectedLogEventsInfo range), each once
    /// even when several `holders` entries hold it, in order of first appearance. Allocates a
    /// bitmap and compares holders: meant for the rare rejection path.
    pub fn holders_of(&self, range: Range<usize>) -> impl Iterator<Item = &H> {
        let events = self.events.get(range).unwrap_or_default();
        let mut seen = vec![false; self.holders.len()];
        events.iter().filter_map(move |ev| {
            let i = ev.holder as usize;
            if std::mem::replace(seen.get_mut(i)?, true) {
                return None;
            }
            let holder = self.holders.get(i)?;
            // Events are sorted by time, so an earlier entry of the same source may come later.
            for (seen_j, other) in seen.iter_mut().zip(&self.holders) {
                *seen_j |= other.same(holder);
            }
            Some(holder)
        })
    }
}

/// Batching limits; the default is CloudWatch's, with a 1 s flush delay, 8 MiB pending and 12 MiB
/// of pending bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Request size, message bytes + 26 per event.
    pub max_bytes: usize,
    pub max_events: usize,
    /// Newest minus oldest timestamp in a request stays below this.
    pub max_span_ms: i64,
    /// A buffer is sent once its first event has waited this long.
    pub flush_after: Duration,
    /// Above this many bytes in all buffers, the oldest buffers are sent.
    pub max_pending_bytes: usize,
    /// Above this much allocated body memory (capacity) in all buffers, the oldest are sent.
    pub max_pending_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: MAX_BATCH_BYTES,
            max_events: MAX_BATCH_EVENTS,
            max_span_ms: MAX_SPAN_MS,
            flush_after: Duration::from_secs(1),
            max_pending_bytes: 8 << 20,
            max_pending_memory: 12 << 20,
        }
    }
}

/// Events of one stream not yet sent.
#[derive(Debug)]
struct Buffer<H> {
    /// Creation number, to tell this buffer from an earlier one of the same stream in `by_age`.
    seq: u64,
    first_arrival: Instant,
    events: Vec<PendingEvent>,
    holders: Vec<H>,
    bytes: usize,
    /// The request body so far: [`body::begin`] then each event.
    body: Vec<u8>,
    /// Bytes of `body` before the first event.
    prefix_len: usize,
    min_ts: i64,
    max_ts: i64,
    /// Timestamps arrived in order so far (then the flush needs no sort).
    in_order: bool,
}

impl<H: Holder> Buffer<H> {
    fn new(seq: u64, now: Instant, key: &StreamKey, first_event_bytes: usize) -> Self {
        let body = body::begin(
            &key.group,
            &key.stream,
            first_event_bytes.max(BODY_START_BYTES),
        );
        Self {
            seq,
            first_arrival: now,
            events: Vec::new(),
            holders: Vec::new(),
            bytes: 0,
            prefix_len: body.len(),
            body,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            in_order: true,
        }
    }

    /// Whether one more event keeps the buffer within every limit. An empty buffer takes anything.
    fn accepts(&self, timestamp_ms: i64, event_bytes: usize, limits: &Limits) -> bool {
        if self.events.is_empty() {
            return true;
        }
        let span_ms =
            i128::from(self.max_ts.max(timestamp_ms)) - i128::from(self.min_ts.min(timestamp_ms));
        self.events.len() < limits.max_events
            && self.bytes + event_bytes <= limits.max_bytes
            && span_ms < i128::from(limits.max_span_ms)
    }

    fn add(
        &mut self,
        timestamp_ms: i64,
        message: MessageRef<'_>,
        event_bytes: usize,
        holder: &H,
        limits: &Limits,
    ) {
        let holder_index = match self.holders.last() {
            Some(last) if last.same(holder) => self.holders.len() - 1,
            _ => {
                self.holders.push(holder.clone());
                self.holders.len() - 1
            }
        };
        self.in_order &= timestamp_ms >= self.max_ts;
        self.min_ts = self.min_ts.min(timestamp_ms);
        self.max_ts = self.max_ts.max(timestamp_ms);
        self.bytes += event_bytes;
        let first = self.events.is_empty();
        self.reserve_body(message.escaped().len() + body::EVENT_JSON_BYTES, limits);
        let span = body::append(&mut self.body, first, timestamp_ms, message.escaped());
        self.events.push(PendingEvent {
            timestamp_ms,
            message: span,
            // A message is at most 1 MiB of text.
            raw_len: u32::try_from(message.raw_len()).unwrap_or(u32::MAX),
            // At most one holder per event and a request holds far fewer than 2^32 events.
            holder: u32::try_from(holder_index).unwrap_or(u32::MAX),
        });
    }

    /// Makes room for `need` more body bytes. The body grows by doubling, but not much past the
    /// size a full request would have at the bytes per event seen so far: a body of 1.3 MB would
    /// otherwise sit in 2 MiB.
    fn reserve_body(&mut self, need: usize, limits: &Limits) {
        let len = self.body.len();
        if self.body.capacity() - len >= need {
            return;
        }
        let per_counted_byte = (len - self.prefix_len) as f64 / self.bytes.max(1) as f64;
        let projected = self.prefix_len + (per_counted_byte * limits.max_bytes as f64) as usize;
        let target = (2 * self.body.capacity()).min(projected + BODY_SLACK_BYTES);
        self.body.reserve_exact(target.max(len + need) - len);
    }

    /// No further event can fit (the smallest event is 1 byte + overhead).
    fn is_full(&self, limits: &Limits) -> bool {
        self.events.len() >= limits.max_events
            || self.bytes + EVENT_OVERHEAD_BYTES + 1 > limits.max_bytes
    }
}

/// Per-stream buffers of pending events, cut into PutLogEvents requests.
#[derive(Debug)]
pub struct Batcher<H: Holder> {
    limits: Limits,
    buffers: HashMap<StreamKey, Buffer<H>>,
    /// Buffers in creation (so first-arrival) order, as (seq, key); entries of flushed buffers are
    /// skipped lazily. The front entry is always a live buffer when any exists.
    by_age: VecDeque<(u64, StreamKey)>,
    next_seq: u64,
    pending_bytes: usize,
    pending_events: usize,
    /// Sum of the buffers' body capacities.
    pending_memory: usize,
}

impl<H: Holder> Batcher<H> {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits: Limits {
                max_events: limits.max_events.max(1),
                ..limits
            },
            buffers: HashMap::new(),
            by_age: VecDeque::new(),
            next_seq: 0,
            pending_bytes: 0,
            pending_events: 0,
            pending_memory: 0,
        }
    }

    /// Adds one event (message already encoded, non-empty, at most `MAX_BATCH_BYTES - 26` bytes of
    /// text).
    /// Any request that became ready is appended to `ready`. `now` must not go backwards.
    pub fn push(
        &mut self,
        key: &StreamKey,
        timestamp_ms: i64,
        message: MessageRef<'_>,
        holder: &H,
        now: Instant,
        ready: &mut Vec<Request<H>>,
    ) {
        let event_bytes = message.raw_len() + EVENT_OVERHEAD_BYTES;
        self.pending_bytes += event_bytes;
        self.pending_events += 1;
        let full = match self.buffers.get_mut(key) {
            Some(buf) if buf.accepts(timestamp_ms, event_bytes, &self.limits) => {
                let before = buf.body.capacity();
                buf.add(timestamp_ms, message, event_bytes, holder, &self.limits);
                self.pending_memory += buf.body.capacity() - before;
                buf.is_full(&self.limits)
            }
            current => {
                if current.is_some() {
                    // The event would break a limit: send what is there, start afresh.
                    self.flush_key(key, ready);
                }
                let seq = self.next_seq;
                self.next_seq += 1;
                let mut buf = Buffer::new(seq, now, key, message.escaped().len());
                buf.add(timestamp_ms, message, event_bytes, holder, &self.limits);
                self.pending_memory += buf.body.capacity();
                let full = buf.is_full(&self.limits);
                self.buffers.insert(key.clone(), buf);
                self.by_age.push_back((seq, key.clone()));
                full
            }
        };
        if full {
            self.flush_key(key, ready);
        }
        while (self.pending_bytes > self.limits.max_pending_bytes
            || self.pending_memory > self.limits.max_pending_memory)
            && self.flush_oldest(ready)
        {}
    }

    /// Sends every buffer whose first event has waited at least `flush_after` at `now`.
    pub fn flush_due(&mut self, now: Instant, ready: &mut Vec<Request<H>>) {
        while let Some(deadline) = self.next_deadline() {
            if deadline > now {
                break;
            }
            if !self.flush_oldest(ready) {
                break;
            }
        }
    }

    /// Sends everything (shutdown), oldest first.
    pub fn flush_all(&mut self, ready: &mut Vec<Request<H>>) {
        while self.flush_oldest(ready) {}
    }

    /// When the next time-based flush is due; `None` when nothing is pending (or the delay is so
    /// long that the deadline is not representable).
    pub fn next_deadline(&self) -> Option<Instant> {
        let (_, oldest) = self.by_age.front()?;
        let buf = self.buffers.get(oldest)?;
        buf.first_arrival.checked_add(self.limits.flush_after)
    }

    /// Bytes of all pending events, counted as in a request (message + 26).
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Bytes allocated for the bodies of pending events.
    pub fn pending_memory(&self) -> usize {
        self.pending_memory
    }

    pub fn pending_events(&self) -> usize {
        self.pending_events
    }

    /// Streams with pending events.
    pub fn streams(&self) -> usize {
        self.buffers.len()
    }

    /// Sends the buffer created first; false when there is none.
    fn flush_oldest(&mut self, ready: &mut Vec<Request<H>>) -> bool {
        while let Some((seq, key)) = self.by_age.pop_front() {
            if self.buffers.get(&key).is_some_and(|b| b.seq == seq) {
                self.flush_key(&key, ready);
                return true;
            }
        }
        false
    }

    /// Turns the buffer of `key` (if any) into a request and forgets the stream.
    fn flush_key(&mut self, key: &StreamKey, ready: &mut Vec<Request<H>>) {
        let Some((key, mut buf)) = self.buffers.remove_entry(key) else {
            return;
        };
        self.pending_bytes -= buf.bytes;
        self.pending_events -= buf.events.len();
        self.pending_memory -= buf.body.capacity();
        if buf.in_order {
            body::finish(&mut buf.body);
            if buf.body.capacity() > buf.body.len() + buf.body.len() / 4 {
                // A buffer flushed by time or memory: give back what it did not fill (the
                // allocator shrinks in place).
                buf.body.shrink_to_fit();
            }
        } else {
            // Stable: equal timestamps keep their arrival order, as CloudWatch shows them.
            buf.events.sort_by_key(|ev| ev.timestamp_ms);
            let order = buf
                .events
                .iter_mut()
                .map(|ev| (ev.timestamp_ms, &mut ev.message));
            buf.body = body::resorted(&buf.body, buf.prefix_len, order);
        }
        ready.push(Request {
            key,
            events: buf.events,
            holders: buf.holders,
            bytes: buf.bytes,
            body: Bytes::from(buf.body),
        });
        self.drop_stale_entries();
    }

    /// Keeps the front of `by_age` live, and the queue from growing with stale entries when an old
    /// buffer stays at the front while other streams flush many times.
    fn drop_stale_entries(&mut self) {
        let buffers = &self.buffers;
        let is_live =
            |(seq, key): &(u64, StreamKey)| buffers.get(key).is_some_and(|b| b.seq == *seq);
        while self.by_age.front().is_some_and(|entry| !is_live(entry)) {
            self.by_age.pop_front();
        }
        if self.by_age.len() > 2 * buffers.len() + 16 {
            self.by_age.retain(is_live);
        }
    }
}

#[cfg(test)]
mod tests;
