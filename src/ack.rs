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
}

impl Drop for Inner {
    fn drop(&mut self) {
        let outcome = if self.dropped.load(Ordering::Acquire) != 0 {
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

    fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match std::pin::Pin::new(f).poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }
}
