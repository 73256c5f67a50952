//! A memory budget in bytes (Fluent Bit's `Mem_Buf_Limit`): inputs charge every batch against it
//! before handing it on, and the charge is released when the last stage drops the batch.
//!
//! The budget is a share inside the process-wide memory account ([`crate::memory::Account`]):
//! a batch takes its input's share first, then the account's bytes, and gives both back together.
//!
//! A batch can also arrive with its memory already taken from the account ([`Held`]: the Forward
//! input charges read buffers and decoded events before it allocates them); it then takes only
//! its share, so nothing is counted twice.
//!
//! Invariant: bytes in flight per input <= limit. A batch larger than the whole limit is charged
//! the whole limit (it waits until everything else is released), so it can never deadlock. Shares
//! are always taken before the account (one order, so two batches cannot wait on each other).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::memory::{Account, Charge};

/// A shared byte budget.
#[derive(Debug, Clone)]
pub struct Budget {
    sem: Arc<Semaphore>,
    limit: usize,
    /// Kept equal to `in_use()` on every charge and release.
    in_use_gauge: Option<Gauge>,
    /// The process-wide account the share is inside.
    account: Account,
    /// Records of the batches holding a permit (see [`BudgetPermit::count_records`]).
    records: Arc<AtomicU64>,
}

/// How many records of an input's batches no output is done with yet (delivered or given up).
#[derive(Debug, Clone)]
pub struct RecordsInFlight(Arc<AtomicU64>);

impl RecordsInFlight {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Budget held by one batch; released on drop.
#[derive(Debug)]
pub struct BudgetPermit {
    permit: Option<OwnedSemaphorePermit>,
    /// The same bytes in the process-wide account.
    charge: Option<Charge>,
    /// Account charges of buffers this batch shares with others (a read buffer several batches
    /// slice, a frame decoded in several pieces): given back when the last of them is dropped.
    shared: Vec<Arc<Charge>>,
    budget: Budget,
    /// Records counted in the budget's records in flight until this permit is dropped.
    records: u64,
}

/// Memory a batch already took from the process-wide account before it was decoded.
#[derive(Debug)]
pub struct Held {
    /// This batch's own bytes (its event list, frames only it slices).
    pub charge: Charge,
    /// Buffers it shares with other batches.
    pub shared: Vec<Arc<Charge>>,
}

impl BudgetPermit {
    /// Counts the batch's `n` records as in flight until the permit is dropped.
    pub fn count_records(&mut self, n: u64) {
        self.records += n;
        self.budget.records.fetch_add(n, Ordering::Relaxed);
    }
}

impl Drop for BudgetPermit {
    fn drop(&mut self) {
        self.budget
            .records
            .fetch_sub(self.records, Ordering::Relaxed);
        drop(self.charge.take());
        self.shared.clear();
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
            account: Account::unbounded(),
            records: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records of batches charged to this budget that no output is done with yet.
    pub fn records_in_flight(&self) -> RecordsInFlight {
        RecordsInFlight(self.records.clone())
    }

    /// Takes the budget's bytes from `account` too (the process-wide one).
    pub fn with_account(mut self, account: Account) -> Self {
        self.account = account;
        self
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

    fn permit(&self, permit: OwnedSemaphorePermit, charge: Charge) -> BudgetPermit {
        self.permit_held(
            permit,
            Held {
                charge,
                shared: Vec::new(),
            },
        )
    }

    fn permit_held(&self, permit: OwnedSemaphorePermit, held: Held) -> BudgetPermit {
        let p = BudgetPermit {
            permit: Some(permit),
            charge: Some(held.charge),
            shared: held.shared,
            budget: self.clone(),
            records: 0,
        };
        self.update_gauge();
        p
    }

    /// The process-wide account the share is inside.
    pub fn account(&self) -> &Account {
        &self.account
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
            Ok(permit) => {
                let charge = self.account.charge(n as usize).await;
                self.permit(permit, charge)
            }
            // The semaphore is never closed; if it were, waiting forever would hide the bug.
            Err(_) => unreachable!("budget semaphore is never closed"),
        }
    }

    /// Charges `bytes` if they fit now.
    pub fn try_acquire(&self, bytes: usize) -> Option<BudgetPermit> {
        let n = self.charge(bytes);
        let permit = self.sem.clone().try_acquire_many_owned(n).ok()?;
        let charge = self.account.try_charge(n as usize)?;
        Some(self.permit(permit, charge))
    }
}

impl Budget {
    /// Waits until `bytes` fit in the share; the account is not charged again: `held` already
    /// took the batch's memory from it.
    pub async fn acquire_held(&self, bytes: usize, held: Held) -> BudgetPermit {
        let n = self.charge(bytes);
        match self.sem.clone().acquire_many_owned(n).await {
            Ok(permit) => self.permit_held(permit, held),
            // The semaphore is never closed; if it were, waiting forever would hide the bug.
            Err(_) => unreachable!("budget semaphore is never closed"),
        }
    }

    /// Takes `bytes` of the share if they fit now; gives `held` back if not.
    pub fn try_acquire_held(&self, bytes: usize, held: Held) -> Option<BudgetPermit> {
        let n = self.charge(bytes);
        let permit = self.sem.clone().try_acquire_many_owned(n).ok()?;
        Some(self.permit_held(permit, held))
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

    #[tokio::test]
    async fn a_share_also_takes_its_bytes_from_the_account() {
        let account = Account::new(Some(150));
        let a = Budget::new(100).with_account(account.clone());
        let b = Budget::new(100).with_account(account.clone());
        let pa = a.acquire(80).await;
        assert_eq!(account.in_use(), 80);
        // b's share has room, the account does not.
        assert!(b.try_acquire(80).is_none());
        assert_eq!(b.in_use(), 0, "a refused batch gives its share back");
        let waiting = b.acquire(80);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), &mut waiting)
                .await
                .is_err()
        );
        drop(pa);
        let pb = waiting.await;
        assert_eq!((account.in_use(), a.in_use(), b.in_use()), (80, 0, 80));
        drop(pb);
        assert_eq!(account.in_use(), 0);
    }

    #[tokio::test]
    async fn a_held_charge_moves_into_the_permit_without_being_counted_twice() {
        let account = Account::new(Some(1000));
        let b = Budget::new(100).with_account(account.clone());
        let mut read = account.charge(300).await;
        let frame = Arc::new(read.split(200));
        let own = account.charge(50).await;
        let p = b
            .acquire_held(
                250,
                Held {
                    charge: own,
                    shared: vec![frame.clone()],
                },
            )
            .await;
        // Share: the (clamped) 100; account: the 300 read + 50, nothing more.
        assert_eq!((b.in_use(), account.in_use()), (100, 350));
        drop(read);
        assert_eq!(account.in_use(), 250);
        drop(p);
        assert_eq!(b.in_use(), 0);
        assert_eq!(
            account.in_use(),
            200,
            "the frame is still held by another batch"
        );
        drop(frame);
        assert_eq!(account.in_use(), 0);
        // A full share refuses at once and gives the held charge back.
        let _full = b.acquire(100).await;
        let held = Held {
            charge: account.charge(10).await,
            shared: Vec::new(),
        };
        assert!(b.try_acquire_held(10, held).is_none());
        assert_eq!(account.in_use(), 100);
    }
}
