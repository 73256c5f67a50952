use proptest::prelude::*;
use serde::Deserialize;

use super::*;
// proptest's prelude also exports an `Rng`.
use super::Rng;

const MS: Duration = Duration::from_millis(1);

#[test]
fn delays_grow_then_stop_at_the_cap() {
    let b = Backoff::new(100 * MS, 10 * 1000 * MS);
    assert_eq!(b.ceiling(0), 100 * MS);
    assert_eq!(b.ceiling(1), 200 * MS);
    assert_eq!(b.ceiling(6), 6400 * MS);
    assert_eq!(b.ceiling(7), 10_000 * MS);
    let mut rng = Rng::new(3);
    let delays: Vec<Duration> = (0..50).map(|_| b.delay(5, &mut rng)).collect();
    assert!(delays.iter().all(|d| *d <= 3200 * MS));
    // Full jitter: the draws are spread out, not one fixed value.
    let spread = delays
        .iter()
        .max()
        .unwrap()
        .saturating_sub(*delays.iter().min().unwrap());
    assert!(spread > 1000 * MS, "spread {spread:?}");
}

#[test]
fn huge_attempts_and_durations_saturate_without_panicking() {
    let mut rng = Rng::new(9);
    let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    for attempt in [63, 64, 127, 128, 1000, u32::MAX] {
        assert_eq!(b.ceiling(attempt), Duration::from_secs(30), "{attempt}");
        assert!(b.delay(attempt, &mut rng) <= Duration::from_secs(30));
    }
    let unbounded = Backoff::new(Duration::MAX, Duration::MAX);
    assert_eq!(unbounded.ceiling(u32::MAX), Duration::from_nanos(u64::MAX));
    let _ = unbounded.delay(u32::MAX, &mut rng);
    assert_eq!(
        Backoff::new(Duration::ZERO, Duration::MAX).ceiling(500),
        Duration::ZERO
    );
}

proptest! {
    #[test]
    fn delay_never_exceeds_min_of_cap_and_exponential(
        base_ms in 0u64..10_000,
        cap_ms in 0u64..1_000_000,
        attempt in 0u32..80,
        seed in any::<u64>(),
    ) {
        let b = Backoff::new(Duration::from_millis(base_ms), Duration::from_millis(cap_ms));
        let grown_nanos = u128::from(base_ms) * 1_000_000 * (1u128 << attempt);
        let limit_nanos = grown_nanos.min(u128::from(cap_ms) * 1_000_000);
        let d = b.delay(attempt, &mut Rng::new(seed));
        prop_assert!(d.as_nanos() <= limit_nanos, "{d:?} > {limit_nanos}ns");
    }
}

#[derive(Debug, Deserialize)]
struct Wrapper {
    retry_limit: RetryLimit,
}

fn parse(value: &str) -> Result<RetryLimit, toml::de::Error> {
    toml::from_str::<Wrapper>(&format!("retry_limit = {value}")).map(|w| w.retry_limit)
}

#[test]
fn retry_limit_accepts_fluent_bit_forms() {
    use RetryLimit::*;
    for (value, want) in [
        ("5", Limited(5)),
        ("0", Limited(0)),
        (r#""5""#, Limited(5)),
        (r#""no_limits""#, Unlimited),
        (r#""False""#, Unlimited),
        ("false", Unlimited),
        (r#""no_retries""#, Limited(0)),
        (r#""NO_RETRIES""#, Limited(0)),
    ] {
        assert_eq!(parse(value).unwrap(), want, "{value}");
    }
    for bad in ["-1", "true", r#""forever""#, "4294967296", "1.5"] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn retry_limit_allows_counts_retries_already_made() {
    assert!(RetryLimit::Limited(2).allows(0));
    assert!(RetryLimit::Limited(2).allows(1));
    assert!(!RetryLimit::Limited(2).allows(2));
    assert!(!RetryLimit::Limited(0).allows(0));
    assert!(RetryLimit::Unlimited.allows(u32::MAX));
}

#[test]
fn throttle_gate_pauses_everyone_and_grows_per_episode() {
    let b = Backoff::new(1000 * MS, 60_000 * MS);
    let mut gate = ThrottleGate::new(b);
    let mut rng = Rng::new(5);
    let t0 = Instant::now();
    assert_eq!(gate.paused_until(t0), None);

    let until = gate.on_throttle(t0, &mut rng);
    assert!(until <= t0 + 1000 * MS);
    // Requests in flight throttled during the pause: same episode, same pause.
    assert_eq!(gate.on_throttle(t0, &mut rng), until);
    if until > t0 {
        assert_eq!(gate.paused_until(t0), Some(until));
    }
    assert_eq!(gate.paused_until(until), None);

    // Later episodes draw from doubling ceilings; over many draws the pause exceeds the first ceiling.
    let mut now = until;
    let mut longest = Duration::ZERO;
    for _ in 0..8 {
        let next = gate.on_throttle(now, &mut rng);
        assert!(next >= now);
        longest = longest.max(next - now);
        now = next;
    }
    assert!(longest > 1000 * MS, "longest {longest:?}");

    // A success resets the streak: the next pause is back within the base.
    gate.on_success();
    let after = gate.on_throttle(now, &mut rng);
    assert!(after - now <= 1000 * MS);
}

#[test]
fn a_success_keeps_the_running_pause() {
    let mut gate = ThrottleGate::new(Backoff::new(10_000 * MS, 10_000 * MS));
    let mut rng = Rng::new(11);
    let t0 = Instant::now();
    let mut until = t0;
    while until == t0 {
        until = gate.on_throttle(t0, &mut rng);
    }
    gate.on_success();
    let early = t0 + (until - t0) / 2;
    assert_eq!(gate.on_throttle(early, &mut rng), until);
    assert_eq!(gate.paused_until(early), Some(until));
}
