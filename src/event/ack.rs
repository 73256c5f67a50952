//! Acknowledgement handles: a batch's promise that every output it was routed to is done with it.
//!
//! An [`AckToken`] is cloned into every holder (each routed copy of a batch). When the last clone is
//! dropped, the [`AckWaiter`] resolves with the worst outcome any holder reported. A holder that
//! drops its token without reporting counts as `Delivered` only if no holder reported otherwise, so
//! outputs must call [`AckToken::dropped`] when they give up on a batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::sync::oneshot;

/// What finally happened to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// Every output finished with it successfully (or it was routed nowhere).
    Delivered,
    /// At least one output gave up on some of its events (counted by that output).
    Dropped,
}

#[derive(Debug)]
struct Inner {
    dropped: AtomicU8,
    tx: std::sync::Mutex<Option<oneshot::Sender<AckOutcome>>>,
    /// Tokens this one stands for (see [`AckToken::merge`]): they learn its outcome when it ends.
    parents: Vec<AckToken>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let dropped = self.dropped.load(Ordering::Acquire) != 0;
        if dropped {
            for p in &self.parents {
                p.dropped();
            }
        }
        let outcome = if dropped {
            AckOutcome::Dropped
        } else {
            AckOutcome::Delivered
        };
        let tx = match self.tx.get_mut() {
            Ok(tx) => tx.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(tx) = tx {
            // The waiter may be gone (connection closed); nothing to tell then.
            let _ = tx.send(outcome);
        }
    }
}

/// A shared handle held by everything that still has work to do for a batch.
#[derive(Debug, Clone)]
pub struct AckToken {
    inner: Option<Arc<Inner>>,
}

/// Resolves when the last [`AckToken`] of a batch is dropped.
#[derive(Debug)]
pub struct AckWaiter {
    rx: oneshot::Receiver<AckOutcome>,
}

impl AckToken {
    /// A token whose outcome somebody waits for.
    pub fn new() -> (Self, AckWaiter) {
        let (tx, rx) = oneshot::channel();
        let inner = Inner {
            dropped: AtomicU8::new(0),
            tx: std::sync::Mutex::new(Some(tx)),
            parents: Vec::new(),
        };
        (
            Self {
                inner: Some(Arc::new(inner)),
            },
            AckWaiter { rx },
        )
    }

    /// A token nobody waits for (no ack requested): costs nothing.
    pub fn none() -> Self {
        Self { inner: None }
    }

    /// One token standing for all of `tokens` (records from several batches travelling together,
    /// e.g. lines a multiline filter joined): each of them resolves once the merged token does,
    /// with its outcome. Tokens nobody waits for are left out; one remaining token is returned as is.
    pub fn merge(tokens: Vec<AckToken>) -> Self {
        let mut parents: Vec<AckToken> = tokens.into_iter().filter(|t| t.inner.is_some()).collect();
        match parents.len() {
            0 => Self::none(),
            1 => parents.pop().unwrap_or_else(Self::none),
            _ => Self {
                inner: Some(Arc::new(Inner {
                    dropped: AtomicU8::new(0),
                    tx: std::sync::Mutex::new(None),
                    parents,
                })),
            },
        }
    }

    /// Records that a holder gave up on (part of) the batch; the reason is counted by the caller.
    pub fn dropped(&self) {
        if let Some(inner) = &self.inner {
            inner.dropped.store(1, Ordering::Release);
        }
    }
}

impl AckWaiter {
    /// Waits for the outcome. Resolves `Dropped` if the token machinery itself vanished.
    pub async fn wait(self) -> AckOutcome {
        self.rx.await.unwrap_or(AckOutcome::Dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resolves_when_last_clone_drops() {
        let (t, w) = AckToken::new();
        let t2 = t.clone();
        drop(t);
        let mut w = Box::pin(w.wait());
        assert!(futures_poll_once(&mut w).is_none());
        drop(t2);
        assert_eq!(w.await, AckOutcome::Delivered);
    }

    #[tokio::test]
    async fn any_drop_report_wins() {
        let (t, w) = AckToken::new();
        let t2 = t.clone();
        t2.dropped();
        drop(t2);
        drop(t);
        assert_eq!(w.wait().await, AckOutcome::Dropped);
    }

    #[tokio::test]
    async fn a_merged_token_resolves_its_parts_with_its_outcome() {
        let (a, wa) = AckToken::new();
        let (b, wb) = AckToken::new();
        let merged = AckToken::merge(vec![a, AckToken::none(), b]);
        let holder = merged.clone();
        drop(merged);
        let mut wa = Box::pin(wa.wait());
        assert!(futures_poll_once(&mut wa).is_none(), "still held");
        holder.dropped();
        drop(holder);
        assert_eq!(wa.await, AckOutcome::Dropped);
        assert_eq!(wb.wait().await, AckOutcome::Dropped);

        let (c, wc) = AckToken::new();
        let (d, wd) = AckToken::new();
        drop(AckToken::merge(vec![c, d]));
        assert_eq!(wc.wait().await, AckOutcome::Delivered);
        assert_eq!(wd.wait().await, AckOutcome::Delivered);
    }

    fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match std::pin::Pin::new(f).poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }
}
