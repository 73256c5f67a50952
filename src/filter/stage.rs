//! The kinds of filter a chain stage can run, and the per-run scratch space they share.
//!
//! Record filters (`apply`) see one event at a time and answer with a [`RecordOutcome`]; filters
//! with state across records (throttle, multiline) take the whole batch (`run_batch`, in
//! `held.rs`).

use super::RecordOutcome;
use super::chain::Stage;
use super::ecs::EcsFilter;
use super::grep::Grep;
use super::held::{MultilineStage, ThrottleStage};
use super::modify::Modify;
use super::nest::Nest;
use super::parser::ParserFilter;
use super::record_modifier::RecordModifier;
use super::rewrite_tag::RewriteTag;
use crate::ack::AckToken;
use crate::event::Event;
use crate::output::backoff::Rng;

/// Scratch space of one chain run: the replacement record buffer and what filters need besides.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Where a record filter writes a replacement record.
    pub out: Vec<u8>,
    pub rng: Rng,
    /// A rewrite_tag filter's new tag.
    pub tag: String,
    /// The ack of the batch being filtered.
    pub ack: &'a AckToken,
    /// Acks of earlier batches released by a holding filter during this run.
    pub released: Vec<AckToken>,
}

impl<'a> Ctx<'a> {
    pub fn new(ack: &'a AckToken) -> Self {
        Self {
            out: Vec::new(),
            rng: Rng::from_entropy(),
            tag: String::new(),
            ack,
            released: Vec::new(),
        }
    }
}

/// A configured filter.
#[derive(Debug)]
pub enum StageKind {
    Grep(Grep),
    Modify(Modify),
    RecordModifier(RecordModifier),
    Nest(Nest),
    Parser(ParserFilter),
    Ecs(EcsFilter),
    RewriteTag(RewriteTag),
    Throttle(ThrottleStage),
    Multiline(Box<MultilineStage>),
}

impl StageKind {
    /// Applies a record filter to one selected event.
    pub(crate) fn apply(
        &self,
        stage: &Stage,
        event: &mut Event,
        ctx: &mut Ctx<'_>,
        reemitted: &mut Vec<Event>,
    ) -> RecordOutcome {
        match self {
            StageKind::Grep(f) => f.apply(&event.record),
            StageKind::Modify(f) => f.apply(&event.record, &mut ctx.out),
            StageKind::RecordModifier(f) => f.apply(&event.record, &mut ctx.rng, &mut ctx.out),
            StageKind::Nest(f) => f.apply(&event.record, &mut ctx.out),
            StageKind::Parser(f) => f.apply(&event.record, &mut event.time, &mut ctx.out),
            StageKind::Ecs(f) => f.apply(&event.record, &mut ctx.out),
            StageKind::RewriteTag(f) => {
                ctx.tag.clear();
                match f.apply(&event.tag, &event.record, &mut ctx.tag) {
                    None => RecordOutcome::Unchanged,
                    Some(keep) => {
                        stage.metrics.emitted.increment(1);
                        reemitted.push(Event {
                            tag: ctx.tag.as_str().into(),
                            time: event.time,
                            record: event.record.clone(),
                        });
                        if keep {
                            RecordOutcome::Unchanged
                        } else {
                            RecordOutcome::Dropped
                        }
                    }
                }
            }
            // Batch filters never get here (`run_batch` handled them).
            StageKind::Throttle(_) | StageKind::Multiline(_) => RecordOutcome::Unchanged,
        }
    }

    /// Runs a filter that works on whole batches; `None` for record filters. Returns the bytes
    /// of records it wrote.
    pub(crate) fn run_batch(
        &self,
        stage: &Stage,
        events: &mut Vec<Event>,
        ctx: &mut Ctx<'_>,
    ) -> Option<usize> {
        match self {
            StageKind::Throttle(t) => Some(t.run(stage, events)),
            StageKind::Multiline(m) => Some(m.run(stage, events, ctx)),
            _ => None,
        }
    }
}
