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
use super::round::stage_round;
use super::sizes::{SizeOptions, UploadPlan, notes};
use super::store::{RecoveryReport, SealedFile, Store, StoreSettings};
use super::upload::{Outcome, UploadMetrics, Uploader};
use crate::config::s3::{S3OutputConfig, StoreOverflow};
use crate::ecs::TaskAtStart;
use crate::event::Batch;
use crate::health::ComponentHealth;
use crate::output::backoff::{Backoff, Rng, ThrottleGate};
use crate::output::{MAX_ROUND_BYTES, Reporter, recv_round};
use crate::ratelimit::RateLimiter;
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
        let key = super::key::KeyTemplate::parse(
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
            limit_bytes: cfg.store_dir_limit_size.0,
            overflow: cfg.store_dir_overflow,
            store_full: reporter.metrics.dropped("store_full"),
            reporter: Arc::new(reporter),
            staged_gauge: metrics::gauge!(S3_STAGED_BYTES, "component" => c.clone()),
            files_gauge: metrics::gauge!(S3_STAGED_FILES, "component" => c.clone()),
            log_key_missing: metrics::counter!(OUTPUT_LOG_KEY_MISSING, "component" => c.clone()),
            staged_records: metrics::counter!(S3_STAGED_RECORDS, "component" => c.clone()),
            full_log: RateLimiter::default(),
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
            if !open && self.pending.is_empty() && uploads.is_empty() {
                break;
            }
            let full = self.limit_bytes > 0 && staged.load(Ordering::Relaxed) >= self.limit_bytes;
            let receive = open && !(full && self.overflow == StoreOverflow::Block);
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
                }
                Some(done) = uploads.join_next(), if !uploads.is_empty() => {
                    if let Ok(Some(tag)) = done {
                        busy_tags.remove(&tag);
                    }
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.blocking(|store, sealed| store.seal_due(Instant::now(), sealed)).await;
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

    /// Encodes, appends and commits one round on a blocking thread, then releases its batches.
    async fn stage_round(&mut self, round: &mut Vec<Arc<Batch>>) {
        let Some(mut store) = self.store.take() else {
            return;
        };
        let batches = std::mem::take(round);
        let encoder = self.encoder.clone();
        let reporter = self.reporter.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut sealed = Vec::new();
            let stats = stage_round(&mut store, &encoder, &reporter, &batches, &mut sealed);
            (store, batches, sealed, stats)
        })
        .await;
        match joined {
            Ok((store, batches, sealed, counts)) => {
                self.store = Some(store);
                self.pending.extend(sealed);
                self.log_key_missing.increment(counts.log_key_missing);
                self.staged_records.increment(counts.staged);
                drop(batches); // durable: resolves the acks
            }
            Err(e) => {
                tracing::error!(component = %self.reporter.name, error = %e,
                    "staging task failed; the output stops");
            }
        }
    }

    /// Runs a store operation that may seal files on a blocking thread.
    async fn blocking<F>(&mut self, op: F)
    where
        F: FnOnce(&mut Store, &mut Vec<SealedFile>) -> std::io::Result<()> + Send + 'static,
    {
        let Some(mut store) = self.store.take() else {
            return;
        };
        let joined = tokio::task::spawn_blocking(move || {
            let mut sealed = Vec::new();
            let result = op(&mut store, &mut sealed);
            (store, sealed, result)
        })
        .await;
        if let Ok((store, sealed, result)) = joined {
            self.store = Some(store);
            self.pending.extend(sealed);
            if let Err(e) = result {
                self.reporter
                    .health
                    .record_error(Instant::now(), format!("sealing failed: {e}"));
                tracing::error!(component = %self.reporter.name, error = %e,
                    "could not seal a staging file; it stays in store_dir for the next start");
            }
        }
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

/// Fluent Bit's own size adjustments (info), where firelane differs (warnings), and the plan.
fn log_size_notes(name: &str, sizes: &SizeOptions, plan: &UploadPlan) {
    let n = notes(sizes);
    for info in &n.info {
        tracing::info!(component = name, "{info}");
    }
    for warning in &n.warnings {
        tracing::warn!(component = name, "{warning}");
    }
    tracing::info!(component = name, put_object = plan.put_object,
        total_file_bytes = plan.total_file_bytes, upload_chunk_bytes = plan.upload_chunk_bytes,
        upload_timeout = ?plan.upload_timeout, "s3 upload plan");
}

fn log_recovery(name: &str, dir: &std::path::Path, report: &RecoveryReport) {
    if report.to_upload > 0 || report.repaired > 0 {
        tracing::info!(component = name, dir = %dir.display(), files = report.to_upload,
            repaired = report.repaired, dropped_tail_bytes = report.dropped_tail_bytes,
            "uploading files staged by a previous run");
    }
    for (id, reason) in &report.unreadable {
        tracing::error!(component = name, dir = %dir.display(), id, reason = %reason,
            "cannot use a staged file's metadata; leaving it in place");
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// The key format with the `$ecs_*` variables filled in from the task metadata read at start
/// (`unknown` where it could not be read, with a logged reason).
fn ecs_key_format(format: &str, name: &str, task: &TaskAtStart) -> String {
    use crate::ecs::{ECS_METADATA_ENV, vars};
    if !vars::uses_variables(format) {
        return format.to_owned();
    }
    match task {
        TaskAtStart::Read { .. } => {}
        TaskAtStart::Unavailable { error, .. } => {
            tracing::error!(output = name, error = %error, "s3_key_format uses $ecs_* variables but the task metadata cannot be read: they render as `unknown`");
        }
        TaskAtStart::NotOnEcs => tracing::warn!(
            output = name,
            "s3_key_format uses $ecs_* variables but {ECS_METADATA_ENV} is not set (not on ECS?): they render as `unknown`"
        ),
    }
    vars::substitute(format, task.task())
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
