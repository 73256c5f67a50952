//! A memory budget in bytes (Fluent Bit's `Mem_Buf_Limit`): inputs charge every batch against it
//! before handing it on, and the charge is released when the last stage drops the batch.
//!
//! Invariant: bytes in flight per input <= limit. A batch larger than the whole limit is charged
//! the whole limit (it waits until everything else is released), so it can never deadlock.

use std::sync::Arc;

use metrics::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A shared byte budget.
#[derive(Debug, Clone)]
pub struct Budget {
    sem: Arc<Semaphore>,
    limit: usize,
    /// Kept equal to `in_use()` on every charge and release.
    in_use_gauge: Option<Gauge>,
}

/// Budget held by one batch; released on drop.
#[derive(Debug)]
pub struct BudgetPermit {
    permit: Option<OwnedSemaphorePermit>,
    budget: Budget,
}

impl Drop for BudgetPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.budget.update_gauge();
    }
}

impl Budget {
    /// A budget of `limit_bytes` (at least 1 byte, at most u32::MAX).
    pub fn new(limit_bytes: usize) -> Self {
        let limit = limit_bytes.clamp(1, u32::MAX as usize);
        Self {
            sem: Arc::new(Semaphore::new(limit)),
            limit,
            in_use_gauge: None,
        }
    }

    /// Reports bytes in use to `gauge` from now on.
    pub fn with_gauge(mut self, gauge: Gauge) -> Self {
        gauge.set(0.0);
        self.in_use_gauge = Some(gauge);
        self
    }

    fn update_gauge(&self) {
        if let Some(g) = &self.in_use_gauge {
            g.set(self.in_use() as f64);
        }
    }

    fn permit(&self, permit: OwnedSemaphorePermit) -> BudgetPermit {
        let p = BudgetPermit {
            permit: Some(permit),
            budget: self.clone(),
        };
        self.update_gauge();
        p
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes currently charged.
    pub fn in_use(&self) -> usize {
        self.limit.saturating_sub(self.sem.available_permits())
    }

    fn charge(&self, bytes: usize) -> u32 {
        // Cannot truncate: limit <= u32::MAX.
        bytes.clamp(1, self.limit) as u32
    }

    /// Waits until `bytes` fit, then charges them.
    pub async fn acquire(&self, bytes: usize) -> BudgetPermit {
        let n = self.charge(bytes);
        match self.sem.clone().acquire_many_owned(n).await {
            Ok(permit) => self.permit(permit),
            // The semaphore is never closed; if it were, waiting forever would hide the bug.
            Err(_) => unreachable!("budget semaphore is never closed"),
        }
    }

    /// Charges `bytes` if they fit now.
    pub fn try_acquire(&self, bytes: usize) -> Option<BudgetPermit> {
        let n = self.charge(bytes);
        self.sem
            .clone()
            .try_acquire_many_owned(n)
            .ok()
            .map(|permit| self.permit(permit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn charges_and_releases() {
        let b = Budget::new(100);
        let p = b.acquire(60).await;
        assert_eq!(b.in_use(), 60);
        assert!(b.try_acquire(50).is_none());
        drop(p);
        assert_eq!(b.in_use(), 0);
        let big = b
            .try_acquire(1000)
            .expect("oversized batch charges the whole limit");
        assert_eq!(b.in_use(), 100);
        drop(big);
    }
}
