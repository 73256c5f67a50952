//! The output task: stages each round of batches durably, then releases them (the ack), seals
//! files on size, age or shutdown, and keeps up to `workers` uploads running.
//!
//! Staging runs on a blocking thread (compression and fsync), one round at a time. Backpressure:
//! while `store_dir_limit_size` is reached the task stops receiving (`block`) so the channel fills
//! and the inputs wait, or drops what it receives, counted (`drop_newest`). When the channel closes
//! (shutdown) every open file is sealed and the task waits for its uploads; what the grace period
//! cuts short stays on disk and is uploaded at the next start.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge};
use tokio::sync::mpsc::Receiver;
use tokio::task::JoinSet;

use super::client::{ObjectSettings, S3Client};
use super::lines::LineEncoder;
use super::round::Round;
use super::setup::{ecs_key_format, log_recovery, log_size_notes, staging_limit};
use super::store::{SealedFile, Store, StoreSettings};
use super::upload::{Outcome, UploadMetrics, Uploader};
use crate::config::output::s3::sizes::{SizeOptions, UploadPlan};
use crate::config::output::s3::{S3OutputConfig, StoreOverflow};
use crate::ecs::TaskAtStart;
use crate::event::Batch;
use crate::health::ComponentHealth;
use crate::output::backoff::{Backoff, ThrottleGate};
use crate::output::local_write::Retrying;
use crate::output::{MAX_ROUND_BYTES, Reporter, recv_round};
use crate::ratelimit::RateLimiter;
use crate::rng::Rng;
use crate::telemetry::{
    OUTPUT_LOG_KEY_MISSING, S3_RECOVERED_FILES, S3_STAGED_BYTES, S3_STAGED_FILES, S3_STAGED_RECORDS,
};

/// Backoff of one failing call: 500 ms doubling up to 60 s, full jitter.
const RETRY_BACKOFF: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
/// Pause of every upload per consecutive `SlowDown`: 1 s doubling up to 60 s, full jitter.
const THROTTLE_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));

/// A configured S3 output, ready to run.
#[derive(Debug)]
pub struct S3Output {
    encoder: Arc<LineEncoder>,
    store: Option<Store>,
    uploader: Arc<Uploader>,
    pending: VecDeque<SealedFile>,
    to_abort: Vec<(u64, String, String)>,
    workers: usize,
    /// Upload one tag's files one at a time, in the order they were sealed.
    preserve_order: bool,
    limit_bytes: u64,
    overflow: StoreOverflow,
    reporter: Arc<Reporter>,
    staged_gauge: Gauge,
    files_gauge: Gauge,
    store_full: Counter,
    log_key_missing: Counter,
    staged_records: Counter,
    full_log: RateLimiter,
    /// A round whose staging failed (a full disk): held, not receiving, until it is written.
    held: Option<Round>,
    /// Attempts at the held round or the files waiting for a repair; when the next one is due.
    retrying: Retrying,
    retry_at: Option<Instant>,
}

