//! Outputs: each consumes a channel of batches and reports what it delivered.
//!
//! Contract shared by every output: a batch is dropped (its `Arc` released) only once the output
//! is done with it, because dropping is what resolves the ack and releases the input's memory
//! budget. Anything given up on is counted under `OUTPUT_DROPPED{reason}` and reported with
//! `ack.dropped()` before the drop. `run` returns once the channel is closed and everything
//! received has been written.

/// What the AWS outputs share: SDK configuration and error classes.
pub mod aws;
/// Exponential backoff with full jitter, and the output-wide throttle gate.
pub mod backoff;
/// CloudWatch Logs (PutLogEvents).
pub mod cloudwatch;
/// Appends lines (JSON lines, `out_file`, `plain`) to one file per tag (or one named file).
pub mod file;
/// The one place events become bytes for stdout and file: JSON lines/array, Fluent Bit shapes.
pub mod format;
/// Fluent Forward to aggregators, with acks, upstream failover and retries.
pub mod forward;
/// Local writes (stdout, files) retried from the first byte not written, never dropped.
pub mod local_write;
/// Discards everything, counting records and bytes.
pub mod null;
/// S3 objects from staged, compressed JSON-lines files.
pub mod s3;
/// Each buffering output's share of the process-wide memory account.
pub mod share;
/// Writes events to standard output (JSON lines, a JSON array per batch, Fluent Bit's dump).
pub mod stdout;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::Counter;
use thiserror::Error;
use tokio::sync::mpsc::Receiver;

use crate::ecs::TaskAtStart;
use crate::event::Batch;
use crate::health::ComponentHealth;
use crate::msgpack::json::TranscodeError;
use crate::ratelimit::RateLimiter;
use crate::telemetry::{
    OUTPUT_BYTES, OUTPUT_DROPPED, OUTPUT_ERRORS, OUTPUT_INVALID_UTF8, OUTPUT_RECORDS,
    OUTPUT_RETRIES,
};

/// What the assembly (`app`) needs of every output: built from its options and what start-up
/// gives ([`Context`]), then run until its channel closes, keeping the contract above.
pub trait Output: Sized + Send + 'static {
    /// Its options, as the configuration holds them.
    type Options;
    /// Whether it takes a share of the memory account for its own buffers (`share`): e.g.
    /// CloudWatch's pending request bodies, forward's round of frames. Outputs that write as
    /// they go, or stream from disk, do not.
    const BUFFERS: bool = false;
    /// Builds the output; the error says what is wrong (start-up names the component).
    fn build(
        options: &Self::Options,
        ctx: Context<'_>,
    ) -> impl Future<Output = Result<Self, String>>;
    /// Takes batches until `rx` closes, then writes what it holds and returns.
    fn run(self, rx: Receiver<Arc<Batch>>) -> impl Future<Output = ()> + Send;
}

/// What start-up gives every output besides its options.
pub struct Context<'a> {
    /// Its component name (alias).
    pub name: Arc<str>,
    pub health: ComponentHealth,
    /// `service.flush`.
    pub flush: Duration,
    /// The outputs' share of the memory account.
    pub memory: &'a share::OutputMemory,
    /// The ECS task metadata read at start.
    pub ecs_task: &'a TaskAtStart,
}

/// Batches taken for one write stop once their msgpack bytes reach this (JSON is about as big), so
/// one write stays a few MiB however deep the channel is.
pub const MAX_ROUND_BYTES: usize = 4 << 20;

/// Why an output could not be built.
#[derive(Debug, Error)]
pub enum OutputError {
    /// Not retryable: the configuration or the filesystem must be fixed.
    #[error("cannot create output directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Metric handles of one output, created once (label `component` = its name).
#[derive(Debug, Clone)]
pub struct OutputMetrics {
    component: String,
    /// Records handed to the destination.
    pub records: Counter,
    /// Bytes handed to the destination (encoded size; the null output counts msgpack bytes).
    pub bytes: Counter,
    pub dropped_encode_error: Counter,
    /// Failed writes (one per failed write call, not per record).
    pub errors: Counter,
    pub invalid_utf8: Counter,
}

impl OutputMetrics {
    pub fn new(name: &str) -> Self {
        let component = name.to_owned();
        Self {
            records: metrics::counter!(OUTPUT_RECORDS, "component" => component.clone()),
            bytes: metrics::counter!(OUTPUT_BYTES, "component" => component.clone()),
            dropped_encode_error: Self::dropped_counter(&component, "encode_error"),
            errors: metrics::counter!(OUTPUT_ERRORS, "component" => component.clone()),
            invalid_utf8: metrics::counter!(OUTPUT_INVALID_UTF8, "component" => component.clone()),
            component,
        }
    }

