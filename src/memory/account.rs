//! The process-wide memory account: every buffer that grows with load takes its bytes from it
//! before allocating and gives them back when freed, so that what the account admits bounds the
//! live data of the whole process (per-input `mem_buf_limit` budgets are shares inside it).
//!
//! Invariants: `in_use() <= limit()` at all times; a [`Charge`] gives its bytes back exactly once
//! (on drop, or as they are split off and merged elsewhere); a request larger than the whole
//! limit is charged the whole limit (it waits until everything else is given back), so no
//! request can wait forever on its own size. An unbounded account (no container limit, none
//! configured) admits everything at once and still counts it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use metrics::Gauge;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// The most an account can hold: tokio's semaphore limit, far above any machine's memory.
const MAX_BYTES: usize = Semaphore::MAX_PERMITS;

/// A shared account of bytes; cheap to clone.
#[derive(Debug, Clone)]
pub struct Account {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sem: Arc<Semaphore>,
    /// `None`: unbounded.
    limit: Option<usize>,
    /// Kept equal to `in_use()` on every charge and release.
    in_use_gauge: Option<Gauge>,
    /// Named parts (see [`Account::part`]), made on first use.
    parts: Mutex<Vec<(&'static str, Account)>>,
    /// Woken whenever bytes are given back while someone waits in [`Account::charge_unqueued`]
    /// or [`Account::released`] (counted in `watchers`, so that giving back costs one atomic
    /// load when nobody does).
    released: Notify,
    watchers: AtomicUsize,
}

/// Bytes taken from an account; given back on drop.
#[derive(Debug)]
pub struct Charge {
    /// `None` when empty (tokio has no empty permit).
    permit: Option<OwnedSemaphorePermit>,
    account: Account,
}

impl Account {
    /// An account of `limit_bytes` (at least 1), or unbounded.
    pub fn new(limit_bytes: Option<usize>) -> Self {
        let limit = limit_bytes.map(|l| l.clamp(1, MAX_BYTES));
        Self {
            inner: Arc::new(Inner {
                sem: Arc::new(Semaphore::new(limit.unwrap_or(MAX_BYTES))),
                limit,
                in_use_gauge: None,
                parts: Mutex::new(Vec::new()),
                released: Notify::new(),
                watchers: AtomicUsize::new(0),
            }),
        }
    }

    /// An account that admits everything (and counts it).
    pub fn unbounded() -> Self {
        Self::new(None)
    }

    /// Reports bytes in use to `gauge` from now on. Call before cloning the account.
    pub fn with_gauge(mut self, gauge: Gauge) -> Self {
        gauge.set(self.in_use() as f64);
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.in_use_gauge = Some(gauge);
        }
        self
    }

    /// The bound, `None` when unbounded.
    pub fn limit(&self) -> Option<usize> {
        self.inner.limit
    }

    /// Bytes currently charged.
    pub fn in_use(&self) -> usize {
        self.inner
            .limit
            .unwrap_or(MAX_BYTES)
            .saturating_sub(self.inner.sem.available_permits())
    }

    /// The part `name` of this account: an account of its own holding at most `limit / divisor`
    /// (unbounded when this one is), the same one for every clone and every caller (made by the
    /// first call; later calls' `divisor` is not looked at). A part is an admission policy, not
    /// a second bound: whoever charges it charges this account too, so that one kind of buffer
    /// (e.g. read buffers waiting on their peers) can never take all of it.
    pub fn part(&self, name: &'static str, divisor: usize) -> Account {
        // A poisoned lock only means a panic elsewhere while pushing; the list is still valid.
        let mut parts = self
            .inner
            .parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, a)) = parts.iter().find(|(n, _)| *n == name) {
            return a.clone();
        }
        let a = Account::new(self.inner.limit.map(|l| l / divisor.max(1)));
        parts.push((name, a.clone()));
        a
    }

    /// An empty charge, to grow or merge into.
    pub fn empty(&self) -> Charge {
        Charge {
            permit: None,
            account: self.clone(),
        }
    }

    /// What a request of `bytes` is charged: at most the whole limit.
    fn clamp(&self, bytes: usize) -> usize {
        bytes.min(self.inner.limit.unwrap_or(MAX_BYTES))
    }

    /// Waits until `bytes` fit, then charges them.
    pub async fn charge(&self, bytes: usize) -> Charge {
        let n = self.clamp(bytes);
        if n == 0 {
            return self.empty();
        }
        let permit = acquire(&self.inner.sem, n).await;
        self.charged(permit)
    }

    /// Charges `bytes` once they fit, without a place in the queue: unlike [`Account::charge`],
    /// it never holds up smaller charges behind it (a read buffer at the head of the queue would
    /// stall the decoding that frees memory); it tries again each time bytes are given back.
    pub async fn charge_unqueued(&self, bytes: usize) -> Charge {
        loop {
            let _watching = Watching::new(self);
            let released = self.inner.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if let Some(c) = self.try_charge(bytes) {
                return c;
            }
            released.await;
        }
    }

    /// Returns the next time bytes are given back (what was given back before the call is not
    /// seen: callers that check first must bound the wait, e.g. with a timeout).
    pub async fn released(&self) {
        let _watching = Watching::new(self);
        self.inner.released.notified().await;
    }

    /// Charges `bytes` if they fit now.
    pub fn try_charge(&self, bytes: usize) -> Option<Charge> {
        let n = self.clamp(bytes);
        if n == 0 {
            return Some(self.empty());
        }
        let permit = try_acquire(&self.inner.sem, n)?;
        Some(self.charged(permit))
    }

    fn charged(&self, permit: OwnedSemaphorePermit) -> Charge {
        let c = Charge {
            permit: Some(permit),
            account: self.clone(),
        };
        self.update_gauge();
        c
    }

    fn update_gauge(&self) {
        if let Some(g) = &self.inner.in_use_gauge {
            g.set(self.in_use() as f64);
        }
    }
}

