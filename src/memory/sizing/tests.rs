use std::path::PathBuf;

use super::*;
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
        let b = budget(MemoryLimit::Unbounded, c);
        assert_eq!((b.total_bytes, &b.source), (None, &BudgetSource::Disabled));
        assert!(
            b.to_string()
                .starts_with("unbounded (service.memory_limit = none")
        );
    }
}

#[test]
fn auto_without_a_container_limit_is_unbounded() {
    let b = budget(MemoryLimit::Auto, None);
    assert_eq!(
        (b.total_bytes, &b.source),
        (None, &BudgetSource::NoContainerLimit)
    );
    assert!(b.to_string().contains("no container memory limit found"));
}

#[test]
fn auto_keeps_the_measured_worst_rss_under_80_percent_of_the_container_limit() {
    let recommended = recommended_container_bytes();
    for l in [
        recommended,
        64 << 20,
        128 << 20,
        256 << 20,
        512 << 20,
        1 << 30,
        4 << 30,
    ] {
        let t = auto_total(l).unwrap();
        assert!(worst_rss(t) <= u128::from(l) * 8 / 10, "{l}: account {t}");
        assert!(t >= MIN_ACCOUNT_BYTES);
        let b = budget(MemoryLimit::Auto, Some(container(l)));
        assert_eq!(b.total_bytes, Some(t));
        assert_eq!(b.source, BudgetSource::Container(container(l)));
        assert_eq!(b.warning, None, "{l}");
    }
    // The figures docs/guide/delivery.md (Memory) and config/firelane.toml give.
    let table: Vec<String> = [48u64, 64, 128, 256, 512, 1024]
        .iter()
        .map(|m| mib(auto_total(m << 20).unwrap()))
        .collect();
    assert_eq!(
        table,
        [
            "8.0 MiB",
            "12.9 MiB",
            "51.3 MiB",
            "128.1 MiB",
            "281.7 MiB",
            "588.9 MiB"
        ]
    );
    assert_eq!(auto_total(64 << 20), Some(13526630));
    assert_eq!(mib(recommended), "55.8 MiB");
    assert_eq!(mib(min_container_bytes()), "44.7 MiB");
    // Grows with the limit; no overflow at the largest v1 limit below "unlimited".
    assert!(auto_total(128 << 20) > auto_total(64 << 20));
    assert!(auto_total(1 << 61).unwrap() > 1 << 60);
}

#[test]
fn auto_holds_a_small_container_at_the_floor_with_a_warning() {
    let l = recommended_container_bytes() - 1;
    assert!(l >= min_container_bytes());
    let b = budget(MemoryLimit::Auto, Some(container(l)));
    assert_eq!(b.total_bytes, Some(MIN_ACCOUNT_BYTES));
    let w = b.warning.clone().unwrap();
    assert!(
        w.contains("is below the 55.8 MiB at which firelane's RSS stays under 80 %"),
        "{w}"
    );
    assert!(w.contains("held at its floor of 8.0 MiB"), "{w}");
    let s = b.to_string();
    assert!(
        s.starts_with("8.0 MiB (8388608 bytes, auto: the floor, as the cgroup v1 memory limit"),
        "{s}"
    );
    assert!(s.ends_with("is below 55.8 MiB)"), "{s}");
    // Even then the measured worst case stays under the limit itself.
    let min = min_container_bytes();
    assert!(worst_rss(auto_total(min).unwrap()) <= u128::from(min));
}

#[test]
fn a_configured_size_is_kept_and_warned_when_more_than_auto_would_choose() {
    let size = MemoryLimit::Bytes(48 << 20);
    let b = budget(size, None);
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
    assert_eq!(budget(size, Some(container(fits))).warning, None);
    let b = budget(size, Some(container(fits - (1 << 20))));
    assert_eq!(b.total_bytes, Some(48 << 20));
    let w = b.warning.clone().unwrap();
    let want = format!(
        "48.0 MiB is more than the {} that keeps RSS under 80 % of the container's memory limit {}",
        mib(auto_total(fits - (1 << 20)).unwrap()),
        mib(fits - (1 << 20))
    );
    assert!(w.contains(&want), "{w}");
}

#[test]
fn the_budget_says_where_it_came_from() {
    let b = budget(MemoryLimit::Auto, Some(container(64 << 20)));
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

#[test]
fn a_container_below_what_firelane_needs_runs_on_the_floor_with_a_warning() {
    let tiny = min_container_bytes() - 1;
    let b = budget(MemoryLimit::Auto, Some(container(tiny)));
    assert_eq!(b.total_bytes, Some(MIN_ACCOUNT_BYTES));
    let w = b.warning.expect("a too-small container is warned about");
    assert!(w.contains("below the 44.7 MiB firelane needs"), "{w}");
    assert!(w.contains("the kernel may kill firelane"), "{w}");
    assert!(w.contains("raise the task definition's `memory`"), "{w}");
}
