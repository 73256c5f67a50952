//! Standard output in the configured `format` (see [`super::format`]), one write (and flush) per
//! round of ready batches.
//!
//! "Delivered" means handed to the OS (`write(2)` returned); a batch is released only after that.
//! Uses `std::io::stdout` on a blocking thread (tokio's `io-std` feature is not enabled).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::Receiver;

use super::format::RecordFormat;
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
                let written_bytes = buf.len() as u64;
                let (result, returned) = write_blocking(&sink, buf).await;
                buf = returned;
                match result {
                    Ok(()) => self.reporter.delivered(records, written_bytes),
                    Err(e) => self.reporter.write_failed(&round, records, &e),
                }
            }
            // Only now: releasing the batches resolves their acks.
            round.clear();
        }
    }
}

/// Writes and flushes `buf` on a blocking thread; gives the buffer back for reuse.
async fn write_blocking<W: Write + Send + 'static>(
    sink: &Arc<Mutex<W>>,
    buf: Vec<u8>,
) -> (io::Result<()>, Vec<u8>) {
    let sink = sink.clone();
    let job = tokio::task::spawn_blocking(move || {
        // A poisoned lock means an earlier write panicked; the writer itself is still usable.
        let mut w = sink.lock().unwrap_or_else(|p| p.into_inner());
        let result = w.write_all(&buf).and_then(|()| w.flush());
        (result, buf)
    });
    match job.await {
        Ok(done) => done,
        Err(e) => (
            Err(io::Error::other(format!("stdout writer task failed: {e}"))),
            Vec::new(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::ack::{AckOutcome, AckToken};
    use crate::config::model::{DateFormat, DateKey, StdoutFormat};
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
