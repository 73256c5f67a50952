//! The on-disk bookkeeping of one S3 output's store directory (`<store_dir>/<output name>/`):
//! metadata and parts-journal formats, file names, start-up recovery planning, and the few
//! blocking file helpers that must be atomic or durable.
//!
//! Layout, per staging id N (decimal, no leading zeros): `N.data` (the staged stream), `N.meta`
//! ([`Meta`] as JSON, only ever replaced by [`write_atomic`] through `N.meta.tmp`), `N.parts`
//! (multipart only: `<part number> <etag>\n` lines, appended by [`append_part`]); plus `index`,
//! the next `$INDEX` value.
//!
//! Invariants the writer keeps and [`plan_recovery`] relies on:
//! - `N.meta` is written before `N.data` is created, so data never exists without metadata
//!   (except by hand: see [`Recovery::AdoptOrphanData`]).
//! - A file is sealed (`Meta::sealed`) before any upload starts, and a multipart upload is
//!   recorded (`Meta::multipart`) before its first part, with no `N.parts` left from before.
//! - After a successful upload, [`remove_files`] deletes `N.data` first and `N.meta` last, so a
//!   crash in between leaves metadata without data (a leftover), never data without metadata.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::parts::MAX_PARTS;
use crate::event::EventTime;

/// The blocking helpers: atomic writes, index, parts appends, removal.
mod files;
pub use files::{append_part, read_index, remove_files, write_atomic, write_index, write_meta};

/// The metadata format this build writes and reads.
pub const META_VERSION: u64 = 1;
/// Name of the file holding the next `$INDEX` value.
pub const INDEX_FILE: &str = "index";
/// Tag given to adopted orphan data, whose real tag is lost.
pub const ORPHAN_TAG: &str = "unknown";
/// Suffix of the temporary file [`write_atomic`] renames into place.
const TMP_SUFFIX: &str = ".tmp";

/// Why a metadata file cannot be used. The data file beside it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JournalError {
    #[error("metadata is not valid: {0}")]
    Json(String),
    #[error("metadata has no \"version\" field")]
    MissingVersion,
    #[error("metadata version {found} is not supported (this build reads version {META_VERSION})")]
    UnsupportedVersion { found: u64 },
    #[error("metadata field {field} is invalid: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
}

pub use crate::config::output::s3::Compression;

/// Guesses the compression of a data file from its first bytes (for orphan data, whose metadata
/// is lost): gzip and zstd by their magic numbers, anything else is taken as plain JSON lines.
pub fn sniff_compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// What sealing fixed about a staging file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The rendered S3 object key.
    pub key: String,
    /// Size of the sealed data file (what is uploaded).
    pub disk_bytes: u64,
    /// Uncompressed size of the JSON lines.
    pub raw_bytes: u64,
    /// Number of records (lines).
    pub records: u64,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultipartUpload {
    pub upload_id: String,
    /// The `upload_chunk_bytes` the parts were planned with. A resumed upload must plan with
    /// this value, not the current configuration: recorded ETags belong to these byte ranges.
    pub upload_chunk_bytes: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "EventTime")]
struct EventTimeDef {
    secs: i64,
    nanos: u32,
}

/// The metadata of staging file N (`N.meta`), JSON with a `"version": 1` field. Unknown fields
/// are ignored when reading, so a later minor addition stays readable by this build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub tag: String,
    pub compression: Compression,
    /// When the staging file was opened; upload_timeout counts from here.
    pub created_unix_ms: u64,
    /// Time of the first record (the key's strftime fields use it), as `{"secs", "nanos"}`.
    #[serde(with = "EventTimeDef")]
    pub first_event: EventTime,
    /// Set once the stream is finished and fsync'd; the file no longer changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Sealed>,
    /// Set before the first part of a multipart upload is sent; cleared (with `N.parts`
    /// deleted) only to restart the upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartUpload>,
}

#[derive(Serialize)]
struct VersionedMeta<'a> {
    version: u64,
    #[serde(flatten)]
    meta: &'a Meta,
}

#[derive(Deserialize)]
struct VersionProbe {
    version: Option<u64>,
}

