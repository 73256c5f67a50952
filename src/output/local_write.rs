//! Local writes (the `stdout` and `file` outputs) that keep what they could not write.
//!
//! A write that fails (ENOSPC, EPIPE, EIO...) is tried again after a backoff ([`RETRY_BACKOFF`],
//! with jitter), resuming at the first byte the OS did not take ([`write_from`]). So a line cut by
//! a failure is completed by the next attempt, never followed by another record glued to its
//! first half, and no byte is written twice. Meanwhile the output holds its round: the memory
//! budget fills and the inputs stop reading, as during a remote outage, and `ack = delivered`
//! answers only once the whole round is written.
//!
//! Invariant: the batches of a round are released (their acks resolved as delivered) only after
//! every byte encoded from them was written; a round given up on (the process stops first, or
//! the writer thread panicked) marks their acks dropped and counts and logs its records
//! ([`Unwritten`]), so nothing held is ever silently gone.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use metrics::Counter;

use super::Reporter;
use super::backoff::Backoff;
use crate::event::Batch;
use crate::rng::Rng;

/// Delays between attempts: from up to 100 ms, doubling, to at most 10 s (a disk freed or a
/// reader back is noticed within 10 s).
pub const RETRY_BACKOFF: Backoff =
    Backoff::new(Duration::from_millis(100), Duration::from_secs(10));

/// Writes `data[*done..]` to `w`, adding to `*done` what each `write` took; stops at the first
/// error, with `*done` at the first byte not taken.
pub fn write_from<W: Write + ?Sized>(w: &mut W, data: &[u8], done: &mut usize) -> io::Result<()> {
    while *done < data.len() {
        match w.write(&data[*done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => *done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The attempts of one held round: each failure gets the next delay.
#[derive(Debug)]
pub struct Retrying {
    attempt: u32,
    rng: Rng,
}

impl Retrying {
    pub fn new() -> Self {
        Self {
            attempt: 0,
            rng: Rng::from_entropy(),
        }
    }

    /// Counts and logs a failed attempt (see [`Reporter::write_retrying`]) and waits before the
    /// next one.
    pub(crate) async fn after_failure(&mut self, reporter: &Reporter, held: u64, err: &io::Error) {
        let delay = self.next_delay(reporter, held, err);
        tokio::time::sleep(delay).await;
    }

    /// Counts and logs a failed attempt and returns the delay before the next one.
    pub(crate) fn next_delay(
        &mut self,
        reporter: &Reporter,
        held: u64,
        err: &io::Error,
    ) -> Duration {
        let delay = RETRY_BACKOFF.delay(self.attempt, &mut self.rng);
        self.attempt = self.attempt.saturating_add(1);
        reporter.write_retrying(held, err, delay);
        delay
    }

    /// An attempt succeeded: the next failure starts from the shortest delay again.
    pub fn succeeded(&mut self) {
        self.attempt = 0;
    }
}

impl Default for Retrying {
    fn default() -> Self {
        Self::new()
    }
}

/// Gives up on `records` records of `round` not written (the process stops first): marks the
/// round's acks dropped, counts the records (`reason = "unwritten"`) and logs how many there were.
pub(crate) fn give_up(reporter: &Reporter, round: &[Arc<Batch>], records: u64) {
    give_up_counted(&reporter.name, &unwritten_counter(reporter), round, records);
}

fn unwritten_counter(reporter: &Reporter) -> Counter {
    reporter.metrics.dropped("unwritten")
}

fn give_up_counted(component: &str, counter: &Counter, round: &[Arc<Batch>], records: u64) {
    for batch in round {
        batch.ack.dropped();
    }
    counter.increment(records);
    tracing::error!(
        component,
        records,
        "stopping with records not written (counted as dropped, reason unwritten)"
    );
}

/// The records of a round not written yet. Dropped before [`Unwritten::written`] (the process
/// stops while a write is being retried, or the writer thread panicked), it marks the round's
/// acks dropped, counts the records (`reason = "unwritten"`) and logs how many there were.
#[derive(Debug)]
pub struct Unwritten<'r> {
    component: Arc<str>,
    counter: Counter,
    round: &'r [Arc<Batch>],
    records: u64,
    armed: bool,
}

impl<'r> Unwritten<'r> {
    pub(crate) fn new(reporter: &Reporter, round: &'r [Arc<Batch>], records: u64) -> Self {
        Self {
            component: reporter.name.clone(),
            counter: unwritten_counter(reporter),
            round,
            records,
            armed: true,
        }
    }

    /// Every record was written: nothing to report.
    pub fn written(mut self) {
        self.armed = false;
    }
}

impl Drop for Unwritten<'_> {
    fn drop(&mut self) {
        if self.armed {
            give_up_counted(&self.component, &self.counter, self.round, self.records);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes at most `room` bytes in all, then fails every write; `room` can be raised later.
    struct Limited {
        out: Vec<u8>,
        room: usize,
        per_write: usize,
    }

    impl Write for Limited {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let left = self.room - self.out.len();
            if left == 0 {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            let n = buf.len().min(left).min(self.per_write);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_resumes_at_the_first_byte_not_taken() {
        let data = b"{\"a\":1}\n{\"b\":2}\n";
        let mut w = Limited {
            out: Vec::new(),
            room: 11,
            per_write: 4,
        };
        let mut done = 0;
        let err = write_from(&mut w, data, &mut done).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28));
        assert_eq!(done, 11, "short writes add up to what was taken");
        w.room = 100;
        write_from(&mut w, data, &mut done).unwrap();
        assert_eq!(done, data.len());
        assert_eq!(
            w.out, data,
            "the cut line is completed, nothing is written twice"
        );
    }

    #[test]
    fn a_writer_that_takes_nothing_is_an_error_not_a_loop() {
        struct Zero;
        impl Write for Zero {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Ok(0)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut done = 0;
        let err = write_from(&mut Zero, b"x", &mut done).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        assert_eq!(done, 0);
    }

    #[test]
    fn delays_stay_within_ten_seconds() {
        let mut rng = Rng::new(7);
        for attempt in [0, 1, 5, 30, u32::MAX] {
            assert!(RETRY_BACKOFF.delay(attempt, &mut rng) <= Duration::from_secs(10));
        }
        assert_eq!(RETRY_BACKOFF.ceiling(0), Duration::from_millis(100));
    }
}