impl S3Output {
    /// Builds the client and opens the store (`<store_dir>/<name>`), recovering what a previous
    /// run left; fails when the options or the directory cannot work.
    pub async fn new(
        cfg: &S3OutputConfig,
        name: Arc<str>,
        health: ComponentHealth,
        ecs_task: &TaskAtStart,
    ) -> Result<Self, String> {
        let compression = cfg.compression;
        let settings = ObjectSettings {
            content_type: cfg.content_type.clone(),
            content_encoding: compression.content_encoding(),
            storage_class: cfg.storage_class.as_deref().map(Into::into),
            canned_acl: cfg.canned_acl.as_deref().map(Into::into),
            send_content_md5: cfg.send_content_md5.0,
        };
        let client = S3Client::build(cfg, settings).await?;
        let format = ecs_key_format(&cfg.s3_key_format, &name, ecs_task);
        let key = crate::template::s3_key::KeyTemplate::parse(
            &format,
            &cfg.s3_key_format_tag_delimiters,
            cfg.static_file_path.0,
        )
        .map_err(|e| format!("s3_key_format: {e}"))?;
        let dir: PathBuf = cfg.store_dir.join(&*name);
        let sizes = SizeOptions::of(cfg);
        let plan = UploadPlan::new(&sizes);
        log_size_notes(&name, &sizes, &plan);
        let store_settings = StoreSettings {
            compression,
            key,
            plan,
        };
        let open_dir = dir.clone();
        let (store, recovered, report) =
            tokio::task::spawn_blocking(move || Store::open(&open_dir, store_settings))
                .await
                .map_err(|e| format!("store_dir {}: {e}", dir.display()))?
                .map_err(|e| format!("store_dir {}: {e}", dir.display()))?;
        log_recovery(&name, &dir, &report);
        let limit_bytes = staging_limit(&name, &dir, cfg, &store);
        let c = name.to_string();
        let uploader = Uploader {
            name: name.clone(),
            dir,
            client,
            upload_chunk_bytes: plan.upload_chunk_bytes,
            use_put_object: plan.put_object,
            retry_limit: cfg.retry_limit,
            backoff: RETRY_BACKOFF,
            gate: Mutex::new(ThrottleGate::new(THROTTLE_BACKOFF)),
            rng: Mutex::new(Rng::from_entropy()),
            staged_bytes: store.staged_bytes(),
            metrics: UploadMetrics::new(&name),
            health: health.clone(),
            log: RateLimiter::default(),
        };
        let reporter = Reporter::new(name, health);
        Ok(Self {
            encoder: Arc::new(LineEncoder::new(cfg)),
            store: Some(store),
            uploader: Arc::new(uploader),
            pending: recovered.into(),
            to_abort: report.to_abort,
            workers: cfg.workers.max(1),
            preserve_order: cfg.preserve_data_ordering.0,
            limit_bytes,
            overflow: cfg.store_dir_overflow,
            store_full: reporter.metrics.dropped("store_full"),
            reporter: Arc::new(reporter),
            staged_gauge: metrics::gauge!(S3_STAGED_BYTES, "component" => c.clone()),
            files_gauge: metrics::gauge!(S3_STAGED_FILES, "component" => c.clone()),
            log_key_missing: metrics::counter!(OUTPUT_LOG_KEY_MISSING, "component" => c.clone()),
            staged_records: metrics::counter!(S3_STAGED_RECORDS, "component" => c.clone()),
            full_log: RateLimiter::default(),
            held: None,
            retrying: Retrying::new(),
            retry_at: None,
        })
        .inspect(|_| {
            if report.repaired > 0 {
                metrics::counter!(S3_RECOVERED_FILES, "component" => c).increment(report.repaired);
            }
        })
    }

    /// Runs until the channel is closed, everything is sealed and every upload has ended.
    pub async fn run(mut self, mut rx: Receiver<Arc<Batch>>) {
        // Each upload task returns the tag it held (none for aborts of leftovers).
        let mut uploads: JoinSet<Option<String>> = JoinSet::new();
        let mut busy_tags: HashSet<String> = HashSet::new();
        for (id, key, upload_id) in std::mem::take(&mut self.to_abort) {
            let up = self.uploader.clone();
            uploads.spawn(async move {
                up.abort_leftover(id, &key, &upload_id).await;
                None
            });
        }
        let staged = self.uploader.staged_bytes.clone();
        let mut round: Vec<Arc<Batch>> = Vec::new();
        let mut open = true;
        loop {
            while uploads.len() < self.workers {
                let Some(file) = self.next_upload(&busy_tags) else {
                    break;
                };
                let tag = file.meta.tag.clone();
                busy_tags.insert(tag.clone());
                let up = self.uploader.clone();
                uploads.spawn(async move {
                    let _: Outcome = up.upload(file).await;
                    Some(tag)
                });
            }
            self.update_gauges(&staged, uploads.len());
            let unstaged =
                self.held.is_some() || self.store.as_ref().is_some_and(Store::needs_repair);
            if !open && !unstaged && self.pending.is_empty() && uploads.is_empty() {
                break;
            }
            let full = self.limit_bytes > 0 && staged.load(Ordering::Relaxed) >= self.limit_bytes;
            let receive =
                open && self.held.is_none() && !(full && self.overflow == StoreOverflow::Block);
            let deadline = self.store.as_ref().and_then(Store::next_deadline);
            tokio::select! {
                more = recv_round(&mut rx, &mut round, MAX_ROUND_BYTES), if receive => {
                    if !more {
                        open = false;
                        self.blocking(|store, sealed| store.seal_all(sealed)).await;
                    } else if full {
                        self.drop_round(&round);
                    } else {
                        self.stage_round(&mut round).await;
                    }
                    round.clear();
                    self.schedule_retry();
                }
                Some(done) = uploads.join_next(), if !uploads.is_empty() => {
                    if let Ok(Some(tag)) = done {
                        busy_tags.remove(&tag);
                    }
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.blocking(|store, sealed| store.seal_due(Instant::now(), sealed)).await;
                    self.schedule_retry();
                }
                () = sleep_until(self.retry_at), if self.retry_at.is_some() => {
                    self.retry_at = None;
                    self.retry_staging().await;
                    self.schedule_retry();
                }
            }
        }
        self.update_gauges(&staged, 0);
    }

