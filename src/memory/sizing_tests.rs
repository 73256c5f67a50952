use std::path::PathBuf;

use super::*;
use crate::config::units::ByteSize;
use crate::memory::cgroup::CgroupVersion;

fn container(bytes: u64) -> ContainerLimit {
    ContainerLimit {
        bytes,
        version: CgroupVersion::V1,
        file: PathBuf::from("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
    }
}

#[test]
fn none_is_unbounded_whatever_the_container() {
    for c in [None, Some(container(64 << 20))] {
        let b = budget(MemoryLimit::Unbounded, c).unwrap();
        assert_eq!((b.total_bytes, &b.source), (None, &BudgetSource::Disabled));
        assert!(
            b.to_string()
                .starts_with("unbounded (service.memory_limit = none")
        );
    }
}

#[test]
fn auto_without_a_container_limit_is_unbounded() {
    let b = budget(MemoryLimit::Auto, None).unwrap();
    assert_eq!(
        (b.total_bytes, &b.source),
        (None, &BudgetSource::NoContainerLimit)
    );
    assert!(b.to_string().contains("no container memory limit found"));
}

#[test]
fn auto_keeps_rss_under_80_percent_of_the_container_limit() {
    for mib_ in [48u64, 64, 128, 256, 512, 1024, 4096] {
        let l = mib_ << 20;
        let t = auto_total(l).unwrap();
        // The measured worst case: fixed overhead plus the account and its slack.
        let rss = FIXED_OVERHEAD_BYTES + t * 100 / ACCOUNT_SHARE_PERCENT;
        assert!(rss <= l * 8 / 10, "{mib_} MiB: account {t}, rss {rss}");
        assert!(t >= MIN_ACCOUNT_BYTES);
        let b = budget(MemoryLimit::Auto, Some(container(l))).unwrap();
        assert_eq!(b.total_bytes, Some(t));
        assert_eq!(b.source, BudgetSource::Container(container(l)));
        assert_eq!(b.warning, None);
    }
    // Grows with the limit.
    assert!(auto_total(128 << 20) > auto_total(64 << 20));
}

#[test]
fn auto_refuses_a_container_below_what_firelane_needs() {
    let min = min_container_bytes();
    assert!(auto_total(min).is_some_and(|t| t >= MIN_ACCOUNT_BYTES));
    assert_eq!(auto_total(min - 1), None);
    assert_eq!(auto_total(0), None);
    assert_eq!(auto_total(FIXED_OVERHEAD_BYTES), None);
    let err = budget(MemoryLimit::Auto, Some(container(min - 1))).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        "{msg}"
    );
    assert!(msg.contains(&format!("below the {}", mib(min))), "{msg}");
    assert!(msg.contains("set service.memory_limit to a size"), "{msg}");
    // A configured size runs anyway, warned.
    let b = budget(
        MemoryLimit::Bytes(ByteSize(8 << 20)),
        Some(container(min - 1)),
    )
    .unwrap();
    assert_eq!(b.total_bytes, Some(8 << 20));
    assert!(b.warning.is_some());
}

#[test]
fn a_configured_size_is_kept_and_warned_when_more_than_auto_would_choose() {
    let size = MemoryLimit::Bytes(ByteSize(48 << 20));
    let b = budget(size, None).unwrap();
    assert_eq!(
        (b.total_bytes, &b.source, &b.warning),
        (Some(48 << 20), &BudgetSource::Configured, &None)
    );
    assert_eq!(
        b.to_string(),
        "48.0 MiB (50331648 bytes, service.memory_limit)"
    );
    let fits = (1u64..)
        .map(|m| m << 20)
        .find(|&l| auto_total(l) >= Some(48 << 20))
        .unwrap();
    assert_eq!(budget(size, Some(container(fits))).unwrap().warning, None);
    let b = budget(size, Some(container(fits - (1 << 20)))).unwrap();
    assert_eq!(b.total_bytes, Some(48 << 20));
    let w = b.warning.unwrap();
    let want = format!(
        "48.0 MiB is more than the {} that keeps RSS under 80 % of the container's memory limit {}",
        mib(auto_total(fits - (1 << 20)).unwrap()),
        mib(fits - (1 << 20))
    );
    assert!(w.contains(&want), "{w}");
}

#[test]
fn the_budget_says_where_it_came_from() {
    let b = budget(MemoryLimit::Auto, Some(container(64 << 20))).unwrap();
    let t = b.total_bytes.unwrap();
    let s = b.to_string();
    assert!(s.starts_with(&format!("{} ({t} bytes, auto: 80 % of the cgroup v1 memory limit 64.0 MiB in /sys/fs/cgroup/memory/memory.limit_in_bytes", mib(t))), "{s}");
}

#[test]
fn inputs_whose_shares_exceed_the_account_are_named() {
    let inputs = [("forward.0", 25_000_000), ("tcp.0", 8 << 20)];
    assert_eq!(oversubscribed(None, &inputs), None);
    assert_eq!(oversubscribed(Some(64 << 20), &inputs), None);
    let w = oversubscribed(Some(30 << 20), &inputs).unwrap();
    assert!(
        w.contains("add up to 31.8 MiB (forward.0 23.8 MiB, tcp.0 8.0 MiB)"),
        "{w}"
    );
    assert!(w.contains("more than the memory account's 30.0 MiB"), "{w}");
}
