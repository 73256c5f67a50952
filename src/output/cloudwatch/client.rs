//! The SDK edge: builds the CloudWatch Logs client from the output's options and turns each call's
//! failure into a [`CallError`] the sender can act on. No retry logic here: the SDK's own retries
//! are disabled so the output's policy (backoff, output-wide throttling, retry_limit) is the only one.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::types::{LogGroupClass, RejectedLogEventsInfo};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

use super::errors::{ErrorClass, classify};
use crate::config::cloudwatch::{CloudWatchOutputConfig, LogFormat, endpoint_url};

/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for one attempt of one call (a 1 MiB PutLogEvents takes well under a second).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Session name when assuming `role_arn`.
const SESSION_NAME: &str = "firelane";

/// A failed call, classified.
#[derive(Debug, Clone)]
pub struct CallError {
    pub class: ErrorClass,
    /// The service's error code, if it answered.
    pub code: Option<String>,
    /// The full error, for logs (never includes credentials).
    pub detail: String,
}

/// The CloudWatch Logs calls the output makes.
#[derive(Debug, Clone)]
pub struct CwClient {
    inner: Client,
    emf: bool,
}

impl CwClient {
    /// Builds the client: region, profile, endpoint override, optional STS assume-role.
    pub async fn build(cfg: &CloudWatchOutputConfig) -> Result<Self, String> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &cfg.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &cfg.profile {
            loader = loader.profile_name(profile);
        }
        let base = loader.load().await;
        if base.region().is_none() {
            return Err(
                "no AWS region: set `region` or the AWS_REGION environment variable".to_owned(),
            );
        }
        let mut builder = aws_sdk_cloudwatchlogs::config::Builder::from(&base)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build(),
            );
        if let Some(endpoint) = &cfg.endpoint {
            builder = builder.endpoint_url(endpoint_url(endpoint)?);
        }
        if let Some(role) = &cfg.role_arn {
            let mut sts = base.to_builder();
            if let Some(endpoint) = &cfg.sts_endpoint {
                sts = sts.endpoint_url(endpoint_url(endpoint)?);
            }
            let mut provider = aws_config::sts::AssumeRoleProvider::builder(role.clone())
                .session_name(SESSION_NAME)
                .configure(&sts.build());
            if let Some(id) = &cfg.external_id {
                provider = provider.external_id(id.clone());
            }
            builder = builder.credentials_provider(provider.build().await);
        }
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

    /// One PutLogEvents call (no sequence token) with a body from [`super::body::request_body`].
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
            Err(e) => Err(call_error(e)),
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
        ignore_exists(result.map(|_| ()).map_err(call_error))
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
        ignore_exists(result.map(|_| ()).map_err(call_error))
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
            .map_err(call_error)
    }
}

fn ignore_exists(result: Result<(), CallError>) -> Result<(), CallError> {
    match result {
        Err(e) if e.class == ErrorClass::AlreadyExists => Ok(()),
        other => other,
    }
}

fn call_error<E>(err: SdkError<E, aws_sdk_cloudwatchlogs::config::http::HttpResponse>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let (code, message) = (ctx.err().code(), ctx.err().message());
            CallError {
                class: classify(code, message, status),
                code: code.map(str::to_owned),
                detail,
            }
        }
        // Timeouts, connection failures, unreadable answers and failures to build or sign the
        // request (e.g. credentials not available yet) are all worth another try.
        _ => CallError {
            class: ErrorClass::Retryable,
            code: None,
            detail,
        },
    }
}
