//! The output task: turns routed batches into PutLogEvents requests and keeps up to `workers`
//! of them in flight.
//!
//! Loop: receive a batch (only while a worker slot is free, so a slow or failing CloudWatch fills
//! the channel and blocks the inputs), encode each event once into its message, drop events
//! CloudWatch would refuse anyway (counted), add the rest to the batcher; send every request the
//! batcher releases (full, 24 h span, waited `flush`, or too much pending). When the channel
//! closes (shutdown), everything pending is sent and the task waits for every request.
//!
//! Memory: the output's share of the account (`crate::output::share`) covers its batcher's bodies
//! (`max_pending_memory`) and one request per worker ([`REQUEST_MEMORY_BYTES`]); in a small
//! account fewer than `workers` requests go in flight at once. Requests the
//! batcher released while every worker is busy wait in `ready` and are not counted apart: they
//! are the bodies of at most one received batch beyond the pending limit.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics::Counter;
use tokio::sync::{Semaphore, mpsc::Receiver};
use tokio_util::task::TaskTracker;

use super::batcher::{Batcher, Limits, Request};
use super::client::CwClient;
use super::message::{self, MessageEncoder};
use super::naming::Naming;
use super::sender::{self, CreatePolicy, SendMetrics, Shared};
use super::window::{Window, check_window};
use crate::config::output::cloudwatch::CloudWatchOutputConfig;
use crate::event::{Batch, EventTime};
use crate::health::ComponentHealth;
use crate::memory::Charge;
use crate::output::backoff::{Backoff, ThrottleGate};
use crate::output::share::OutputMemory;
use crate::ratelimit::RateLimiter;
use crate::rng::Rng;
use crate::telemetry::{OUTPUT_LOG_KEY_MISSING, OUTPUT_TRUNCATED};

/// Backoff of one failing request: 200 ms doubling up to 30 s, full jitter.
const RETRY_BACKOFF: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
/// Pause of the whole output per consecutive throttle: 500 ms doubling up to 30 s, full jitter.
const THROTTLE_BACKOFF: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
/// Memory of one full request in flight: its body (1 MiB of text as CloudWatch counts it, plus
/// ~48 bytes of JSON per event and escapes) and its event list, with the SDK's small copies.
pub const REQUEST_MEMORY_BYTES: usize = 3 << 19;

/// Counters of events that never become part of a request, or are changed on the way.
#[derive(Debug)]
struct EventMetrics {
    truncated: Counter,
    log_key_missing: Counter,
    too_old: Counter,
    too_new: Counter,
    empty: Counter,
    encode_error: Counter,
}

/// A configured CloudWatch Logs output, ready to run.
#[derive(Debug)]
pub struct CloudWatchOutput {
    shared: Arc<Shared>,
    naming: Naming,
    encoder: MessageEncoder,
    limits: Limits,
    workers: usize,
    events: EventMetrics,
    drop_log: RateLimiter,
    /// This output's share of the memory account, held while it runs.
    _share: Charge,
}

impl CloudWatchOutput {
    /// Builds the SDK client; fails when the options cannot work (no region, bad endpoint).
    pub async fn new(
        cfg: &CloudWatchOutputConfig,
        name: Arc<str>,
        health: ComponentHealth,
        default_flush: Duration,
        memory: &OutputMemory,
    ) -> Result<Self, String> {
        let client = CwClient::build(cfg).await?;
        let naming = Naming::new(cfg).map_err(|e| e.to_string())?;
        let metrics = SendMetrics::new(&name);
        let events = EventMetrics {
            truncated: metrics::counter!(OUTPUT_TRUNCATED, "component" => name.to_string()),
            log_key_missing: metrics::counter!(OUTPUT_LOG_KEY_MISSING, "component" => name.to_string()),
            too_old: metrics.output.dropped("too_old"),
            too_new: metrics.output.dropped("too_new"),
            empty: metrics.output.dropped("empty_message"),
            encode_error: metrics.output.dropped("encode_error"),
        };
        let defaults = Limits::default();
        let (plan, share) = memory.take(
            defaults.max_pending_memory,
            REQUEST_MEMORY_BYTES,
            cfg.workers.max(1),
        );
        if plan.requests < cfg.workers {
            tracing::info!(component = %name, workers = cfg.workers, in_flight = plan.requests,
                share_bytes = plan.total,
                "fewer requests in flight than `workers`: that is what this output's share of \
                 the memory account holds");
        }
        let limits = Limits {
            flush_after: cfg.flush.map_or(default_flush, |f| f.0),
            max_pending_memory: plan.buffers,
            ..defaults
        };
        let shared = Arc::new(Shared {
            name,
            client,
            metrics,
            health,
            create: CreatePolicy {
                auto_create_group: cfg.auto_create_group.0,
                retention_days: cfg.log_retention_days,
                group_class: cfg.log_group_class.clone(),
            },
            retry_limit: cfg.retry_limit,
            backoff: RETRY_BACKOFF,
            gate: Mutex::new(ThrottleGate::new(THROTTLE_BACKOFF)),
            rng: Mutex::new(Rng::from_entropy()),
            log: RateLimiter::default(),
        });
        Ok(Self {
            shared,
            naming,
            encoder: message::encoder(cfg.log_key.as_deref()),
            limits,
            workers: plan.requests,
            events,
            drop_log: RateLimiter::default(),
            _share: share,
        })
    }

