//! A log rate limiter: lets one message through per interval and counts the rest, so a flood of
//! bad input cannot flood our own logs (every occurrence is still counted in metrics).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct RateLimiter {
    start: Instant,
    interval_ms: u64,
    /// Milliseconds since `start` of the last allowed message, plus one (0 = never).
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimiter {
    pub fn new(interval: Duration) -> Self {
        Self {
            start: Instant::now(),
            interval_ms: interval.as_millis() as u64,
            last_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` if a message may be logged now, `n` being how many were held back since the
    /// last one; `None` (and counted as held back) otherwise.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    /// Like [`allow`](Self::allow) with an explicit clock.
    pub fn allow_at(&self, now: Instant) -> Option<u64> {
        let now_ms = now.saturating_duration_since(self.start).as_millis() as u64 + 1;
        let last = self.last_ms.load(Ordering::Relaxed);
        let won = (last == 0 || now_ms >= last + self.interval_ms)
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        if won {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_per_interval() {
        let r = RateLimiter::new(Duration::from_secs(1));
        let t = Instant::now();
        assert_eq!(r.allow_at(t), Some(0));
        assert_eq!(r.allow_at(t + Duration::from_millis(500)), None);
        assert_eq!(r.allow_at(t + Duration::from_millis(900)), None);
        assert_eq!(r.allow_at(t + Duration::from_millis(1001)), Some(2));
        assert_eq!(r.allow_at(t + Duration::from_millis(1500)), None);
    }
}