impl Meta {
    /// Metadata of a staging file about to be created (not sealed, no upload).
    pub fn unsealed(
        tag: String,
        compression: Compression,
        created_unix_ms: u64,
        first_event: EventTime,
    ) -> Self {
        Self {
            tag,
            compression,
            created_unix_ms,
            first_event,
            sealed: None,
            multipart: None,
        }
    }

    /// The JSON document, with `"version": 1`.
    pub fn to_json(&self) -> Vec<u8> {
        let doc = VersionedMeta {
            version: META_VERSION,
            meta: self,
        };
        // Cannot fail: plain structs with string keys and derived Serialize impls only.
        #[allow(clippy::expect_used)]
        serde_json::to_vec(&doc).expect("Meta serializes to JSON")
    }

    /// Parses a metadata document: the version must be [`META_VERSION`]; unknown fields are
    /// ignored.
    pub fn from_json(bytes: &[u8]) -> Result<Self, JournalError> {
        let probe: VersionProbe =
            serde_json::from_slice(bytes).map_err(|e| JournalError::Json(e.to_string()))?;
        match probe.version {
            None => return Err(JournalError::MissingVersion),
            Some(META_VERSION) => {}
            Some(found) => return Err(JournalError::UnsupportedVersion { found }),
        }
        let meta: Meta =
            serde_json::from_slice(bytes).map_err(|e| JournalError::Json(e.to_string()))?;
        if meta.first_event.nanos >= 1_000_000_000 {
            return Err(JournalError::Invalid {
                field: "first_event.nanos",
                reason: "must be below 1000000000",
            });
        }
        if meta
            .multipart
            .as_ref()
            .is_some_and(|m| m.upload_id.is_empty())
        {
            return Err(JournalError::Invalid {
                field: "multipart.upload_id",
                reason: "must not be empty",
            });
        }
        Ok(meta)
    }
}

/// The recorded parts of a parts journal, sorted by part number. A torn last line (no `\n`)
/// and malformed lines are ignored (those parts are uploaded again); when a part number
/// appears twice, the later line wins (the part was uploaded again).
pub fn parse_parts(journal: &[u8]) -> Vec<(u32, String)> {
    let Some(end) = journal.iter().rposition(|&b| b == b'\n') else {
        return Vec::new();
    };
    let mut by_number = BTreeMap::new();
    for line in journal[..end].split(|&b| b == b'\n') {
        if let Some((number, etag)) = parse_part_line(line) {
            by_number.insert(number, etag.to_owned());
        }
    }
    by_number.into_iter().collect()
}

fn parse_part_line(line: &[u8]) -> Option<(u32, &str)> {
    let line = std::str::from_utf8(line).ok()?;
    let (number, etag) = line.split_once(' ')?;
    let number = parse_canonical_u64(number)?;
    let number = u32::try_from(number).ok()?;
    ((1..=MAX_PARTS).contains(&number) && valid_etag(etag)).then_some((number, etag))
}

/// One parts-journal line: `<number> <etag>\n`.
pub fn part_line(number: u32, etag: &str) -> String {
    format!("{number} {etag}\n")
}

/// ETags are quoted hex strings; anything with whitespace would not survive a journal line.
fn valid_etag(etag: &str) -> bool {
    !etag.is_empty() && !etag.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Decimal digits without sign or leading zeros, so that every id has exactly one file name.
fn parse_canonical_u64(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// What a file name in the store directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileName {
    Data(u64),
    Meta(u64),
    MetaTmp(u64),
    Parts(u64),
    Index,
    /// Not ours (or `index.tmp`, which the next [`write_index`] overwrites): left alone.
    Other,
}

/// Classifies a file name of the store directory.
pub fn classify_name(name: &str) -> FileName {
    if name == INDEX_FILE {
        return FileName::Index;
    }
    let Some((stem, extension)) = name.split_once('.') else {
        return FileName::Other;
    };
    let Some(id) = parse_canonical_u64(stem) else {
        return FileName::Other;
    };
    match extension {
        "data" => FileName::Data(id),
        "meta" => FileName::Meta(id),
        "meta.tmp" => FileName::MetaTmp(id),
        "parts" => FileName::Parts(id),
        _ => FileName::Other,
    }
}

/// `N.data`.
pub fn data_name(id: u64) -> String {
    format!("{id}.data")
}

/// `N.meta`.
pub fn meta_name(id: u64) -> String {
    format!("{id}.meta")
}

/// `N.parts`.
pub fn parts_name(id: u64) -> String {
    format!("{id}.parts")
}

/// The files of one staging id found at start-up, with its metadata read and parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub data: bool,
    /// `None` when there is no `N.meta`.
    pub meta: Option<Result<Meta, JournalError>>,
    pub meta_tmp: bool,
    pub parts: bool,
}

