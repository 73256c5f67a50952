use std::fs;
use std::path::Path;

use super::*;

/// `/proc/self/cgroup` of a process in a cgroup v1 memory cgroup on a hybrid host (v1
/// controllers, an empty v2 hierarchy at /sys/fs/cgroup/unified), captured on the test machine
/// (Linux 6.18) with the cgroup path renamed.
const V1_HYBRID_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/sizing-sample/child
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

/// The cgroup lines of the same machine's `/proc/self/mountinfo`, and two others.
const V1_HYBRID_MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

/// `memory.stat` of a child cgroup (no limit of its own) whose parent has
/// `memory.limit_in_bytes` = 64 MiB, captured on the test machine.
const V1_CHILD_MEMORY_STAT: &str = "\
cache 4096\nrss 151552\nrss_huge 0\nshmem 0\nmapped_file 0\ndirty 4096\nwriteback 0\n\
workingset_refault_anon 0\nworkingset_refault_file 0\nswap 0\nswapcached 0\npgpgin 124\n\
pgpgout 77\npgfault 311\npgmajfault 0\ninactive_anon 86016\nactive_anon 4096\ninactive_file 0\n\
active_file 0\nunevictable 0\nhierarchical_memory_limit 67108864\n\
hierarchical_memsw_limit 9223372036854771712\ntotal_cache 4096\ntotal_rss 151552\n\
total_rss_huge 0\ntotal_shmem 0\ntotal_mapped_file 0\ntotal_dirty 4096\ntotal_writeback 0\n";

/// An ECS container on Amazon Linux 2 (cgroup v1, Docker without a cgroup namespace): the
/// memory hierarchy is mounted from the container's own cgroup down (`root` = its path), in the
/// layout proc(5) documents.
const ECS_V1_CGROUP: &str = "\
11:memory:/ecs/0f2d3c4b5a69478e9d0c1b2a3f4e5d6c/0f2d3c4b5a69478e9d0c1b2a3f4e5d6c-1234567890\n\
10:cpu,cpuacct:/ecs/0f2d3c4b5a69478e9d0c1b2a3f4e5d6c/0f2d3c4b5a69478e9d0c1b2a3f4e5d6c-1234567890\n\
1:name=systemd:/ecs/0f2d3c4b5a69478e9d0c1b2a3f4e5d6c/0f2d3c4b5a69478e9d0c1b2a3f4e5d6c-1234567890\n";
const ECS_V1_MOUNTINFO: &str = "\
1021 1015 0:31 /ecs/0f2d3c4b5a69478e9d0c1b2a3f4e5d6c/0f2d3c4b5a69478e9d0c1b2a3f4e5d6c-1234567890 \
/sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:15 - cgroup cgroup rw,memory\n\
1020 1015 0:30 /ecs/0f2d3c4b5a69478e9d0c1b2a3f4e5d6c/0f2d3c4b5a69478e9d0c1b2a3f4e5d6c-1234567890 \
/sys/fs/cgroup/cpu,cpuacct ro,nosuid,nodev,noexec,relatime master:14 - cgroup cgroup rw,cpu,cpuacct\n";

/// A container with its own cgroup namespace on a cgroup v2 host (Docker 20.10+, containerd,
/// Bottlerocket, AL2023): one `0::/` line, the unified hierarchy at /sys/fs/cgroup.
const V2_NS_CGROUP: &str = "0::/\n";
const V2_NS_MOUNTINFO: &str = "\
605 598 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot\n";

/// A process of a systemd service on a cgroup v2 host (no namespace).
const V2_HOST_CGROUP: &str = "0::/system.slice/app.service\n";
const V2_HOST_MOUNTINFO: &str = "\
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

#[test]
fn proc_cgroup_names_the_v1_memory_path_and_the_v2_path() {
    let c = parse_proc_cgroup(V1_HYBRID_CGROUP);
    assert_eq!(c.v1_memory.as_deref(), Some("/sizing-sample/child"));
    assert_eq!(c.v2.as_deref(), Some("/"));
    let c = parse_proc_cgroup(ECS_V1_CGROUP);
    assert!(c.v1_memory.unwrap().starts_with("/ecs/0f2d"));
    assert_eq!(c.v2, None);
    let c = parse_proc_cgroup(V2_HOST_CGROUP);
    assert_eq!(c.v1_memory, None);
    assert_eq!(c.v2.as_deref(), Some("/system.slice/app.service"));
    // name=systemd and cpu,cpuacct are not memory; garbage lines are skipped.
    let c = parse_proc_cgroup("1:name=systemd:/a\n2:cpu,cpuacct:/b\nnonsense\n");
    assert_eq!(c, ProcCgroup::default());
}

