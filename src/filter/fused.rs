//! Consecutive record filters (grep, modify, record_modifier, nest, parser, ecs) run record by
//! record: each record goes through the whole run of filters while it is hot in cache, the
//! intermediate records live in two scratch buffers that swap roles (a filter that only appends,
//! `record_modifier` after another filter rewrote the record, edits it in place instead), and only
//! the final record of each event is copied into the batch's one shared buffer. The filters share
//! an index of the record's fields (`msgpack::index`), passed along with the buffers.
//!
//! Invariants: the same outcome, event order and counters as running the filters one after the
//! other over the whole batch; an event no filter changed keeps its original bytes; a dropped
//! event goes no further.

use std::sync::Arc;

use bytes::Bytes;

use super::RecordOutcome;
use super::chain::Stage;
use super::stage::Ctx;
use crate::event::Event;

/// Least room reserved in the arena at once, so small batches share one allocation.
const MIN_ARENA_BYTES: usize = 64 << 10;

/// What one filter of the run did to the batch, counted locally and added to its metrics once.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    matched: u64,
    modified: u64,
    dropped: u64,
}

/// Runs `stages` (all record filters, see `StageKind::is_record_filter`) over `events` in place;
/// returns the bytes of records written.
pub(crate) fn run(stages: &[Stage], events: &mut Vec<Event>, ctx: &mut Ctx<'_>) -> usize {
    let mut counts = vec![Counts::default(); stages.len()];
    // Each filter's match of the last tag seen: batches mostly hold one tag.
    let mut last_tag: Vec<Option<(Arc<str>, bool)>> = vec![None; stages.len()];
    let mut arena = std::mem::take(&mut ctx.arena);
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    let mut cur = std::mem::take(&mut ctx.out);
    let mut next = std::mem::take(&mut ctx.spare);
    let mut w = 0;
    let indexes = &mut ctx.indexes;
    'records: for r in 0..events.len() {
        let Event { tag, time, record } = &mut events[r];
        let mut rewritten = false;
        // Which of `indexes` describes the record read (the other: the record written).
        let mut reading = 0;
        indexes[reading].clear();
        for (s, stage) in stages.iter().enumerate() {
            let selected = match &last_tag[s] {
                Some((t, m)) if Arc::ptr_eq(t, tag) => *m,
                _ => {
                    let m = stage.matcher.matches(tag);
                    last_tag[s] = Some((tag.clone(), m));
                    m
                }
            };
            if !selected {
                continue;
            }
            counts[s].matched += 1;
            let [a, b] = &mut *indexes;
            let (index, out_index) = if reading == 0 { (a, b) } else { (b, a) };
            if rewritten
                && let Some(outcome) = stage.kind.edit_in_place(&mut cur, index, &mut ctx.rng)
            {
                debug_assert!(outcome != RecordOutcome::Dropped);
                if outcome == RecordOutcome::Replaced {
                    debug_assert!(index.describes(&cur), "{:?}", stage.kind);
                    counts[s].modified += 1;
                }
                continue;
            }
            let input: &[u8] = if rewritten { &cur } else { record };
            out_index.clear();
            match stage
                .kind
                .transform(input, index, time, &mut ctx.rng, &mut next, out_index)
            {
                RecordOutcome::Dropped => {
                    counts[s].dropped += 1;
                    continue 'records;
                }
                RecordOutcome::Replaced => {
                    debug_assert!(out_index.describes(&next), "{:?}", stage.kind);
                    counts[s].modified += 1;
                    std::mem::swap(&mut cur, &mut next);
                    reading = 1 - reading;
                    rewritten = true;
                }
                RecordOutcome::Unchanged => {}
            }
        }
        if rewritten {
            if spans.is_empty() {
                // Room for the whole batch, from the first rewritten record: not grown by doubling.
                let estimate = (events.len() - r) * (cur.len() + cur.len() / 4);
                arena.reserve(estimate.max(MIN_ARENA_BYTES));
            }
            let start = arena.len();
            arena.extend_from_slice(&cur);
            spans.push((w, start, arena.len()));
        }
        events.swap(w, r);
        w += 1;
    }
    events.truncate(w);
    ctx.out = cur;
    ctx.spare = next;
    let written = arena.len();
    if !spans.is_empty() {
        let kept: Bytes = arena.split().freeze();
        for &(i, start, end) in &spans {
            events[i].record = kept.slice(start..end);
        }
    }
    ctx.arena = arena;
    for (stage, c) in stages.iter().zip(&counts) {
        stage.metrics.matched.increment(c.matched);
        stage.metrics.modified.increment(c.modified);
        stage.metrics.dropped.increment(c.dropped);
    }
    written
}
