//! A memory cgroup for a test (v1 under /sys/fs/cgroup/memory, or v2 where its memory controller
//! is mounted): created with a unique name and a limit, processes started inside it, its counters
//! read (usage, peak, OOM kills, failed charges), and, on drop, every process in it killed and
//! the group removed, also when the test panics. Where the machine cannot do it (not root, not
//! mounted, not writable), [`Cgroup::v1`]/[`Cgroup::v2`] return the reason to print and skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Which cgroup interface a group uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// A memory cgroup owned by the test; killed and removed on drop.
pub struct Cgroup {
    pub dir: PathBuf,
    pub version: Version,
}

/// The group's memory counters at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Bytes charged now (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub usage: u64,
    /// Highest charge since creation (v1 `memory.max_usage_in_bytes`, v2 `memory.peak` where the
    /// kernel has it, else 0).
    pub peak: u64,
    /// Processes the kernel's OOM killer killed in the group (v1 `oom_kill` of
    /// `memory.oom_control`, v2 `oom_kill` of `memory.events`).
    pub oom_kills: u64,
    /// Whether the group is under OOM now (v1 `under_oom`; v2: never reported, 0).
    pub under_oom: bool,
    /// Charges that hit the limit and had to reclaim (v1 `memory.failcnt`, v2 `max` of
    /// `memory.events`).
    pub failcnt: u64,
}

/// The v1 memory hierarchy this machine mounts.
const V1_ROOT: &str = "/sys/fs/cgroup/memory";

fn unique_name() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "firelane-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn is_root() -> bool {
    // /proc/self/status: "Uid:\treal\teffective\t...".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value)
        .map_err(|e| format!("cannot write {value:?} to {}: {e}", path.display()))
}

/// Makes `parent/<unique name>`; the reason when it cannot.
fn make_dir(parent: &Path) -> Result<PathBuf, String> {
    if !is_root() {
        return Err("not running as root: cannot create a memory cgroup".to_owned());
    }
    if !parent.join("cgroup.procs").exists() {
        return Err(format!("{} is not a mounted cgroup", parent.display()));
    }
    remove_stale(parent);
    let dir = parent.join(unique_name());
    std::fs::create_dir(&dir).map_err(|e| {
        format!(
            "cannot create {}: {e} (read-only cgroup mount?)",
            dir.display()
        )
    })?;
    Ok(dir)
}

/// Kills and removes the groups of test processes that are gone: a test that aborted (a stack
/// overflow, SIGKILL) ran no Drop guard.
fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(owner) = name
            .strip_prefix("firelane-test-")
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if Path::new("/proc").join(owner).exists() {
            continue;
        }
        let version = match parent == Path::new(V1_ROOT) {
            true => Version::V1,
            false => Version::V2,
        };
        drop(Cgroup {
            dir: e.path(),
            version,
        });
    }
}

impl Cgroup {
    /// A v1 memory group limited to `limit` bytes (no swap on top), or why not.
    pub fn v1(limit: u64) -> Result<Self, String> {
        let dir = make_dir(Path::new(V1_ROOT))?;
        let group = Cgroup {
            dir,
            version: Version::V1,
        };
        write(&group.dir.join("memory.limit_in_bytes"), &limit.to_string())?;
        // Swap would let the group exceed the limit instead of reclaiming or killing; there is no
        // swap on the test machines, but keep it out where the knob exists.
        let memsw = group.dir.join("memory.memsw.limit_in_bytes");
        if memsw.exists() {
            write(&memsw, &limit.to_string())?;
        }
        Ok(group)
    }

    /// A v2 group limited to `limit` bytes (`memory.max`, `memory.swap.max` 0), or why not (no
    /// cgroup2 mount, its memory controller bound to v1, controllers not delegable).
    pub fn v2(limit: u64) -> Result<Self, String> {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let root = mounts
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (_, path, fstype) = (f.next()?, f.next()?, f.next()?);
                (fstype == "cgroup2").then(|| PathBuf::from(path))
            })
            .next()
            .ok_or("no cgroup2 file system is mounted")?;
        let controllers =
            std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        if !controllers.split_whitespace().any(|c| c == "memory") {
            return Err(format!(
                "the cgroup2 mount {} has no memory controller (controllers: {:?}; memory is bound to cgroup v1 here)",
                root.display(),
                controllers.trim()
            ));
        }
        let subtree = root.join("cgroup.subtree_control");
        let enabled = std::fs::read_to_string(&subtree).unwrap_or_default();
        if !enabled.split_whitespace().any(|c| c == "memory") {
            write(&subtree, "+memory")?;
        }
        let dir = make_dir(&root)?;
        let group = Cgroup {
            dir,
            version: Version::V2,
        };
        write(&group.dir.join("memory.max"), &limit.to_string())?;
        let swap = group.dir.join("memory.swap.max");
        if swap.exists() {
            write(&swap, "0")?;
        }
        Ok(group)
    }

    /// A command that runs `program args...` inside the group: a shell puts itself in the
    /// group, then execs the program (same pid), so everything it starts is charged here.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("echo $$ > \"$0\" && exec \"$@\"")
            .arg(self.dir.join("cgroup.procs"))
            .arg(program);
        cmd
    }

    /// Pids in the group now.
    pub fn pids(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }

    fn read_u64(&self, file: &str) -> u64 {
        self.read(file).trim().parse().unwrap_or(0)
    }

    /// The `key value` lines of a flat-keyed file.
    fn keyed(&self, file: &str, key: &str) -> u64 {
        self.read(file)
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == key).then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0)
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        match self.version {
            Version::V1 => Stats {
                usage: self.read_u64("memory.usage_in_bytes"),
                peak: self.read_u64("memory.max_usage_in_bytes"),
                oom_kills: self.keyed("memory.oom_control", "oom_kill"),
                under_oom: self.keyed("memory.oom_control", "under_oom") != 0,
                failcnt: self.read_u64("memory.failcnt"),
            },
            Version::V2 => Stats {
                usage: self.read_u64("memory.current"),
                peak: self.read_u64("memory.peak"),
                oom_kills: self.keyed("memory.events", "oom_kill"),
                under_oom: false,
                failcnt: self.keyed("memory.events", "max"),
            },
        }
    }

    /// A `memory.stat` figure (v1: `rss`, `cache`, `mapped_file`, ...; v2: `anon`, `file`, ...).
    pub fn stat(&self, key: &str) -> u64 {
        self.keyed("memory.stat", key)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Kill whatever is left (the test's own Drop guards usually got there first), then
        // remove the group; rmdir fails while a process is still in it, so retry a while.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pids = self.pids();
            for pid in &pids {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            if pids.is_empty() && std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            if Instant::now() > deadline {
                eprintln!("could not remove cgroup {}", self.dir.display());
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
