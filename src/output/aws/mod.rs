//! What the AWS outputs share: loading the SDK configuration from an output's options (region,
//! profile, endpoint override, STS assume-role) and turning a failed call into a [`CallError`].
//!
//! Without an `endpoint` option, the SDK's standard endpoint settings apply to every client built
//! here: `AWS_ENDPOINT_URL_<SERVICE>` (`CLOUDWATCH_LOGS`, `S3`, `STS`), then `AWS_ENDPOINT_URL`,
//! then the profile's (see [`SdkSetup::endpoint_for`]).
//!
//! The SDKs' own retries are disabled by every client built here: each output has one retry
//! policy of its own (backoff, throttling, retry_limit), and two layered policies multiply.

/// What a failed call means: retry, create, pause the output, or give up.
pub mod errors;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::service_config::ServiceConfigKey;

pub use crate::config::common::AwsAuth;
use crate::config::common::endpoint_url;
use errors::{ErrorClass, classify};

/// Time allowed to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Session name when assuming `role_arn`.
const SESSION_NAME: &str = "firelane";

/// What a service client is built from.
#[derive(Debug, Clone)]
pub struct SdkSetup {
    /// Region, credentials chain, HTTP client.
    pub base: SdkConfig,
    /// The `endpoint` option as a URL.
    pub endpoint_url: Option<String>,
    /// The assume-role provider when `role_arn` is set.
    pub credentials: Option<SharedCredentialsProvider>,
}

impl SdkSetup {
    /// Loads the SDK's default chain with the options applied; fails without a region.
    pub async fn load(opts: AwsAuth<'_>) -> Result<Self, String> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = opts.region {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        if let Some(profile) = opts.profile {
            loader = loader.profile_name(profile);
        }
        let base = loader.load().await;
        if base.region().is_none() {
            return Err(
                "no AWS region: set `region` or the AWS_REGION environment variable".to_owned(),
            );
        }
        let endpoint = opts.endpoint.map(endpoint_url).transpose()?;
        let credentials = match opts.role_arn {
            None => None,
            Some(role) => {
                let mut sts = base.to_builder();
                if let Some(endpoint) = opts.sts_endpoint {
                    sts = sts.endpoint_url(endpoint_url(endpoint)?);
                }
                let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name(SESSION_NAME)
                    .configure(&sts.build());
                if let Some(id) = opts.external_id {
                    provider = provider.external_id(id);
                }
                Some(SharedCredentialsProvider::new(provider.build().await))
            }
        };
        Ok(Self {
            base,
            endpoint_url: endpoint,
            credentials,
        })
    }
}

/// The SDK's service id of CloudWatch Logs (`AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`).
pub const CLOUDWATCH_LOGS_SERVICE_ID: &str = "CloudWatch Logs";
/// The SDK's service id of S3 (`AWS_ENDPOINT_URL_S3`).
pub const S3_SERVICE_ID: &str = "S3";

impl SdkSetup {
    /// The endpoint of the service whose SDK id is `service_id`: the `endpoint` option, else the
    /// one the SDK configures from the environment and the profile (`AWS_ENDPOINT_URL_<SERVICE>`,
    /// then `AWS_ENDPOINT_URL`, then the profile's `endpoint_url`s), found as the SDK's own
    /// `Builder::from(&SdkConfig)` finds it. `None`: the service's regional endpoint.
    ///
    /// Clients set their endpoint to this rather than to the option alone, which would throw
    /// away what the SDK took from the environment.
    pub fn endpoint_for(&self, service_id: &str) -> Option<String> {
        if let Some(url) = &self.endpoint_url {
            return Some(url.clone());
        }
        if self.base.get_origin("endpoint_url").is_client_config() {
            return self.base.endpoint_url().map(str::to_owned);
        }
        let key = ServiceConfigKey::builder()
            .service_id(service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .ok()?;
        self.base
            .service_config()
            .and_then(|c| c.load_config(key))
            .or_else(|| self.base.endpoint_url().map(str::to_owned))
    }
}

/// No SDK retries: the output's policy is the only one.
pub fn no_retries() -> RetryConfig {
    RetryConfig::disabled()
}

/// Connect and per-attempt timeouts.
pub fn timeouts(attempt: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(attempt)
        .build()
}

/// A failed call, classified.
#[derive(Debug, Clone)]
pub struct CallError {
    pub class: ErrorClass,
    /// The service's error code, if it answered.
    pub code: Option<String>,
    /// The full error, for logs (never includes credentials).
    pub detail: String,
}

impl CallError {
    /// Classifies any SDK call's failure.
    pub fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let detail = DisplayErrorContext(&err).to_string();
        match &err {
            SdkError::ServiceError(ctx) => {
                let status = ctx.raw().status().as_u16();
                let (code, message) = (ctx.err().code(), ctx.err().message());
                Self {
                    class: classify(code, message, status),
                    code: code.map(str::to_owned),
                    detail,
                }
            }
            // Timeouts, connection failures, unreadable answers and failures to build or sign the
            // request (e.g. credentials not available yet) are all worth another try.
            _ => Self {
                class: ErrorClass::Retryable,
                code: None,
                detail,
            },
        }
    }
}
