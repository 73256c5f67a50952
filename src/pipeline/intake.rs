//! Where inputs hand events to the pipeline: charge the memory budget, then route.
//!
//! Invariant: every event handed to [`Intake::submit`] is either routed, counted as unmatched, or
//! counted as dropped with a reason; with `overflow = block` the call waits for budget instead, and
//! that wait is what stops the input from reading its socket.

use std::sync::Arc;

use crate::config::model::Overflow;
use crate::event::ack::AckToken;
use crate::event::budget::{Budget, Held, RecordsInFlight};
use crate::event::{Batch, Event};
use crate::filter::chain::FilterChain;
use crate::pipeline::disk::DiskSink;
pub use crate::pipeline::input_metrics::InputMetrics;
use crate::pipeline::router::Router;
use crate::telemetry as t;

/// Whether a submitted batch entered the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    Accepted,
    /// Dropped because the budget was full and the policy is `drop_newest` (counted).
    DroppedBufferFull,
    /// Dropped because it waited longer than `overflow_timeout` for budget (counted).
    DroppedBlockTimeout,
}

/// An input's handle on the pipeline; cheap to clone into every connection task.
#[derive(Debug, Clone)]
pub struct Intake {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    budget: Budget,
    overflow: Overflow,
    /// With `Overflow::Block`: give up waiting for budget after this long.
    block_timeout: Option<std::time::Duration>,
    router: Arc<Router>,
    filters: Option<Arc<FilterChain>>,
    /// With a disk buffer, batches go there; its replay task routes them.
    disk: Option<DiskSink>,
    /// Where connections run their filter stage (see `pipeline::stage`); none without filters.
    stage: Option<tokio::runtime::Handle>,
    metrics: InputMetrics,
}

impl Intake {
    pub fn new(
        name: Arc<str>,
        limit_bytes: usize,
        overflow: Overflow,
        router: Arc<Router>,
    ) -> Self {
        let metrics = InputMetrics::new(&name);
        let c = name.to_string();
        metrics::gauge!(t::INPUT_BUFFER_LIMIT_BYTES, "component" => c.clone())
            .set(limit_bytes as f64);
        let budget = Budget::new(limit_bytes)
            .with_gauge(metrics::gauge!(t::INPUT_BUFFER_BYTES, "component" => c));
        Self {
            inner: Arc::new(Inner {
                budget,
                overflow,
                block_timeout: None,
                router,
                filters: None,
                disk: None,
                stage: None,
                metrics,
            }),
        }
    }

