//! The event model: records stay msgpack bytes from the socket until an output encodes them.
//!
//! Invariants: an [`Event`]'s `record` is exactly one msgpack value (normally a map), sliced from a
//! received (or decompressed) buffer without copying; a [`Batch`] holds the charge it took from its
//! input's memory budget and releases it when the last output drops it.

/// Acknowledgement handles: when every output is done with a batch.
pub mod ack;
/// Memory budgets: what an input may hold until its outputs are done with it.
pub mod budget;
/// Tag selection: `Match` globs and `Match_Regex`, with Fluent Bit's semantics.
pub mod tag_match;

use std::sync::Arc;

use bytes::Bytes;

use crate::event::ack::AckToken;
use crate::event::budget::BudgetPermit;

/// Event timestamp: seconds since the Unix epoch plus nanoseconds (`nanos < 1_000_000_000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventTime {
    pub secs: i64,
    pub nanos: u32,
}

impl EventTime {
    pub const fn new(secs: i64, nanos: u32) -> Self {
        Self { secs, nanos }
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self::new(d.as_secs() as i64, d.subsec_nanos())
    }

    /// Seconds as a float (Fluent Bit's `double` date format).
    pub fn as_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) / 1e9
    }

    /// Milliseconds since the epoch (CloudWatch timestamps).
    pub fn as_millis(self) -> i64 {
        self.secs.saturating_mul(1000) + i64::from(self.nanos / 1_000_000)
    }
}

/// One log event. Cloning is cheap: the tag is shared and the record is a refcounted slice.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub tag: Arc<str>,
    pub time: EventTime,
    /// One msgpack value, normally a map of str -> value.
    pub record: Bytes,
}

/// Many events passed between stages as one unit, with the acknowledgement token and the memory
/// budget they hold. Stages share a batch as `Arc<Batch>`; when the last holder drops it, the
/// budget is released and (once every token is gone) the acknowledgement resolves.
#[derive(Debug)]
pub struct Batch {
    pub events: Vec<Event>,
    /// Received bytes its records keep alive (the msgpack frames they slice).
    pub bytes: usize,
    pub ack: AckToken,
    /// Held only to release budget on drop.
    _permit: Option<Arc<BudgetPermit>>,
}

impl Batch {
    pub fn new(
        events: Vec<Event>,
        bytes: usize,
        ack: AckToken,
        permit: Option<Arc<BudgetPermit>>,
    ) -> Self {
        Self {
            events,
            bytes,
            ack,
            _permit: permit,
        }
    }

    /// A batch of `events` sharing this batch's ack and budget (used when routing splits by tag).
    pub fn derive(&self, events: Vec<Event>, bytes: usize) -> Self {
        Self {
            events,
            bytes,
            ack: self.ack.clone(),
            _permit: self._permit.clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Sum of the record sizes in bytes.
    pub fn record_bytes(events: &[Event]) -> usize {
        events.iter().map(|e| e.record.len()).sum()
    }
}
