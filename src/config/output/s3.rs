//! `name = "s3"`: its options and checks.
//!
//! Option names and defaults are Fluent Bit's `s3` ones so FireLens users can carry them over;
//! `store_dir_overflow` and `workers` are ours.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::common::{AwsEntry, Check, entry_options};
use crate::config::errors::Issue;
use crate::config::model::{DateFormat, DateKey};
use crate::config::spans::KeyPath;
use crate::config::units::RetryLimit;
use crate::config::units::{ByteSize, DurationValue, Flag};
use crate::template::s3_key::KeyTemplate;
use sizes::SizeOptions;

/// Fluent Bit's S3 size rules: which sizes a configuration may give, the upload plan they make.
pub mod sizes;

/// How the staged stream is compressed (also the object's Content-Encoding); the `compression`
/// option reads the same spellings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Gzip,
    Zstd,
    /// Plain JSON lines (Fluent Bit's default).
    #[default]
    None,
}

impl Compression {
    /// The configuration and JSON spelling: `gzip`, `zstd` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::None => "none",
        }
    }

    /// The `Content-Encoding` of objects compressed this way.
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
            Compression::None => None,
        }
    }
}

/// Storage classes PutObject / CreateMultipartUpload accept.
pub const STORAGE_CLASSES: [&str; 8] = [
    "STANDARD",
    "STANDARD_IA",
    "INTELLIGENT_TIERING",
    "ONEZONE_IA",
    "GLACIER",
    "GLACIER_IR",
    "DEEP_ARCHIVE",
    "REDUCED_REDUNDANCY",
];
/// Canned ACLs S3 accepts.
pub const CANNED_ACLS: [&str; 7] = [
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];
/// Most uploads one output runs at once.
pub const MAX_WORKERS: usize = 16;

/// What happens when `store_dir_limit_size` is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreOverflow {
    /// Stop taking records until uploads free space: inputs slow down, nothing is lost.
    #[default]
    Block,
    /// Drop the records that do not fit, counted under `reason="store_full"`, not acked.
    DropNewest,
}

entry_options! {
    /// `name = "s3"`.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct S3OutputConfig ["s3", aws "S3"] {
        /// Bucket name. Required.
        pub bucket: Option<String>,
        /// Size of each object (default 100M; 1M to 50G, at most 1G with PutObject). Under 10MiB
        /// (10,485,760 bytes) every file goes by PutObject, as in Fluent Bit. With PutObject a file is
        /// uploaded once its JSON lines pass this (before compression); with multipart once the file
        /// reaches it on disk (compressed).
        #[serde(default = "default_total_file_size")]
        pub total_file_size: ByteSize,
        /// Multipart only: files at least this large on disk go by multipart upload, in parts of
        /// this size (default 5,242,880 bytes; at least that, `5M` is 5,000,000 and too small; at
        /// most 50M, or 5G with compression). At most half of `total_file_size` unless it is exactly
        /// 5,242,880, even with PutObject (Fluent Bit's rules).
        #[serde(default = "default_upload_chunk_size")]
        pub upload_chunk_size: ByteSize,
        /// A staging file is uploaded once it is this old, however small (default 10m; 0 is 1s).
        /// With multipart, once a file holds `upload_chunk_size` its time counts from then, as Fluent
        /// Bit completes a multipart upload this long after starting it.
        #[serde(default = "default_upload_timeout")]
        pub upload_timeout: DurationValue,
        /// Where records are staged before upload; each output uses `<store_dir>/<output name>/`.
        #[serde(default = "default_store_dir")]
        pub store_dir: PathBuf,
        /// Most bytes staged on disk at once, compressed. Unset: half the free space of the
        /// filesystem at start, plus what is already staged (Fluent Bit: no limit); 0: no limit.
        #[serde(default)]
        pub store_dir_limit_size: Option<ByteSize>,
        /// At `store_dir_limit_size`: `block` (default: inputs wait) or `drop_newest` (counted).
        #[serde(default)]
        pub store_dir_overflow: StoreOverflow,
        /// Object key: `$TAG`, `$TAG[n]`, `$UUID`, `$INDEX` and strftime conversions (UTC, time of
        /// the file's first record).
        #[serde(default = "default_key_format")]
        pub s3_key_format: String,
        /// Characters that split the tag into `$TAG[n]` parts (default `.`).
        #[serde(default = "default_tag_delimiters")]
        pub s3_key_format_tag_delimiters: String,
        /// Use the key as rendered, without the random suffix added when it has no `$UUID`.
        #[serde(default)]
        pub static_file_path: Flag,
        /// Upload every file with one PutObject, never multipart (`total_file_size` at most 1G). On
        /// by itself when `total_file_size` is under 10MiB.
        #[serde(default)]
        pub use_put_object: Flag,
        /// `gzip`, `zstd` or `none` (default).
        #[serde(default)]
        pub compression: Compression,
        /// `Content-Type` of the objects.
        pub content_type: Option<String>,
        /// Send `Content-MD5` with each upload request.
        #[serde(default)]
        pub send_content_md5: Flag,
        /// Storage class of the objects (default: the bucket's, normally STANDARD).
        pub storage_class: Option<String>,
        /// Canned ACL of the objects.
        pub canned_acl: Option<String>,
        /// Write only this key's value per line (strings raw). Default: the whole record as JSON.
        pub log_key: Option<String>,
        /// Key of the event time added to each JSON line (default `date`; `false` leaves it out).
        #[serde(default = "default_date_key")]
        pub json_date_key: DateKey,
        /// `double`, `epoch`, `epoch_ms` or `iso8601` (default).
        #[serde(default = "default_date_format")]
        pub json_date_format: DateFormat,
        /// Retries of a failed upload before the file is set aside until the next start (kept on
        /// disk, counted): a number, `no_limits` (default) or `no_retries`.
        #[serde(default = "default_retry_limit")]
        pub retry_limit: RetryLimit,
        /// Upload each tag's files one at a time, in the order they were sealed, so a retried upload
        /// never lands after a later file of the same tag (default true, as in Fluent Bit). Files of
        /// different tags still go up `workers` at a time.
        #[serde(default = "default_true")]
        pub preserve_data_ordering: Flag,
        /// Files uploaded at once (default 2).
        #[serde(default = "default_workers")]
        pub workers: usize,
    }
}