    /// Runs until the channel is closed and every request is done.
    pub async fn run(mut self, mut rx: Receiver<Arc<Batch>>) {
        let mut batcher: Batcher<Arc<Batch>> = Batcher::new(self.limits);
        let slots = Arc::new(Semaphore::new(self.workers));
        let tasks = TaskTracker::new();
        let mut ready: Vec<Request<Arc<Batch>>> = Vec::new();
        let mut scratch = Vec::new();
        let mut open = true;
        while open || batcher.pending_events() > 0 {
            let deadline = batcher.next_deadline();
            tokio::select! {
                received = rx.recv(), if open => match received {
                    Some(batch) => self.ingest(&batch, &mut batcher, &mut scratch, &mut ready),
                    None => {
                        open = false;
                        batcher.flush_all(&mut ready);
                    }
                },
                () = sleep_until(deadline), if deadline.is_some() => {
                    batcher.flush_due(Instant::now(), &mut ready);
                }
            }
            for req in ready.drain(..) {
                // Waiting here (all workers busy) is the backpressure: the channel fills up.
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    break;
                };
                let shared = self.shared.clone();
                tasks.spawn(async move {
                    sender::send(&shared, req).await;
                    drop(slot);
                });
            }
        }
        tasks.close();
        tasks.wait().await;
    }

    /// Encodes the batch's events and hands them to the batcher.
    fn ingest(
        &mut self,
        batch: &Arc<Batch>,
        batcher: &mut Batcher<Arc<Batch>>,
        scratch: &mut Vec<u8>,
        ready: &mut Vec<Request<Arc<Batch>>>,
    ) {
        let now = Instant::now();
        let now_ms = EventTime::now().as_millis();
        for event in &batch.events {
            let timestamp_ms = event.time.as_millis();
            match check_window(timestamp_ms, now_ms) {
                Window::Ok => {}
                Window::TooOld => {
                    self.drop_event(batch, &self.events.too_old, "is older than 14 days");
                    continue;
                }
                Window::TooNew => {
                    self.drop_event(batch, &self.events.too_new, "is more than 2 hours ahead");
                    continue;
                }
            }
            let (message, info) = match self.encoder.encode_message(&event.record, scratch) {
                Ok(encoded) => encoded,
                Err(_) => {
                    self.drop_event(batch, &self.events.encode_error, "cannot be encoded");
                    continue;
                }
            };
            if message.is_empty() {
                self.drop_event(batch, &self.events.empty, "has an empty message");
                continue;
            }
            if info.truncated {
                self.events.truncated.increment(1);
            }
            if info.log_key_missing {
                self.events.log_key_missing.increment(1);
            }
            if info.invalid_utf8 > 0 {
                self.shared
                    .metrics
                    .output
                    .invalid_utf8
                    .increment(info.invalid_utf8);
            }
            let key = self.naming.key(&event.tag, &event.record);
            batcher.push(&key, timestamp_ms, message, batch, now, ready);
        }
    }

    fn drop_event(&self, batch: &Batch, counter: &Counter, why: &str) {
        counter.increment(1);
        batch.ack.dropped();
        if let Some(suppressed) = self.drop_log.allow() {
            tracing::warn!(component = %self.shared.name, suppressed,
                "dropping an event that {why}: CloudWatch Logs would refuse it");
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

impl crate::output::Output for CloudWatchOutput {
    const BUFFERS: bool = true;
    type Options = crate::config::output::cloudwatch::CloudWatchOutputConfig;

    async fn build(
        options: &Self::Options,
        ctx: crate::output::Context<'_>,
    ) -> Result<Self, String> {
        Self::new(options, ctx.name, ctx.health, ctx.flush, ctx.memory).await
    }

    fn run(self, rx: Receiver<Arc<Batch>>) -> impl std::future::Future<Output = ()> + Send {
        CloudWatchOutput::run(self, rx)
    }
}
