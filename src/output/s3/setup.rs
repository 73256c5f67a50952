//! What the S3 output works out at start: the staging limit, the key format's `$ecs_*`
//! variables, and the notes it logs about sizes and recovery.

use std::sync::atomic::Ordering;

use super::store::{RecoveryReport, Store};
use crate::config::output::s3::S3OutputConfig;
use crate::config::output::s3::sizes::{SizeOptions, UploadPlan, notes};
use crate::ecs::TaskAtStart;

/// Fluent Bit's own size adjustments (info), where firelane differs (warnings), and the plan.
pub(super) fn log_size_notes(name: &str, sizes: &SizeOptions, plan: &UploadPlan) {
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

pub(super) fn log_recovery(name: &str, dir: &std::path::Path, report: &RecoveryReport) {
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

/// `store_dir_limit_size`, or when it is not set the default from the free space now.
pub(super) fn staging_limit(
    name: &str,
    dir: &std::path::Path,
    cfg: &S3OutputConfig,
    store: &Store,
) -> u64 {
    if let Some(limit) = cfg.store_dir_limit_size {
        return limit.0;
    }
    let staged = store.staged_bytes().load(Ordering::Relaxed);
    match rustix::fs::statvfs(dir) {
        Ok(fs) => {
            let free = fs.f_bavail.saturating_mul(fs.f_frsize);
            let limit = crate::config::output::s3::sizes::default_store_limit(free, staged);
            tracing::info!(component = name, dir = %dir.display(), free_bytes = free,
                staged_bytes = staged, limit_bytes = limit,
                "store_dir_limit_size not set: staging stops at half the free space (plus what is staged)");
            limit
        }
        Err(e) => {
            tracing::warn!(component = name, dir = %dir.display(), error = %e,
                "store_dir_limit_size not set and the free space cannot be read: no limit (a full disk makes the inputs wait)");
            0
        }
    }
}

/// The key format with the `$ecs_*` variables filled in from the task metadata read at start
/// (`unknown` where it could not be read, with a logged reason).
pub(super) fn ecs_key_format(format: &str, name: &str, task: &TaskAtStart) -> String {
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
