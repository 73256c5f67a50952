//! Sends one PutLogEvents request until CloudWatch accepts it or the output gives up on it.
//!
//! Per request: wait while the whole output is paused for throttling; put; on a missing stream
//! create it (and the group, when allowed, with its retention) and put again; on throttling pause
//! the whole output; on a transient failure back off this request; on a permanent failure or once
//! `retry_limit` is spent, drop it with a counted reason. The request's holders (the input batches
//! its events came from) are released when this function returns: that resolves their acks and
//! frees their memory budget, so inputs slow down while requests retry.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use aws_sdk_cloudwatchlogs::types::RejectedLogEventsInfo;
use metrics::{Counter, Histogram};

use super::batcher::Request;
use super::client::{CallError, CwClient};
use crate::event::Batch;
use crate::health::ComponentHealth;
use crate::output::OutputMetrics;
use crate::output::aws::errors::ErrorClass;
use crate::output::backoff::{Backoff, RetryLimit, ThrottleGate};
use crate::ratelimit::RateLimiter;
use crate::rng::Rng;
use crate::telemetry::{
    CLOUDWATCH_CREATED, OUTPUT_REJECTED, OUTPUT_REQUEST_SECONDS, OUTPUT_REQUESTS, OUTPUT_RETRIES,
    OUTPUT_THROTTLED,
};

/// What happens when a group or stream is missing.
#[derive(Debug, Clone)]
pub struct CreatePolicy {
    pub auto_create_group: bool,
    pub retention_days: Option<u32>,
    pub group_class: Option<String>,
}

/// Metric handles of the sending side.
#[derive(Debug)]
pub struct SendMetrics {
    pub output: OutputMetrics,
    requests_ok: Counter,
    requests_failed: Counter,
    latency: Histogram,
    throttled: Counter,
    component: String,
}

impl SendMetrics {
    pub fn new(name: &str) -> Self {
        let c = name.to_owned();
        Self {
            output: OutputMetrics::new(name),
            requests_ok: metrics::counter!(OUTPUT_REQUESTS, "component" => c.clone(), "outcome" => "ok"),
            requests_failed: metrics::counter!(OUTPUT_REQUESTS, "component" => c.clone(), "outcome" => "error"),
            latency: metrics::histogram!(OUTPUT_REQUEST_SECONDS, "component" => c.clone()),
            throttled: metrics::counter!(OUTPUT_THROTTLED, "component" => c.clone()),
            component: c,
        }
    }

    fn retry(&self, reason: &'static str) {
        metrics::counter!(OUTPUT_RETRIES, "component" => self.component.clone(), "reason" => reason)
            .increment(1);
    }

    fn rejected(&self, reason: &'static str, n: u64) {
        metrics::counter!(OUTPUT_REJECTED, "component" => self.component.clone(), "reason" => reason)
            .increment(n);
    }

    fn created(&self, kind: &'static str) {
        metrics::counter!(CLOUDWATCH_CREATED, "component" => self.component.clone(), "kind" => kind)
            .increment(1);
    }
}

/// State shared by every request of one output.
#[derive(Debug)]
pub struct Shared {
    pub name: Arc<str>,
    pub client: CwClient,
    pub metrics: SendMetrics,
    pub health: ComponentHealth,
    pub create: CreatePolicy,
    pub retry_limit: RetryLimit,
    pub backoff: Backoff,
    pub gate: Mutex<ThrottleGate>,
    pub rng: Mutex<Rng>,
    pub log: RateLimiter,
}

