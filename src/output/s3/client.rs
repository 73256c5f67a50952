//! The SDK edge: builds the S3 client from the output's options and makes the upload calls, each
//! body streamed from a byte range of a sealed file on disk (bounded memory whatever the size).
//! No retry logic here: the SDK's own retries are disabled (see [`crate::output::aws`]).

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ObjectCannedAcl, StorageClass};
use base64::Engine as _;
use md5::{Digest as _, Md5};
use std::io::Read as _;

use crate::config::common::AwsEntry;
use crate::config::output::s3::S3OutputConfig;
use crate::output::aws::errors::ErrorClass;
use crate::output::aws::{CallError, S3_SERVICE_ID, SdkSetup, no_retries, timeouts};

/// Time allowed for one attempt of one call: a 50 MB part over a slow link takes a while.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(300);
/// Read buffer of a body streamed from disk.
const BODY_BUFFER_BYTES: usize = 256 << 10;

/// Object settings sent with every upload.
#[derive(Debug, Clone, Default)]
pub struct ObjectSettings {
    pub content_type: Option<String>,
    /// `gzip` / `zstd` when compressed.
    pub content_encoding: Option<&'static str>,
    pub storage_class: Option<StorageClass>,
    pub canned_acl: Option<ObjectCannedAcl>,
    pub send_content_md5: bool,
}

/// An S3 client configuration from `setup`: its credentials, and the endpoint from the `endpoint`
/// option or the SDK's environment settings (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`), with
/// path-style addressing whenever an endpoint is set that way (local S3 servers and most
/// S3-compatible stores need it; AWS's own endpoints take both).
pub fn config_builder(setup: &SdkSetup) -> aws_sdk_s3::config::Builder {
    let endpoint = setup.endpoint_for(S3_SERVICE_ID);
    let mut builder =
        aws_sdk_s3::config::Builder::from(&setup.base).force_path_style(endpoint.is_some());
    builder.set_endpoint_url(endpoint);
    builder.set_credentials_provider(setup.credentials.clone());
    builder
}

/// The S3 calls the output makes, against one bucket.
#[derive(Debug, Clone)]
pub struct S3Client {
    inner: Client,
    bucket: String,
    settings: ObjectSettings,
}

/// A byte range of a file on disk, sent as one request body.
#[derive(Debug, Clone, Copy)]
pub struct BodyRange<'a> {
    pub path: &'a Path,
    pub offset: u64,
    pub len: u64,
}

impl S3Client {
    /// Builds the client: region, profile, endpoint override, optional STS assume-role (see
    /// [`config_builder`]).
    pub async fn build(cfg: &S3OutputConfig, settings: ObjectSettings) -> Result<Self, String> {
        let setup = SdkSetup::load(cfg.aws_auth()).await?;
        let builder = config_builder(&setup)
            .retry_config(no_retries())
            .timeout_config(timeouts(ATTEMPT_TIMEOUT));
        let bucket = cfg.bucket.clone().unwrap_or_default();
        Ok(Self {
            inner: Client::from_conf(builder.build()),
            bucket,
            settings,
        })
    }

    /// Wraps a client built elsewhere (benchmarks).
    pub fn from_client(inner: Client, bucket: String, settings: ObjectSettings) -> Self {
        Self {
            inner,
            bucket,
            settings,
        }
    }

    /// One PutObject of the whole range.
    pub async fn put_object(&self, key: &str, body: BodyRange<'_>) -> Result<(), CallError> {
        let md5 = self.content_md5(body).await?;
        let s = &self.settings;
        self.inner
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(stream(body).await?)
            .content_length(len_i64(body.len))
            .set_content_md5(md5)
            .set_content_type(s.content_type.clone())
            .set_content_encoding(s.content_encoding.map(str::to_owned))
            .set_storage_class(s.storage_class.clone())
            .set_acl(s.canned_acl.clone())
            .send()
            .await
            .map(drop)
            .map_err(CallError::from_sdk)
    }

    /// CreateMultipartUpload; returns the upload id.
    pub async fn create_multipart(&self, key: &str) -> Result<String, CallError> {
        let s = &self.settings;
        let out = self
            .inner
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .set_content_type(s.content_type.clone())
            .set_content_encoding(s.content_encoding.map(str::to_owned))
            .set_storage_class(s.storage_class.clone())
            .set_acl(s.canned_acl.clone())
            .send()
            .await
            .map_err(CallError::from_sdk)?;
        out.upload_id.ok_or_else(|| CallError {
            class: ErrorClass::Retryable,
            code: None,
            detail: "CreateMultipartUpload answered without an upload id".to_owned(),
        })
    }

    /// UploadPart; returns the part's ETag.
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        body: BodyRange<'_>,
    ) -> Result<String, CallError> {
        let md5 = self.content_md5(body).await?;
        let out = self
            .inner
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(i32::try_from(number).unwrap_or(i32::MAX))
            .body(stream(body).await?)
            .content_length(len_i64(body.len))
            .set_content_md5(md5)
            .send()
            .await
            .map_err(CallError::from_sdk)?;
        out.e_tag.ok_or_else(|| CallError {
            class: ErrorClass::Retryable,
            code: None,
            detail: format!("UploadPart {number} answered without an ETag"),
        })
    }

    /// CompleteMultipartUpload with every part, ascending.
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), CallError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|(n, etag)| {
                        CompletedPart::builder()
                            .part_number(i32::try_from(*n).unwrap_or(i32::MAX))
                            .e_tag(etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        self.inner
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .send()
            .await
            .map(drop)
            .map_err(CallError::from_sdk)
    }

    /// AbortMultipartUpload; an upload that is already gone is success.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), CallError> {
        let result = self
            .inner
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map(drop)
            .map_err(CallError::from_sdk);
        match result {
            Err(e) if e.class == ErrorClass::NotFound => Ok(()),
            other => other,
        }
    }

    async fn content_md5(&self, body: BodyRange<'_>) -> Result<Option<String>, CallError> {
        if !self.settings.send_content_md5 {
            return Ok(None);
        }
        let (path, offset, len) = (body.path.to_owned(), body.offset, body.len);
        let digest = tokio::task::spawn_blocking(move || md5_of_range(&path, offset, len))
            .await
            .map_err(|e| local_error(format!("MD5 task failed: {e}")))?
            .map_err(|e| local_error(format!("cannot read the staged file for its MD5: {e}")))?;
        Ok(Some(
            base64::engine::general_purpose::STANDARD.encode(digest),
        ))
    }
}

/// MD5 of `len` bytes of `path` from `offset`, read in fixed-size pieces.
fn md5_of_range(path: &Path, offset: u64, len: u64) -> std::io::Result<[u8; 16]> {
    use std::io::{Seek as _, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = file.take(len);
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; BODY_BUFFER_BYTES];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

/// A retryable body: the SDK reopens the file if it must send it again.
async fn stream(body: BodyRange<'_>) -> Result<ByteStream, CallError> {
    ByteStream::read_from()
        .path(body.path)
        .offset(body.offset)
        .length(Length::Exact(body.len))
        .buffer_size(BODY_BUFFER_BYTES)
        .build()
        .await
        .map_err(|e| local_error(format!("cannot read the staged file: {e}")))
}

/// A failure on our side (the staged file); retried like a transient one.
fn local_error(detail: String) -> CallError {
    CallError {
        class: ErrorClass::Retryable,
        code: None,
        detail,
    }
}

fn len_i64(len: u64) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}