/// Acquires `n` permits, in steps of at most `u32::MAX` (tokio's limit per call).
async fn acquire(sem: &Arc<Semaphore>, n: usize) -> OwnedSemaphorePermit {
    let mut held: Option<OwnedSemaphorePermit> = None;
    let mut left = n;
    while left > 0 {
        let step = left.min(u32::MAX as usize);
        // Cannot truncate: step <= u32::MAX.
        let p = match sem.clone().acquire_many_owned(step as u32).await {
            Ok(p) => p,
            // The semaphore is never closed; if it were, waiting forever would hide the bug.
            Err(_) => unreachable!("memory account semaphore is never closed"),
        };
        left -= step;
        match &mut held {
            Some(h) => h.merge(p),
            None => held = Some(p),
        }
    }
    // n > 0 (checked by the caller), so the loop ran.
    held.unwrap_or_else(|| unreachable!("acquire is called with n > 0"))
}

fn try_acquire(sem: &Arc<Semaphore>, n: usize) -> Option<OwnedSemaphorePermit> {
    let mut held: Option<OwnedSemaphorePermit> = None;
    let mut left = n;
    while left > 0 {
        let step = left.min(u32::MAX as usize);
        // Cannot truncate: step <= u32::MAX. On failure, what `held` took is given back.
        let p = sem.clone().try_acquire_many_owned(step as u32).ok()?;
        left -= step;
        match &mut held {
            Some(h) => h.merge(p),
            None => held = Some(p),
        }
    }
    held
}

impl Charge {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.permit
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// The account charged.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Takes up to `bytes` of this charge into a new one (what is held, if less).
    pub fn split(&mut self, bytes: usize) -> Charge {
        let n = bytes.min(self.bytes());
        let taken = match n {
            0 => None,
            n if n == self.bytes() => self.permit.take(),
            n => self.permit.as_mut().and_then(|p| p.split(n)),
        };
        Charge {
            permit: taken,
            account: self.account.clone(),
        }
    }

    /// Adds `other`'s bytes to this charge (both must be of the same account).
    pub fn merge(&mut self, mut other: Charge) {
        debug_assert!(Arc::ptr_eq(&self.account.inner, &other.account.inner));
        match (&mut self.permit, other.permit.take()) {
            (Some(p), Some(o)) => p.merge(o),
            (None, o) => self.permit = o,
            (Some(_), None) => {}
        }
    }

    /// Waits until `more` bytes fit and adds them.
    pub async fn grow(&mut self, more: usize) {
        let c = self.account.charge(more).await;
        self.merge(c);
    }

    /// Adds `more` bytes if they fit now.
    pub fn try_grow(&mut self, more: usize) -> bool {
        match self.account.try_charge(more) {
            Some(c) => {
                self.merge(c);
                true
            }
            None => false,
        }
    }

    /// Gives back all but `bytes`.
    pub fn shrink_to(&mut self, bytes: usize) {
        let extra = self.bytes().saturating_sub(bytes);
        drop(self.split(extra));
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        if self.permit.take().is_some() {
            self.account.update_gauge();
            // After the bytes are back (the permit dropped above): a watcher that counted itself
            // before trying either saw them or is woken here.
            if self.account.inner.watchers.load(Ordering::SeqCst) > 0 {
                self.account.inner.released.notify_waiters();
            }
        }
    }
}

/// One waiter counted in `watchers` while it lives (also when its future is dropped).
struct Watching<'a>(&'a Inner);

impl<'a> Watching<'a> {
    fn new(account: &'a Account) -> Self {
        account.inner.watchers.fetch_add(1, Ordering::SeqCst);
        Self(&account.inner)
    }
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        self.0.watchers.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests;
