//! Each input's options and their checks, one file per plugin, and what inputs share: what a
//! full memory budget does (`overflow`), the shared defaults and checks.

use std::time::Duration;

use serde::Deserialize;

use super::errors::Issue;
use super::spans::KeyPath;
use super::units::{ByteSize, DurationValue};

/// `name = "forward"`.
pub mod forward;
/// `name = "tcp"`.
pub mod tcp;

/// Below this an input could not hold one ordinary Forward chunk.
const MIN_MEM_BUF_LIMIT_BYTES: u64 = 64 * 1024;

/// What an input does when its memory budget is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Stop reading sockets until memory frees up: the sender is slowed by TCP flow control.
    #[default]
    Block,
    /// Discard the incoming batch, counted in `firelane_input_dropped_records_total{reason="buffer_full"}`.
    DropNewest,
}

pub(super) fn default_mem_buf_limit() -> ByteSize {
    ByteSize::mib(32)
}
pub(super) fn default_frame_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(30))
}
pub(super) fn default_max_connections() -> usize {
    1024
}

pub(super) fn check_frame_timeout(t: DurationValue, path: &KeyPath, issues: &mut Vec<Issue>) {
    if t.0.is_zero() {
        issues.push(Issue::new(path.key("frame_timeout"), "must be more than 0"));
    }
}

/// `overflow_timeout` bounds how long `block` waits; with `drop_newest` nothing waits.
pub(super) fn check_overflow(
    overflow: Overflow,
    has_timeout: bool,
    path: &KeyPath,
    issues: &mut Vec<Issue>,
) {
    if has_timeout && overflow != Overflow::Block {
        issues.push(Issue::new(
            path.key("overflow_timeout"),
            "applies to overflow = \"block\" only (drop_newest never waits)",
        ));
    }
}

pub(super) fn check_common_input(
    mem_buf_limit_bytes: u64,
    max_connections: usize,
    path: &KeyPath,
    issues: &mut Vec<Issue>,
) {
    if mem_buf_limit_bytes < MIN_MEM_BUF_LIMIT_BYTES {
        issues.push(Issue::new(
            path.key("mem_buf_limit"),
            "must be at least 64KiB",
        ));
    }
    if max_connections == 0 {
        issues.push(Issue::new(
            path.key("max_connections"),
            "must be at least 1",
        ));
    }
}
