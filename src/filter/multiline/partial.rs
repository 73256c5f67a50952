//! `mode partial_message`: reassembles the pieces Docker's fluentd log driver cuts long lines
//! into (16 KiB each), grouped per tag and `partial_id`.
//!
//! Invariants: a record without `partial_message: "true"`, a string `partial_id` and a string
//! content key is forwarded unchanged (same bytes, no copy); pieces of one group are joined in
//! arrival order with nothing added (Docker sends the pieces of one line in order on one
//! connection, so `partial_ordinal` is not used to reorder); every piece's content lands in
//! exactly one emitted record.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::groups::{Group, GroupTable, Slot};
use super::record::{flag_field, str_field};
use super::{EmitOutcome, Emitted, MultilineConfig, MultilineStats};
use crate::event::EventTime;

/// The keys Docker adds to each piece; removed from the reassembled record.
pub const PARTIAL_KEYS: [&[u8]; 4] = [
    b"partial_message",
    b"partial_id",
    b"partial_ordinal",
    b"partial_last",
];

/// Open partial groups of `mode partial_message`.
#[derive(Debug)]
pub struct Partials {
    config: MultilineConfig,
    groups: GroupTable<()>,
    scratch: Vec<u64>,
    stats: MultilineStats,
}

impl Partials {
    /// An empty reassembler.
    pub fn new(config: MultilineConfig) -> Self {
        Self {
            config,
            groups: GroupTable::new(),
            scratch: Vec::new(),
            stats: MultilineStats::default(),
        }
    }

    /// Feeds one record from the batch numbered `mark`. A non-partial record is emitted at once
    /// as [`EmitOutcome::Unchanged`] (same bytes); a piece joins its group, and the last piece
    /// emits the whole record.
    pub fn push(
        &mut self,
        now: Instant,
        tag: &Arc<str>,
        time: EventTime,
        record: &Bytes,
        mark: u64,
        emit: &mut Vec<Emitted>,
    ) {
        let partial = (
            flag_field(record, b"partial_message"),
            str_field(record, b"partial_id"),
            str_field(record, self.config.key_content.as_bytes()),
        );
        let (true, Some(id), Some(content)) = partial else {
            self.stats.count(EmitOutcome::Unchanged);
            emit.push(Emitted {
                tag: Arc::clone(tag),
                time,
                record: record.clone(),
                outcome: EmitOutcome::Unchanged,
            });
            return;
        };
        let last = flag_field(record, b"partial_last");
        let mut age = self.groups.find(tag, Some(id));
        if let Some(open) = age
            && self
                .groups
                .get(open)
                .is_some_and(|s| s.group.len_after(content, false) > self.config.max_group_bytes)
        {
            // Emit what the group holds; this piece starts the rest of the line.
            self.finish(open, EmitOutcome::FlushedSizeCap, emit);
            age = None;
        }
        let age = age.unwrap_or_else(|| {
            let flush_after = Duration::from_millis(self.config.flush_ms);
            let group = Group::new(time, record, now, flush_after, mark);
            self.groups.insert(tag, Some(id), (), group)
        });
        self.groups.append(age, content, false, mark);
        let full = self
            .groups
            .get(age)
            .is_some_and(|s| s.group.content.len() >= self.config.max_group_bytes);
        if last {
            self.finish(age, EmitOutcome::Complete, emit);
        } else if full {
            self.finish(age, EmitOutcome::FlushedSizeCap, emit);
        }
        while self.groups.held_bytes() > self.config.max_total_bytes {
            let Some(oldest) = self.groups.oldest() else {
                break;
            };
            self.finish(oldest, EmitOutcome::FlushedSizeCap, emit);
        }
    }

    /// Emits every group opened `flush_ms` or more before `now`, oldest first.
    pub fn tick(&mut self, now: Instant, emit: &mut Vec<Emitted>) {
        let mut ages = std::mem::take(&mut self.scratch);
        self.groups.due(now, &mut ages);
        for &age in &ages {
            self.finish(age, EmitOutcome::FlushedTimeout, emit);
        }
        self.scratch = ages;
    }

    /// Emits every open group (shutdown), oldest first.
    pub fn flush_all(&mut self, emit: &mut Vec<Emitted>) {
        let mut ages = std::mem::take(&mut self.scratch);
        self.groups.all(&mut ages);
        for &age in &ages {
            self.finish(age, EmitOutcome::FlushedAll, emit);
        }
        self.scratch = ages;
    }

    /// The smallest `mark` of any piece held in an open group (`None` if none is open).
    pub fn low_watermark(&self) -> Option<u64> {
        self.groups.low_watermark()
    }

    /// Number of open groups.
    pub fn open_groups(&self) -> usize {
        self.groups.len()
    }

    /// Bytes the open groups hold (bounded by `max_total_bytes` after every call).
    pub fn held_bytes(&self) -> usize {
        self.groups.held_bytes()
    }

    /// Records emitted so far, per outcome.
    pub fn stats(&self) -> MultilineStats {
        self.stats
    }

    fn finish(&mut self, age: u64, outcome: EmitOutcome, emit: &mut Vec<Emitted>) {
        let Some(Slot { tag, group, .. }) = self.groups.remove(age) else {
            return;
        };
        let (time, record) = group.into_record(self.config.key_content.as_bytes(), &PARTIAL_KEYS);
        self.stats.count(outcome);
        emit.push(Emitted {
            tag,
            time,
            record,
            outcome,
        });
    }
}

#[cfg(test)]
mod tests;
