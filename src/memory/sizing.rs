//! The total of the process-wide memory account: configured, or sized from the container's
//! memory limit so that firelane's RSS stays under [`RSS_SHARE_PERCENT`] of it.
//!
//! The rule (`service.memory_limit = "auto"`, container limit L):
//! `total = (80 % of L - FIXED_OVERHEAD) * ACCOUNT_SHARE`, at least [`MIN_ACCOUNT_BYTES`]; below
//! the L at which the floor keeps RSS under 80 % it runs on the floor with a warning, and below
//! the L at which even the floor could take RSS past L itself ([`min_container_bytes`]) it still
//! runs on the floor, with a warning that the kernel may kill it under load (Fluent Bit starts
//! in any container, so refusing to would break a task definition that works today). RSS is what the account admits plus what it does not count: the
//! binary's resident code, thread stacks, the async runtime, each output's fixed state, buffers
//! not charged yet, and the allocator's slack (freed memory not returned to the kernel, copies
//! made while a buffer moves on). Some of it is fixed ([`FIXED_OVERHEAD_BYTES`]); slack and
//! copies grow with what is in use, so only a share of what is left becomes the account
//! ([`ACCOUNT_SHARE_PERCENT`]).
//!
//! Measurements behind the constants (`scripts/memory_sizing.py`; release build, 2-vCPU machine,
//! 2026-12-07; a Python sender writing 1000-record PackedForward frames of Docker-shaped records,
//! ~290 KB each; RSS = VmRSS, peak = VmHWM; the account gauge sampled every 20 ms;
//! `mem_buf_limit` bounding the account):
//! - Idle: 11.0-11.3 MiB with the embedded default (forward -> stdout; RssAnon 1.0, RssFile 10.3:
//!   the binary's pages), 13.9-14.1 MiB with ECS's generated FireLens config (two forward inputs,
//!   the health-check tcp input, grep and record_modifier, null and cloudwatch_logs outputs).
//! - The worst case of one connection is an output down while the account fills, then back: the
//!   output encodes and sends what was held while the input refills the account. Peak RSS for a
//!   full account of 7.8, 15.7, 30.6-32.2 MiB: 38.3-44.0, 42.4-53.7, 63.3-75.4 MiB (forward and
//!   cloudwatch_logs outputs, output down 8 s). The upper envelope is 34 MiB + 1.31 x the
//!   account: hence 34 MiB fixed and a 75 % share (1 / 1.33). With the output up, the same runs
//!   peak 10-15 MiB lower (27.5-36.9 MiB for 7.8-10.6 MiB in use).
//! - Checked in a cgroup v1 memory cgroup of 64 MiB, `auto` (12.9 MiB), ECS's 25 MB forward
//!   share, one connection, output down 8 s then back: peak RSS 40.6-49.9 MiB (four runs,
//!   cloudwatch_logs and forward), no OOM kill; with `none` the same run peaked at 67.0 MiB.
//! - Measured again once the Forward input's read buffers were charged (2026-12-07, same script,
//!   `MEMORY_LIMIT` = the account, `mem_buf_limit 1GiB` so the account is the bound, output down
//!   8 s then back; two rounds; 1 connection x 300 frames, 100 connections x 4 frames). Peak RSS
//!   for an account of 8, 16, 32, 64 MiB: 23.3-27.5, 28.5-34.3, 35.3-44.8, 39.5-62.1 MiB, against
//!   44.7, 55.3, 76.6, 119 MiB by the rule. The account itself never filled past 60 % (peaks
//!   4.3-5.0, 9.0-9.8, 13.1-19.1, 10.8-36.8 MiB): the read buffers and the outputs have capped
//!   parts of it. The constants are kept: the margin is what 1,000 connections' fixed costs (a
//!   task, a 4 KiB block and kernel socket buffers each, none of it in the account) take in a
//!   64 MiB container (`tests/e2e/memory_cgroup.rs`: cgroup peak 47.8-50.1 MiB of the 51.2 MiB aim).
//!
//! With no container limit `auto` leaves the account unbounded (each input's `mem_buf_limit`
//! still holds); `none` is unbounded; a size is that size, with a warning when it is more than
//! `auto` would choose for a known container limit (RSS may then pass 80 % of it when the account
//! is full).

use std::fmt;

use super::cgroup::ContainerLimit;

/// RSS firelane aims to stay under, as a share of the container's limit: the rest is headroom
/// for what the cgroup also charges (page cache of written files, kernel socket buffers) and for
/// peaks between two allocations being freed.
pub const RSS_SHARE_PERCENT: u64 = 80;
/// RSS the account does not count and that does not grow with load. See the module doc.
pub const FIXED_OVERHEAD_BYTES: u64 = 34 << 20;
/// Share of what is left under 80 % after the fixed overhead that the account may admit; the
/// rest covers allocator slack and transient copies, which grow with the bytes in use.
pub const ACCOUNT_SHARE_PERCENT: u64 = 75;
/// The smallest account `auto` sizes: it holds one Forward frame of the largest default size
/// (`buffer_max_size`, 6,144,000 bytes) with room to spare.
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

