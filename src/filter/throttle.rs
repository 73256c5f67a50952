//! Fluent Bit's `throttle`: a sliding-window rate limit on records (`Rate`, `Window`,
//! `Interval`, `Print_Status`).
//!
//! Time is cut into panes of one `Interval` each, counted from the first `now` the throttle sees;
//! the window is the last `Window` panes, the current one included (an idle interval is an empty
//! pane). A record is admitted while the window holds fewer than `Rate × Window` admitted records,
//! i.e. while the average per interval over the whole window stays at or below `Rate`; otherwise
//! it is dropped. This is what Fluent Bit's plugin computes (it divides the window total by the
//! window size), so right after start a burst of up to `Rate × Window` records passes: the
//! "slow start" drawn in its documentation is not what the plugin does, and not what we do.
//!
//! Invariants: no allocation after construction, O(1) per call (plus O(Window) at most once per
//! elapsed interval); a `now` earlier than one already seen counts in the current pane, so the
//! window never moves backwards.

use std::fmt;
use std::time::{Duration, Instant};

use thiserror::Error;

/// Fluent Bit's default `Window`: five intervals.
pub const DEFAULT_WINDOW: u32 = 5;
/// Fluent Bit's default `Interval`: one second.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Why a `throttle` configuration cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ThrottleError {
    #[error("throttle rate must be at least 1 record per interval")]
    ZeroRate,
    #[error("throttle window must be at least 1 interval")]
    ZeroWindow,
    #[error(
        "throttle interval `{0}` is not a positive duration like 1s, 500ms, 1.5m, 1h, 1d or 1m30s"
    )]
    BadInterval(String),
}

/// A configured throttle and its window of counters.
#[derive(Debug, Clone)]
pub struct Throttle {
    rate: u64,
    interval: Duration,
    /// Admitted records per pane, a ring indexed by absolute pane number modulo its length.
    panes: Box<[u64]>,
    /// Sum of `panes`.
    total: u64,
    /// Start of pane 0 (the first `now` seen).
    origin: Option<Instant>,
    /// Absolute number of the current pane.
    current: u64,
}

impl Throttle {
    /// `rate` records per `interval` on average over `window` intervals.
    pub fn new(rate: u64, window: u32, interval: Duration) -> Result<Self, ThrottleError> {
        if rate == 0 {
            return Err(ThrottleError::ZeroRate);
        }
        if window == 0 {
            return Err(ThrottleError::ZeroWindow);
        }
        if interval.is_zero() {
            return Err(ThrottleError::BadInterval(format!("{interval:?}")));
        }
        Ok(Self {
            rate,
            interval,
            panes: vec![0; window as usize].into_boxed_slice(),
            total: 0,
            origin: None,
            current: 0,
        })
    }

    /// Whether one record arriving at `now` passes (it is counted if so).
    pub fn admit(&mut self, now: Instant) -> bool {
        self.admit_n(now, 1) == 1
    }

    /// Of `n` records arriving at `now`, how many pass: the first ones, up to what the window
    /// still allows (the rest are to be dropped).
    pub fn admit_n(&mut self, now: Instant, n: u64) -> u64 {
        self.advance(now);
        let allowed = self.limit().saturating_sub(self.total).min(n);
        self.total += allowed;
        let slot = self.slot(self.current);
        self.panes[slot] += allowed;
        allowed
    }

    /// The window state at `now`, for `Print_Status` (Fluent Bit logs it once per interval).
    pub fn status(&mut self, now: Instant) -> ThrottleStatus {
        self.advance(now);
        ThrottleStatus {
            rate: self.rate,
            interval: self.interval,
            window: self.panes.len() as u32,
            average_per_interval: self.total as f64 / self.panes.len() as f64,
        }
    }

    /// Most records the window may hold.
    fn limit(&self) -> u64 {
        self.rate.saturating_mul(self.panes.len() as u64)
    }

    fn slot(&self, pane: u64) -> usize {
        (pane % self.panes.len() as u64) as usize
    }

    /// Moves the window to the pane that holds `now`, emptying the panes it slides past.
    fn advance(&mut self, now: Instant) {
        let origin = *self.origin.get_or_insert(now);
        let elapsed = now.saturating_duration_since(origin).as_nanos();
        let pane = u64::try_from(elapsed / self.interval.as_nanos()).unwrap_or(u64::MAX);
        if pane <= self.current {
            return;
        }
        if pane - self.current >= self.panes.len() as u64 {
            self.panes.fill(0);
            self.total = 0;
        } else {
            for p in self.current + 1..=pane {
                let slot = self.slot(p);
                self.total -= self.panes[slot];
                self.panes[slot] = 0;
            }
        }
        self.current = pane;
    }
}

/// A snapshot of a throttle for its status log line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleStatus {
    /// Configured `Rate`.
    pub rate: u64,
    /// Configured `Interval`.
    pub interval: Duration,
    /// Configured `Window`, in intervals.
    pub window: u32,
    /// Records admitted in the window divided by its size.
    pub average_per_interval: f64,
}

impl fmt::Display for ThrottleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "limit is {} per {:?} with window size of {}, current rate is {:.2} per interval",
            self.rate, self.interval, self.window, self.average_per_interval
        )
    }
}

/// Parses an `Interval`: a positive duration as firelane reads every duration (`500ms`, `3s`,
/// `1.5m`, `0.5h`, `1d`, `2`, `1m30s`; see [`crate::time::parse_duration`]).
pub fn parse_interval(text: &str) -> Result<Duration, ThrottleError> {
    match crate::time::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(ThrottleError::BadInterval(text.to_owned())),
    }
}

#[cfg(test)]
mod tests;
