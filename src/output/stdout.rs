//! Standard output in the configured `format` (see [`super::format`]), one write (and flush) per
//! round of ready batches.
//!
//! "Delivered" means handed to the OS (`write(2)` returned); a batch is released only after that.
//! A failed write (a closed pipe, a full disk behind a redirect) is retried from the first byte
//! not written, holding the round ([`super::local_write`]). Uses `std::io::stdout` on a blocking
//! thread (tokio's `io-std` feature is not enabled).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::Receiver;

use super::format::RecordFormat;
use super::local_write::{Retrying, Unwritten, write_from};
use super::{MAX_ROUND_BYTES, Reporter, recv_round};
use crate::config::model::StdoutOutputConfig;
use crate::event::Batch;
use crate::health::ComponentHealth;
use crate::msgpack::json::TranscodeStats;

pub struct StdoutOutput {
    format: RecordFormat,
    reporter: Reporter,
}

impl StdoutOutput {
    pub fn new(cfg: &StdoutOutputConfig, name: Arc<str>, health: ComponentHealth) -> Self {
        Self {
            format: RecordFormat::from_stdout(cfg),
            reporter: Reporter::new(name, health),
        }
    }

    /// Writes until the channel is closed and drained.
    pub async fn run(self, rx: Receiver<Arc<Batch>>) {
        self.run_to(rx, Arc::new(Mutex::new(std::io::stdout())))
            .await;
    }

    /// The loop behind [`Self::run`], over any writer (tests use a `Vec`). Writes run on a
    /// blocking thread, as stdout may be a slow pipe.
    async fn run_to<W: Write + Send + 'static>(
        self,
        mut rx: Receiver<Arc<Batch>>,
        sink: Arc<Mutex<W>>,
    ) {
        let mut round = Vec::new();
        let mut buf = Vec::new();
        while recv_round(&mut rx, &mut round, MAX_ROUND_BYTES).await {
            buf.clear();
            let mut records = 0u64;
            let mut stats = TranscodeStats::default();
            for batch in &round {
                let mut written = 0;
                for ev in &batch.events {
                    match self.format.write_event(ev, written, &mut buf, &mut stats) {
                        Ok(()) => written += 1,
                        Err(e) => self.reporter.encode_failed(batch, &ev.tag, &e),
                    }
                }
                self.format.end_batch(written, &mut buf);
                records += written as u64;
            }
            self.reporter
                .metrics
                .invalid_utf8
                .increment(stats.invalid_utf8_sequences);
            if !buf.is_empty() {
                let unwritten = Unwritten::new(&self.reporter, &round, records);
                let written_bytes = buf.len() as u64;
                let mut retrying = Retrying::new();
                let mut done = 0;
                loop {
                    let Some((result, returned, now_done)) = write_blocking(&sink, buf, done).await
                    else {
                        // The writer thread panicked with the buffer: `unwritten` reports it.
                        buf = Vec::new();
                        break;
                    };
                    (buf, done) = (returned, now_done);
                    match result {
                        Ok(()) => {
                            unwritten.written();
                            self.reporter.delivered(records, written_bytes);
                            break;
                        }
                        Err(e) => retrying.after_failure(&self.reporter, records, &e).await,
                    }
                }
            }
            // Only now: releasing the batches resolves their acks.
            round.clear();
        }
    }
}

/// Writes `buf[done..]` and flushes, on a blocking thread; gives back the buffer and how far
/// the writer took it. `None` if the thread panicked.
async fn write_blocking<W: Write + Send + 'static>(
    sink: &Arc<Mutex<W>>,
    buf: Vec<u8>,
    mut done: usize,
) -> Option<(io::Result<()>, Vec<u8>, usize)> {
    let sink = sink.clone();
    let job = tokio::task::spawn_blocking(move || {
        // A poisoned lock means an earlier write panicked; the writer itself is still usable.
        let mut w = sink.lock().unwrap_or_else(|p| p.into_inner());
        // Bytes `write` took into the writer's own buffer stay there when a flush fails, and
        // go out with the next flush: `done` counts them as taken.
        let result = write_from(&mut *w, &buf, &mut done).and_then(|()| w.flush());
        (result, buf, done)
    });
    match job.await {
        Ok(done) => Some(done),
        Err(e) => {
            tracing::error!(error = %e, "stdout writer task failed");
            None
        }
    }
}

impl crate::output::Output for StdoutOutput {
    type Options = crate::config::model::StdoutOutputConfig;

    async fn build(
        options: &Self::Options,
        ctx: crate::output::Context<'_>,
    ) -> Result<Self, String> {
        Ok(Self::new(options, ctx.name, ctx.health))
    }

