//! An output's share of the process-wide memory account: the bytes it may keep in its own
//! buffers (encoded events waiting to be sent, requests in flight), taken from the account when
//! the pipeline starts, before any input can fill it, and held for the output's life.
//!
//! Why a fixed share rather than charges that come and go: an output's buffers hold events whose
//! input batches are still charged (their acks wait for delivery), so an output that had to wait
//! for the account to encode the next event could wait on memory only it can free. A share taken
//! up front cannot deadlock, and what inputs may hold shrinks by it, so the account still bounds
//! the whole. The output keeps within it by flushing (`max_pending_memory` of the CloudWatch
//! batcher) and by its bounded number of requests in flight.
//!
//! The rule: an output asks for its default buffers plus its requests in flight. With a bounded
//! account of `L` bytes, the outputs that buffer share [`OUTPUTS_SHARE_DIVISOR`]th of it: each
//! gets at most `L / 4 / n`; fewer requests go in flight at once (never fewer than one), then its
//! buffers shrink (never below [`MIN_BUFFER_BYTES`]). An unbounded account gives the defaults,
//! counted.

use crate::memory::{Account, Charge};

/// Outputs that buffer share at most this fraction (1/4) of a bounded account.
pub const OUTPUTS_SHARE_DIVISOR: usize = 4;
/// The least an output's buffers shrink to: enough to batch, small enough for the smallest account.
pub const MIN_BUFFER_BYTES: usize = 256 * 1024;

/// What the pipeline gives each output that buffers: the account and its cap there.
#[derive(Debug, Clone)]
pub struct OutputMemory {
    pub account: Account,
    /// Most this output may take; `None` when the account is unbounded.
    pub cap: Option<usize>,
}

impl OutputMemory {
    /// For one of `buffering` outputs of `account`.
    pub fn new(account: &Account, buffering: usize) -> Self {
        let cap = account
            .limit()
            .map(|l| l / OUTPUTS_SHARE_DIVISOR / buffering.max(1));
        Self {
            account: account.clone(),
            cap,
        }
    }

    /// An unbounded account (tests, tools).
    pub fn unbounded() -> Self {
        Self::new(&Account::unbounded(), 1)
    }

    /// Takes this output's share for `default_buffers` and up to `max_requests` requests in
    /// flight of `per_request` bytes each: the plan it must keep to, and the charge holding it.
    pub fn take(
        &self,
        default_buffers: usize,
        per_request: usize,
        max_requests: usize,
    ) -> (Plan, Charge) {
        let plan = plan(self.cap, default_buffers, per_request, max_requests);
        // Taken at start, before any input charges; if outputs' shares alone exceed a tiny
        // account, what is left is taken.
        let charge = match self.account.try_charge(plan.total) {
            Some(c) => c,
            None => {
                let free =
                    (self.account.limit().unwrap_or(0)).saturating_sub(self.account.in_use());
                (self.account.try_charge(free)).unwrap_or_else(|| self.account.empty())
            }
        };
        (plan, charge)
    }
}

/// What an output may hold: `buffers` bytes of its own and `requests` requests in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub buffers: usize,
    /// Requests in flight at once (0 for an output that sends from its buffers).
    pub requests: usize,
    /// Bytes charged: `buffers` + `requests` x the request size.
    pub total: usize,
}