/// What start-up recovery must do with staging id N.
///
/// A stray `N.meta.tmp` beside a usable `N.meta` is harmless (the next [`write_atomic`] of the
/// metadata overwrites it, [`remove_files`] deletes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// Data and metadata, not sealed: the staging file was being written. Repair the stream
    /// (keep every complete line), finish it, fsync, render the key, write the sealed
    /// metadata, then upload it.
    RepairAndSeal,
    /// Sealed, no multipart upload recorded: upload from scratch. Delete `N.parts` first if
    /// it exists (left by an upload that was being restarted).
    Upload,
    /// Sealed with a multipart upload recorded: plan the parts with `upload_chunk_bytes`,
    /// upload those missing from `N.parts` ([`parse_parts`]; no file = none), complete. On
    /// NoSuchUpload: delete `N.parts`, clear `multipart` in the metadata, then as `Upload`.
    ResumeMultipart {
        upload_id: String,
        upload_chunk_bytes: u64,
    },
    /// A multipart upload recorded but no data: the upload had completed (or the data was
    /// removed). Abort the upload (NoSuchUpload counts as done), then [`remove_files`].
    AbortThenDelete { upload_id: String },
    /// Metadata without upload or data, or only `N.meta.tmp` / `N.parts`: an upload finished
    /// or a file was never started. [`remove_files`].
    DeleteLeftovers,
    /// Data without metadata: the writer never leaves this (metadata comes first), so the
    /// metadata was removed by hand or lost by the filesystem. The records in it were
    /// acknowledged, so they are not dropped: write [`Meta::unsealed`] with [`ORPHAN_TAG`],
    /// [`sniff_compression`] of the data's first bytes, now as `created_unix_ms` and the data
    /// file's mtime as `first_event`, log a warning, then continue as `RepairAndSeal`.
    AdoptOrphanData,
    /// Metadata that cannot be used (unparsable, another version, or an upload recorded on an
    /// unsealed file). Nothing is deleted: report it (the operator decides); skip this id.
    Unreadable { reason: String },
}

/// The recovery action for every staging id, in id order. Ids with no file at all are skipped.
pub fn plan_recovery(found: &BTreeMap<u64, Found>) -> Vec<(u64, Recovery)> {
    found
        .iter()
        .filter_map(|(&id, files)| recover_one(files).map(|r| (id, r)))
        .collect()
}

fn recover_one(files: &Found) -> Option<Recovery> {
    let recovery = match (&files.meta, files.data) {
        (Some(Err(e)), _) => Recovery::Unreadable {
            reason: e.to_string(),
        },
        (Some(Ok(meta)), true) => match (&meta.sealed, &meta.multipart) {
            (None, None) => Recovery::RepairAndSeal,
            (None, Some(_)) => Recovery::Unreadable {
                reason: "a multipart upload is recorded but the file is not sealed".to_owned(),
            },
            (Some(_), None) => Recovery::Upload,
            (Some(_), Some(m)) => Recovery::ResumeMultipart {
                upload_id: m.upload_id.clone(),
                upload_chunk_bytes: m.upload_chunk_bytes,
            },
        },
        (Some(Ok(meta)), false) => match &meta.multipart {
            Some(m) => Recovery::AbortThenDelete {
                upload_id: m.upload_id.clone(),
            },
            None => Recovery::DeleteLeftovers,
        },
        (None, true) => Recovery::AdoptOrphanData,
        (None, false) if files.meta_tmp || files.parts => Recovery::DeleteLeftovers,
        (None, false) => return None,
    };
    Some(recovery)
}

/// The next staging id: one more than the largest seen, 1 in an empty directory.
pub fn next_id(ids: impl IntoIterator<Item = u64>) -> u64 {
    ids.into_iter().max().map_or(1, |max| max.saturating_add(1))
}

#[cfg(test)]
mod tests;
