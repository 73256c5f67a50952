//! The SDK edge: builds the CloudWatch Logs client from the output's options and turns each call's
//! failure into a [`CallError`] the sender can act on. No retry logic here: the SDK's own retries
//! are disabled so the output's policy (backoff, output-wide throttling, retry_limit) is the only one.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{LogGroupClass, RejectedLogEventsInfo};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

use crate::config::common::AwsEntry;
use crate::config::output::cloudwatch::{CloudWatchOutputConfig, LogFormat};
pub use crate::output::aws::CallError;
use crate::output::aws::errors::ErrorClass;
use crate::output::aws::{CLOUDWATCH_LOGS_SERVICE_ID, SdkSetup, no_retries, timeouts};

/// Time allowed for one attempt of one call (a 1 MiB PutLogEvents takes well under a second).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The CloudWatch Logs calls the output makes.
#[derive(Debug, Clone)]
pub struct CwClient {
    inner: Client,
    emf: bool,
}

impl CwClient {
    /// Builds the client: region, profile, endpoint override, optional STS assume-role.
    pub async fn build(cfg: &CloudWatchOutputConfig) -> Result<Self, String> {
        let setup = SdkSetup::load(cfg.aws_auth()).await?;
        let mut builder = aws_sdk_cloudwatchlogs::config::Builder::from(&setup.base)
            .retry_config(no_retries())
            .timeout_config(timeouts(ATTEMPT_TIMEOUT));
        builder.set_endpoint_url(setup.endpoint_for(CLOUDWATCH_LOGS_SERVICE_ID));
        builder.set_credentials_provider(setup.credentials);
        Ok(Self {
            inner: Client::from_conf(builder.build()),
            emf: cfg.log_format == LogFormat::JsonEmf,
        })
    }

    /// Wraps a client built elsewhere (benchmarks give it an in-process HTTP client).
    pub fn from_client(inner: Client, log_format: LogFormat) -> Self {
        Self {
            inner,
            emf: log_format == LogFormat::JsonEmf,
        }
    }

    /// One PutLogEvents call (no sequence token) with a body written by [`super::body`].
    /// The SDK still signs and sends it, handles credentials and parses the answer; only the
    /// serializing of the events is ours. Returns what the service refused, if anything.
    pub async fn put_log_events(
        &self,
        group: &str,
        stream: &str,
        body: Bytes,
    ) -> Result<Option<RejectedLogEventsInfo>, CallError> {
        let emf = self.emf;
        let result = self
            .inner
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(Vec::new()))
            .customize()
            // Runs before signing, so the signature covers this body.
            .mutate_request(move |req| {
                req.headers_mut()
                    .insert("content-length", body.len().to_string());
                *req.body_mut() = SdkBody::from(body.clone());
                if emf {
                    req.headers_mut().insert("x-amzn-logs-format", "json/emf");
                }
            })
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.rejected_log_events_info),
            Err(e) => Err(CallError::from_sdk(e)),
        }
    }

    /// CreateLogStream; an existing stream is success.
    pub async fn create_log_stream(&self, group: &str, stream: &str) -> Result<(), CallError> {
        let result = self
            .inner
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await;
        ignore_exists(result.map(|_| ()).map_err(CallError::from_sdk))
    }

    /// CreateLogGroup (with its class); an existing group is success.
    pub async fn create_log_group(
        &self,
        group: &str,
        class: Option<&str>,
    ) -> Result<(), CallError> {
        let result = self
            .inner
            .create_log_group()
            .log_group_name(group)
            .set_log_group_class(class.map(LogGroupClass::from))
            .send()
            .await;
        ignore_exists(result.map(|_| ()).map_err(CallError::from_sdk))
    }

    /// PutRetentionPolicy.
    pub async fn put_retention_policy(&self, group: &str, days: u32) -> Result<(), CallError> {
        self.inner
            .put_retention_policy()
            .log_group_name(group)
            .retention_in_days(i32::try_from(days).unwrap_or(i32::MAX))
            .send()
            .await
            .map(|_| ())
            .map_err(CallError::from_sdk)
    }
}

fn ignore_exists(result: Result<(), CallError>) -> Result<(), CallError> {
    match result {
        Err(e) if e.class == ErrorClass::AlreadyExists => Ok(()),
        other => other,
    }
}
