//! Inputs with a disk buffer (`storage.type = "filesystem"`): the intake appends every filtered
//! batch to the input's write-ahead log (acks wait for the write, or for the fsync with
//! `ack = "durable"`), and one replay task per input reads the log back in order into the router,
//! charging the input's memory budget, and marks each batch done once every output is done with
//! it. What a previous run left undelivered is replayed first.
//!
//! Invariants: every batch the log took reaches the router once per run; after a crash, batches
//! past the last checkpoint are routed again (at-least-once), counted as replayed. Damage the
//! buffer finds (at start-up or while reading) is logged there, once per region, and counted here
//! in records lost. `firelane_storage_bytes` follows the buffer's byte count on every change,
//! deletions included.

use std::path::Path;
use std::time::Duration;

use metrics::{Counter, Gauge};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::model::ServiceConfig;
use crate::config::storage::{self as cfg, InputStorage};
use crate::event::Event;
use crate::event::ack::AckToken;
use crate::pipeline::intake::{InputMetrics, Intake, Submitted};
use crate::storage::buffer::{
    AppendError, BufferConfig, Damage, DamageKind, DiskBuffer, DiskOverflow, OpenReport, Replay,
    SyncMode,
};
use crate::telemetry as t;

/// Segment files rotate past this size.
const SEGMENT_BYTES: u64 = 8 << 20;
/// Longest time between fsyncs with `storage.sync = normal`.
const SYNC_INTERVAL: Duration = Duration::from_millis(500);
/// The replay reader's chunk.
const READ_CHUNK_BYTES: usize = 1 << 20;

/// Where an input's batches go when it has a disk buffer.
#[derive(Debug, Clone)]
pub struct DiskSink {
    buffer: DiskBuffer,
    durable: bool,
    dropped_full: Counter,
    dropped_oldest: Counter,
    dropped_error: Counter,
}

impl DiskSink {
    /// Appends `events`; resolves once written (fsync'd when `durable`).
    pub async fn submit(
        &self,
        events: &[Event],
        metrics: &InputMetrics,
        ack: AckToken,
    ) -> Submitted {
        match self.buffer.append(events, self.durable).await {
            Ok(appended) => {
                self.dropped_oldest.increment(appended.dropped_oldest);
                Submitted::Accepted
            }
            Err(e) => {
                let counter = match e {
                    AppendError::Full => &self.dropped_full,
                    _ => {
                        tracing::error!(component = %metrics.name, error = %e, "cannot write to the disk buffer: batch dropped, not acked");
                        &self.dropped_error
                    }
                };
                counter.increment(events.len() as u64);
                ack.dropped();
                Submitted::DroppedBufferFull
            }
        }
    }

    pub fn buffer(&self) -> &DiskBuffer {
        &self.buffer
    }
}

/// Opens (and recovers) the disk buffer of input `name`; logs and counts what recovery found.
pub async fn open(
    service: &ServiceConfig,
    name: &str,
    storage: &InputStorage,
    durable: bool,
) -> Result<(DiskSink, Replay), String> {
    let base = (service.storage.path.as_deref())
        .ok_or_else(|| "storage.type filesystem needs service storage.path".to_owned())?;
    let dir = Path::new(base).join(name);
    let config = BufferConfig {
        name: name.to_owned(),
        dir: dir.clone(),
        segment_bytes: SEGMENT_BYTES,
        total_limit_bytes: storage.total_limit_size.0,
        overflow: match storage.overflow {
            cfg::DiskOverflow::Block => DiskOverflow::Block,
            cfg::DiskOverflow::DropOldest => DiskOverflow::DropOldest,
            cfg::DiskOverflow::DropNewest => DiskOverflow::DropNewest,
        },
        sync: match service.storage.sync {
            cfg::SyncMode::Normal => SyncMode::Normal,
            cfg::SyncMode::Full => SyncMode::Full,
        },
        sync_interval: SYNC_INTERVAL,
        read_chunk_bytes: READ_CHUNK_BYTES,
    };
    let (buffer, replay, report) = DiskBuffer::open(config)
        .await
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    log_recovery(name, &report);
    let gauge = metrics::gauge!(t::STORAGE_BYTES, "component" => name.to_owned());
    tokio::spawn(follow_disk_bytes(buffer.watch_disk_bytes(), gauge));
    let dropped = |reason: &'static str| metrics::counter!(t::INPUT_DROPPED, "component" => name.to_owned(), "reason" => reason);
    let sink = DiskSink {
        buffer,
        durable,
        dropped_full: dropped("storage_full"),
        dropped_oldest: dropped("storage_full_oldest"),
        dropped_error: dropped("storage_error"),
    };
    Ok((sink, replay))
}

/// Sets `gauge` to the buffer's bytes on disk whenever they change, until the buffer is gone.
async fn follow_disk_bytes(mut bytes: watch::Receiver<u64>, gauge: Gauge) {
    loop {
        let now = *bytes.borrow_and_update();
        gauge.set(now as f64);
        if bytes.changed().await.is_err() {
            return;
        }
    }
}

/// Counts one damaged region in the storage metrics (the buffer logged it).
fn count_damage(name: &str, d: &Damage) {
    let reason = d.kind.as_str();
    let records = if d.counted() { "counted" } else { "unknown" };
    metrics::counter!(t::STORAGE_DAMAGED_REGIONS, "component" => name.to_owned(), "reason" => reason, "records" => records).increment(1);
    metrics::counter!(t::STORAGE_LOST_RECORDS, "component" => name.to_owned(), "reason" => reason)
        .increment(d.records_lost());
}

