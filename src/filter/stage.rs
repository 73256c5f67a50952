//! The kinds of filter a chain stage can run, and the per-run scratch space they share.
//!
//! Record filters (`apply`) see one event at a time and answer with a [`RecordOutcome`]; filters
//! with state across records (throttle, multiline) take the whole batch (`run_batch`).

use super::RecordOutcome;
use super::chain::Stage;
use super::record_modifier::RecordModifier;
use crate::ack::AckToken;
use crate::event::Event;
use crate::output::backoff::Rng;

/// Scratch space of one chain run: the replacement record buffer and what filters need besides.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Where a record filter writes a replacement record.
    pub out: Vec<u8>,
    pub rng: Rng,
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
            ack,
            released: Vec::new(),
        }
    }
}

/// A configured filter.
#[derive(Debug)]
pub enum StageKind {
    RecordModifier(RecordModifier),
}

impl StageKind {
    /// Applies a record filter to one selected event.
    pub(crate) fn apply(
        &self,
        event: &mut Event,
        ctx: &mut Ctx<'_>,
        _reemitted: &mut Vec<Event>,
    ) -> RecordOutcome {
        match self {
            StageKind::RecordModifier(f) => f.apply(&event.record, &mut ctx.rng, &mut ctx.out),
        }
    }

    /// Runs a filter that works on whole batches; `None` for record filters.
    pub(crate) fn run_batch(
        &self,
        _stage: &Stage,
        _events: &mut Vec<Event>,
        _ctx: &mut Ctx<'_>,
        _reemitted: &mut Vec<Event>,
    ) -> Option<usize> {
        match self {
            StageKind::RecordModifier(_) => None,
        }
    }
}