/// Sends `req` to completion (accepted, or dropped with a counted reason).
pub async fn send(shared: &Shared, req: Request<Arc<Batch>>) {
    let mut retries = 0u32;
    let mut created = false;
    loop {
        wait_while_throttled(shared).await;
        let started = Instant::now();
        let result = shared
            .client
            .put_log_events(&req.key.group, &req.key.stream, req.body.clone())
            .await;
        shared.metrics.latency.record(started.elapsed());
        let err = match result {
            Ok(rejected) => {
                shared.metrics.requests_ok.increment(1);
                lock(&shared.gate).on_success();
                accepted(shared, &req, rejected.as_ref());
                return;
            }
            Err(e) => e,
        };
        shared.metrics.requests_failed.increment(1);
        let err = if err.class == ErrorClass::NotFound && !created {
            // First time only: after a create, a repeated NotFound is retried with backoff
            // (the service may take a moment to see the new stream).
            created = true;
            match create_missing(shared, &req.key.group, &req.key.stream).await {
                Ok(()) => continue,
                Err(e) => e,
            }
        } else {
            err
        };
        let class = match err.class {
            ErrorClass::NotFound | ErrorClass::AlreadyExists => ErrorClass::Retryable,
            other => other,
        };
        if class == ErrorClass::Permanent || !shared.retry_limit.allows(retries) {
            let reason = if class == ErrorClass::Permanent {
                "permanent_error"
            } else {
                "retries_exhausted"
            };
            give_up(shared, &req, reason, &err);
            return;
        }
        retries += 1;
        shared.metrics.retry(err.class.reason());
        let now = Instant::now();
        if class == ErrorClass::Throttled {
            shared.metrics.throttled.increment(1);
            let until = {
                let mut rng = lock(&shared.rng);
                lock(&shared.gate).on_throttle(now, &mut rng)
            };
            log_retry(shared, &req, &err, retries);
            tokio::time::sleep_until(until.into()).await;
        } else {
            shared
                .health
                .record_error(now, format!("put failed: {}", err.class.reason()));
            let delay = shared.backoff.delay(retries - 1, &mut lock(&shared.rng));
            log_retry(shared, &req, &err, retries);
            tokio::time::sleep(delay).await;
        }
    }
}

async fn wait_while_throttled(shared: &Shared) {
    loop {
        let until = lock(&shared.gate).paused_until(Instant::now());
        match until {
            Some(t) => tokio::time::sleep_until(t.into()).await,
            None => return,
        }
    }
}

/// Creates the stream; if the group is missing too, creates it (when allowed) with its retention.
async fn create_missing(shared: &Shared, group: &str, stream: &str) -> Result<(), CallError> {
    match shared.client.create_log_stream(group, stream).await {
        Ok(()) => {
            shared.metrics.created("stream");
            return Ok(());
        }
        Err(e) if e.class != ErrorClass::NotFound => return Err(e),
        Err(e) if !shared.create.auto_create_group => {
            return Err(CallError {
                class: ErrorClass::Permanent,
                detail: format!(
                    "log group `{group}` does not exist and auto_create_group is off ({})",
                    e.detail
                ),
                ..e
            });
        }
        Err(_) => {}
    }
    shared
        .client
        .create_log_group(group, shared.create.group_class.as_deref())
        .await?;
    shared.metrics.created("group");
    tracing::info!(component = %shared.name, group, "created log group");
    if let Some(days) = shared.create.retention_days
        && let Err(e) = shared.client.put_retention_policy(group, days).await
    {
        // The events still go out; retention can be fixed by hand.
        tracing::warn!(component = %shared.name, group, days, error = %e.detail,
                "could not set the retention of the new log group");
    }
    shared.client.create_log_stream(group, stream).await?;
    shared.metrics.created("stream");
    Ok(())
}

/// Counts what CloudWatch took and what it refused inside an accepted request.
fn accepted(shared: &Shared, req: &Request<Arc<Batch>>, rejected: Option<&RejectedLogEventsInfo>) {
    let n = req.events.len();
    let rejects = rejected
        .map(|r| Rejects::from_info(r, n))
        .unwrap_or_default();
    let refused = rejects.total();
    if refused > 0 {
        for (reason, range) in rejects.ranges(n) {
            if range.is_empty() {
                continue;
            }
            shared.metrics.rejected(reason, range.len() as u64);
            for holder in req.holders_of(range) {
                holder.ack.dropped();
            }
        }
        if let Some(suppressed) = shared.log.allow() {
            tracing::warn!(component = %shared.name, group = %req.key.group, stream = %req.key.stream,
                too_new = rejects.too_new, too_old = rejects.too_old, expired = rejects.expired,
                suppressed, "CloudWatch refused events outside its time window");
        }
    }
    let sent_bytes: usize = req.bytes;
    shared
        .metrics
        .output
        .records
        .increment((n - refused) as u64);
    shared.metrics.output.bytes.increment(sent_bytes as u64);
}

