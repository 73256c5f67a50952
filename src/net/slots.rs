//! A listener's connection slots (an input's `max_connections`, the admin server's cap) and the
//! rule that frees one when all are taken: the connection that has gone longest without useful
//! progress (a complete frame or line, an answered request) is closed, once that is at least the
//! listener's `evictable_after` (inputs: [`EVICTABLE_AFTER`]; the admin server: at once), so that
//! clients trickling bytes or sitting idle cannot lock out one that sends logs or checks health.
//! Ties go to the connection accepted first. An evicted input connection is closed the way
//! shutdown closes it: what it already sent is read and processed for up to two seconds, a
//! partial frame is discarded (the peer resends what was not acked), and it is counted in
//! `firelane_input_connections_closed_total{reason="evicted"}`.
//!
//! Invariants: at most `max` connections hold a slot; an evicted connection gives its slot up at
//! once (it may take up to the drain time to close), so each eviction admits exactly one new
//! connection; a connection is evicted at most once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a connection must have gone without a complete frame or line before a new one may
/// take its slot.
pub const EVICTABLE_AFTER: Duration = Duration::from_secs(5);

/// A connection's handle on its slot: it reports progress through it.
#[derive(Debug, Clone)]
pub struct Slot {
    base: Instant,
    /// Milliseconds since `base` of the last progress (or of the connection's start).
    last_progress_ms: Arc<AtomicU64>,
}

