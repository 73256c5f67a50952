//! The total of the process-wide memory account: configured, or sized from the container's
//! memory limit so that firelane's RSS stays under [`RSS_SHARE_PERCENT`] of it.
//!
//! The rule (`service.memory_limit = "auto"`, container limit L):
//! `total = (L * 80 % - FIXED_OVERHEAD) * ACCOUNT_SHARE`, refused below [`MIN_ACCOUNT_BYTES`].
//! RSS is what the account admits plus what it does not count: the binary's resident code, thread
//! stacks, the async runtime, each output's fixed state, and the allocator's slack (memory freed
//! but not yet returned to the kernel, and copies made while a buffer is moved on). The first
//! part is fixed ([`FIXED_OVERHEAD_BYTES`]); slack and copies grow with what is in use, so only
//! a share of what is left becomes the account ([`ACCOUNT_SHARE_PERCENT`]).
//!
//! MEASUREMENTS
//!
//! With no container limit `auto` leaves the account unbounded (each input's `mem_buf_limit`
//! still holds); `none` is unbounded; a size is that size, with a warning when it is more than
//! `auto` would choose for a known container limit (RSS may then pass 80 % of it when the account
//! is full).

use std::fmt;

use super::cgroup::ContainerLimit;
use crate::config::units::MemoryLimit;

/// RSS firelane aims to stay under, as a share of the container's limit: the rest is headroom
/// for what the cgroup also charges (page cache of written files, kernel socket buffers) and for
/// peaks between two allocations being freed.
pub const RSS_SHARE_PERCENT: u64 = 80;
/// RSS the account does not count and that does not grow with load. See the module doc.
pub const FIXED_OVERHEAD_BYTES: u64 = 16 << 20;
/// Share of what is left under 80 % after the fixed overhead that the account may admit; the
/// rest covers allocator slack and transient copies, which grow with the bytes in use.
pub const ACCOUNT_SHARE_PERCENT: u64 = 70;
/// Below this the account could not hold one default-sized Forward chunk from each of a few
/// connections: `auto` refuses to start rather than run into the kernel's OOM killer.
pub const MIN_ACCOUNT_BYTES: u64 = 8 << 20;

/// Where the account's total came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetSource {
    /// `memory_limit` set to a size.
    Configured,
    /// `auto`, sized from this container limit.
    Container(ContainerLimit),
    /// `auto` without a container limit: unbounded.
    NoContainerLimit,
    /// `memory_limit = "none"`.
    Disabled,
}

/// The account's total and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryBudget {
    /// `None`: unbounded.
    pub total_bytes: Option<u64>,
    pub source: BudgetSource,
    /// Something the operator should know (e.g. a configured size over 80 % of the container's).
    pub warning: Option<String>,
}

/// `auto` with a container limit too small for firelane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooSmall(pub ContainerLimit);

impl std::error::Error for TooSmall {}

impl fmt::Display for TooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.0;
        write!(
            f,
            "the container's memory limit is {} ({}, {}), below the {} firelane needs with \
             service.memory_limit = auto ({RSS_SHARE_PERCENT} % of it must hold the {} firelane \
             uses without load and a memory account of at least {}): raise the task definition's \
             `memory` (or the pod's memory limit), or set service.memory_limit to a size to run anyway",
            mib(c.bytes),
            c.version,
            c.file.display(),
            mib(min_container_bytes()),
            mib(FIXED_OVERHEAD_BYTES),
            mib(MIN_ACCOUNT_BYTES),
        )
    }
}