    /// `OUTPUT_DROPPED` for another reason (outputs with their own failure modes).
    pub fn dropped(&self, reason: &'static str) -> Counter {
        Self::dropped_counter(&self.component, reason)
    }

    fn dropped_counter(component: &str, reason: &'static str) -> Counter {
        metrics::counter!(OUTPUT_DROPPED, "component" => component.to_owned(), "reason" => reason)
    }
}

/// What every output does on success and failure: metrics, health, acks and (rate-limited) logs.
#[derive(Debug)]
pub(crate) struct Reporter {
    pub name: Arc<str>,
    pub metrics: OutputMetrics,
    pub health: ComponentHealth,
    limiter: RateLimiter,
}

impl Reporter {
    pub fn new(name: Arc<str>, health: ComponentHealth) -> Self {
        Self {
            metrics: OutputMetrics::new(&name),
            name,
            health,
            limiter: RateLimiter::default(),
        }
    }

    pub fn delivered(&self, records: u64, bytes: u64) {
        self.metrics.records.increment(records);
        self.metrics.bytes.increment(bytes);
    }

    /// An event that cannot be encoded: counted, the batch's ack marked dropped, logged.
    pub fn encode_failed(&self, batch: &Batch, tag: &str, err: &TranscodeError) {
        self.metrics.dropped_encode_error.increment(1);
        batch.ack.dropped();
        if let Some(suppressed) = self.limiter.allow() {
            tracing::warn!(component = %self.name, tag, error = %err, suppressed,
                "dropping an event that cannot be encoded as JSON");
        }
    }

    /// A local write failed and will be tried again after `delay`, holding `records` records
    /// (see [`local_write`]): counted as an error and a retry, made a health error, logged.
    pub fn write_retrying(&self, records: u64, err: &std::io::Error, delay: std::time::Duration) {
        self.metrics.errors.increment(1);
        metrics::counter!(OUTPUT_RETRIES, "component" => self.name.to_string(), "reason" => "write_error")
            .increment(1);
        self.health
            .record_error(Instant::now(), format!("write failed: {err}"));
        if let Some(suppressed) = self.limiter.allow() {
            tracing::error!(component = %self.name, error = %err, records,
                retry_in_ms = delay.as_millis() as u64, suppressed,
                "write failed; holding the records and trying again");
        }
    }
}

/// Waits for one batch, then takes whatever else is ready until `max_bytes` of records are held.
/// Returns false once the channel is closed and drained.
pub(crate) async fn recv_round(
    rx: &mut Receiver<Arc<Batch>>,
    round: &mut Vec<Arc<Batch>>,
    max_bytes: usize,
) -> bool {
    let Some(first) = rx.recv().await else {
        return false;
    };
    let mut held_bytes = first.bytes;
    round.push(first);
    while held_bytes < max_bytes {
        match rx.try_recv() {
            Ok(batch) => {
                held_bytes += batch.bytes;
                round.push(batch);
            }
            Err(_) => break,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_round_takes_ready_batches_up_to_the_byte_limit() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        for _ in 0..5 {
            let b = Batch::new(Vec::new(), 100, crate::event::ack::AckToken::none(), None);
            tx.send(Arc::new(b)).await.unwrap();
        }
        let mut round = Vec::new();
        assert!(recv_round(&mut rx, &mut round, 250).await);
        assert_eq!(round.len(), 3);
        round.clear();
        assert!(recv_round(&mut rx, &mut round, 250).await);
        assert_eq!(round.len(), 2);
        drop(tx);
        round.clear();
        assert!(!recv_round(&mut rx, &mut round, 250).await);
        assert!(round.is_empty());
    }
}