fn default_total_file_size() -> ByteSize {
    ByteSize(100_000_000)
}
fn default_upload_chunk_size() -> ByteSize {
    ByteSize(5_242_880)
}
fn default_upload_timeout() -> DurationValue {
    DurationValue(std::time::Duration::from_secs(600))
}
fn default_store_dir() -> PathBuf {
    PathBuf::from("/tmp/firelane/s3")
}
fn default_key_format() -> String {
    "/firelane-logs/$TAG/%Y/%m/%d/%H/%M/%S".to_owned()
}
fn default_tag_delimiters() -> String {
    ".".to_owned()
}
fn default_date_key() -> DateKey {
    DateKey(Some("date".to_owned()))
}
fn default_date_format() -> DateFormat {
    DateFormat::Iso8601
}
fn default_retry_limit() -> RetryLimit {
    RetryLimit::Unlimited
}
fn default_true() -> Flag {
    Flag(true)
}
fn default_workers() -> usize {
    2
}

/// Checks what types cannot: the bucket, sizes against S3's limits, names S3 accepts, the key.
pub(crate) fn check(c: &S3OutputConfig, path: &KeyPath, issues: &mut Vec<Issue>) {
    match c.bucket.as_deref() {
        None => issues.push(Issue::new(path.key("bucket"), "required: the bucket name")),
        Some(b) => {
            if let Err(e) = check_bucket_name(b) {
                issues.push(Issue::new(path.key("bucket"), e));
            }
        }
    }
    for p in sizes::check(&SizeOptions::of(c)) {
        issues.push(Issue::new(path.key(p.key), p.message));
    }
    if c.store_dir.as_os_str().is_empty() {
        issues.push(Issue::new(path.key("store_dir"), "must not be empty"));
    }
    if let Err(e) = KeyTemplate::parse(
        &c.s3_key_format,
        &c.s3_key_format_tag_delimiters,
        c.static_file_path.0,
    ) {
        issues.push(Issue::new(
            path.key("s3_key_format"),
            format!("invalid key format `{}`: {e}", c.s3_key_format),
        ));
    }
    if c.s3_key_format_tag_delimiters.is_empty() {
        issues.push(Issue::new(
            path.key("s3_key_format_tag_delimiters"),
            "must hold at least one character",
        ));
    }
    for (key, value, allowed) in [
        ("storage_class", &c.storage_class, &STORAGE_CLASSES[..]),
        ("canned_acl", &c.canned_acl, &CANNED_ACLS[..]),
    ] {
        if let Some(v) = value
            && !allowed.contains(&v.as_str())
        {
            issues.push(Issue::new(
                path.key(key),
                format!("`{v}`: use one of {}", allowed.join(", ")),
            ));
        }
    }
    if c.log_key.as_deref() == Some("") {
        issues.push(Issue::new(path.key("log_key"), "must not be empty"));
    }
    if c.workers == 0 || c.workers > MAX_WORKERS {
        issues.push(Issue::new(
            path.key("workers"),
            format!("must be between 1 and {MAX_WORKERS}"),
        ));
    }
    crate::config::common::check_aws(c.aws_auth(), path, issues);
}

/// S3's rule for (new) bucket names: 3-63 characters of lowercase letters, digits, `.` and `-`,
/// starting and ending with a letter or digit.
fn check_bucket_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ok_ends = name
        .bytes()
        .next()
        .zip(name.bytes().last())
        .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
    if (3..=63).contains(&name.len()) && ok_chars && ok_ends {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a bucket name: 3 to 63 lowercase letters, digits, `.` or `-`, starting and ending with a letter or digit"
        ))
    }
}

impl Check for S3OutputConfig {
    fn check(&self, path: &KeyPath, issues: &mut Vec<Issue>) {
        check(self, path, issues);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3s_rules() {
        assert!(check_bucket_name("my-logs.prod-1").is_ok());
        assert!(check_bucket_name("ab").is_err());
        assert!(check_bucket_name("My-Logs").is_err());
        assert!(check_bucket_name("-logs").is_err());
        assert!(check_bucket_name("logs_1").is_err());
        assert!(check_bucket_name(&"a".repeat(64)).is_err());
    }
}