impl Slot {
    /// The connection completed a frame or a line.
    pub fn progress(&self) {
        let ms = self.base.elapsed().as_millis() as u64;
        self.last_progress_ms.store(ms, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct Entry {
    id: u64,
    last_progress_ms: Arc<AtomicU64>,
    close: CancellationToken,
}

/// The slots of one listener.
#[derive(Debug)]
pub struct Slots {
    max: usize,
    evictable_after: Duration,
    base: Instant,
    open: Mutex<Vec<Entry>>,
    freed: Notify,
    next_id: AtomicU64,
}

/// A slot taken by a connection: its id (to give it back), its handle, and the token that
/// closes it (a child of shutdown).
#[derive(Debug)]
pub struct Taken {
    pub id: u64,
    pub slot: Slot,
    pub close: CancellationToken,
}

impl Slots {
    /// At most `max` connections; one without progress for `evictable_after` gives way to a new
    /// one when all are taken.
    pub fn new(max: usize, evictable_after: Duration) -> Self {
        Self {
            max: max.max(1),
            evictable_after,
            base: Instant::now(),
            open: Mutex::new(Vec::new()),
            freed: Notify::new(),
            next_id: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for a new connection: at once if one is free; else by evicting the
    /// connection with the oldest progress once that is `evictable_after` old; else waits for
    /// either. `None` if `shutdown` fires first. `evicted` is called for each eviction.
    pub async fn take(
        &self,
        shutdown: &CancellationToken,
        mut evicted: impl FnMut(),
    ) -> Option<Taken> {
        loop {
            let freed = self.freed.notified();
            let wait = {
                let mut open = self.lock();
                if open.len() < self.max {
                    return Some(self.add(&mut open, shutdown));
                }
                let now_ms = self.base.elapsed().as_millis() as u64;
                let after_ms = ms(self.evictable_after);
                match stalest(&open) {
                    Some((at, last)) if now_ms.saturating_sub(last) >= after_ms => {
                        open.swap_remove(at).close.cancel();
                        evicted();
                        return Some(self.add(&mut open, shutdown));
                    }
                    Some((_, last)) => Duration::from_millis(after_ms - (now_ms - last)),
                    None => self.evictable_after,
                }
            };
            tokio::select! {
                () = freed => {}
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => return None,
            }
        }
    }

    fn add(&self, open: &mut Vec<Entry>, shutdown: &CancellationToken) -> Taken {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now_ms = self.base.elapsed().as_millis() as u64;
        let last_progress_ms = Arc::new(AtomicU64::new(now_ms));
        let close = shutdown.child_token();
        open.push(Entry {
            id,
            last_progress_ms: last_progress_ms.clone(),
            close: close.clone(),
        });
        Taken {
            id,
            slot: Slot {
                base: self.base,
                last_progress_ms,
            },
            close,
        }
    }

    /// The connection `id` ended: its slot is free (a no-op if it was evicted).
    pub fn release(&self, id: u64) {
        let mut open = self.lock();
        if let Some(at) = open.iter().position(|e| e.id == id) {
            open.swap_remove(at);
            drop(open);
            self.freed.notify_waiters();
        }
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// The entry with the oldest progress, the first accepted among equals: (index, its progress
/// time).
fn stalest(open: &[Entry]) -> Option<(usize, u64)> {
    open.iter()
        .enumerate()
        .min_by_key(|(_, e)| (e.last_progress_ms.load(Ordering::Relaxed), e.id))
        .map(|(i, e)| (i, e.last_progress_ms.load(Ordering::Relaxed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_free_slot_is_taken_at_once_and_a_full_listener_evicts_the_stalest_after_a_while() {
        let slots = Slots::new(2, EVICTABLE_AFTER);
        let shutdown = CancellationToken::new();
        let mut evictions = 0;
        let a = slots.take(&shutdown, || evictions += 1).await.unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        let b = slots.take(&shutdown, || evictions += 1).await.unwrap();
        tokio::time::advance(Duration::from_secs(3)).await;
        // `a` makes progress: `b` is now the stalest.
        a.slot.progress();
        let started = tokio::time::Instant::now();
        let c = slots.take(&shutdown, || evictions += 1).await.unwrap();
        assert_eq!(evictions, 1);
        assert!(b.close.is_cancelled(), "the stalest connection is closed");
        assert!(!a.close.is_cancelled());
        // `b` had been without progress for 3 s: 2 s more made it evictable.
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        // Releasing an evicted connection frees nothing more.
        slots.release(b.id);
        assert_eq!(slots.lock().len(), 2);
        slots.release(c.id);
        let _d = slots.take(&shutdown, || evictions += 1).await.unwrap();
        assert_eq!(evictions, 1, "a released slot needs no eviction");
    }

    #[tokio::test(start_paused = true)]
    async fn connections_making_progress_are_not_evicted_and_shutdown_ends_the_wait() {
        let slots = Arc::new(Slots::new(1, EVICTABLE_AFTER));
        let shutdown = CancellationToken::new();
        let a = slots.take(&shutdown, || {}).await.unwrap();
        let waiter = tokio::spawn({
            let (slots, shutdown) = (slots.clone(), shutdown.clone());
            async move { slots.take(&shutdown, || {}).await.is_some() }
        });
        for _ in 0..10 {
            tokio::time::advance(Duration::from_secs(1)).await;
            a.slot.progress();
        }
        assert!(!waiter.is_finished(), "a busy connection keeps its slot");
        assert!(!a.close.is_cancelled());
        shutdown.cancel();
        assert!(!waiter.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn with_no_wait_the_stalest_gives_way_at_once_and_ties_go_to_the_first_accepted() {
        let slots = Slots::new(2, Duration::ZERO);
        let shutdown = CancellationToken::new();
        let a = slots.take(&shutdown, || {}).await.unwrap();
        let b = slots.take(&shutdown, || {}).await.unwrap();
        let c = slots.take(&shutdown, || {}).await.unwrap();
        assert!(
            a.close.is_cancelled(),
            "a and b tie: the first accepted goes"
        );
        assert!(!b.close.is_cancelled());
        tokio::time::advance(Duration::from_secs(1)).await;
        b.slot.progress();
        let _d = slots.take(&shutdown, || {}).await.unwrap();
        assert!(c.close.is_cancelled(), "c, idle since accepted, goes");
        assert!(!b.close.is_cancelled(), "b made progress since");
    }

    #[tokio::test]
    async fn a_released_slot_wakes_a_waiting_connection() {
        let slots = Arc::new(Slots::new(1, EVICTABLE_AFTER));
        let shutdown = CancellationToken::new();
        let a = slots.take(&shutdown, || {}).await.unwrap();
        a.slot.progress();
        let waiter = tokio::spawn({
            let (slots, shutdown) = (slots.clone(), shutdown.clone());
            async move { slots.take(&shutdown, || {}).await.map(|t| t.id) }
        });
        tokio::task::yield_now().await;
        slots.release(a.id);
        let id = tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("woken by the release, not the timer")
            .unwrap();
        assert_eq!(id, Some(1));
    }
}
