//! This process's memory limit as its container runtime set it: the cgroup hard limit (ECS's
//! `memory`, Kubernetes' `resources.limits.memory`, `docker run --memory`).
//!
//! Where it is: `/proc/self/cgroup` names this process's cgroup per hierarchy, and
//! `/proc/self/mountinfo` where each hierarchy is mounted (and which part of it: inside a
//! container the mount's root is the container's own cgroup). cgroup v1 (a line naming the
//! `memory` controller): `memory.limit_in_bytes` of the cgroup and its visible parents, and
//! `hierarchical_memory_limit` in its `memory.stat`, which also covers parents the container
//! cannot see (the ECS task's limit). cgroup v2 (the `0::` line, used when no v1 hierarchy has the
//! memory controller): `memory.max` of the cgroup and each parent up to the mount. The smallest
//! limit found is the one that binds. `max` (v2) and values near `i64::MAX` (v1 prints
//! 9223372036854771712, rounded to its page size) mean no limit.
//!
//! The parsers are pure (text in, value out); [`container_limit`] reads the files under a root
//! directory (`/` in production, a fake tree in tests). Anything missing or unreadable is "no
//! limit found", never an error: firelane runs outside containers and on other systems too.

use std::fmt;
use std::path::{Path, PathBuf};

/// v1 limits at or above this are "no limit" (the kernel's unlimited is `i64::MAX` rounded down
/// to the page size, which differs between 4 KiB and 64 KiB pages).
const V1_UNLIMITED_BYTES: u64 = 1 << 62;

/// Which cgroup hierarchy the limit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

impl fmt::Display for CgroupVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CgroupVersion::V1 => "cgroup v1",
            CgroupVersion::V2 => "cgroup v2",
        })
    }
}

/// The memory limit that binds this process, and the file that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLimit {
    pub bytes: u64,
    pub version: CgroupVersion,
    /// The file read (`memory.max`, `memory.limit_in_bytes` or `memory.stat`).
    pub file: PathBuf,
}

/// The cgroup paths of this process, from `/proc/self/cgroup`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProcCgroup {
    /// The path in the v1 hierarchy that has the `memory` controller.
    pub v1_memory: Option<String>,
    /// The path in the v2 (unified) hierarchy.
    pub v2: Option<String>,
}

/// Reads `/proc/self/cgroup`: lines `hierarchy-ID:controller-list:path`.
pub fn parse_proc_cgroup(text: &str) -> ProcCgroup {
    let mut out = ProcCgroup::default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            out.v2 = Some(path.to_owned());
        } else if controllers.split(',').any(|c| c == "memory") {
            out.v1_memory = Some(path.to_owned());
        }
    }
    out
}

/// A cgroup filesystem mount, from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// The cgroup shown at the mount point (a container's own cgroup inside a container).
    pub root: String,
    pub mount_point: String,
    pub version: CgroupVersion,
}

/// The mount of the v1 memory hierarchy and the v2 hierarchy, from `/proc/self/mountinfo`:
/// `ID parent major:minor root mount-point options [optional...] - fstype source super-options`.
pub fn parse_mountinfo(text: &str) -> (Option<CgroupMount>, Option<CgroupMount>) {
    let (mut v1, mut v2) = (None, None);
    for line in text.lines() {
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = before.split(' ').collect();
        let tail: Vec<&str> = after.split(' ').collect();
        let (Some(root), Some(mount_point), Some(fstype)) =
            (fields.get(3), fields.get(4), tail.first())
        else {
            continue;
        };
        let super_options = tail.get(2).copied().unwrap_or("");
        let version = match *fstype {
            "cgroup2" => CgroupVersion::V2,
            "cgroup" if super_options.split(',').any(|o| o == "memory") => CgroupVersion::V1,
            _ => continue,
        };
        let mount = CgroupMount {
            root: unescape(root),
            mount_point: unescape(mount_point),
            version,
        };
        match version {
            CgroupVersion::V1 => v1 = v1.or(Some(mount)),
            CgroupVersion::V2 => v2 = v2.or(Some(mount)),
        }
    }
    (v1, v2)
}

/// mountinfo writes space, tab, newline and backslash in paths as `\ooo` octal escapes.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                let v = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A v2 `memory.max`: a byte count, or `max` for none. `None` when unreadable.
pub fn parse_v2_max(text: &str) -> Option<Option<u64>> {
    match text.trim() {
        "max" => Some(None),
        n => n.parse().ok().map(Some),
    }
}

/// A v1 `memory.limit_in_bytes`: a byte count, huge for none. `None` when unreadable.
pub fn parse_v1_limit(text: &str) -> Option<Option<u64>> {
    let n: u64 = text.trim().parse().ok()?;
    Some((n < V1_UNLIMITED_BYTES).then_some(n))
}

