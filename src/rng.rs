//! The random source of jitter, UUIDs and sampling: splitmix64, small and fast, never used
//! where unpredictability matters (nothing here is a secret). Pure: seeded explicitly in tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// splitmix64; seeded from time + a counter in `Rng::from_entropy()`; `Rng::new(seed)` for tests.
/// Jitter only needs to spread clients apart, not to be unpredictable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Two calls in the same nanosecond (or with a coarse clock) still differ by the counter.
    pub fn from_entropy() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut seeder = Self(nanos ^ count.wrapping_mul(GOLDEN_GAMMA));
        Self(seeder.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, max] (inclusive).
    pub fn below_or_eq(&mut self, max: u64) -> u64 {
        let Some(range) = max.checked_add(1) else {
            return self.next_u64();
        };
        // Lemire's multiply-and-reject: unbiased, and rejects at most once on average.
        let reject_below = range.wrapping_neg() % range;
        loop {
            let wide = u128::from(self.next_u64()) * u128::from(range);
            if (wide as u64) >= reject_below {
                return (wide >> 64) as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_per_seed_and_entropy_seeds_differ() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let first: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first[0], first[1]);
        assert_ne!(
            Rng::from_entropy().next_u64(),
            Rng::from_entropy().next_u64()
        );
    }

    #[test]
    fn below_or_eq_covers_the_inclusive_range() {
        let mut rng = Rng::new(1);
        let mut seen = [false; 4];
        for _ in 0..200 {
            let v = rng.below_or_eq(3);
            seen[v as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
        assert_eq!(rng.below_or_eq(0), 0);
        let _ = rng.below_or_eq(u64::MAX);
    }
}
