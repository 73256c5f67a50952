//! The per-frame deadline of a connection (`frame_timeout`): a frame (a forward message, a tcp
//! line) that has begun must be complete after at most that long spent waiting for the peer.
//!
//! Only time spent waiting in `read` counts: a connection held back by firelane itself (a full
//! memory budget, a slow output) is never closed for it. Pure bookkeeping; the connection tasks
//! measure their reads and ask for the deadline.

use std::time::Duration;

use tokio::time::Instant;

/// The wait on the peer for the frame in progress.
#[derive(Debug, Clone, Copy)]
pub struct FrameClock {
    timeout: Duration,
    /// Time spent waiting for the peer since the frame in progress began; `None` between frames.
    waited: Option<Duration>,
}

impl FrameClock {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            waited: None,
        }
    }

    /// When the read about to start must end, if a frame is in progress.
    pub fn deadline(&self, now: Instant) -> Option<Instant> {
        self.waited.map(|w| now + self.timeout.saturating_sub(w))
    }

    /// Whether the frame in progress has had its time (checked when a read timed out).
    pub fn expired(&self) -> bool {
        self.waited.is_some_and(|w| w >= self.timeout)
    }

    /// A read waited `d` for the peer.
    pub fn read_waited(&mut self, d: Duration) {
        if let Some(w) = &mut self.waited {
            *w += d;
        }
    }

    /// What the connection holds after processing a read: `pending` bytes of an unfinished frame
    /// (or none), and whether a frame was completed. A frame that begins now starts a new clock.
    pub fn processed(&mut self, pending: bool, completed_a_frame: bool) {
        self.waited = match (pending, completed_a_frame, self.waited) {
            (false, _, _) => None,
            (true, true, _) | (true, false, None) => Some(Duration::ZERO),
            (true, false, Some(w)) => Some(w),
        };
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(30);

    #[test]
    fn no_deadline_between_frames() {
        let mut c = FrameClock::new(T);
        let now = Instant::now();
        assert_eq!(c.deadline(now), None);
        c.read_waited(Duration::from_secs(100));
        c.processed(false, true);
        assert_eq!(
            c.deadline(now),
            None,
            "idle time is idle_timeout's business"
        );
        assert!(!c.expired());
    }

    #[test]
    fn a_trickled_frame_runs_out_of_time_across_reads() {
        let mut c = FrameClock::new(T);
        let now = Instant::now();
        c.processed(true, false); // the first bytes of a frame
        assert_eq!(c.deadline(now), Some(now + T));
        for _ in 0..29 {
            c.read_waited(Duration::from_secs(1)); // one byte a second
            c.processed(true, false);
        }
        assert_eq!(c.deadline(now), Some(now + Duration::from_secs(1)));
        assert!(!c.expired());
        c.read_waited(Duration::from_secs(1));
        assert!(c.expired());
        assert_eq!(c.deadline(now), Some(now), "no time left");
    }

    #[test]
    fn completing_a_frame_restarts_the_clock_for_the_next() {
        let mut c = FrameClock::new(T);
        c.processed(true, false);
        c.read_waited(Duration::from_secs(20));
        c.processed(true, true); // one frame done, the next begun
        let now = Instant::now();
        assert_eq!(c.deadline(now), Some(now + T));
        c.read_waited(Duration::from_secs(20));
        c.processed(false, true);
        assert_eq!(c.deadline(now), None);
    }

    #[test]
    fn time_not_spent_reading_does_not_count() {
        let mut c = FrameClock::new(T);
        c.processed(true, false);
        // The task was held back (budget full) for minutes without reading: nothing is added.
        c.processed(true, false);
        assert!(!c.expired());
        let now = Instant::now();
        assert_eq!(c.deadline(now), Some(now + T));
    }
}