/// The account's total for `configured`, given this process's container limit.
pub fn budget(
    configured: MemoryLimit,
    container: Option<ContainerLimit>,
) -> Result<MemoryBudget, TooSmall> {
    let (total_bytes, source, warning) = match (configured, container) {
        (MemoryLimit::Unbounded, _) => (None, BudgetSource::Disabled, None),
        (MemoryLimit::Bytes(b), container) => {
            let warning = container
                .filter(|c| auto_total(c.bytes).is_none_or(|auto| b.0 > auto))
                .map(|c| {
                    let auto = auto_total(c.bytes).map_or("none".to_owned(), mib);
                    format!(
                        "service.memory_limit {} is more than the {auto} that keeps RSS under \
                         {RSS_SHARE_PERCENT} % of the container's memory limit {} ({}, {}): with \
                         the account full, the kernel may kill firelane",
                        mib(b.0),
                        mib(c.bytes),
                        c.version,
                        c.file.display()
                    )
                });
            (Some(b.0), BudgetSource::Configured, warning)
        }
        (MemoryLimit::Auto, None) => (None, BudgetSource::NoContainerLimit, None),
        (MemoryLimit::Auto, Some(c)) => match auto_total(c.bytes) {
            Some(total) => (Some(total), BudgetSource::Container(c), None),
            None => return Err(TooSmall(c)),
        },
    };
    Ok(MemoryBudget {
        total_bytes,
        source,
        warning,
    })
}

/// The account's total for a container limit of `limit_bytes`; `None` below
/// [`min_container_bytes`].
pub fn auto_total(limit_bytes: u64) -> Option<u64> {
    let left = share(limit_bytes).checked_sub(FIXED_OVERHEAD_BYTES)?;
    let total = left / 100 * ACCOUNT_SHARE_PERCENT + left % 100 * ACCOUNT_SHARE_PERCENT / 100;
    (total >= MIN_ACCOUNT_BYTES).then_some(total)
}

/// The smallest container limit `auto` accepts (found by bisection: [`auto_total`] grows with
/// the limit, so this is exact whatever the rounding).
pub fn min_container_bytes() -> u64 {
    let (mut lo, mut hi) = (0u64, 1 << 40);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match auto_total(mid) {
            Some(_) => hi = mid,
            None => lo = mid + 1,
        }
    }
    lo
}

/// [`RSS_SHARE_PERCENT`] of `bytes`.
fn share(bytes: u64) -> u64 {
    bytes / 100 * RSS_SHARE_PERCENT + bytes % 100 * RSS_SHARE_PERCENT / 100
}

/// When the inputs' `mem_buf_limit`s (shares inside the account) add up past its total, which
/// inputs and by how much; `None` when they fit or the account is unbounded.
pub fn oversubscribed(total_bytes: Option<u64>, inputs: &[(&str, u64)]) -> Option<String> {
    let total = total_bytes?;
    let sum: u64 = inputs.iter().map(|(_, b)| b).sum();
    (sum > total).then(|| {
        let list: Vec<String> = inputs
            .iter()
            .map(|(name, b)| format!("{name} {}", mib(*b)))
            .collect();
        format!(
            "the inputs' mem_buf_limit add up to {} ({}), more than the memory account's {}: they \
             are shares inside it, so an input may wait for memory before reaching its own limit",
            mib(sum),
            list.join(", "),
            mib(total)
        )
    })
}

/// `bytes` in MiB with one decimal, as logs and `validate` show sizes.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}

impl fmt::Display for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.source, self.total_bytes) {
            (BudgetSource::Configured, Some(t)) => {
                write!(f, "{} ({t} bytes, service.memory_limit)", mib(t))
            }
            (BudgetSource::Container(c), Some(t)) => write!(
                f,
                "{} ({t} bytes, auto: {RSS_SHARE_PERCENT} % of the {} memory limit {} in {}, less \
                 {} fixed, {ACCOUNT_SHARE_PERCENT} % of the rest)",
                mib(t),
                c.version,
                mib(c.bytes),
                c.file.display(),
                mib(FIXED_OVERHEAD_BYTES)
            ),
            (BudgetSource::NoContainerLimit, _) => f.write_str(
                "unbounded (auto: no container memory limit found; each input's mem_buf_limit holds)",
            ),
            _ => f.write_str(
                "unbounded (service.memory_limit = none; each input's mem_buf_limit holds)",
            ),
        }
    }
}

#[cfg(test)]
#[path = "sizing_tests.rs"]
mod tests;