    fn run(self, rx: Receiver<Arc<Batch>>) -> impl std::future::Future<Output = ()> + Send {
        StdoutOutput::run(self, rx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::config::model::{DateFormat, DateKey, StdoutFormat};
    use crate::event::ack::{AckOutcome, AckToken};
    use crate::event::{Event, EventTime};
    use crate::health::{ComponentKind, Registry};

    fn cfg() -> StdoutOutputConfig {
        StdoutOutputConfig {
            alias: None,
            match_: None,
            match_regex: None,
            format: StdoutFormat::JsonLines,
            json_date_key: DateKey(Some("date".into())),
            json_date_format: DateFormat::Epoch,
            json_tag_key: DateKey(None),
        }
    }

    #[tokio::test]
    async fn writes_lines_and_resolves_acks_after_the_write() {
        let health = Registry::new(5, std::time::Duration::from_secs(60))
            .register(ComponentKind::Output, "stdout".into());
        let out = StdoutOutput::new(&cfg(), "stdout".into(), health);
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let ev = |rec: &'static [u8]| Event {
            tag: Arc::from("t"),
            time: EventTime::new(7, 0),
            record: Bytes::from_static(rec),
        };
        let (token, waiter) = AckToken::new();
        // {"a":1}, then a record that is not a map (dropped), then {}.
        let events = vec![ev(b"\x81\xa1a\x01"), ev(b"\x01"), ev(b"\x80")];
        tx.send(Arc::new(Batch::new(events, 6, token, None)))
            .await
            .unwrap();
        drop(tx);
        let sink = Arc::new(Mutex::new(Vec::new()));
        out.run_to(rx, sink.clone()).await;
        assert_eq!(waiter.wait().await, AckOutcome::Dropped);
        let text = String::from_utf8(sink.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "{\"date\":7,\"a\":1}\n{\"date\":7}\n");
    }

    /// Takes bytes until `room`, then fails every write as a closed pipe does.
    struct Flaky {
        out: Vec<u8>,
        room: usize,
    }

    impl Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let left = self.room.saturating_sub(self.out.len());
            if left == 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(left);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_failed_write_holds_the_acks_and_resumes_at_the_first_byte_not_written() {
        let health = Registry::new(5, std::time::Duration::from_secs(60))
            .register(ComponentKind::Output, "stdout".into());
        let out = StdoutOutput::new(&cfg(), "stdout".into(), health);
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let ev = |secs| Event {
            tag: Arc::from("t"),
            time: EventTime::new(secs, 0),
            record: Bytes::from_static(b"\x81\xa1a\x01"),
        };
        let (token, waiter) = AckToken::new();
        tx.send(Arc::new(Batch::new(vec![ev(1), ev(2)], 8, token, None)))
            .await
            .unwrap();
        drop(tx);
        let sink = Arc::new(Mutex::new(Flaky {
            out: Vec::new(),
            room: 10,
        }));
        let task = tokio::spawn(out.run_to(rx, sink.clone()));
        let ack = tokio::spawn(waiter.wait());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!ack.is_finished(), "no ack while the write is held");
        assert_eq!(sink.lock().unwrap().out, b"{\"date\":1,");
        sink.lock().unwrap().room = usize::MAX;
        tokio::time::timeout(std::time::Duration::from_secs(15), task)
            .await
            .expect("written within the 10 s backoff cap")
            .unwrap();
        assert_eq!(ack.await.unwrap(), AckOutcome::Delivered);
        let text = String::from_utf8(sink.lock().unwrap().out.clone()).unwrap();
        assert_eq!(text, "{\"date\":1,\"a\":1}\n{\"date\":2,\"a\":1}\n");
    }

    /// Two batches in one round: `json` closes an array per batch, `msgpack` restarts its count.
    async fn two_batches_as(format: StdoutFormat) -> String {
        let health = Registry::new(5, std::time::Duration::from_secs(60))
            .register(ComponentKind::Output, "stdout".into());
        let out = StdoutOutput::new(&StdoutOutputConfig { format, ..cfg() }, "s".into(), health);
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let ev = |secs| Event {
            tag: Arc::from("t"),
            time: EventTime::new(secs, 0),
            record: Bytes::from_static(b"\x81\xa1a\x01"),
        };
        for events in [vec![ev(1), ev(2)], vec![ev(3)]] {
            let batch = Batch::new(events, 8, AckToken::none(), None);
            tx.send(Arc::new(batch)).await.unwrap();
        }
        drop(tx);
        let sink = Arc::new(Mutex::new(Vec::new()));
        out.run_to(rx, sink.clone()).await;
        String::from_utf8(sink.lock().unwrap().clone()).unwrap()
    }

    #[tokio::test]
    async fn json_and_msgpack_frame_each_batch() {
        assert_eq!(
            two_batches_as(StdoutFormat::Json).await,
            "[{\"date\":1,\"a\":1},{\"date\":2,\"a\":1}]\n[{\"date\":3,\"a\":1}]\n"
        );
        assert_eq!(
            two_batches_as(StdoutFormat::Msgpack).await,
            "[0] t: [[1.000000000, {}], {\"a\"=>1}]\n[1] t: [[2.000000000, {}], {\"a\"=>1}]\n\
             [0] t: [[3.000000000, {}], {\"a\"=>1}]\n"
        );
    }
}
