//! Downloading an init file from S3, as the init process does: ask the bucket's region
//! (GetBucketLocation, from the task's region, else the SDK's own region settings, else the ARN's
//! partition's first region), then GetObject from that region, trying twice.
//!
//! Limits: each call is bounded by [`ATTEMPT_TIMEOUT`]; an object larger than
//! [`MAX_INIT_FILE_BYTES`] is refused (a configuration file is a few KiB).

use std::path::Path;
use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_sdk_s3::Client;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::files::S3Object;
use crate::output::aws::{AwsAuth, SdkSetup, no_retries, timeouts};
use crate::output::s3::client::config_builder;

/// Longest one call may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest init file accepted.
pub const MAX_INIT_FILE_BYTES: usize = 8 << 20;
/// GetObject attempts (the init process tries twice).
const DOWNLOAD_ATTEMPTS: u32 = 2;

/// Downloads `obj` to `dest`; `task_region` is the region of the ECS task, if known. The error
/// says which step failed and why.
pub async fn download(
    obj: &S3Object,
    task_region: Option<&str>,
    dest: &Path,
) -> Result<(), String> {
    let region = match task_region {
        Some(r) => r.to_owned(),
        None => RegionProviderChain::default_provider()
            .region()
            .await
            .map_or_else(
                || obj.partition_default_region().to_owned(),
                |r| r.to_string(),
            ),
    };
    let client = client(&region).await?;
    let location = client
        .get_bucket_location()
        .bucket(&obj.bucket)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot get the region of bucket `{}` (GetBucketLocation, which the init process \
                 needs; only the bucket's owner may call it): {}",
                obj.bucket,
                DisplayErrorContext(&e)
            )
        })?;
    let bucket_region = match location.location_constraint().map(|c| c.as_str()) {
        // Buckets in us-east-1 have no location constraint; `EU` is the old name of eu-west-1.
        None | Some("") => "us-east-1".to_owned(),
        Some("EU") => "eu-west-1".to_owned(),
        Some(r) => r.to_owned(),
    };
    let client = if bucket_region == region {
        client
    } else {
        self::client(&bucket_region).await?
    };
    let mut last = String::new();
    for _ in 0..DOWNLOAD_ATTEMPTS {
        match get_object(&client, obj).await {
            Ok(body) => {
                return std::fs::write(dest, body)
                    .map_err(|e| format!("cannot write {}: {e}", dest.display()));
            }
            Err(e) => last = e,
        }
    }
    Err(format!(
        "cannot download s3://{}/{} (GetObject, {DOWNLOAD_ATTEMPTS} attempts): {last}",
        obj.bucket, obj.key
    ))
}

/// An S3 client for `region`, with the SDK's credentials and endpoint settings.
async fn client(region: &str) -> Result<Client, String> {
    let setup = SdkSetup::load(AwsAuth {
        region: Some(region),
        ..AwsAuth::default()
    })
    .await?;
    let conf = config_builder(&setup)
        .retry_config(no_retries())
        .timeout_config(timeouts(ATTEMPT_TIMEOUT))
        .build();
    Ok(Client::from_conf(conf))
}

async fn get_object(client: &Client, obj: &S3Object) -> Result<Vec<u8>, String> {
    let mut resp = client
        .get_object()
        .bucket(&obj.bucket)
        .key(&obj.key)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(&e).to_string())?;
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .body
        .try_next()
        .await
        .map_err(|e| format!("reading the object: {e}"))?
    {
        if body.len() + chunk.len() > MAX_INIT_FILE_BYTES {
            return Err(format!(
                "the object is larger than {MAX_INIT_FILE_BYTES} bytes: not a configuration file"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
