//! Routing by tag: sends each batch to every output whose matcher selects its tag.
//!
//! Invariants: an event is delivered at most once to each output; fan-out shares the same
//! `Arc<Batch>` (no copy of records); a batch holding several tags is split into runs of equal
//! tags that share the original ack token and memory budget. Sending waits when an output's
//! channel is full, which is how backpressure travels back to the input.

use std::sync::Arc;

use metrics::Counter;
use tokio::sync::mpsc;

use crate::event::tag_match::TagMatcher;
use crate::event::{Batch, Event};
use crate::telemetry;

/// One output's entry in the routing table.
#[derive(Debug)]
pub struct Route {
    pub name: Arc<str>,
    pub matcher: TagMatcher,
    pub tx: mpsc::Sender<Arc<Batch>>,
    /// Counts records lost because the output task is gone (it crashed or stopped early).
    closed_drops: Counter,
}

impl Route {
    pub fn new(name: Arc<str>, matcher: TagMatcher, tx: mpsc::Sender<Arc<Batch>>) -> Self {
        let closed_drops = metrics::counter!(
            telemetry::OUTPUT_DROPPED,
            "component" => name.to_string(),
            "reason" => "output_stopped"
        );
        Self {
            name,
            matcher,
            tx,
            closed_drops,
        }
    }
}

/// What routing did with a batch's events.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RouteStats {
    /// Events sent to at least one output.
    pub routed: usize,
    /// Events that matched no output (Fluent Bit discards these silently; we count them).
    pub unmatched: usize,
}

/// The routing table, shared by every input.
#[derive(Debug)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new(routes: Vec<Route>) -> Self {
        Self { routes }
    }

    /// Sends `batch` to every matching output, waiting while an output's channel is full.
    pub async fn route(&self, batch: Batch) -> RouteStats {
        let mut stats = RouteStats::default();
        let runs = tag_runs(&batch.events);
        if runs == 1 {
            let tag = batch.events[0].tag.clone();
            let n = batch.len();
            let shared = Arc::new(batch);
            if self.send_matching(&tag, &shared).await {
                stats.routed += n;
            } else {
                stats.unmatched += n;
            }
            return stats;
        }
        let mut start = 0;
        while start < batch.events.len() {
            let tag = &batch.events[start].tag;
            let end = start
                + batch.events[start..]
                    .iter()
                    .position(|e| e.tag != *tag)
                    .unwrap_or(batch.events.len() - start);
            let events = batch.events[start..end].to_vec();
            let bytes = Batch::record_bytes(&events);
            let sub = Arc::new(batch.derive(events, bytes));
            if self.send_matching(tag, &sub).await {
                stats.routed += end - start;
            } else {
                stats.unmatched += end - start;
            }
            start = end;
        }
        stats
    }

    /// Returns whether any output matched.
    async fn send_matching(&self, tag: &str, batch: &Arc<Batch>) -> bool {
        let mut matched = false;
        for route in &self.routes {
            if !route.matcher.matches(tag) {
                continue;
            }
            matched = true;
            if route.tx.send(batch.clone()).await.is_err() {
                route.closed_drops.increment(batch.len() as u64);
                batch.ack.dropped();
                tracing::warn!(output = %route.name, records = batch.len(), "output stopped; records dropped");
            }
        }
        matched
    }
}

/// Number of runs of equal consecutive tags (0 for an empty batch).
fn tag_runs(events: &[Event]) -> usize {
    if events.is_empty() {
        return 0;
    }
    1 + events
        .windows(2)
        .filter(|w| !Arc::ptr_eq(&w[0].tag, &w[1].tag) && w[0].tag != w[1].tag)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventTime;
    use crate::event::ack::{AckOutcome, AckToken};
    use bytes::Bytes;

    fn ev(tag: &Arc<str>, rec: &'static [u8]) -> Event {
        Event {
            tag: tag.clone(),
            time: EventTime::new(1, 0),
            record: Bytes::from_static(rec),
        }
    }

    fn route(name: &str, glob: &str) -> (Route, mpsc::Receiver<Arc<Batch>>) {
        let (tx, rx) = mpsc::channel(8);
        let m = TagMatcher::new(Some(glob), None).unwrap();
        (Route::new(name.into(), m, tx), rx)
    }

    #[tokio::test]
    async fn fan_out_shares_one_batch_and_ack_waits_for_every_output() {
        let (a, mut ra) = route("a", "app.*");
        let (b, mut rb) = route("b", "*");
        let router = Router::new(vec![a, b]);
        let tag: Arc<str> = "app.web".into();
        let (tok, waiter) = AckToken::new();
        let batch = Batch::new(vec![ev(&tag, b"\x80")], 1, tok, None);
        let stats = router.route(batch).await;
        assert_eq!(
            stats,
            RouteStats {
                routed: 1,
                unmatched: 0
            }
        );
        let x = ra.recv().await.unwrap();
        let y = rb.recv().await.unwrap();
        assert!(Arc::ptr_eq(&x, &y), "both outputs hold the same batch");
        drop(x);
        let mut w = Box::pin(waiter.wait());
        tokio::select! {
            biased;
            _ = &mut w => panic!("ack resolved while an output still holds the batch"),
            _ = tokio::task::yield_now() => {}
        }
        drop(y);
        assert_eq!(w.await, AckOutcome::Delivered);
    }

    #[tokio::test]
    async fn mixed_tags_split_into_runs_and_unmatched_are_counted() {
        let (a, mut ra) = route("a", "keep.*");
        let router = Router::new(vec![a]);
        let keep: Arc<str> = "keep.1".into();
        let other: Arc<str> = "other".into();
        let events = vec![
            ev(&keep, b"\x80"),
            ev(&other, b"\x80"),
            ev(&keep, b"\x81\xa1a\x01"),
        ];
        let batch = Batch::new(events, 6, AckToken::none(), None);
        let stats = router.route(batch).await;
        assert_eq!(
            stats,
            RouteStats {
                routed: 2,
                unmatched: 1
            }
        );
        let first = ra.recv().await.unwrap();
        let second = ra.recv().await.unwrap();
        assert_eq!(first.len() + second.len(), 2);
        assert_eq!(second.bytes, 4);
    }

    #[tokio::test]
    async fn stopped_output_marks_ack_dropped() {
        let (a, ra) = route("a", "*");
        drop(ra);
        let router = Router::new(vec![a]);
        let tag: Arc<str> = "t".into();
        let (tok, waiter) = AckToken::new();
        router
            .route(Batch::new(vec![ev(&tag, b"\x80")], 1, tok, None))
            .await;
        assert_eq!(waiter.wait().await, AckOutcome::Dropped);
    }
}
