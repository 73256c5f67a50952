//! ECS task metadata: the one way firelane reads it (`$ECS_CONTAINER_METADATA_URI_V4/task`, see
//! [`fetch`]), and what is made of it.
//!
//! Invariant: a process reads the default endpoint once, at start ([`TaskAtStart::read`]); every
//! user of the task metadata (the init variables, the Go `cloudwatch` plugin's `$(ecs_*)`, the
//! `ecs` filter, the S3 key's `$ecs_*`) takes it from that [`TaskAtStart`]. Only an `ecs` filter
//! given its own `metadata_uri` reads again.

/// Getting the task metadata over HTTP, with retries.
pub mod fetch;
/// The variables the aws-for-fluent-bit init process exports from the task metadata.
pub mod init_vars;
/// Parsing the `/task` response.
pub mod task;
/// ECS metadata as variables of fixed output templates (the S3 key format).
pub mod vars;

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::env::Env;
use task::TaskMetadata;

/// The variable the ECS agent sets to the task metadata endpoint v4.
pub const ECS_METADATA_ENV: &str = "ECS_CONTAINER_METADATA_URI_V4";
/// Attempts of the start-up read (each bounded by [`fetch::ATTEMPT_TIMEOUT`]); the `ecs` filter's
/// default too.
pub const START_ATTEMPTS: u32 = 5;
/// Pause between two attempts of the start-up read.
pub const START_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Why the task metadata could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MetadataError {
    #[error("ECS task metadata is not valid: {0}")]
    BadMetadata(String),
    #[error("ECS metadata URI `{0}` is not an http:// URI with a host")]
    BadUri(String),
    #[error("could not get ECS task metadata from {uri} after {attempts} attempt(s): {last}")]
    Fetch {
        uri: String,
        attempts: u32,
        last: String,
    },
}

/// What the start-up read of the task metadata endpoint found.
#[derive(Debug, Clone, Default)]
pub enum TaskAtStart {
    /// `ECS_CONTAINER_METADATA_URI_V4` is not set (or empty): not running on ECS.
    #[default]
    NotOnEcs,
    /// Read from `uri`.
    Read {
        uri: String,
        task: Arc<TaskMetadata>,
    },
    /// The endpoint is set but could not be read; `error` says why.
    Unavailable { uri: String, error: String },
}

impl TaskAtStart {
    /// Reads the endpoint `env` names, [`START_ATTEMPTS`] times at most.
    pub async fn read(env: &dyn Env) -> Self {
        Self::read_with(env, START_ATTEMPTS, START_RETRY_DELAY).await
    }

    /// [`TaskAtStart::read`] with other retry settings (tests).
    pub async fn read_with(env: &dyn Env, attempts: u32, delay: Duration) -> Self {
        let Some(uri) = env.var(ECS_METADATA_ENV).filter(|u| !u.trim().is_empty()) else {
            return Self::NotOnEcs;
        };
        match fetch::fetch_task_metadata(&uri, attempts, delay).await {
            Ok(task) => Self::Read {
                uri,
                task: Arc::new(task),
            },
            Err(e) => Self::Unavailable {
                uri,
                error: e.to_string(),
            },
        }
    }

    /// The task, when it was read.
    pub fn task(&self) -> Option<&TaskMetadata> {
        match self {
            Self::Read { task, .. } => Some(task),
            _ => None,
        }
    }

    /// One line for logs and `firelane validate`: where the metadata came from, or why not.
    pub fn describe(&self) -> String {
        match self {
            Self::NotOnEcs => format!("{ECS_METADATA_ENV} is not set: no ECS task metadata"),
            Self::Read { uri, task } => format!(
                "ECS task metadata read from {}/task: task {} in cluster {}",
                uri.trim_end_matches('/'),
                task.task_arn,
                task.cluster
            ),
            Self::Unavailable { error, .. } => {
                format!("ECS task metadata is not available, going on without it: {error}")
            }
        }
    }
}
