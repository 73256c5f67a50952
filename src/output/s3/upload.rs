//! Uploads one sealed file: PutObject, or a multipart upload whose id and part ETags are
//! journaled on disk so a restart completes it, then deletes the file.
//!
//! Each call retries on its own: throttling (`SlowDown`) pauses every upload of the output,
//! transient failures back off this call, both with full jitter, until `retry_limit` is spent. A
//! permanent failure (access denied, missing bucket) is logged as an error and retried with the
//! same backoff (such problems are usually fixed while running, by a policy change). A spent limit sets the file
//! aside: it stays on disk, counted and logged, and is uploaded at the next start. A multipart
//! upload that S3 no longer knows (`NoSuchUpload`) is started again, once per upload.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use metrics::{Counter, Histogram};

use super::client::{BodyRange, S3Client};
use super::journal::{self, data_name};
use super::parts::{Method, choose_method};
use super::store::{SealedFile, forget};
use crate::health::ComponentHealth;
use crate::output::aws::CallError;
use crate::output::aws::errors::ErrorClass;
use crate::output::backoff::{Backoff, RetryLimit, ThrottleGate};
use crate::ratelimit::RateLimiter;
use crate::rng::Rng;
use crate::telemetry::{
    OUTPUT_BYTES, OUTPUT_RECORDS, OUTPUT_REQUEST_SECONDS, OUTPUT_REQUESTS, OUTPUT_RETRIES,
    OUTPUT_THROTTLED, S3_OBJECTS, S3_PARTS, S3_UPLOAD_FAILURES, S3_UPLOAD_SECONDS,
    S3_UPLOADED_BYTES,
};

/// How an upload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// In S3; the local files are deleted.
    Uploaded,
    /// Given up on for now; the file stays on disk for the next start.
    SetAside(&'static str),
}

/// Multipart uploads: started, parts journaled, resumed, completed.
mod multipart;

/// Why a call sequence stopped.
#[derive(Debug)]
enum Stop {
    /// S3 does not know the multipart upload: start it again.
    UploadGone,
    /// Set the file aside, with this reason label and error.
    GiveUp(&'static str, CallError),
}

/// Metric handles of the uploads.
#[derive(Debug)]
pub struct UploadMetrics {
    component: String,
    put_objects: Counter,
    multipart_objects: Counter,
    raw_bytes: Counter,
    compressed_bytes: Counter,
    records: Counter,
    bytes: Counter,
    parts: Counter,
    upload_seconds: Histogram,
    request_seconds: Histogram,
    requests_ok: Counter,
    requests_failed: Counter,
    throttled: Counter,
}

impl UploadMetrics {
    pub fn new(name: &str) -> Self {
        let c = name.to_owned();
        Self {
            put_objects: metrics::counter!(S3_OBJECTS, "component" => c.clone(), "method" => "put_object"),
            multipart_objects: metrics::counter!(S3_OBJECTS, "component" => c.clone(), "method" => "multipart"),
            raw_bytes: metrics::counter!(S3_UPLOADED_BYTES, "component" => c.clone(), "kind" => "raw"),
            compressed_bytes: metrics::counter!(S3_UPLOADED_BYTES, "component" => c.clone(), "kind" => "compressed"),
            records: metrics::counter!(OUTPUT_RECORDS, "component" => c.clone()),
            bytes: metrics::counter!(OUTPUT_BYTES, "component" => c.clone()),
            parts: metrics::counter!(S3_PARTS, "component" => c.clone()),
            upload_seconds: metrics::histogram!(S3_UPLOAD_SECONDS, "component" => c.clone()),
            request_seconds: metrics::histogram!(OUTPUT_REQUEST_SECONDS, "component" => c.clone()),
            requests_ok: metrics::counter!(OUTPUT_REQUESTS, "component" => c.clone(), "outcome" => "ok"),
            requests_failed: metrics::counter!(OUTPUT_REQUESTS, "component" => c.clone(), "outcome" => "error"),
            throttled: metrics::counter!(OUTPUT_THROTTLED, "component" => c.clone()),
            component: c,
        }
    }

    fn retry(&self, reason: &'static str) {
        metrics::counter!(OUTPUT_RETRIES, "component" => self.component.clone(), "reason" => reason)
            .increment(1);
    }

