//! Staging one round of batches: every event encoded into a buffer per tag, then one append and
//! one durable commit per staging file.
//!
//! Invariant: a round's batches are released (their acks resolved) only once every line encoded
//! from them is durable. A file whose write fails is repaired in place and sealed (its committed
//! lines kept) and the round is held, its unwritten lines kept, to be written again after a
//! backoff ([`Round::write`] resumes at the first tag not written); a round given up on (the
//! process stops first) marks its acks dropped and counts its records ([`local_write::give_up`]).

use std::io;
use std::sync::Arc;
use std::time::Instant;

use super::lines::LineEncoder;
use super::store::{SealedFile, Store};
use crate::event::Batch;
use crate::msgpack::json::TranscodeStats;
use crate::output::{Reporter, local_write};

/// Lines of one tag within a round.
struct TagLines {
    tag: Arc<str>,
    buf: Vec<u8>,
    records: u64,
    first: crate::event::EventTime,
    /// Bytes of `buf`, and records, already durable.
    done_bytes: usize,
    done_records: u64,
}

/// An encoded round: lines by tag, and the batches they came from (held until every line is
/// durable).
pub struct Round {
    batches: Vec<Arc<Batch>>,
    /// Tags whose lines are not durable yet, in order.
    unwritten: Vec<TagLines>,
    reporter: Arc<Reporter>,
}

/// What encoding a round found.
pub struct Encoded {
    pub round: Round,
    /// Records whose `log_key` was missing (written whole).
    pub log_key_missing: u64,
}

impl std::fmt::Debug for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Round")
            .field("batches", &self.batches.len())
            .field("unwritten_records", &self.unwritten_records())
            .finish_non_exhaustive()
    }
}

impl Round {
    /// Encodes every event of `batches` into one buffer per tag.
    pub(crate) fn encode(
        encoder: &LineEncoder,
        reporter: Arc<Reporter>,
        batches: Vec<Arc<Batch>>,
    ) -> Encoded {
        // Events come in runs of one tag (the router splits batches by tag): look the tag up only
        // when it changes, and compare pointers first.
        let mut by_tag: Vec<TagLines> = Vec::new();
        let mut current = usize::MAX;
        let mut stats = TranscodeStats::default();
        let mut scratch = Vec::new();
        let mut log_key_missing = 0;
        for batch in &batches {
            for ev in &batch.events {
                let same = by_tag
                    .get(current)
                    .is_some_and(|t| Arc::ptr_eq(&t.tag, &ev.tag) || t.tag == ev.tag);
                if !same {
                    current = by_tag
                        .iter()
                        .position(|t| t.tag == ev.tag)
                        .unwrap_or_else(|| {
                            by_tag.push(TagLines {
                                tag: ev.tag.clone(),
                                buf: Vec::new(),
                                records: 0,
                                first: ev.time,
                                done_bytes: 0,
                                done_records: 0,
                            });
                            by_tag.len() - 1
                        });
                }
                let lines = &mut by_tag[current];
                match encoder.write(ev, &mut lines.buf, &mut scratch, &mut stats) {
                    Ok(info) => {
                        if lines.records == 0 {
                            lines.first = ev.time;
                        }
                        lines.records += 1;
                        log_key_missing += u64::from(info.log_key_missing);
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
        by_tag.retain(|t| t.records > 0);
        Encoded {
            round: Round {
                batches,
                unwritten: by_tag,
                reporter,
            },
            log_key_missing,
        }
    }

    /// Appends and commits each tag's lines not written yet, in order, stopping at the first
    /// failure (its file is repaired and sealed into `sealed`, the lines kept for the next call).
    /// With `piece_bytes`, lines are committed in pieces of about that size, so a disk with less
    /// room than the round still takes what fits (more fsyncs: for retries). Returns the records
    /// made durable by this call, and the failure.
    pub fn write(
        &mut self,
        store: &mut Store,
        sealed: &mut Vec<SealedFile>,
        piece_bytes: Option<usize>,
    ) -> (u64, Option<io::Error>) {
        let mut staged = 0;
        while let Some(lines) = self.unwritten.first_mut() {
            let rest = &lines.buf[lines.done_bytes..];
            let take = piece_bytes.map_or(rest.len(), |max| piece_len(rest, max));
            let piece = &rest[..take];
            let left = lines.records - lines.done_records;
            // Lines and records match but for `log_key` values holding newlines: the last
            // piece takes what is left.
            let records = if take == rest.len() {
                left
            } else {
                (memchr::memchr_iter(b'\n', piece).count() as u64).min(left)
            };
            let written = store
                .append(&lines.tag, lines.first, piece, records)
                .and_then(|()| store.commit(&lines.tag));
            if let Err(e) = written {
                // The file's stream may be broken mid-line: keep what was committed, seal it.
                if let Err(repair) = store.abandon(&lines.tag, sealed) {
                    tracing::debug!(component = %self.reporter.name, error = %repair,
                        "repairing a staging file failed; trying again later");
                }
                return (staged, Some(e));
            }
            staged += records;
            lines.done_bytes += take;
            lines.done_records += records;
            if lines.done_bytes == lines.buf.len() {
                self.unwritten.remove(0);
            }
        }
        if let Err(e) = store.seal_due(Instant::now(), sealed) {
            tracing::debug!(component = %self.reporter.name, error = %e,
                "sealing a staging file failed; trying again later");
        }
        (staged, None)
    }

    /// Records not durable yet.
    pub fn unwritten_records(&self) -> u64 {
        self.unwritten
            .iter()
            .map(|t| t.records - t.done_records)
            .sum()
    }
}

impl Drop for Round {
    fn drop(&mut self) {
        let records = self.unwritten_records();
        if records > 0 {
            local_write::give_up(&self.reporter, &self.batches, records);
        }
    }
}

/// Bytes of `rest` in the next piece: whole lines, about `max` bytes (more when one line is
/// longer), all of `rest` when it is short.
fn piece_len(rest: &[u8], max: usize) -> usize {
    if rest.len() <= max {
        return rest.len();
    }
    match memchr::memrchr(b'\n', &rest[..max]) {
        Some(i) => i + 1,
        None => memchr::memchr(b'\n', &rest[max..]).map_or(rest.len(), |i| max + i + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::piece_len;

    #[test]
    fn pieces_are_whole_lines() {
        let lines = b"aaaa\nbb\ncccccc\n";
        assert_eq!(piece_len(lines, 100), lines.len(), "short: all of it");
        assert_eq!(piece_len(lines, 8), 8, "two lines fit exactly");
        assert_eq!(piece_len(lines, 7), 5, "the second line does not fit");
        assert_eq!(
            piece_len(lines, 3),
            5,
            "a line longer than a piece goes whole"
        );
        assert_eq!(piece_len(b"abc", 1), 3, "no newline: all of it");
    }
}
