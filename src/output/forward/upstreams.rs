//! Which upstream the next round of events goes to, and which are resting after a failure.
//!
//! Pure code: `now` and the random source are passed in. Invariants: a node that failed is not
//! picked before its `down_until`; its rest grows with each consecutive failure (backoff) and a
//! success resets it; `failover` always picks the first node that is up, in the listed order;
//! `round_robin` picks the next node after the last one picked, skipping those down; when every
//! node is down, the answer is the earliest time one may be tried again.

use std::time::{Duration, Instant};

use crate::config::output::forward::Balance;
use crate::output::backoff::Backoff;
use crate::rng::Rng;

/// Rest of a failed upstream: 1 s doubling up to 60 s (half fixed, half jitter).
pub const DOWN_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));

/// The choice for the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Send to the node at this index.
    Node(usize),
    /// Every node is resting; the first may be tried again at this instant.
    AllDown { retry_at: Instant },
}

#[derive(Debug, Clone, Default)]
struct NodeState {
    down_until: Option<Instant>,
    /// Consecutive failures (the backoff attempt of the next rest).
    failures: u32,
}

/// Health and rotation over a fixed list of upstreams.
#[derive(Debug)]
pub struct Upstreams {
    balance: Balance,
    backoff: Backoff,
    nodes: Vec<NodeState>,
    /// Round robin: where the next search starts.
    next: usize,
}

impl Upstreams {
    /// `count` upstreams (at least one), all up.
    pub fn new(count: usize, balance: Balance, backoff: Backoff) -> Self {
        Self {
            balance,
            backoff,
            nodes: vec![NodeState::default(); count.max(1)],
            next: 0,
        }
    }

    pub fn pick(&mut self, now: Instant) -> Pick {
        let n = self.nodes.len();
        let start = match self.balance {
            Balance::Failover => 0,
            Balance::RoundRobin => self.next,
        };
        for k in 0..n {
            let i = (start + k) % n;
            if self.is_up(i, now) {
                self.next = (i + 1) % n;
                return Pick::Node(i);
            }
        }
        let retry_at = self
            .nodes
            .iter()
            .filter_map(|s| s.down_until)
            .min()
            .unwrap_or(now);
        Pick::AllDown { retry_at }
    }

    /// Node `i` failed at `now`: it rests until the returned instant.
    pub fn failed(&mut self, i: usize, now: Instant, rng: &mut Rng) -> Instant {
        let Some(node) = self.nodes.get_mut(i) else {
            return now;
        };
        // Half fixed, so a failed node is never retried at once; half jitter, so senders that
        // lost the same aggregator do not all come back in the same instant.
        let ceiling = self.backoff.ceiling(node.failures);
        let half = ceiling / 2;
        let jitter = Duration::from_nanos(rng.below_or_eq(half.as_nanos() as u64));
        let until = now.checked_add(half + jitter).unwrap_or(now);
        node.failures = node.failures.saturating_add(1);
        node.down_until = Some(until);
        until
    }

    /// Node `i` took a round: it is up, its backoff starts over. Returns true when it had
    /// failed before (it has just come back).
    pub fn succeeded(&mut self, i: usize) -> bool {
        match self.nodes.get_mut(i) {
            Some(node) => std::mem::take(node).failures > 0,
            None => false,
        }
    }

    fn is_up(&self, i: usize, now: Instant) -> bool {
        self.nodes[i].down_until.is_none_or(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));

    #[test]
    fn failover_takes_the_first_node_up_in_order_and_goes_back_after_its_rest() {
        let t0 = Instant::now();
        let mut rng = Rng::new(1);
        let mut u = Upstreams::new(3, Balance::Failover, B);
        assert_eq!(u.pick(t0), Pick::Node(0));
        assert_eq!(u.pick(t0), Pick::Node(0));
        let until0 = u.failed(0, t0, &mut rng);
        assert!(until0 >= t0 + Duration::from_millis(500));
        assert_eq!(u.pick(t0), Pick::Node(1));
        u.failed(1, t0, &mut rng);
        assert_eq!(u.pick(t0), Pick::Node(2));
        assert_eq!(u.pick(t0), Pick::Node(2));
        assert_eq!(
            u.pick(until0),
            Pick::Node(0),
            "the first is preferred again"
        );
    }

    #[test]
    fn round_robin_rotates_and_skips_nodes_down() {
        let t0 = Instant::now();
        let mut rng = Rng::new(2);
        let mut u = Upstreams::new(3, Balance::RoundRobin, B);
        let picks: Vec<Pick> = (0..4).map(|_| u.pick(t0)).collect();
        assert_eq!(
            picks,
            [Pick::Node(0), Pick::Node(1), Pick::Node(2), Pick::Node(0)]
        );
        u.failed(1, t0, &mut rng);
        let picks: Vec<Pick> = (0..4).map(|_| u.pick(t0)).collect();
        assert_eq!(
            picks,
            [Pick::Node(2), Pick::Node(0), Pick::Node(2), Pick::Node(0)]
        );
        assert!(u.succeeded(1), "it had failed");
        assert!(!u.succeeded(1));
        assert_eq!(u.pick(t0), Pick::Node(1));
    }

    #[test]
    fn all_down_answers_the_earliest_retry_and_rests_grow_until_a_success() {
        let t0 = Instant::now();
        let mut rng = Rng::new(3);
        let mut u = Upstreams::new(2, Balance::RoundRobin, B);
        let a = u.failed(0, t0, &mut rng);
        let b = u.failed(1, t0, &mut rng);
        assert_eq!(u.pick(t0), Pick::AllDown { retry_at: a.min(b) });
        // Consecutive failures of one node: each rest at least half the doubled ceiling.
        let mut now = t0;
        for attempt in 1..10u32 {
            let until = u.failed(0, now, &mut rng);
            let min = B.ceiling(attempt) / 2;
            assert!(until - now >= min && until - now <= B.ceiling(attempt));
            now = until;
        }
        assert!(u.failed(0, now, &mut rng) - now >= Duration::from_secs(30));
        u.succeeded(0);
        assert!(u.failed(0, now, &mut rng) - now <= Duration::from_secs(1));
    }
}
