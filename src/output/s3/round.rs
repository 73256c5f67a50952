//! Staging one round of batches: every event encoded into a buffer per tag, then one append and
//! one durable commit per staging file. A file whose write fails is repaired and sealed (its
//! committed lines kept) and the batches with lines in it are reported as dropped.

use std::sync::Arc;
use std::time::Instant;

use super::lines::LineEncoder;
use super::store::{SealedFile, Store};
use crate::event::Batch;
use crate::msgpack::json::TranscodeStats;
use crate::output::Reporter;

/// Lines of one tag within a round, and the batches they came from.
#[derive(Default)]
struct TagLines {
    buf: Vec<u8>,
    records: u64,
    first: Option<crate::event::EventTime>,
    batches: Vec<usize>,
}

/// What one round staged.
pub struct RoundCounts {
    /// Records now durable in a staging file.
    pub staged: u64,
    /// Records whose `log_key` was missing (written whole).
    pub log_key_missing: u64,
}

/// Stages a round: one buffer per tag, one append and one commit per file.
pub(crate) fn stage_round(
    store: &mut Store,
    encoder: &LineEncoder,
    reporter: &Reporter,
    batches: &[Arc<Batch>],
    sealed: &mut Vec<SealedFile>,
) -> RoundCounts {
    // Events come in runs of one tag (the router splits batches by tag): look the tag up only
    // when it changes, and compare pointers first.
    let mut by_tag: Vec<(Arc<str>, TagLines)> = Vec::new();
    let mut current = usize::MAX;
    let mut stats = TranscodeStats::default();
    let mut scratch = Vec::new();
    let mut counts = RoundCounts {
        staged: 0,
        log_key_missing: 0,
    };
    for (i, batch) in batches.iter().enumerate() {
        for ev in &batch.events {
            let same = by_tag
                .get(current)
                .is_some_and(|(t, _)| Arc::ptr_eq(t, &ev.tag) || *t == ev.tag);
            if !same {
                current = match by_tag.iter().position(|(t, _)| *t == ev.tag) {
                    Some(i) => i,
                    None => {
                        by_tag.push((ev.tag.clone(), TagLines::default()));
                        by_tag.len() - 1
                    }
                };
            }
            let lines = &mut by_tag[current].1;
            match encoder.write(ev, &mut lines.buf, &mut scratch, &mut stats) {
                Ok(info) => {
                    lines.records += 1;
                    lines.first.get_or_insert(ev.time);
                    if lines.batches.last() != Some(&i) {
                        lines.batches.push(i);
                    }
                    counts.log_key_missing += u64::from(info.log_key_missing);
                }
                Err(e) => reporter.encode_failed(batch, &ev.tag, &e),
            }
        }
    }
    if stats.invalid_utf8_sequences > 0 {
        reporter
            .metrics
            .invalid_utf8
            .increment(stats.invalid_utf8_sequences);
    }
    for (tag, lines) in by_tag {
        let Some(first) = lines.first else { continue };
        let written = store
            .append(&tag, first, &lines.buf, lines.records)
            .and_then(|()| store.commit(&tag));
        if written.is_ok() {
            counts.staged += lines.records;
        }
        if let Err(e) = written {
            let failed = lines.batches.iter().map(|&i| &batches[i]);
            reporter.write_failed(failed, lines.records, &e);
            // The file's stream may be broken mid-line: keep what was committed, seal it.
            match store.abandon(&tag) {
                Ok(file) => sealed.extend(file),
                Err(e) => tracing::error!(component = %reporter.name, error = %e,
                    "could not repair a staging file after a failed write; it is repaired at the next start"),
            }
        }
    }
    if let Err(e) = store.seal_due(Instant::now(), sealed) {
        tracing::error!(component = %reporter.name, error = %e,
            "could not seal a staging file; it stays in store_dir for the next start");
    }
    counts
}