#[test]
fn mountinfo_finds_the_memory_hierarchy_and_the_unified_one() {
    let (v1, v2) = parse_mountinfo(V1_HYBRID_MOUNTINFO);
    let v1 = v1.unwrap();
    assert_eq!(
        (v1.root.as_str(), v1.mount_point.as_str()),
        ("/", "/sys/fs/cgroup/memory")
    );
    assert_eq!(v2.unwrap().mount_point, "/sys/fs/cgroup/unified");
    let (v1, v2) = parse_mountinfo(ECS_V1_MOUNTINFO);
    assert!(v1.unwrap().root.starts_with("/ecs/0f2d"));
    assert_eq!(v2, None);
    let (v1, v2) = parse_mountinfo(V2_NS_MOUNTINFO);
    assert_eq!(v1, None);
    assert_eq!(v2.unwrap().mount_point, "/sys/fs/cgroup");
    // Octal escapes in paths (a space here).
    let (v1, _) = parse_mountinfo("1 2 0:1 / /mnt/c\\040g rw - cgroup cgroup rw,memory,nosuid\n");
    assert_eq!(v1.unwrap().mount_point, "/mnt/c g");
}

#[test]
fn limit_values_parse_and_unlimited_is_none() {
    assert_eq!(parse_v2_max("max\n"), Some(None));
    assert_eq!(parse_v2_max("67108864\n"), Some(Some(64 << 20)));
    assert_eq!(parse_v2_max("lots"), None);
    assert_eq!(parse_v1_limit("9223372036854771712\n"), Some(None));
    // 64 KiB pages round i64::MAX differently.
    assert_eq!(parse_v1_limit("9223372036854710272"), Some(None));
    assert_eq!(parse_v1_limit("536870912\n"), Some(Some(512 << 20)));
    assert_eq!(parse_v1_limit("-1"), None);
    assert_eq!(
        parse_v1_hierarchical(V1_CHILD_MEMORY_STAT),
        Some(Some(64 << 20))
    );
    assert_eq!(
        parse_v1_hierarchical("rss 1\nhierarchical_memory_limit 9223372036854771712\n"),
        Some(None)
    );
    assert_eq!(parse_v1_hierarchical("rss 1\n"), None);
}

#[test]
fn the_cgroup_directory_is_found_below_the_mount_root() {
    let host = CgroupMount {
        root: "/".into(),
        mount_point: "/sys/fs/cgroup/memory".into(),
        version: CgroupVersion::V1,
    };
    assert_eq!(
        cgroup_dir(&host, "/a/b"),
        Path::new("/sys/fs/cgroup/memory/a/b")
    );
    assert_eq!(cgroup_dir(&host, "/"), Path::new("/sys/fs/cgroup/memory"));
    let (ecs, _) = parse_mountinfo(ECS_V1_MOUNTINFO);
    let ecs = ecs.unwrap();
    let path = parse_proc_cgroup(ECS_V1_CGROUP).v1_memory.unwrap();
    assert_eq!(cgroup_dir(&ecs, &path), Path::new("/sys/fs/cgroup/memory"));
    // A path outside the mount's root, or through `..` (cgroup namespaces), gives the mount.
    assert_eq!(
        cgroup_dir(&ecs, "/other"),
        Path::new("/sys/fs/cgroup/memory")
    );
    assert_eq!(
        cgroup_dir(&host, "/../.."),
        Path::new("/sys/fs/cgroup/memory")
    );
    // A root that is a prefix of a longer name is not a parent.
    let nested = CgroupMount {
        root: "/ecs/t".into(),
        ..host
    };
    assert_eq!(
        cgroup_dir(&nested, "/ecs/task"),
        Path::new("/sys/fs/cgroup/memory")
    );
}

/// Writes `files` (path relative to `root`, content) into a fake tree.
fn tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
}

#[test]
fn v1_takes_the_smallest_of_the_cgroup_its_parents_and_the_hierarchical_limit() {
    let dir = tempfile::tempdir().unwrap();
    let m = "sys/fs/cgroup/memory";
    tree(
        dir.path(),
        &[
            ("proc/self/cgroup", V1_HYBRID_CGROUP),
            ("proc/self/mountinfo", V1_HYBRID_MOUNTINFO),
            (
                &format!("{m}/memory.limit_in_bytes"),
                "9223372036854771712\n",
            ),
            (
                &format!("{m}/sizing-sample/memory.limit_in_bytes"),
                "67108864\n",
            ),
            (
                &format!("{m}/sizing-sample/child/memory.limit_in_bytes"),
                "9223372036854771712\n",
            ),
            (
                &format!("{m}/sizing-sample/child/memory.stat"),
                V1_CHILD_MEMORY_STAT,
            ),
        ],
    );
    let l = container_limit(dir.path()).unwrap();
    assert_eq!((l.bytes, l.version), (64 << 20, CgroupVersion::V1));
    assert_eq!(
        l.file,
        dir.path()
            .join(m)
            .join("sizing-sample/memory.limit_in_bytes")
    );
    // Only memory.stat knows of a smaller ancestor (not visible in the container).
    let stat = V1_CHILD_MEMORY_STAT.replace("limit 67108864", "limit 33554432");
    tree(
        dir.path(),
        &[(&format!("{m}/sizing-sample/child/memory.stat"), &stat)],
    );
    let l = container_limit(dir.path()).unwrap();
    assert_eq!(l.bytes, 32 << 20);
    assert!(l.file.ends_with("child/memory.stat"));
    // The cgroup's own limit, smaller again.
    tree(
        dir.path(),
        &[(
            &format!("{m}/sizing-sample/child/memory.limit_in_bytes"),
            "16777216\n",
        )],
    );
    assert_eq!(container_limit(dir.path()).unwrap().bytes, 16 << 20);
}

