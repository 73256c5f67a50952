//! The image's root filesystem, assembled by scripts/image-rootfs.sh (the Dockerfile's script) from
//! the binary cargo built for the tests, and commands run inside it with chroot, in a network
//! namespace of their own when one can be made.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::dockerfile::{self, last};

/// The longest any one command in the image may take (a hang fails the test instead of stalling it).
const COMMAND_LIMIT: Duration = Duration::from_secs(20);
/// The environment a task definition would give the log router (the metrics configs name these).
const TASK_ENV: [(&str, &str); 3] = [
    ("HOSTNAME", "ip-10-0-1-23"),
    ("FLUENT_BIT_METRICS_LOG_REGION", "us-east-1"),
    ("FLUENT_BIT_METRICS_LOG_GROUP", "/ecs/firelens-metrics"),
];

pub struct Image {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    chroot: PathBuf,
    netns: Option<NetNs>,
    /// The Dockerfile's `ENV PATH=...`.
    path: String,
}

/// A process holding a network namespace with loopback up; commands join it with nsenter.
struct NetNs {
    holder: Child,
    nsenter: PathBuf,
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn busybox() -> PathBuf {
    std::env::var_os("BUSYBOX").map_or_else(|| PathBuf::from("/bin/busybox"), PathBuf::from)
}

/// `name` on PATH or in the sbin directories (root's tools).
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Why this process cannot chroot, if it cannot.
fn cannot_chroot() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_owned));
    if euid.as_deref() != Some("0") {
        return Some(format!("not running as root (effective uid {euid:?})"));
    }
    let Some(chroot) = which("chroot") else {
        return Some("no chroot command".to_owned());
    };
    match Command::new(&chroot)
        .args(["/", "/bin/sh", "-c", "true"])
        .output()
    {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "chroot fails: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("chroot fails: {e}")),
    }
}