/// The warning for `auto` with a container limit below [`min_container_bytes`].
fn too_small(c: &ContainerLimit) -> String {
    format!(
        "the container's memory limit is {} ({}, {}), below the {} firelane needs with \
         service.memory_limit = auto ({} it may use beside its memory account, and the smallest \
         account, {}, with its allocator slack): running on that smallest account, but under load \
         the kernel may kill firelane; raise the task definition's `memory` (or the pod's memory \
         limit) to {} or more",
        mib(c.bytes),
        c.version,
        c.file.display(),
        mib(min_container_bytes()),
        mib(FIXED_OVERHEAD_BYTES),
        mib(MIN_ACCOUNT_BYTES),
        mib(recommended_container_bytes()),
    )
}

/// `service.memory_limit`: the bound of the process-wide memory account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MemoryLimit {
    /// Sized from the container's memory limit (cgroup), unbounded without one.
    #[default]
    Auto,
    /// No bound (each input's `mem_buf_limit` still holds).
    Unbounded,
    /// This many bytes.
    Bytes(u64),
}

/// The account's total for `configured`, given this process's container limit.
pub fn budget(configured: MemoryLimit, container: Option<ContainerLimit>) -> MemoryBudget {
    let (total_bytes, source, warning) = match (configured, container) {
        (MemoryLimit::Unbounded, _) => (None, BudgetSource::Disabled, None),
        (MemoryLimit::Bytes(b), container) => {
            let warning = container
                .filter(|c| auto_total(c.bytes).is_none_or(|auto| b > auto))
                .map(|c| {
                    let auto = auto_total(c.bytes).map_or("none".to_owned(), mib);
                    format!(
                        "service.memory_limit {} is more than the {auto} that keeps RSS under \
                         {RSS_SHARE_PERCENT} % of the container's memory limit {} ({}, {}): with \
                         the account full, the kernel may kill firelane",
                        mib(b),
                        mib(c.bytes),
                        c.version,
                        c.file.display()
                    )
                });
            (Some(b), BudgetSource::Configured, warning)
        }
        (MemoryLimit::Auto, None) => (None, BudgetSource::NoContainerLimit, None),
        (MemoryLimit::Auto, Some(c)) => match auto_total(c.bytes) {
            Some(total) => {
                let warning = (c.bytes < recommended_container_bytes()).then(|| {
                    format!(
                        "the container's memory limit {} ({}, {}) is below the {} at which \
                         firelane's RSS stays under {RSS_SHARE_PERCENT} % of it: the memory \
                         account is held at its floor of {}, and under load RSS may come near the \
                         limit; raise the task definition's `memory`",
                        mib(c.bytes),
                        c.version,
                        c.file.display(),
                        mib(recommended_container_bytes()),
                        mib(MIN_ACCOUNT_BYTES)
                    )
                });
                (Some(total), BudgetSource::Container(c), warning)
            }
            None => {
                let warning = too_small(&c);
                (
                    Some(MIN_ACCOUNT_BYTES),
                    BudgetSource::Container(c),
                    Some(warning),
                )
            }
        },
    };
    MemoryBudget {
        total_bytes,
        source,
        warning,
    }
}

/// The account's total for a container limit of `limit_bytes`: `(80 % of it - fixed) * 75 %`,
/// at least [`MIN_ACCOUNT_BYTES`]; `None` when even that floor could take RSS past the limit.
pub fn auto_total(limit_bytes: u64) -> Option<u64> {
    if u128::from(limit_bytes) < worst_rss(MIN_ACCOUNT_BYTES) {
        return None;
    }
    let left = share(limit_bytes).saturating_sub(FIXED_OVERHEAD_BYTES);
    let total = u128::from(left) * u128::from(ACCOUNT_SHARE_PERCENT) / 100;
    Some(
        u64::try_from(total)
            .unwrap_or(u64::MAX)
            .max(MIN_ACCOUNT_BYTES),
    )
}

/// The RSS the measurements predict for an account of `account_bytes` when it is full and the
/// output resumes: the fixed overhead plus the account and its slack.
pub fn worst_rss(account_bytes: u64) -> u128 {
    u128::from(FIXED_OVERHEAD_BYTES)
        + (u128::from(account_bytes) * 100).div_ceil(u128::from(ACCOUNT_SHARE_PERCENT))
}

/// The smallest container limit `auto` accepts (found by bisection: [`auto_total`] is defined
/// from some limit on, so this is exact whatever the rounding).
pub fn min_container_bytes() -> u64 {
    smallest_limit(|l| auto_total(l).is_some())
}

/// The smallest container limit whose account is above the floor, so that RSS stays under
/// [`RSS_SHARE_PERCENT`] of the limit; below it `auto` runs on the floor, with a warning.
pub fn recommended_container_bytes() -> u64 {
    smallest_limit(|l| worst_rss(MIN_ACCOUNT_BYTES) <= u128::from(share(l)))
}

/// The smallest limit for which `ok` holds (`ok` holds from some limit on).
fn smallest_limit(ok: impl Fn(u64) -> bool) -> u64 {
    let (mut lo, mut hi) = (0u64, 1 << 40);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// [`RSS_SHARE_PERCENT`] of `bytes`.
fn share(bytes: u64) -> u64 {
    u64::try_from(u128::from(bytes) * u128::from(RSS_SHARE_PERCENT) / 100).unwrap_or(u64::MAX)
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
            (BudgetSource::Container(c), Some(t)) if c.bytes < recommended_container_bytes() => {
                write!(
                    f,
                    "{} ({t} bytes, auto: the floor, as the {} memory limit {} in {} is below {})",
                    mib(t),
                    c.version,
                    mib(c.bytes),
                    c.file.display(),
                    mib(recommended_container_bytes())
                )
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
mod tests;
