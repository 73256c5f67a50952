//! The filter chain: runs the configured filters, in config order, over the events of one batch
//! before they are routed.
//!
//! Invariants:
//! - Every event that enters leaves exactly once, unless a filter dropped it (counted per filter
//!   under `outcome="dropped"`) or a filter holds it for later (multiline; its ack is then held
//!   too, see [`ChainOutput::acks`]).
//! - An event no filter changes keeps its original record bytes (no copy). Records a filter
//!   rewrites go into one shared buffer per filter and batch, not one allocation each.
//! - Events re-emitted under a new tag (rewrite_tag) run the whole chain again from the first
//!   filter, but never through a rewrite_tag filter they already passed: the chain ends.

use std::sync::Arc;
use std::time::Instant;

use metrics::Counter;

use super::RecordOutcome;
use super::fused;
use super::stage::{Ctx, StageKind};
use crate::event::ack::AckToken;
use crate::event::tag_match::TagMatcher;
use crate::event::{Batch, Event};
use crate::telemetry as t;

/// Per-filter counters, created once.
#[derive(Debug, Clone)]
pub struct StageMetrics {
    /// Records the filter looked at (its match selected them).
    pub matched: Counter,
    pub modified: Counter,
    pub dropped: Counter,
    /// Records a filter created (re-emitted under a new tag, or joined by multiline).
    pub emitted: Counter,
}

impl StageMetrics {
    pub fn new(name: &str) -> Self {
        let c = |outcome: &'static str| metrics::counter!(t::FILTER_RECORDS, "component" => name.to_owned(), "outcome" => outcome);
        Self {
            matched: c("matched"),
            modified: c("modified"),
            dropped: c("dropped"),
            emitted: c("emitted"),
        }
    }
}

/// One configured filter.
#[derive(Debug)]
pub struct Stage {
    pub name: Arc<str>,
    pub matcher: TagMatcher,
    pub kind: StageKind,
    pub metrics: StageMetrics,
}

/// The filters of a pipeline, shared by every input.
#[derive(Debug, Default)]
pub struct FilterChain {
    stages: Vec<Stage>,
}

/// What one run produced.
#[derive(Debug, Default)]
pub struct ChainOutput {
    pub events: Vec<Event>,
    /// Bytes of records the filters wrote (memory on top of the received frames).
    pub written_bytes: usize,
    /// Ack tokens of earlier batches whose records left a filter's hold with these events: the
    /// batch carrying these events must hold them until it is delivered.
    pub acks: Vec<AckToken>,
}

/// Where an event is in the chain: re-emitted events remember the rewrite stages they passed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Lineage {
    /// Bit `i` set: stage `i` (a rewrite_tag) already re-emitted this event's ancestor.
    pub passed: u64,
}

impl FilterChain {
    pub fn new(stages: Vec<Stage>) -> Self {
        Self { stages }
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Runs every filter over `events`, which came in the batch acknowledged by `ack`.
    pub fn run(&self, events: Vec<Event>, ack: &AckToken) -> ChainOutput {
        let mut out = ChainOutput::default();
        let mut ctx = Ctx::new(ack);
        self.run_from(0, events, Lineage::default(), &mut ctx, &mut out);
        out.acks = std::mem::take(&mut ctx.released);
        out
    }

    /// Whether a stage holds records between batches (then the pipeline must call [`Self::tick`]).
    pub fn holds_records(&self) -> bool {
        self.stages
            .iter()
            .any(|s| matches!(s.kind, StageKind::Multiline(_)))
    }

    /// Emits what holding filters kept too long (`all`: everything, at shutdown) and runs the
    /// filters after them. One output per filter that emitted something.
    pub fn tick(&self, now: Instant, all: bool) -> Vec<ChainOutput> {
        let mut outputs = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            let StageKind::Multiline(m) = &stage.kind else {
                continue;
            };
            let (events, acks) = m.flush(stage, now, all);
            if events.is_empty() {
                continue;
            }
            let written = Batch::record_bytes(&events);
            let ack = AckToken::merge(acks);
            let mut out = ChainOutput::default();
            let mut ctx = Ctx::new(&ack);
            self.run_from(i + 1, events, Lineage::default(), &mut ctx, &mut out);
            out.written_bytes += written;
            out.acks = std::mem::take(&mut ctx.released);
            drop(ctx);
            out.acks.push(ack);
            outputs.push(out);
        }
        outputs
    }

    fn run_from(
        &self,
        first: usize,
        mut events: Vec<Event>,
        lineage: Lineage,
        ctx: &mut Ctx<'_>,
        out: &mut ChainOutput,
    ) {
        let mut reemitted: Vec<Event> = Vec::new();
        let mut i = first;
        while i < self.stages.len() && !events.is_empty() {
            let stage = &self.stages[i];
            if stage.kind.is_record_filter() {
                let run = self.stages[i..]
                    .iter()
                    .take_while(|s| s.kind.is_record_filter())
                    .count();
                out.written_bytes += fused::run(&self.stages[i..i + run], &mut events, ctx);
                i += run;
                continue;
            }
            // The config allows at most 64 filters (`validate::MAX_FILTERS`).
            let passed = i < 64 && lineage.passed & (1 << i) != 0;
            if !passed {
                let before = reemitted.len();
                out.written_bytes += stage.run(&mut events, ctx, &mut reemitted);
                if reemitted.len() > before {
                    let mut next = lineage;
                    if i < 64 {
                        next.passed |= 1 << i;
                    }
                    let batch = reemitted.split_off(before);
                    self.run_from(0, batch, next, ctx, out);
                }
            }
            i += 1;
        }
        if out.events.is_empty() {
            out.events = events;
        } else {
            out.events.append(&mut events);
        }
    }
}

impl Stage {
    /// Runs a filter that is not a record filter (rewrite_tag, throttle, multiline) over `events`
    /// in place; returns the bytes of records it wrote.
    fn run(&self, events: &mut Vec<Event>, ctx: &mut Ctx<'_>, reemitted: &mut Vec<Event>) -> usize {
        if let Some(written) = self.kind.run_batch(self, events, ctx) {
            return written;
        }
        let (mut matched, mut dropped) = (0u64, 0u64);
        let mut last_tag: Option<(Arc<str>, bool)> = None;
        events.retain_mut(|event| {
            let selected = match &last_tag {
                Some((tag, m)) if Arc::ptr_eq(tag, &event.tag) => *m,
                _ => {
                    let m = self.matcher.matches(&event.tag);
                    last_tag = Some((event.tag.clone(), m));
                    m
                }
            };
            if !selected {
                return true;
            }
            matched += 1;
            // Only rewrite_tag gets here: it re-emits or drops, and never rewrites in place.
            let outcome = self.kind.apply(self, event, ctx, reemitted);
            dropped += u64::from(outcome == RecordOutcome::Dropped);
            outcome != RecordOutcome::Dropped
        });
        self.metrics.matched.increment(matched);
        self.metrics.dropped.increment(dropped);
        0
    }
}

#[cfg(test)]
mod tests;