impl NetNs {
    /// None, with the reason on stderr, when no namespace can be made.
    fn new() -> Option<Self> {
        let (unshare, nsenter) = (which("unshare")?, which("nsenter")?);
        let bb = busybox();
        let bb = bb.display();
        let mut holder = Command::new(unshare)
            .args(["--net", "--", &bb.to_string(), "sh", "-c"])
            .arg(format!(
                "{bb} ip link set lo up && echo ready && exec {bb} sleep 600"
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        let _ = BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line);
        if line.trim() == "ready" {
            return Some(Self { holder, nsenter });
        }
        let _ = holder.kill();
        let mut why = String::new();
        let _ = holder.stderr.take().unwrap().read_to_string(&mut why);
        let _ = holder.wait();
        eprintln!("no network namespace ({}): using the host's", why.trim());
        None
    }
}

impl Image {
    /// Runs the script into a temporary directory. None (the test is skipped, with the reason on
    /// stderr) only when this process cannot chroot.
    pub fn assemble() -> Option<Self> {
        if let Some(why) = cannot_chroot() {
            eprintln!("SKIPPED: the image test needs to chroot: {why}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("rootfs");
        let out = Command::new(repo().join("scripts/image-rootfs.sh"))
            .arg(&root)
            .arg(env!("CARGO_BIN_EXE_firelane"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "image-rootfs.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (_, final_stage) = dockerfile::final_stage();
        let path = last(&final_stage, "ENV")
            .and_then(|e| e.strip_prefix("PATH="))
            .expect("ENV PATH=... in the final stage")
            .to_owned();
        // A container runtime gives the container a /dev; health checks write to /dev/null.
        std::fs::create_dir(root.join("dev")).unwrap();
        let null = root.join("dev/null");
        let made = Command::new("mknod")
            .args(["-m", "666"])
            .arg(&null)
            .args(["c", "1", "3"])
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            eprintln!("cannot mknod {}: a plain file stands in", null.display());
            std::fs::write(&null, "").unwrap();
        }
        let netns = NetNs::new();
        if netns.is_none() {
            for port in [2020, 8877, 24224] {
                assert!(
                    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
                    "port {port} is taken on the host network, which this test must use"
                );
            }
        }
        Some(Self {
            _dir: dir,
            root,
            chroot: which("chroot").unwrap(),
            netns,
            path,
        })
    }

    /// `argv` inside the image, with the task's environment and the Dockerfile's PATH only.
    fn command<S: AsRef<OsStr>>(&self, argv: &[S]) -> Command {
        let mut c = match &self.netns {
            Some(ns) => {
                let mut c = Command::new(&ns.nsenter);
                c.arg(format!("--net=/proc/{}/ns/net", ns.holder.id()))
                    .arg("--")
                    .arg(&self.chroot);
                c
            }
            None => Command::new(&self.chroot),
        };
        c.arg(&self.root)
            .args(argv)
            .env_clear()
            .env("PATH", &self.path)
            .envs(TASK_ENV)
            .stdin(Stdio::null());
        c
    }

    /// Runs `argv` in the image; its exit code, stdout and stderr.
    pub fn exec<S: AsRef<OsStr>>(&self, argv: &[S]) -> (i32, String, String) {
        let mut child = self
            .command(argv)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > COMMAND_LIMIT {
                let _ = child.kill();
                panic!(
                    "{:?} still running after {COMMAND_LIMIT:?}",
                    argv.iter().map(|a| a.as_ref()).collect::<Vec<_>>()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The exit code of `argv` (exec form) in the image.
    pub fn run(&self, argv: &[String]) -> i32 {
        self.exec(argv).0
    }

    /// The exit code of a `CMD-SHELL` command in the image (`/bin/sh -c`, as Docker runs it).
    pub fn shell(&self, command: &str) -> i32 {
        self.exec(&["/bin/sh", "-c", command]).0
    }

    /// The stdout of a shell command that must succeed.
    pub fn output(&self, command: &str) -> String {
        let (code, out, err) = self.exec(&["/bin/sh", "-c", command]);
        assert_eq!(code, 0, "{command}: {err}");
        out
    }

    /// Starts `argv` in the image (firelane), its output in a log file.
    pub fn start(&self, argv: &[String]) -> Running {
        let log = self.root.join("tmp/firelane.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = self
            .command(argv)
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        Running { child, log }
    }

    /// Writes what ECS generates into /fluent-bit/etc/fluent-bit.conf: its inputs (the socket,
    /// TCP 24224, the 8877 health-check pair), `@INCLUDE` of the task's extra config, `outputs`.
    pub fn write_firelens_config(&self, include: Option<&str>, outputs: &str) {
        let include = include.map_or(String::new(), |f| format!("@INCLUDE {f}\n\n"));
        let text = format!(
            "[INPUT]\n    Name forward\n    Mem_Buf_Limit 25MB\n    unix_path /var/run/fluent.sock\n\n\
             [INPUT]\n    Name forward\n    Listen 0.0.0.0\n    Port 24224\n\n\
             [INPUT]\n    Name tcp\n    Tag firelens-healthcheck\n    Listen 127.0.0.1\n    Port 8877\n\n\
             {include}\
             [OUTPUT]\n    Name null\n    Match firelens-healthcheck\n\n{outputs}"
        );
        std::fs::write(self.root.join("fluent-bit/etc/fluent-bit.conf"), text).unwrap();
    }
}

/// firelane running in the image; killed on drop.
pub struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("firelane exited ({status}): {}", self.log());
        }
    }

    /// SIGTERM (as ECS stops a task), then waits for the exit.
    pub fn terminate(&mut self) {
        super::signal(&self.child, "TERM");
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(40),
                "firelane did not stop: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Names of the ELF file's debug-info sections: `.debug_*` not loaded at run time
/// (`.debug_gdb_scripts` is loaded, and is not debug info).
pub fn debug_sections(path: &Path) -> Vec<String> {
    let elf = std::fs::read(path).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(elf[4], 2, "64-bit ELF");
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |i: usize| shoff + i * shentsize;
    let names = u64_at(header(shstrndx) + 0x18);
    const SHF_ALLOC: usize = 0x2;
    (0..shnum)
        .filter(|&i| u64_at(header(i) + 0x08) & SHF_ALLOC == 0)
        .map(|i| {
            let start = names + u32_at(header(i));
            let end = start + elf[start..].iter().position(|&b| b == 0).unwrap();
            String::from_utf8_lossy(&elf[start..end]).into_owned()
        })
        .filter(|name| name.starts_with(".debug_"))
        .collect()
}

/// Total bytes of the regular files under `dir` (links not followed).
pub fn tree_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            total += tree_bytes(&path);
        } else if meta.is_file() {
            total += meta.len();
        }
    }
    total
}

/// Whether `path`'s mode has the sticky bit and rwx for everyone (a /tmp).
pub fn is_world_writable_sticky(path: &Path) -> bool {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o1777 == 0o1777
}
