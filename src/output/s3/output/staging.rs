//! Staging rounds, and trying again what a full disk held back: a round whose write fails is
//! held (the output stops receiving, so the inputs wait) and written again after a backoff, in
//! pieces, while uploads go on freeing room; files whose repair failed are repaired first.

use std::sync::Arc;
use std::time::Instant;

use super::S3Output;
use crate::event::Batch;
use crate::output::s3::round::Round;
use crate::output::s3::store::{SealedFile, Store};

/// A held round is written again in pieces of this size, each committed: on a disk with less
/// room than the round, what fits is staged (and sealed, uploaded, freeing room for the rest).
const RETRY_PIECE_BYTES: usize = 64 << 10;

impl S3Output {
    /// Encodes, appends and commits one round on a blocking thread, then releases its batches;
    /// a round whose write fails is held for [`S3Output::retry_staging`].
    pub(super) async fn stage_round(&mut self, round: &mut Vec<Arc<Batch>>) {
        let batches = std::mem::take(round);
        let encoder = self.encoder.clone();
        let reporter = self.reporter.clone();
        let encoded = Round::encode(&encoder, reporter, batches);
        self.log_key_missing.increment(encoded.log_key_missing);
        self.write_held(encoded.round, None).await;
    }

    /// Repairs the files waiting for it, then writes the held round, on blocking threads.
    pub(super) async fn retry_staging(&mut self) {
        self.blocking(|store, sealed| store.repair_pending(sealed, &mut Default::default()))
            .await;
        let repaired = self.retry_at.is_none();
        // The round goes to a new file: a file that cannot be repaired does not hold it back.
        match self.held.take() {
            Some(round) => self.write_held(round, Some(RETRY_PIECE_BYTES)).await,
            None if repaired => self.retrying.succeeded(),
            None => {}
        }
    }

    /// Writes (what is left of) `round`; releases it when durable, else holds it.
    async fn write_held(&mut self, mut round: Round, piece_bytes: Option<usize>) {
        let Some(mut store) = self.store.take() else {
            return;
        };
        let joined = tokio::task::spawn_blocking(move || {
            let mut sealed = Vec::new();
            let (staged, error) = round.write(&mut store, &mut sealed, piece_bytes);
            (store, round, sealed, staged, error)
        })
        .await;
        match joined {
            Ok((store, round, sealed, staged, error)) => {
                self.store = Some(store);
                self.pending.extend(sealed);
                self.staged_records.increment(staged);
                let held = round.unwritten_records();
                if error.is_some() {
                    self.held = Some(round);
                } else {
                    drop(round); // durable: resolves the acks
                }
                self.after_attempt(held, error);
            }
            Err(e) => {
                tracing::error!(component = %self.reporter.name, error = %e,
                    "staging task failed; the output stops");
            }
        }
    }

    /// Counts a failed attempt (`held` records waiting) and sets when to try again.
    fn after_attempt(&mut self, held: u64, error: Option<std::io::Error>) {
        match error {
            Some(e) => {
                let delay = self.retrying.next_delay(&self.reporter, held, &e);
                self.retry_at = Some(Instant::now() + delay);
            }
            None => self.retrying.succeeded(),
        }
    }

    /// Makes sure a retry is due while a round is held or files wait for a repair.
    pub(super) fn schedule_retry(&mut self) {
        let waiting = self.held.is_some() || self.store.as_ref().is_some_and(Store::needs_repair);
        if waiting && self.retry_at.is_none() {
            let error = std::io::Error::other("a staging file is waiting for its repair");
            let delay = self.retrying.next_delay(&self.reporter, 0, &error);
            self.retry_at = Some(Instant::now() + delay);
        }
    }

    /// Runs a store operation that may seal files on a blocking thread; a failure is counted and
    /// logged, and what it left waits for a repair ([`S3Output::schedule_retry`]).
    pub(super) async fn blocking<F>(&mut self, op: F)
    where
        F: FnOnce(&mut Store, &mut Vec<SealedFile>) -> std::io::Result<()> + Send + 'static,
    {
        let Some(mut store) = self.store.take() else {
            return;
        };
        let joined = tokio::task::spawn_blocking(move || {
            let mut sealed = Vec::new();
            let result = op(&mut store, &mut sealed);
            (store, sealed, result)
        })
        .await;
        if let Ok((store, sealed, result)) = joined {
            self.store = Some(store);
            self.pending.extend(sealed);
            if let Err(e) = result {
                self.after_attempt(0, Some(e));
            }
        }
    }
}
