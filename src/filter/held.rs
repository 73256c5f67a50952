//! Chain stages with state shared by every input: `throttle` (a rate window) and `multiline`
//! (open groups, and the acks of the batches whose records those groups hold).
//!
//! Invariant (multiline): a batch's ack token is held while any record of that batch is held in
//! an open group; when the groups holding them are emitted, the tokens travel with the emitted
//! records (`Ctx::released`), so a client is acknowledged only once the joined record is through.
//! Each lock is taken once per batch, not per record.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::chain::Stage;
use super::multiline::{EmitOutcome, Emitted, MultilineFilter};
use super::stage::Ctx;
use super::throttle::Throttle;
use crate::event::Event;
use crate::event::ack::AckToken;
use crate::telemetry as t;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent state (every method finishes its update
    // before returning), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A `throttle` filter and when it last logged its status.
#[derive(Debug)]
pub struct ThrottleStage {
    state: Mutex<(Throttle, Option<Instant>)>,
    print_status: bool,
}

impl ThrottleStage {
    pub fn new(throttle: Throttle, print_status: bool) -> Self {
        Self {
            state: Mutex::new((throttle, None)),
            print_status,
        }
    }

    /// Drops the selected events over the rate; returns 0 (it writes no records).
    pub(crate) fn run(&self, stage: &Stage, events: &mut Vec<Event>) -> usize {
        let now = Instant::now();
        let mut guard = lock(&self.state);
        let (throttle, last_print) = &mut *guard;
        let (mut matched, mut dropped) = (0u64, 0u64);
        events.retain(|e| {
            if !stage.matcher.matches(&e.tag) {
                return true;
            }
            matched += 1;
            let pass = throttle.admit(now);
            dropped += u64::from(!pass);
            pass
        });
        if self.print_status && last_print.is_none_or(|p| now.duration_since(p).as_secs() >= 1) {
            *last_print = Some(now);
            tracing::info!(filter = %stage.name, status = %throttle.status(now), "throttle");
        }
        drop(guard);
        stage.metrics.matched.increment(matched);
        stage.metrics.dropped.increment(dropped);
        0
    }
}

/// A `multiline` filter and the acks of the runs whose records it holds.
#[derive(Debug)]
pub struct MultilineStage {
    state: Mutex<Held>,
}

#[derive(Debug)]
struct Held {
    filter: MultilineFilter,
    /// (run mark, ack) of runs that may have records in open groups, oldest first.
    acks: VecDeque<(u64, AckToken)>,
    /// The next run's mark: taken under the lock, so marks grow in the order records are pushed.
    next_mark: u64,
}

impl MultilineStage {
    pub fn new(filter: MultilineFilter) -> Self {
        Self {
            state: Mutex::new(Held {
                filter,
                acks: VecDeque::new(),
                next_mark: 0,
            }),
        }
    }

    /// Pushes the selected events through the filter; returns the bytes of records it wrote.
    pub(crate) fn run(&self, stage: &Stage, events: &mut Vec<Event>, ctx: &mut Ctx<'_>) -> usize {
        let now = Instant::now();
        let mut out = Vec::with_capacity(events.len());
        let mut emit = Vec::new();
        let mut matched = 0u64;
        let mut held = lock(&self.state);
        let mark = held.next_mark;
        held.next_mark += 1;
        for ev in events.drain(..) {
            if !stage.matcher.matches(&ev.tag) {
                out.push(ev);
                continue;
            }
            matched += 1;
            held.filter
                .push(now, &ev.tag, ev.time, &ev.record, mark, &mut emit);
        }
        let written = collect(stage, &mut emit, &mut out);
        held.settle_acks(Some((mark, ctx.ack)), &mut ctx.released);
        drop(held);
        stage.metrics.matched.increment(matched);
        *events = out;
        written
    }

    /// Emits the groups open longer than their timeout (`all`: every group, at shutdown).
    /// Returns the events and the acks that now travel with them.
    pub fn flush(&self, stage: &Stage, now: Instant, all: bool) -> (Vec<Event>, Vec<AckToken>) {
        let mut emit = Vec::new();
        let mut out = Vec::new();
        let mut released = Vec::new();
        let mut held = lock(&self.state);
        if all {
            held.filter.flush_all(&mut emit);
        } else {
            held.filter.tick(now, &mut emit);
        }
        collect(stage, &mut emit, &mut out);
        held.settle_acks(None, &mut released);
        (out, released)
    }
}

impl Held {
    /// Holds the current run's ack if records may be held, and releases the acks of runs that no
    /// open group holds records of any more.
    fn settle_acks(&mut self, run: Option<(u64, &AckToken)>, released: &mut Vec<AckToken>) {
        let watermark = self.filter.low_watermark();
        if let (Some((mark, ack)), Some(w)) = (run, watermark)
            && w <= mark
        {
            self.acks.push_back((mark, ack.clone()));
        }
        while let Some((mark, _)) = self.acks.front() {
            if watermark.is_some_and(|w| *mark >= w) {
                break;
            }
            if let Some((_, ack)) = self.acks.pop_front() {
                released.push(ack);
            }
        }
    }
}

/// Moves emitted records into `out`, counting them; returns the bytes of the joined ones.
fn collect(stage: &Stage, emit: &mut Vec<Emitted>, out: &mut Vec<Event>) -> usize {
    let mut written = 0;
    for e in emit.drain(..) {
        match e.outcome {
            EmitOutcome::Unchanged => {}
            outcome => {
                written += e.record.len();
                stage.metrics.emitted.increment(1);
                let label = match outcome {
                    EmitOutcome::FlushedTimeout => Some("flushed_timeout"),
                    EmitOutcome::FlushedSizeCap => Some("flushed_size_cap"),
                    EmitOutcome::FlushedAll => Some("flushed_shutdown"),
                    _ => None,
                };
                if let Some(label) = label {
                    metrics::counter!(t::FILTER_RECORDS, "component" => stage.name.to_string(), "outcome" => label)
                        .increment(1);
                }
            }
        }
        out.push(Event {
            tag: e.tag,
            time: e.time,
            record: e.record,
        });
    }
    written
}
