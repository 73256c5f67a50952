//! The kinds of filter a chain stage can run, and the per-run scratch space they share.
//!
//! Record filters (`apply`) see one event at a time and answer with a [`RecordOutcome`]; filters
//! with state across records (throttle, multiline) take the whole batch (`run_batch`, in
//! `held.rs`).

use std::cell::Cell;

use bytes::BytesMut;

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
use crate::event::ack::AckToken;
use crate::event::{Event, EventTime};
use crate::msgpack::index::MapIndex;
use crate::rng::Rng;

/// Scratch space of one chain run: the replacement record buffers and what filters need besides.
/// Its buffers and random generator are kept per thread between runs (taken back when the run
/// ends), so a run allocates nothing up front.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Where a record filter writes a replacement record.
    pub out: Vec<u8>,
    /// A second buffer, so filters run back to back can read one record while writing the next.
    pub spare: Vec<u8>,
    /// Where the records a run keeps are copied: frozen pieces of it go out with the events, and
    /// the rest of its capacity (or the whole, once every piece is dropped) serves the next run.
    pub arena: BytesMut,
    pub rng: Rng,
    /// The entries of the record a filter reads and of the one it writes (see
    /// [`StageKind::transform`]).
    pub indexes: [MapIndex; 2],
    /// A rewrite_tag filter's new tag.
    pub tag: String,
    /// The ack of the batch being filtered.
    pub ack: &'a AckToken,
    /// Acks of earlier batches released by a holding filter during this run.
    pub released: Vec<AckToken>,
}

/// The part of [`Ctx`] a thread keeps between runs.
#[derive(Debug, Default)]
struct Scratch {
    out: Vec<u8>,
    spare: Vec<u8>,
    arena: BytesMut,
    rng: Option<Rng>,
}

/// Buffers larger than this (a huge record went through) are not kept between runs.
const KEEP_BUFFER_BYTES: usize = 1 << 20;
/// An arena with more room than this left is not kept between runs.
const KEEP_ARENA_BYTES: usize = 1 << 20;

thread_local! {
    static SCRATCH: Cell<Scratch> = Cell::new(Scratch::default());
}

impl<'a> Ctx<'a> {
    pub fn new(ack: &'a AckToken) -> Self {
        let s = SCRATCH.try_with(Cell::take).unwrap_or_default();
        Self {
            out: s.out,
            spare: s.spare,
            arena: s.arena,
            rng: s.rng.unwrap_or_else(Rng::from_entropy),
            indexes: Default::default(),
            tag: String::new(),
            ack,
            released: Vec::new(),
        }
    }
}

impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        let keep = |v: &mut Vec<u8>| {
            let v = std::mem::take(v);
            if v.capacity() <= KEEP_BUFFER_BYTES {
                v
            } else {
                Vec::new()
            }
        };
        let arena = std::mem::take(&mut self.arena);
        // Nothing to keep on a thread that is exiting.
        let _ = SCRATCH.try_with(|cell| {
            cell.set(Scratch {
                out: keep(&mut self.out),
                spare: keep(&mut self.spare),
                arena: if arena.capacity() <= KEEP_ARENA_BYTES {
                    arena
                } else {
                    BytesMut::new()
                },
                rng: Some(self.rng.clone()),
            })
        });
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
            _ => {
                let [index, out_index] = &mut ctx.indexes;
                index.clear();
                out_index.clear();
                self.transform(
                    &event.record,
                    index,
                    &mut event.time,
                    &mut ctx.rng,
                    &mut ctx.out,
                    out_index,
                )
            }
        }
    }

    /// Whether this filter turns one record into at most one record and does nothing else (no
    /// new events, no state across records): such filters run fused, record by record.
    pub(crate) fn is_record_filter(&self) -> bool {
        matches!(
            self,
            StageKind::Grep(_)
                | StageKind::Modify(_)
                | StageKind::RecordModifier(_)
                | StageKind::Nest(_)
                | StageKind::Parser(_)
                | StageKind::Ecs(_)
        )
    }

    /// Applies a record filter (see [`Self::is_record_filter`]) to `record`; a replacement goes to
    /// `out`. Other filters leave every record unchanged here.
    ///
    /// `index` describes `record` or is not read yet (cleared); `out_index` comes cleared, and on
    /// [`RecordOutcome::Replaced`] it describes `out` or is left not read.
    #[inline]
    pub(crate) fn transform(
        &self,
        record: &[u8],
        index: &mut MapIndex,
        time: &mut EventTime,
        rng: &mut Rng,
        out: &mut Vec<u8>,
        out_index: &mut MapIndex,
    ) -> RecordOutcome {
        match self {
            StageKind::Grep(f) => f.apply_indexed(record, index),
            StageKind::Modify(f) => f.apply(record, out),
            StageKind::RecordModifier(f) => f.apply_indexed(record, index, rng, out, out_index),
            StageKind::Nest(f) => f.apply(record, out),
            StageKind::Parser(f) => f.apply_indexed(record, index, time, out, out_index),
            StageKind::Ecs(f) => f.apply(record, out),
            StageKind::RewriteTag(_) | StageKind::Throttle(_) | StageKind::Multiline(_) => {
                RecordOutcome::Unchanged
            }
        }
    }

    /// Edits `record`, which a filter before this one wrote (so it may change in place), when this
    /// filter can without copying it: `Some(Replaced)`: `record` is the new record and `index`
    /// (describing `record`, or not read yet) describes it still; `Some(Unchanged)`: nothing to
    /// do; `None`: use [`Self::transform`].
    #[inline]
    pub(crate) fn edit_in_place(
        &self,
        record: &mut Vec<u8>,
        index: &mut MapIndex,
        rng: &mut Rng,
    ) -> Option<RecordOutcome> {
        match self {
            StageKind::RecordModifier(f) => f.append_in_place(record, index, rng),
            _ => None,
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