    /// Takes every batch's bytes from the process-wide `account` too (the input's budget is a
    /// share inside it). Call before cloning the intake.
    pub fn with_account(mut self, account: crate::memory::Account) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.budget = inner.budget.clone().with_account(account);
        }
        self
    }

    /// Runs `filters` over every batch before routing it. Call before cloning the intake.
    pub fn with_filters(mut self, filters: Option<Arc<FilterChain>>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.filters = filters;
        }
        self
    }

    /// Lets connections submit from a task on `stage`, so decoding and filtering overlap. Call
    /// before cloning the intake.
    pub fn with_stage(mut self, stage: Option<tokio::runtime::Handle>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.stage = stage;
        }
        self
    }

    /// The runtime a connection's submitting task runs on, when submitting runs filters.
    pub fn stage(&self) -> Option<&tokio::runtime::Handle> {
        self.inner.stage.as_ref()
    }

    /// With `overflow = block`, drops (counted) a batch that waited `timeout` for budget. Call
    /// before cloning the intake.
    pub fn with_block_timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.block_timeout = timeout;
        }
        self
    }

    /// Sends every batch to `disk` instead of the router. Call before cloning the intake.
    pub fn with_disk(mut self, disk: Option<DiskSink>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.disk = disk;
        }
        self
    }

    /// The input's memory budget (`mem_buf_limit`), in bytes.
    pub fn limit_bytes(&self) -> usize {
        self.inner.budget.limit()
    }

    /// The process-wide memory account this input's budget is a share of (inputs charge their
    /// read buffers and decoding to it before allocating).
    pub fn account(&self) -> &crate::memory::Account {
        self.inner.budget.account()
    }

    /// Records this input accepted that no output is done with yet (delivered or given up);
    /// the handle does not keep the pipeline alive.
    pub fn records_in_flight(&self) -> RecordsInFlight {
        self.inner.budget.records_in_flight()
    }

    pub fn metrics(&self) -> &InputMetrics {
        &self.inner.metrics
    }

    pub fn name(&self) -> &Arc<str> {
        &self.inner.metrics.name
    }

    /// Hands `events` to the pipeline. `data_bytes` is the received data they keep alive (normally
    /// the frame bytes their records slice); the budget is charged that plus the event list itself,
    /// so what it limits is the memory really held. Waits for budget under `overflow = block`.
    pub async fn submit(&self, events: Vec<Event>, data_bytes: usize, ack: AckToken) -> Submitted {
        self.submit_inner(events, data_bytes, ack, None).await
    }

    /// Like [`Intake::submit`], for events whose memory (`data_bytes` and the event list) `held`
    /// already took from the process-wide account: only the input's share is charged now, and
    /// `held` goes with the batch (given back when its last holder drops it).
    pub async fn submit_held(
        &self,
        events: Vec<Event>,
        data_bytes: usize,
        ack: AckToken,
        held: Held,
    ) -> Submitted {
        self.submit_inner(events, data_bytes, ack, Some(held)).await
    }

    async fn submit_inner(
        &self,
        events: Vec<Event>,
        data_bytes: usize,
        ack: AckToken,
        held: Option<Held>,
    ) -> Submitted {
        let inner = &*self.inner;
        let n = events.len() as u64;
        if n == 0 {
            return Submitted::Accepted;
        }
        // Filters run before the budget is charged: what they write is charged with the rest.
        let (events, written, ack) = match &inner.filters {
            Some(chain) => {
                let out = chain.run(events, &ack);
                let ack = if out.acks.is_empty() {
                    ack
                } else {
                    let mut all = out.acks;
                    all.push(ack);
                    AckToken::merge(all)
                };
                (out.events, out.written_bytes, ack)
            }
            None => (events, 0, ack),
        };
        let received_bytes = data_bytes as u64;
        if events.is_empty() {
            // Every record was filtered out (counted by its filter) or is held by one.
            inner.metrics.records.increment(n);
            inner.metrics.bytes.increment(received_bytes);
            return Submitted::Accepted;
        }
        if let Some(disk) = &inner.disk {
            let submitted = disk.submit(&events, &inner.metrics, ack).await;
            if submitted == Submitted::Accepted {
                inner.metrics.records.increment(n);
                inner.metrics.bytes.increment(received_bytes);
            }
            return submitted;
        }
        let data_bytes = data_bytes + written;
        let charge_bytes = data_bytes + events.capacity() * std::mem::size_of::<Event>();
        let held = match held {
            Some(mut held) => {
                // What the filters wrote was not held yet.
                if written > 0 {
                    held.charge.grow(written).await;
                }
                Some(held)
            }
            None => None,
        };
        let budget = &inner.budget;
        let permit = match (inner.overflow, inner.block_timeout) {
            (Overflow::Block, None) => match held {
                Some(held) => budget.acquire_held(charge_bytes, held).await,
                None => budget.acquire(charge_bytes).await,
            },
            (Overflow::Block, Some(timeout)) => {
                let acquire = async {
                    match held {
                        Some(held) => budget.acquire_held(charge_bytes, held).await,
                        None => budget.acquire(charge_bytes).await,
                    }
                };
                match tokio::time::timeout(timeout, acquire).await {
                    Ok(p) => p,
                    Err(_) => {
                        inner
                            .metrics
                            .dropped_block_timeout
                            .increment(events.len() as u64);
                        ack.dropped();
                        return Submitted::DroppedBlockTimeout;
                    }
                }
            }
            (Overflow::DropNewest, _) => match match held {
                Some(held) => budget.try_acquire_held(charge_bytes, held),
                None => budget.try_acquire(charge_bytes),
            } {
                Some(p) => p,
                None => {
                    inner
                        .metrics
                        .dropped_buffer_full
                        .increment(events.len() as u64);
                    ack.dropped();
                    return Submitted::DroppedBufferFull;
                }
            },
        };
        inner.metrics.records.increment(n);
        inner.metrics.bytes.increment(received_bytes);
        let mut permit = permit;
        permit.count_records(n);
        let batch = Batch::new(events, data_bytes, ack, Some(Arc::new(permit)));
        self.route(batch).await;
        Submitted::Accepted
    }

    /// Routes a batch read back from the disk buffer, waiting for budget like `overflow = block`
    /// (the disk holds the backlog; memory holds only what is on its way to the outputs).
    pub async fn route_replayed(&self, events: Vec<Event>, ack: AckToken) {
        let data_bytes: usize = events.iter().map(|e| e.record.len()).sum();
        let charge_bytes = data_bytes + events.capacity() * std::mem::size_of::<Event>();
        let mut permit = self.inner.budget.acquire(charge_bytes).await;
        permit.count_records(events.len() as u64);
        let batch = Batch::new(events, data_bytes, ack, Some(Arc::new(permit)));
        self.route(batch).await;
    }

    async fn route(&self, batch: Batch) {
        let stats = self.inner.router.route(batch).await;
        if stats.unmatched > 0 {
            self.inner
                .metrics
                .dropped_no_route
                .increment(stats.unmatched as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventTime;
    use crate::event::tag_match::TagMatcher;
    use crate::pipeline::router::Route;
    use bytes::Bytes;
    use std::time::Duration;
    use tokio::sync::mpsc;

    fn events(n: usize) -> Vec<Event> {
        let tag: Arc<str> = "t".into();
        (0..n)
            .map(|_| Event {
                tag: tag.clone(),
                time: EventTime::new(0, 0),
                record: Bytes::from_static(b"\x80"),
            })
            .collect()
    }

    fn intake(limit: usize, overflow: Overflow) -> (Intake, mpsc::Receiver<Arc<Batch>>) {
        let (tx, rx) = mpsc::channel(16);
        let route = Route::new("out".into(), TagMatcher::new(Some("*"), None).unwrap(), tx);
        let router = Arc::new(Router::new(vec![route]));
        (Intake::new("in".into(), limit, overflow, router), rx)
    }

    #[tokio::test]
    async fn block_waits_until_an_output_releases_budget() {
        let (intake, mut rx) = intake(100, Overflow::Block);
        assert_eq!(
            intake.submit(events(1), 80, AckToken::none()).await,
            Submitted::Accepted
        );
        let pending = intake.submit(events(1), 80, AckToken::none());
        tokio::pin!(pending);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut pending)
                .await
                .is_err(),
            "second batch must wait while the first holds the budget"
        );
        drop(rx.recv().await);
        assert_eq!(pending.await, Submitted::Accepted);
    }

    #[tokio::test(start_paused = true)]
    async fn block_with_a_timeout_drops_what_waited_too_long() {
        let (intake, mut rx) = intake(100, Overflow::Block);
        let intake = intake.with_block_timeout(Some(Duration::from_secs(5)));
        assert_eq!(
            intake.submit(events(1), 80, AckToken::none()).await,
            Submitted::Accepted
        );
        let (tok, waiter) = AckToken::new();
        let started = tokio::time::Instant::now();
        assert_eq!(
            intake.submit(events(2), 80, tok).await,
            Submitted::DroppedBlockTimeout
        );
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(5),
            "waited the timeout, no more"
        );
        assert_eq!(waiter.wait().await, crate::event::ack::AckOutcome::Dropped);
        // Budget freed within the timeout: the next batch goes through.
        drop(rx.recv().await);
        assert_eq!(
            intake.submit(events(1), 80, AckToken::none()).await,
            Submitted::Accepted
        );
    }

    #[tokio::test]
    async fn records_are_in_flight_until_the_output_is_done_with_their_batch() {
        let (intake, mut rx) = intake(1000, Overflow::Block);
        let in_flight = intake.records_in_flight();
        intake.submit(events(3), 10, AckToken::none()).await;
        intake.submit(events(2), 10, AckToken::none()).await;
        assert_eq!(in_flight.get(), 5);
        drop(rx.recv().await);
        assert_eq!(in_flight.get(), 2);
        drop(rx.recv().await);
        assert_eq!(in_flight.get(), 0);
    }

    #[tokio::test]
    async fn drop_newest_counts_and_marks_ack() {
        let (intake, _rx) = intake(100, Overflow::DropNewest);
        assert_eq!(
            intake.submit(events(1), 80, AckToken::none()).await,
            Submitted::Accepted
        );
        let (tok, waiter) = AckToken::new();
        assert_eq!(
            intake.submit(events(3), 80, tok).await,
            Submitted::DroppedBufferFull
        );
        assert_eq!(waiter.wait().await, crate::event::ack::AckOutcome::Dropped);
    }
}