/// The plan for an output asking for `default_buffers` and `max_requests` requests of
/// `per_request` bytes, capped at `cap`: fewer requests in flight first (never below one, and
/// keeping room to build one full request), then smaller buffers (never below
/// [`MIN_BUFFER_BYTES`]).
pub fn plan(
    cap: Option<usize>,
    default_buffers: usize,
    per_request: usize,
    max_requests: usize,
) -> Plan {
    let floor = MIN_BUFFER_BYTES.min(default_buffers);
    let (buffers, requests) = match cap {
        None => (default_buffers, max_requests),
        Some(cap) => {
            // Room to build one full request is kept before more go in flight.
            let building = floor.max(per_request.min(default_buffers));
            let fit = (cap.saturating_sub(building))
                .checked_div(per_request)
                .unwrap_or(max_requests);
            let requests = fit.clamp(max_requests.min(1), max_requests);
            let left = cap.saturating_sub(requests * per_request);
            (left.clamp(floor, default_buffers), requests)
        }
    };
    Plan {
        buffers,
        requests,
        total: buffers + requests * per_request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn unbounded_gives_the_defaults() {
        let p = plan(None, 12 * MIB, 3 * MIB / 2, 4);
        assert_eq!((p.buffers, p.requests, p.total), (12 * MIB, 4, 18 * MIB));
    }

    #[test]
    fn a_small_cap_takes_requests_in_flight_first_then_buffers() {
        // A 64 MiB container: a 12.9 MiB account, one CloudWatch output: 3.2 MiB, room for one
        // request of 1.5 MiB beside one being built, the rest (1.7 MiB) for buffers.
        let cap = 13_526_630 / OUTPUTS_SHARE_DIVISOR;
        let p = plan(Some(cap), 12 * MIB, 3 * MIB / 2, 4);
        assert_eq!(p.requests, 1);
        assert_eq!(p.buffers, cap - 3 * MIB / 2);
        assert_eq!(p.total, cap);
        // Twice that: three requests, and room to build the next one.
        let p = plan(Some(2 * cap), 12 * MIB, 3 * MIB / 2, 4);
        assert_eq!((p.requests, p.buffers), (3, 2 * cap - 9 * MIB / 2));
        // Below one request and the floor: one request, the floor, over the cap.
        let p = plan(Some(MIB), 12 * MIB, 3 * MIB / 2, 4);
        assert_eq!((p.buffers, p.requests), (MIN_BUFFER_BYTES, 1));
        // A large cap changes nothing.
        let p = plan(Some(100 * MIB), 12 * MIB, MIB, 4);
        assert_eq!((p.buffers, p.requests, p.total), (12 * MIB, 4, 16 * MIB));
        // Just enough for every request and one being built: buffers shrink, requests stay.
        let p = plan(Some(6 * MIB), 12 * MIB, MIB, 4);
        assert_eq!((p.buffers, p.requests), (2 * MIB, 4));
        let p = plan(Some(100 * MIB), 12 * MIB, MIB, 4);
        assert_eq!((p.buffers, p.requests, p.total), (12 * MIB, 4, 16 * MIB));
    }

    #[test]
    fn an_output_without_requests_gets_its_buffers_up_to_the_cap() {
        let p = plan(Some(3 * MIB), 4 * MIB, 0, 0);
        assert_eq!((p.buffers, p.requests, p.total), (3 * MIB, 0, 3 * MIB));
        let p = plan(Some(MIB / 8), 4 * MIB, 0, 0);
        assert_eq!(p.buffers, MIN_BUFFER_BYTES);
    }

    #[test]
    fn outputs_split_a_quarter_of_the_account_and_hold_it() {
        let account = Account::new(Some(16 * MIB));
        let memory = OutputMemory::new(&account, 2);
        assert_eq!(memory.cap, Some(2 * MIB));
        let (p, share) = memory.take(12 * MIB, MIB, 4);
        assert_eq!((p.buffers, p.requests, share.bytes()), (MIB, 1, 2 * MIB));
        let (_, second) = memory.take(12 * MIB, 0, 0);
        assert_eq!(account.in_use(), 4 * MIB);
        drop((share, second));
        assert_eq!(account.in_use(), 0);
    }

    #[test]
    fn a_share_larger_than_what_is_left_takes_what_is_left() {
        let account = Account::new(Some(MIB));
        let _held = account.try_charge(MIB - 1000).unwrap();
        let memory = OutputMemory {
            account: account.clone(),
            cap: Some(MIB),
        };
        let (_, share) = memory.take(4 * MIB, MIB, 1);
        assert_eq!(share.bytes(), 1000);
        assert_eq!(account.in_use(), MIB);
    }
}
