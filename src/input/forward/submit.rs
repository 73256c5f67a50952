//! How a Forward connection submits its decoded batches: in its own task, or, with filters
//! configured, through a task on the filter stage (`pipeline::stage`) that runs the filter chain
//! and routes while the connection reads and decodes the next batch.
//!
//! Invariants: one connection's batches are submitted one at a time, in the order read; a batch
//! is acked only as its ack mode allows (see [`Submitter::submit`]), and a frame decoded in
//! several pieces only once all of them were; besides the piece it is decoding, a staged
//! connection holds at most two pieces not yet in the input's share (their memory is in the
//! process-wide account already): one queued for its stage task, one in it.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::server::Acks;
use crate::config::model::AckMode;
use crate::event::Event;
use crate::event::ack::{AckOutcome, AckToken, AckWaiter};
use crate::event::budget::Held;
use crate::memory::Charge;
use crate::pipeline::intake::{Intake, Submitted};

/// Pieces of one connection queued for its stage task: one, so the connection decodes
/// its next read while the previous one is filtered, and holds little it was not charged for.
const DECODED_QUEUE: usize = 1;

/// A piece of decoded events (one read's frames, or part of a frame too large for one piece),
/// the memory it took from the account, and the acks of the frames that end in it.
pub(super) struct Piece {
    pub events: Vec<Event>,
    /// The event list's bytes (charged before it was allocated).
    pub charge: Charge,
    /// Read blocks and decompressed payloads its records slice, shared with other pieces.
    pub shared: Vec<Arc<Charge>>,
    /// Received (and decompressed) bytes counted against the input's share.
    pub data_bytes: usize,
    pub acks: Acks,
    /// Its first frame began in the previous piece.
    pub continued: bool,
    /// Its last frame goes on in the next piece.
    pub open_end: bool,
}

impl Piece {
    /// Records that the piece slices the buffer charged by `charges` (each once).
    pub fn slices(&mut self, charges: &[Arc<Charge>]) {
        for c in charges {
            if !self.shared.iter().any(|b| Arc::ptr_eq(b, c)) {
                self.shared.push(Arc::clone(c));
            }
        }
    }
}

/// What the pieces of a frame still open (begun in earlier pieces) came to: a frame's ack is
/// sent only once all its pieces are accepted (or delivered).
#[derive(Default)]
struct Chain {
    /// A piece of the open frame was dropped: its ack must not be sent.
    failed: bool,
    /// With `ack = delivered`: the outcomes of the open frame's earlier pieces.
    waiters: Vec<AckWaiter>,
}

/// Submits a connection's decoded pieces (running the filter chain, routing) and sends the
/// acks they earn.
pub(super) struct Submitter {
    pub intake: Intake,
    pub ack_mode: AckMode,
    chain: Chain,
}

impl Submitter {
    pub fn new(intake: Intake, ack_mode: AckMode) -> Self {
        Self {
            intake,
            ack_mode,
            chain: Chain::default(),
        }
    }

    async fn run(mut self, mut decoded: mpsc::Receiver<Piece>, ack_tx: mpsc::Sender<Acks>) {
        while let Some(piece) = decoded.recv().await {
            self.submit(piece, &ack_tx).await;
        }
    }

    /// Submits one piece and arranges its acks. A failed ack send means the ack writer
    /// stopped because the peer is gone; the peer resends what it did not see acked, so those
    /// send results are deliberately ignored.
    async fn submit(&mut self, piece: Piece, ack_tx: &mpsc::Sender<Acks>) {
        let Piece {
            events,
            charge,
            shared,
            data_bytes,
            acks,
            continued,
            open_end,
        } = piece;
        if !continued {
            self.chain = Chain::default();
        }
        let held = Held { charge, shared };
        match self.ack_mode {
            // With a disk buffer, `durable` makes the intake resolve only once the batch is fsync'd.
            AckMode::Accepted | AckMode::Durable => {
                let accepted = events.is_empty()
                    || self
                        .intake
                        .submit_held(events, data_bytes, AckToken::none(), held)
                        .await
                        == Submitted::Accepted;
                if !accepted {
                    self.chain.failed = true;
                }
                if !acks.is_empty() && !self.chain.failed {
                    let _ = ack_tx.send(acks).await;
                }
            }
            AckMode::Delivered => {
                let earlier = std::mem::take(&mut self.chain.waiters);
                let needs_token = !acks.is_empty() || open_end;
                if events.is_empty() || !needs_token {
                    if !events.is_empty() {
                        self.intake
                            .submit_held(events, data_bytes, AckToken::none(), held)
                            .await;
                    }
                    if !acks.is_empty() {
                        send_when_delivered(earlier, acks, ack_tx.clone());
                    } else if open_end {
                        self.chain.waiters = earlier;
                    }
                    return;
                }
                let (own, own_waiter) = AckToken::new();
                let token = if open_end {
                    let (next, next_waiter) = AckToken::new();
                    if acks.is_empty() {
                        // The same frame goes on: its earlier pieces still count.
                        self.chain.waiters = earlier;
                        self.chain.waiters.push(next_waiter);
                        drop(own_waiter);
                        self.intake
                            .submit_held(events, data_bytes, next, held)
                            .await;
                        return;
                    }
                    self.chain.waiters.push(next_waiter);
                    AckToken::merge(vec![own, next])
                } else {
                    own
                };
                self.intake
                    .submit_held(events, data_bytes, token, held)
                    .await;
                let mut all = earlier;
                all.push(own_waiter);
                send_when_delivered(all, acks, ack_tx.clone());
            }
        }
    }
}

/// Sends `acks` once every waiter resolved `Delivered` (never if one did not).
fn send_when_delivered(waiters: Vec<AckWaiter>, acks: Acks, tx: mpsc::Sender<Acks>) {
    tokio::spawn(async move {
        for w in waiters {
            if w.wait().await != AckOutcome::Delivered {
                return;
            }
        }
        let _ = tx.send(acks).await;
    });
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
        decoded: mpsc::Sender<Piece>,
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
    pub async fn submit(&mut self, batch: Piece) {
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

#[cfg(test)]
mod tests;
