//! How a Forward connection submits its decoded batches: in its own task, or, with filters
//! configured, through a task on the filter stage (`pipeline::stage`) that runs the filter chain
//! and routes while the connection reads and decodes the next batch.
//!
//! Invariants: one connection's batches are submitted one at a time, in the order read; a batch
//! is acked only as its ack mode allows (see [`Submitter::submit`]); besides the batch it is
//! decoding, a staged connection holds at most two batches uncharged to the input's budget: one
//! queued for its stage task, one in it (being filtered, or waiting for budget).

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::server::Acks;
use crate::ack::{AckOutcome, AckToken};
use crate::config::model::AckMode;
use crate::event::Event;
use crate::pipeline::intake::{Intake, Submitted};

/// Decoded batches of one connection queued for its stage task: one, so the connection decodes
/// its next read while the previous one is filtered, and holds little it was not charged for.
const DECODED_QUEUE: usize = 1;

/// One read's decoded events, the bytes they keep alive, and the acks they earn.
pub(super) struct Decoded {
    pub events: Vec<Event>,
    pub held_bytes: usize,
    pub acks: Acks,
}

/// Submits a connection's decoded batches (running the filter chain, routing) and sends the
/// acks they earn.
pub(super) struct Submitter {
    pub intake: Intake,
    pub ack_mode: AckMode,
}

impl Submitter {
    async fn run(self, mut decoded: mpsc::Receiver<Decoded>, ack_tx: mpsc::Sender<Acks>) {
        while let Some(batch) = decoded.recv().await {
            self.submit(batch, &ack_tx).await;
        }
    }

    /// Submits one read's events and arranges its acks. A failed ack send means the ack writer
    /// stopped because the peer is gone; the peer resends what it did not see acked, so those
    /// send results are deliberately ignored.
    async fn submit(&self, batch: Decoded, ack_tx: &mpsc::Sender<Acks>) {
        let Decoded {
            events,
            held_bytes: frame_bytes,
            acks,
        } = batch;
        if events.is_empty() {
            if !acks.is_empty() {
                // Frames that held only heartbeats or invalid (counted) events are still answered.
                let _ = ack_tx.send(acks).await;
            }
            return;
        }
        match (self.ack_mode, acks.is_empty()) {
            (_, true) => {
                self.intake
                    .submit(events, frame_bytes, AckToken::none())
                    .await;
            }
            // With a disk buffer, `durable` makes the intake resolve only once the batch is fsync'd.
            (AckMode::Accepted | AckMode::Durable, false) => {
                if self
                    .intake
                    .submit(events, frame_bytes, AckToken::none())
                    .await
                    == Submitted::Accepted
                {
                    let _ = ack_tx.send(acks).await;
                }
            }
            (AckMode::Delivered, false) => {
                let (token, waiter) = AckToken::new();
                self.intake.submit(events, frame_bytes, token).await;
                let tx = ack_tx.clone();
                tokio::spawn(async move {
                    if waiter.wait().await == AckOutcome::Delivered {
                        let _ = tx.send(acks).await;
                    }
                });
            }
        }
    }
}

/// One connection's way of submitting.
pub(super) enum Submission {
    /// In the connection's task (no filters: a hand-over would cost more than routing).
    Inline {
        submitter: Submitter,
        ack_tx: mpsc::Sender<Acks>,
    },
    /// Through a task on the filter stage.
    Staged {
        decoded: mpsc::Sender<Decoded>,
        task: JoinHandle<()>,
    },
}

impl Submission {
    /// Staged when the input has a filter stage; `ack_tx` goes to whoever submits.
    pub fn start(submitter: Submitter, ack_tx: mpsc::Sender<Acks>) -> Self {
        match submitter.intake.stage().cloned() {
            Some(stage) => {
                let (decoded, rx) = mpsc::channel(DECODED_QUEUE);
                let task = stage.spawn(submitter.run(rx, ack_tx));
                Submission::Staged { decoded, task }
            }
            None => Submission::Inline { submitter, ack_tx },
        }
    }

    /// Whether batches go to a stage task (the connection reads while they are filtered).
    pub fn is_staged(&self) -> bool {
        matches!(self, Submission::Staged { .. })
    }

    /// Submits one batch, or hands it to the stage task once that took the previous one.
    pub async fn submit(&mut self, batch: Decoded) {
        match self {
            Submission::Inline { submitter, ack_tx } => submitter.submit(batch, ack_tx).await,
            Submission::Staged { decoded, .. } => {
                // Fails only if the stage task is gone, which it is not before `finish` (or a
                // panic, reported there).
                let _ = decoded.send(batch).await;
            }
        }
    }

    /// Waits until every batch handed over was submitted; drops this side's ack sender.
    pub async fn finish(self) -> Result<(), tokio::task::JoinError> {
        match self {
            Submission::Inline { .. } => Ok(()),
            Submission::Staged { decoded, task } => {
                drop(decoded);
                task.await
            }
        }
    }
}