    fn failure(&self, reason: &'static str) {
        metrics::counter!(S3_UPLOAD_FAILURES, "component" => self.component.clone(), "reason" => reason)
            .increment(1);
    }
}

/// Everything the uploads of one output share.
#[derive(Debug)]
pub struct Uploader {
    pub name: Arc<str>,
    pub dir: PathBuf,
    pub client: S3Client,
    pub upload_chunk_bytes: u64,
    pub use_put_object: bool,
    pub retry_limit: RetryLimit,
    pub backoff: Backoff,
    pub gate: Mutex<ThrottleGate>,
    pub rng: Mutex<Rng>,
    pub staged_bytes: Arc<AtomicU64>,
    pub metrics: UploadMetrics,
    pub health: ComponentHealth,
    pub log: RateLimiter,
}

impl Uploader {
    /// Uploads `file`, then deletes it from the store.
    pub async fn upload(&self, mut file: SealedFile) -> Outcome {
        let Some(sealed) = file.sealed().cloned() else {
            return Outcome::SetAside("not_sealed");
        };
        let path = self.dir.join(data_name(file.id));
        let started = Instant::now();
        let method = if file.meta.multipart.is_some() {
            Method::Multipart
        } else {
            choose_method(
                sealed.disk_bytes,
                self.upload_chunk_bytes,
                self.use_put_object,
            )
        };
        let result = match method {
            Method::PutObject => {
                let body = BodyRange {
                    path: &path,
                    offset: 0,
                    len: sealed.disk_bytes,
                };
                self.retrying(|| self.client.put_object(&sealed.key, body))
                    .await
            }
            Method::Multipart => self.multipart(&mut file, &path, sealed.disk_bytes).await,
        };
        match result {
            Ok(()) => {
                self.metrics.upload_seconds.record(started.elapsed());
                match method {
                    Method::PutObject => self.metrics.put_objects.increment(1),
                    Method::Multipart => self.metrics.multipart_objects.increment(1),
                }
                self.metrics.raw_bytes.increment(sealed.raw_bytes);
                self.metrics.compressed_bytes.increment(sealed.disk_bytes);
                self.metrics.bytes.increment(sealed.disk_bytes);
                self.metrics.records.increment(sealed.records);
                tracing::debug!(component = %self.name, key = %sealed.key,
                    bytes = sealed.disk_bytes, "uploaded");
                let (dir, staged) = (self.dir.clone(), self.staged_bytes.clone());
                let removed =
                    tokio::task::spawn_blocking(move || forget(&dir, &file, &staged)).await;
                if let Ok(Err(e)) | Err(e) = removed.map_err(std::io::Error::other) {
                    tracing::error!(component = %self.name, key = %sealed.key, error = %e,
                        "uploaded, but the staged file could not be deleted; it will be uploaded again at the next start");
                }
                Outcome::Uploaded
            }
            Err(Stop::GiveUp(reason, err)) => self.set_aside(&sealed.key, reason, &err),
            Err(Stop::UploadGone) => self.set_aside(
                &sealed.key,
                "upload_gone",
                &CallError {
                    class: ErrorClass::NotFound,
                    code: Some("NoSuchUpload".to_owned()),
                    detail: "the multipart upload vanished twice".to_owned(),
                },
            ),
        }
    }

    /// Aborts an upload a previous run left without its data, then deletes its metadata.
    pub async fn abort_leftover(&self, id: u64, key: &str, upload_id: &str) {
        match self
            .retrying(|| self.client.abort_multipart(key, upload_id))
            .await
        {
            Ok(()) => {
                let dir = self.dir.clone();
                let _ = tokio::task::spawn_blocking(move || journal::remove_files(&dir, id)).await;
            }
            Err(Stop::GiveUp(_, e)) => {
                tracing::warn!(component = %self.name, key, error = %e.detail,
                    "could not abort a multipart upload left by a previous run; trying again at the next start");
            }
            Err(Stop::UploadGone) => {}
        }
    }

    fn set_aside(&self, key: &str, reason: &'static str, err: &CallError) -> Outcome {
        self.metrics.failure(reason);
        self.health
            .record_error(Instant::now(), format!("upload failed: {reason}"));
        tracing::error!(component = %self.name, key, reason, error = %err.detail,
            "upload failed; the file stays in store_dir and is uploaded at the next start");
        Outcome::SetAside(reason)
    }

    /// Runs one call until it succeeds, S3 forgets the upload, or the retry policy gives up.
    async fn retrying<T, F, Fut>(&self, mut call: F) -> Result<T, Stop>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let mut retries = 0u32;
        loop {
            self.wait_while_throttled().await;
            let started = Instant::now();
            let result = call().await;
            self.metrics.request_seconds.record(started.elapsed());
            let err = match result {
                Ok(value) => {
                    self.metrics.requests_ok.increment(1);
                    lock(&self.gate).on_success();
                    return Ok(value);
                }
                Err(e) => e,
            };
            self.metrics.requests_failed.increment(1);
            let permanent = matches!(err.class, ErrorClass::Permanent | ErrorClass::AlreadyExists);
            match err.class {
                ErrorClass::NotFound => return Err(Stop::UploadGone),
                _ if !self.retry_limit.allows(retries) => {
                    let reason = if permanent {
                        "permanent_error"
                    } else {
                        "retries_exhausted"
                    };
                    return Err(Stop::GiveUp(reason, err));
                }
                _ => {}
            }
            if permanent {
                // Access denied or a missing bucket is usually fixed while we run (a policy
                // change): keep the file and keep trying with backoff.
                tracing::error!(component = %self.name, code = err.code.as_deref().unwrap_or(""),
                    error = %err.detail, "S3 refused the upload; retrying with backoff");
            }
            retries += 1;
            self.metrics.retry(err.class.reason());
            let now = Instant::now();
            if let Some(suppressed) = self.log.allow() {
                tracing::warn!(component = %self.name, retries, reason = err.class.reason(),
                    error = %err.detail, suppressed, "S3 call failed; retrying");
            }
            if err.class == ErrorClass::Throttled {
                self.metrics.throttled.increment(1);
                let until = {
                    let mut rng = lock(&self.rng);
                    lock(&self.gate).on_throttle(now, &mut rng)
                };
                tokio::time::sleep_until(until.into()).await;
            } else {
                self.health
                    .record_error(now, format!("upload call failed: {}", err.class.reason()));
                let delay = self.backoff.delay(retries - 1, &mut lock(&self.rng));
                tokio::time::sleep(delay).await;
            }
        }
    }

    async fn wait_while_throttled(&self) {
        loop {
            let until = lock(&self.gate).paused_until(Instant::now());
            match until {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => return,
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data; keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