#[test]
fn v1_in_an_ecs_container_reads_the_mount_point() {
    let dir = tempfile::tempdir().unwrap();
    tree(
        dir.path(),
        &[
            ("proc/self/cgroup", ECS_V1_CGROUP),
            ("proc/self/mountinfo", ECS_V1_MOUNTINFO),
            ("sys/fs/cgroup/memory/memory.limit_in_bytes", "134217728\n"),
        ],
    );
    let l = container_limit(dir.path()).unwrap();
    assert_eq!(l.bytes, 128 << 20);
    assert_eq!(
        l.file,
        dir.path()
            .join("sys/fs/cgroup/memory/memory.limit_in_bytes")
    );
}

#[test]
fn v1_without_a_limit_and_a_hybrid_host_with_an_empty_v2_give_none() {
    let dir = tempfile::tempdir().unwrap();
    let m = "sys/fs/cgroup/memory";
    let unlimited = V1_CHILD_MEMORY_STAT.replace("limit 67108864", "limit 9223372036854771712");
    tree(
        dir.path(),
        &[
            ("proc/self/cgroup", V1_HYBRID_CGROUP),
            ("proc/self/mountinfo", V1_HYBRID_MOUNTINFO),
            (
                &format!("{m}/sizing-sample/child/memory.limit_in_bytes"),
                "9223372036854771712\n",
            ),
            (&format!("{m}/sizing-sample/child/memory.stat"), &unlimited),
            // Never read: memory is a v1 controller here.
            ("sys/fs/cgroup/unified/memory.max", "1048576\n"),
        ],
    );
    assert_eq!(container_limit(dir.path()), None);
}

#[test]
fn v2_in_a_namespace_reads_memory_max_at_the_mount() {
    let dir = tempfile::tempdir().unwrap();
    tree(
        dir.path(),
        &[
            ("proc/self/cgroup", V2_NS_CGROUP),
            ("proc/self/mountinfo", V2_NS_MOUNTINFO),
            ("sys/fs/cgroup/memory.max", "268435456\n"),
        ],
    );
    let l = container_limit(dir.path()).unwrap();
    assert_eq!((l.bytes, l.version), (256 << 20, CgroupVersion::V2));
    tree(dir.path(), &[("sys/fs/cgroup/memory.max", "max\n")]);
    assert_eq!(container_limit(dir.path()), None);
}

#[test]
fn v2_walks_up_to_the_smallest_limit_of_the_parents() {
    let dir = tempfile::tempdir().unwrap();
    let m = "sys/fs/cgroup";
    tree(
        dir.path(),
        &[
            ("proc/self/cgroup", V2_HOST_CGROUP),
            ("proc/self/mountinfo", V2_HOST_MOUNTINFO),
            (&format!("{m}/system.slice/app.service/memory.max"), "max\n"),
            (&format!("{m}/system.slice/memory.max"), "104857600\n"),
        ],
    );
    let l = container_limit(dir.path()).unwrap();
    assert_eq!(l.bytes, 100 << 20);
    assert_eq!(l.file, dir.path().join(m).join("system.slice/memory.max"));
    tree(
        dir.path(),
        &[(
            &format!("{m}/system.slice/app.service/memory.max"),
            "52428800\n",
        )],
    );
    assert_eq!(container_limit(dir.path()).unwrap().bytes, 50 << 20);
}

#[test]
fn no_proc_files_means_no_limit() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(container_limit(dir.path()), None);
    // A v2 line without mountinfo falls back to /sys/fs/cgroup.
    tree(
        dir.path(),
        &[
            ("proc/self/cgroup", V2_NS_CGROUP),
            ("sys/fs/cgroup/memory.max", "67108864\n"),
        ],
    );
    assert_eq!(container_limit(dir.path()).unwrap().bytes, 64 << 20);
}