fn give_up(shared: &Shared, req: &Request<Arc<Batch>>, reason: &'static str, err: &CallError) {
    let n = req.events.len() as u64;
    shared.metrics.output.dropped(reason).increment(n);
    shared.metrics.output.errors.increment(1);
    shared
        .health
        .record_error(Instant::now(), format!("dropped a request: {reason}"));
    for holder in &req.holders {
        holder.ack.dropped();
    }
    tracing::error!(component = %shared.name, group = %req.key.group, stream = %req.key.stream,
        events = n, reason, code = err.code.as_deref().unwrap_or("-"), error = %err.detail,
        "giving up on a PutLogEvents request; its events are dropped");
}

fn log_retry(shared: &Shared, req: &Request<Arc<Batch>>, err: &CallError, retries: u32) {
    if let Some(suppressed) = shared.log.allow() {
        tracing::warn!(component = %shared.name, group = %req.key.group, stream = %req.key.stream,
            retries, class = err.class.reason(), error = %err.detail, suppressed,
            "PutLogEvents failed; retrying");
    }
}

/// Which events of an accepted request CloudWatch refused (counts per reason, union of ranges).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rejects {
    pub too_new: usize,
    pub too_old: usize,
    pub expired: usize,
}

impl Rejects {
    /// From the response's indexes over `n` events: `[too_new_start, n)` too new, `[0, expired_end)`
    /// expired, `[expired_end, too_old_end)` too old (an event is counted once).
    pub fn from_info(info: &RejectedLogEventsInfo, n: usize) -> Self {
        let idx = |v: Option<i32>| v.map(|i| usize::try_from(i).unwrap_or(0).min(n));
        let too_new_start = idx(info.too_new_log_event_start_index()).unwrap_or(n);
        let expired_end = idx(info.expired_log_event_end_index())
            .unwrap_or(0)
            .min(too_new_start);
        let too_old_end = idx(info.too_old_log_event_end_index())
            .unwrap_or(0)
            .min(too_new_start);
        Self {
            too_new: n - too_new_start,
            expired: expired_end,
            too_old: too_old_end.saturating_sub(expired_end),
        }
    }

    pub fn total(&self) -> usize {
        self.too_new + self.too_old + self.expired
    }

    /// The refused index ranges with their reasons.
    pub fn ranges(&self, n: usize) -> [(&'static str, std::ops::Range<usize>); 3] {
        [
            ("expired", 0..self.expired),
            ("too_old", self.expired..self.expired + self.too_old),
            ("too_new", n - self.too_new..n),
        ]
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(new: Option<i32>, old: Option<i32>, expired: Option<i32>) -> RejectedLogEventsInfo {
        RejectedLogEventsInfo::builder()
            .set_too_new_log_event_start_index(new)
            .set_too_old_log_event_end_index(old)
            .set_expired_log_event_end_index(expired)
            .build()
    }

    #[test]
    fn rejected_ranges_count_each_event_once() {
        let r = Rejects::from_info(&info(Some(8), Some(3), Some(1)), 10);
        assert_eq!((r.expired, r.too_old, r.too_new), (1, 2, 2));
        assert_eq!(
            r.ranges(10),
            [("expired", 0..1), ("too_old", 1..3), ("too_new", 8..10)]
        );
        let none = Rejects::from_info(&info(None, None, None), 10);
        assert_eq!(none.total(), 0);
        let clamped = Rejects::from_info(&info(Some(-1), Some(50), None), 4);
        assert_eq!(clamped.total(), 4);
    }
}
