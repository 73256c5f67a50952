//! Disk buffer options (Fluent Bit's `storage.*`): where buffers live and how they are synced
//! (`[service] storage.path`, `storage.sync`), and per input whether its events go through one
//! (`storage.type`), its size and what happens when it is full.

use serde::Deserialize;

use super::errors::Issue;
use super::model::{AckMode, Overflow};
use super::spans::KeyPath;
use super::units::ByteSize;

/// `[service] storage.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceStorage {
    /// Directory of the disk buffers (one subdirectory per input). Required by any input with
    /// `storage.type = "filesystem"`.
    pub path: Option<String>,
    /// `normal` (default): fsync at least every 500 ms and before a `durable` ack; `full`: fsync
    /// after every batch.
    #[serde(default)]
    pub sync: SyncMode,
}

/// When the disk buffer is fsync'd.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    #[default]
    Normal,
    Full,
}

/// An input's `storage.*`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputStorage {
    /// `memory` (default) or `filesystem`: every batch is written to a write-ahead log under
    /// `service.storage.path` before it is routed, and replayed after a crash or restart.
    #[serde(rename = "type", default)]
    pub kind: StorageType,
    /// Most bytes this input's buffer keeps on disk (default 1G).
    #[serde(default = "default_total_limit")]
    pub total_limit_size: ByteSize,
    /// When the disk limit is reached: `block` (default: stop reading, like memory), `drop_oldest`
    /// (delete the oldest undelivered batches) or `drop_newest` (refuse the new batch); drops are
    /// counted.
    #[serde(default)]
    pub overflow: DiskOverflow,
}

impl Default for InputStorage {
    fn default() -> Self {
        Self {
            kind: StorageType::default(),
            total_limit_size: default_total_limit(),
            overflow: DiskOverflow::default(),
        }
    }
}

/// Where an input's events wait for the outputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageType {
    #[default]
    Memory,
    Filesystem,
}

/// What a full disk buffer does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskOverflow {
    #[default]
    Block,
    DropOldest,
    DropNewest,
}

/// An input's disk buffer settings and the memory settings they replace.
pub(crate) struct BufferUse<'a> {
    pub storage: &'a InputStorage,
    pub ack: AckMode,
    pub overflow: Overflow,
    pub overflow_timeout: bool,
}

/// A disk buffer needs `service.storage.path`; `durable` acks need a disk buffer; with one, the
/// memory overflow settings do not apply (`storage.overflow` does).
pub(crate) fn check_storage(
    u: &BufferUse<'_>,
    has_path: bool,
    path: &KeyPath,
    issues: &mut Vec<Issue>,
) {
    let disk = u.storage.kind == StorageType::Filesystem;
    if disk && !has_path {
        issues.push(Issue::new(
            path.key("storage").key("type"),
            "filesystem needs the buffers' directory: set service storage.path",
        ));
    }
    if !disk && u.ack == AckMode::Durable {
        issues.push(Issue::new(
            path.key("ack"),
            "durable acks need a disk buffer: set storage.type = \"filesystem\"",
        ));
    }
    if disk && u.ack == AckMode::Delivered {
        issues.push(Issue::new(
            path.key("ack"),
            "delivered acks are not supported with a disk buffer yet: use durable (acked once on disk, replayed after a crash)",
        ));
    }
    if disk && (u.overflow != Overflow::Block || u.overflow_timeout) {
        let key = if u.overflow_timeout {
            "overflow_timeout"
        } else {
            "overflow"
        };
        issues.push(Issue::new(
            path.key(key),
            "with storage.type = \"filesystem\" a full buffer is handled by storage.overflow (block, drop_oldest, drop_newest)",
        ));
    }
    if disk && u.storage.total_limit_size.0 < 1_000_000 {
        issues.push(Issue::new(
            path.key("storage").key("total_limit_size"),
            "must be at least 1M",
        ));
    }
}

fn default_total_limit() -> ByteSize {
    ByteSize(1_000_000_000)
}
