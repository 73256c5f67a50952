//! Retry delays (exponential backoff with full jitter), the retry limit option and the
//! output-wide throttle gate.
//!
//! Pure code: the clock (`now`) and the random source ([`Rng`]) are passed in, so tests are
//! deterministic. Invariants: `Backoff::delay(attempt)` is always within
//! `[0, min(cap, base * 2^attempt)]` and never panics or overflows, whatever `attempt`; a
//! [`ThrottleGate`] pause never moves earlier.

use std::time::{Duration, Instant};

use crate::rng::Rng;

/// Exponential backoff with full jitter: delay(attempt) = uniform[0, min(cap, base * 2^attempt)]
/// (attempt 0 = first retry). Saturating; never panics for large attempts.
/// Delays are also capped at `u64::MAX` nanoseconds (about 584 years).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// The largest delay `attempt` can draw: min(cap, base * 2^attempt), saturating.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let base_nanos = self.base.as_nanos();
        let grown_nanos = match 1u128.checked_shl(attempt) {
            Some(factor) => base_nanos.saturating_mul(factor),
            None if base_nanos == 0 => 0,
            None => u128::MAX,
        };
        let nanos = grown_nanos
            .min(self.cap.as_nanos())
            .min(u128::from(u64::MAX));
        Duration::from_nanos(nanos as u64)
    }

    pub fn delay(&self, attempt: u32, rng: &mut Rng) -> Duration {
        let ceiling_nanos = self.ceiling(attempt).as_nanos() as u64;
        Duration::from_nanos(rng.below_or_eq(ceiling_nanos))
    }
}

pub use crate::config::units::RetryLimit;

/// Output-wide throttling: when any request is throttled, every request of the output waits until `until`.
/// Each consecutive throttle doubles the pause (full jitter, via Backoff); a success resets the streak.
///
/// A throttle reported while a pause is already running is not counted: that request was sent
/// before the pause began, so it is the same episode. Without this, N requests in flight that are
/// throttled together would grow the pause like 2^N instead of once.
#[derive(Debug)]
pub struct ThrottleGate {
    backoff: Backoff,
    /// Consecutive throttle episodes since the last success (the next pause's attempt number).
    streak: u32,
    until: Option<Instant>,
}

impl ThrottleGate {
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            streak: 0,
            until: None,
        }
    }

    /// Records a throttle at `now`; returns the instant until which all sends pause (never earlier than a pause already set).
    pub fn on_throttle(&mut self, now: Instant, rng: &mut Rng) -> Instant {
        if let Some(until) = self.paused_until(now) {
            return until;
        }
        let pause = self.backoff.delay(self.streak, rng);
        self.streak = self.streak.saturating_add(1);
        let until = add_saturating(now, pause).max(self.until.unwrap_or(now));
        self.until = Some(until);
        until
    }

    pub fn on_success(&mut self) {
        self.streak = 0;
    }

    /// Some(instant) while paused at `now`.
    pub fn paused_until(&self, now: Instant) -> Option<Instant> {
        self.until.filter(|until| *until > now)
    }
}

/// `now + pause`, or the latest representable instant on the way there (platform-dependent).
fn add_saturating(now: Instant, mut pause: Duration) -> Instant {
    loop {
        if let Some(t) = now.checked_add(pause) {
            return t;
        }
        pause /= 2;
    }
}

#[cfg(test)]
mod tests;