/// `hierarchical_memory_limit` of a v1 `memory.stat`: the smallest limit of the cgroup and all
/// its ancestors. `None` when absent.
pub fn parse_v1_hierarchical(memory_stat: &str) -> Option<Option<u64>> {
    let line = memory_stat
        .lines()
        .find_map(|l| l.strip_prefix("hierarchical_memory_limit "))?;
    parse_v1_limit(line)
}

/// The directory of cgroup `path` under `mount`: the mount shows the hierarchy from its `root`
/// down, so that prefix is removed. A path outside the mount's root (a cgroup namespace shows
/// such paths as `/..`) gives the mount point itself.
pub fn cgroup_dir(mount: &CgroupMount, path: &str) -> PathBuf {
    let root = mount.root.trim_end_matches('/');
    let rel = match path.strip_prefix(root) {
        Some(r) if r.is_empty() || r.starts_with('/') => r.trim_start_matches('/'),
        _ => "",
    };
    let mut dir = PathBuf::from(&mount.mount_point);
    if !rel.is_empty() && !rel.split('/').any(|c| c == "..") {
        dir.push(rel);
    }
    dir
}

/// This process's memory limit, read from the files under `root` (`/` in production). `None`
/// when there is no cgroup, no limit, or nothing readable.
pub fn container_limit(root: &Path) -> Option<ContainerLimit> {
    let under = |p: &str| root.join(p.trim_start_matches('/'));
    let cgroup = parse_proc_cgroup(&std::fs::read_to_string(under("/proc/self/cgroup")).ok()?);
    let mountinfo = std::fs::read_to_string(under("/proc/self/mountinfo")).unwrap_or_default();
    let (v1_mount, v2_mount) = parse_mountinfo(&mountinfo);
    if let Some(path) = &cgroup.v1_memory {
        // A v1 memory hierarchy means memory is not controlled by v2, even if a `0::` line exists.
        let mount =
            v1_mount.unwrap_or_else(|| default_mount("/sys/fs/cgroup/memory", CgroupVersion::V1));
        return v1_limit(root, &mount, path);
    }
    let path = cgroup.v2?;
    let mount = v2_mount.unwrap_or_else(|| default_mount("/sys/fs/cgroup", CgroupVersion::V2));
    v2_limit(root, &mount, &path)
}

fn default_mount(mount_point: &str, version: CgroupVersion) -> CgroupMount {
    CgroupMount {
        root: "/".to_owned(),
        mount_point: mount_point.to_owned(),
        version,
    }
}

/// The cgroup's directory and each parent up to the mount point, under `root`.
fn dirs_up(root: &Path, mount: &CgroupMount, path: &str) -> Vec<PathBuf> {
    let top = root.join(mount.mount_point.trim_start_matches('/'));
    let leaf = cgroup_dir(mount, path);
    let mut dir = root.join(leaf.strip_prefix("/").unwrap_or(&leaf));
    let mut dirs = Vec::new();
    while dir.starts_with(&top) {
        dirs.push(dir.clone());
        if dir == top || !dir.pop() {
            break;
        }
    }
    dirs
}

/// The smallest of `candidates` (file, limit).
fn smallest(
    version: CgroupVersion,
    candidates: impl Iterator<Item = (PathBuf, u64)>,
) -> Option<ContainerLimit> {
    candidates
        .min_by_key(|(_, bytes)| *bytes)
        .map(|(file, bytes)| ContainerLimit {
            bytes,
            version,
            file,
        })
}

fn v1_limit(root: &Path, mount: &CgroupMount, path: &str) -> Option<ContainerLimit> {
    let dirs = dirs_up(root, mount, path);
    let own = dirs.iter().filter_map(|d| {
        let file = d.join("memory.limit_in_bytes");
        let limit = parse_v1_limit(&std::fs::read_to_string(&file).ok()?)??;
        Some((file, limit))
    });
    let hierarchical = dirs.first().and_then(|d| {
        let file = d.join("memory.stat");
        let limit = parse_v1_hierarchical(&std::fs::read_to_string(&file).ok()?)??;
        Some((file, limit))
    });
    // `min_by_key` keeps the first of equal limits: the cgroup's own file is named before
    // memory.stat when both say the same.
    smallest(CgroupVersion::V1, own.chain(hierarchical))
}

fn v2_limit(root: &Path, mount: &CgroupMount, path: &str) -> Option<ContainerLimit> {
    let limits = dirs_up(root, mount, path).into_iter().filter_map(|d| {
        let file = d.join("memory.max");
        let limit = parse_v2_max(&std::fs::read_to_string(&file).ok()?)??;
        Some((file, limit))
    });
    smallest(CgroupVersion::V2, limits)
}

#[cfg(test)]
mod tests;