fn log_recovery(name: &str, r: &OpenReport) {
    if r.replay_batches > 0 {
        tracing::info!(
            component = name,
            batches = r.replay_batches,
            records = r.replay_records,
            "replaying what the previous run did not deliver"
        );
    }
    if !r.damage.is_empty() {
        let uncounted = r.damage.iter().filter(|d| !d.counted()).count();
        tracing::warn!(
            component = name,
            regions = r.damage.len(),
            records_lost = r.lost_records(),
            regions_uncounted = uncounted,
            "disk buffer: damage found at start (each region logged above)"
        );
    }
    let torn_bytes = r.torn_bytes();
    if torn_bytes > 0 {
        metrics::counter!(t::STORAGE_TORN_BYTES, "component" => name.to_owned())
            .increment(torn_bytes);
    }
    // Present from the start (at 0), so a rate or an alert on it has a series to work on.
    for kind in [DamageKind::Torn, DamageKind::Damaged, DamageKind::Unusable] {
        metrics::counter!(t::STORAGE_LOST_RECORDS, "component" => name.to_owned(), "reason" => kind.as_str())
            .increment(0);
    }
    for d in &r.damage {
        count_damage(name, d);
    }
    if let Some(why) = &r.checkpoint_reset {
        tracing::warn!(
            component = name,
            reason = why,
            "disk buffer: checkpoint unreadable, replaying every segment (duplicates possible)"
        );
    }
}

/// Routes what `replay` reads through `intake` (charging its budget) until the buffer is closed
/// and read to its end; each batch is marked done when every output is done with it.
pub fn spawn_replay(mut replay: Replay, intake: Intake) -> JoinHandle<()> {
    let replayed: Counter =
        metrics::counter!(t::STORAGE_REPLAYED, "component" => intake.name().to_string());
    let name = intake.name().to_string();
    replay.on_damage(Box::new(move |d| count_damage(&name, d)));
    tokio::spawn(async move {
        while let Some(batch) = replay.next().await {
            if batch.from_previous_run {
                replayed.increment(batch.events.len() as u64);
            }
            let (token, waiter) = AckToken::new();
            intake.route_replayed(batch.events, token).await;
            let done = batch.done;
            tokio::spawn(async move {
                // Delivered or given up by an output (which counted it): either way the batch is
                // finished with, and the watermark may move past it.
                waiter.wait().await;
                done.finish();
            });
        }
    })
}

/// Gives `intake` the disk buffer its input's `storage` asks for, and starts the replay task:
/// the intake to use, and the buffer with its replay task (to close and await at shutdown).
pub async fn attach(
    intake: Intake,
    service: &ServiceConfig,
    name: &str,
    storage: &InputStorage,
    durable: bool,
) -> Result<(Intake, Option<(DiskBuffer, JoinHandle<()>)>), String> {
    if storage.kind == cfg::StorageType::Memory {
        return Ok((intake, None));
    }
    let (sink, replay) = open(service, name, storage, durable).await?;
    let buffer = sink.buffer().clone();
    let intake = intake.with_disk(Some(sink));
    let task = spawn_replay(replay, intake.clone());
    Ok((intake, Some((buffer, task))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventTime;
    use metrics_exporter_prometheus::PrometheusBuilder;

    fn events(n: usize, bytes: usize) -> Vec<Event> {
        (0..n)
            .map(|i| Event {
                tag: std::sync::Arc::from("t"),
                time: EventTime::new(i as i64, 0),
                record: bytes::Bytes::from(vec![b'x'; bytes]),
            })
            .collect()
    }

    /// Issue 25, case 7: after the buffer was full, the gauge stayed at the full value once the
    /// backlog drained, because segments are deleted after the last delivery set it.
    #[tokio::test]
    async fn the_bytes_gauge_follows_the_buffer_down_after_it_was_full() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let gauge = metrics::with_local_recorder(
            &recorder,
            || metrics::gauge!(t::STORAGE_BYTES, "component" => "test"),
        );
        let gauge_value = || -> Option<u64> {
            let text = handle.render();
            let line = text.lines().find(|l| l.starts_with(t::STORAGE_BYTES))?;
            line.rsplit(' ')
                .next()?
                .parse::<f64>()
                .ok()
                .map(|v| v as u64)
        };
        let dir = tempfile::tempdir().unwrap();
        let config = BufferConfig {
            segment_bytes: 8 << 10,
            overflow: DiskOverflow::DropNewest,
            sync_interval: Duration::from_millis(20),
            ..BufferConfig::new(dir.path(), 64 << 10)
        };
        let (buffer, mut replay, _) = DiskBuffer::open(config).await.unwrap();
        tokio::spawn(follow_disk_bytes(buffer.watch_disk_bytes(), gauge));
        let mut appended = 0;
        while buffer.append(&events(1, 4000), false).await.is_ok() {
            appended += 1;
        }
        until("the gauge shows the full buffer", || {
            gauge_value().is_some_and(|v| v > 48 << 10)
        })
        .await;
        // The outputs deliver the backlog: the batches are done only after all were read.
        let mut held = Vec::new();
        for _ in 0..appended {
            held.push(replay.next().await.unwrap());
        }
        for batch in held {
            batch.done.finish();
        }
        until("the gauge follows the deletions down", || {
            gauge_value() == Some(buffer.disk_bytes()) && buffer.disk_bytes() < 16 << 10
        })
        .await;
    }

    async fn until(what: &str, cond: impl Fn() -> bool) {
        for _ in 0..500 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting until {what}");
    }
}