    /// The next sealed file to upload: the oldest, or with `preserve_data_ordering` the oldest
    /// whose tag has no upload running (a tag's files go up in the order they were sealed).
    fn next_upload(&mut self, busy_tags: &HashSet<String>) -> Option<SealedFile> {
        let i = next_index(&self.pending, busy_tags, self.preserve_order)?;
        self.pending.remove(i)
    }

    fn drop_round(&self, round: &[Arc<Batch>]) {
        let records: usize = round.iter().map(|b| b.events.len()).sum();
        self.store_full.increment(records as u64);
        for batch in round {
            batch.ack.dropped();
        }
        if let Some(suppressed) = self.full_log.allow() {
            tracing::warn!(component = %self.reporter.name, records, suppressed,
                "store_dir_limit_size reached: dropping records (store_dir_overflow = drop_newest)");
        }
    }

    fn update_gauges(&self, staged: &AtomicU64, uploading: usize) {
        self.staged_gauge.set(staged.load(Ordering::Relaxed) as f64);
        let open = self.store.as_ref().map_or(0, Store::open_files);
        self.files_gauge
            .set((open + self.pending.len() + uploading) as f64);
    }
}

/// Staging rounds, and trying again what a full disk held back.
mod staging;

/// Which pending file to upload next (see [`S3Output::next_upload`]).
fn next_index(
    pending: &VecDeque<SealedFile>,
    busy_tags: &HashSet<String>,
    preserve_order: bool,
) -> Option<usize> {
    if preserve_order {
        pending
            .iter()
            .position(|f| !busy_tags.contains(&f.meta.tag))
    } else if pending.is_empty() {
        None
    } else {
        Some(0)
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

impl crate::output::Output for S3Output {
    type Options = crate::config::output::s3::S3OutputConfig;

    async fn build(
        options: &Self::Options,
        ctx: crate::output::Context<'_>,
    ) -> Result<Self, String> {
        Self::new(options, ctx.name, ctx.health, ctx.ecs_task).await
    }

    fn run(self, rx: Receiver<Arc<Batch>>) -> impl std::future::Future<Output = ()> + Send {
        S3Output::run(self, rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventTime;
    use crate::output::s3::journal::{Compression, Meta};

    fn file(id: u64, tag: &str) -> SealedFile {
        SealedFile {
            id,
            meta: Meta::unsealed(
                tag.to_owned(),
                Compression::None,
                0,
                EventTime { secs: 0, nanos: 0 },
            ),
        }
    }

    #[test]
    fn preserved_order_uploads_one_file_per_tag_at_a_time_oldest_first() {
        let pending: VecDeque<SealedFile> =
            [file(1, "a"), file(2, "a"), file(3, "b"), file(4, "b")].into();
        let mut busy = HashSet::new();
        assert_eq!(next_index(&pending, &busy, true), Some(0));
        busy.insert("a".to_owned());
        assert_eq!(
            next_index(&pending, &busy, true),
            Some(2),
            "a's second file waits"
        );
        busy.insert("b".to_owned());
        assert_eq!(next_index(&pending, &busy, true), None);
        assert_eq!(
            next_index(&pending, &busy, false),
            Some(0),
            "without it: oldest first"
        );
        assert_eq!(next_index(&VecDeque::new(), &HashSet::new(), false), None);
    }
}
