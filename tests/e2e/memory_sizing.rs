//! The memory account sized from the container: `firelane` run and validated inside a real
//! cgroup v1 memory cgroup (as ECS sets one from a task definition's `memory`), its start-up log,
//! `/metrics` and `validate` output. Skipped, with the reason printed, when
//! /sys/fs/cgroup/memory cannot be written (not root, or no cgroup v1 memory hierarchy).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::cgroup::Cgroup;
use common::{free_port, http_get, metric_sum};
use firelane::memory::sizing;

/// A v1 memory cgroup limited to `limit_bytes` (`tests/e2e/common/cgroup.rs`), or `None` with the
/// reason printed when this machine cannot make one.
fn cgroup(limit_bytes: u64) -> Option<Cgroup> {
    Cgroup::v1(limit_bytes)
        .map_err(|why| eprintln!("skipped: {why}"))
        .ok()
}

fn limit_file(cg: &Cgroup) -> PathBuf {
    cg.dir.join("memory.limit_in_bytes")
}

/// `firelane args...` started inside `cg`.
fn spawn_in(cg: &Cgroup, args: &[&str], stderr: Stdio) -> Child {
    cg.command(Path::new(env!("CARGO_BIN_EXE_firelane")))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

fn run_in(cg: &Cgroup, args: &[&str]) -> Output {
    spawn_in(cg, args, Stdio::piped())
        .wait_with_output()
        .unwrap()
}

/// A running firelane, killed on drop (before its cgroup is removed: declare it after).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A forward input on a free port (the `mem_buf_limit` given), the null output, the admin server.
fn config(dir: &Path, service: &str, mem_buf_limit: &str) -> (PathBuf, u16) {
    let http_port = free_port();
    let text = format!(
        "[service]\nhttp_port = {http_port}\n{service}\n\n[[inputs]]\nname = \"forward\"\n\
         listen = \"127.0.0.1\"\nport = {}\nmem_buf_limit = \"{mem_buf_limit}\"\n\n\
         [[outputs]]\nname = \"null\"\nmatch = \"*\"\n",
        free_port()
    );
    let path = dir.join("firelane.toml");
    std::fs::write(&path, text).unwrap();
    (path, http_port)
}

/// `firelane run -c cfg` in the cgroup, its log beside the config, once /metrics answers.
fn run_until_metrics(cg: &Cgroup, cfg: &Path, http_port: u16) -> (Running, PathBuf, String) {
    let log = cfg.with_file_name("firelane.log");
    let stderr = Stdio::from(std::fs::File::create(&log).unwrap());
    let mut fl = Running(spawn_in(cg, &["run", "-c", cfg.to_str().unwrap()], stderr));
    let body = wait_metrics(&mut fl.0, http_port, &log);
    (fl, log, body)
}

fn wait_metrics(child: &mut Child, port: u16, log: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("firelane exited ({status}):\n{}", read(log));
        }
        if let Some((200, body)) = http_get(port, "/metrics") {
            return body;
        }
        assert!(Instant::now() < deadline, "no /metrics:\n{}", read(log));
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

const LIMIT: u64 = 64 << 20;

#[test]
fn run_in_a_64_mib_cgroup_sizes_the_account_from_its_limit() {
    let Some(cg) = cgroup(LIMIT) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // FireLens's generated forward input for a 50 MB memoryReservation.
    let (cfg, http_port) = config(dir.path(), "", "25MB");
    let (fl, log, body) = run_until_metrics(&cg, &cfg, http_port);
    let pid = fl.0.id();
    let own = read(Path::new(&format!("/proc/{pid}/cgroup")));
    assert!(
        own.contains(cg.dir.file_name().unwrap().to_str().unwrap()),
        "{own}"
    );

    let total = sizing::auto_total(LIMIT).unwrap();
    assert!(
        (sizing::MIN_ACCOUNT_BYTES..LIMIT / 2).contains(&total),
        "{total}"
    );
    let text = read(&log);
    let line = text
        .lines()
        .find(|l| l.contains("memory account:"))
        .unwrap_or_else(|| panic!("no memory account line:\n{text}"));
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains(&format!("({total} bytes, auto:")), "{line}");
    let from = format!(
        "cgroup v1 memory limit 64.0 MiB in {}",
        limit_file(&cg).display()
    );
    assert!(line.contains(&from), "{line}");
    assert_eq!(text.matches("memory account:").count(), 1, "{text}");
    // 25 MB is more than this account: the share is named.
    assert!(25_000_000 > total);
    let warn = text
        .lines()
        .find(|l| l.contains("mem_buf_limit add up to"))
        .unwrap_or_else(|| panic!("no warning on the inputs' shares:\n{text}"));
    assert!(
        warn.contains("WARN") && warn.contains("(forward.0 23.8 MiB)"),
        "{warn}"
    );

    assert_eq!(
        metric_sum(&body, "firelane_memory_account_limit_bytes", ""),
        total as f64
    );
    let rss = metric_sum(&body, "process_resident_memory_bytes", "");
    assert!(rss > 1e6 && rss < LIMIT as f64, "{rss}");
    assert!(
        body.contains("# HELP firelane_memory_account_limit_bytes"),
        "{body}"
    );
}

#[test]
fn outputs_that_buffer_hold_their_share_of_the_account_from_the_start() {
    let Some(cg) = cgroup(LIMIT) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (cfg, http_port) = config(dir.path(), "", "25MB");
    // Two outputs that buffer (nothing listens on their ports: they only try when records come).
    let mut text = read(&cfg);
    text.push_str(&format!(
        "\n[[outputs]]\nname = \"forward\"\nmatch = \"*\"\nhost = \"127.0.0.1\"\nport = {}\n\
         \n[[outputs]]\nname = \"cloudwatch_logs\"\nmatch = \"*\"\nregion = \"us-east-1\"\n\
         log_group_name = \"g\"\nlog_stream_name = \"s\"\nendpoint = \"http://127.0.0.1:{}\"\n",
        free_port(),
        free_port()
    ));
    std::fs::write(&cfg, text).unwrap();
    let (_running, log, body) = run_until_metrics(&cg, &cfg, http_port);
    let total = sizing::auto_total(LIMIT).unwrap() as f64;
    // A quarter of the account split between the two (1,690,828 bytes each); the null output
    // takes nothing. forward: its round shrinks to the share. cloudwatch_logs: one request in
    // flight (1.5 MiB) and the buffers' 256 KiB floor, a little over its share.
    let in_use = metric_sum(&body, "firelane_memory_account_bytes", "");
    let share = total as u64 / 4 / 2;
    assert_eq!(share, 1_690_828);
    let cloudwatch = (3 << 19) + (256 << 10);
    let text = read(&log);
    assert_eq!(in_use, (share + cloudwatch) as f64, "{text}");
    assert!(
        text.contains("fewer requests in flight than `workers`"),
        "{text}"
    );
    // The allocator and its options are named at start and measured in /metrics.
    assert!(
        text.contains(
            "allocator: jemalloc (background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"
        ),
        "{text}"
    );
    assert!(
        metric_sum(&body, "firelane_allocator_allocated_bytes", "") > 1e5,
        "{body}"
    );
    assert!(
        metric_sum(&body, "firelane_allocator_resident_bytes", "") > 1e5,
        "{body}"
    );
}

#[test]
fn validate_in_a_cgroup_prints_the_budget_and_warns_about_a_too_small_one() {
    let Some(cg) = cgroup(LIMIT) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (cfg, _) = config(dir.path(), "", "8MiB");
    let out = run_in(&cg, &["validate", "-c", cfg.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total = sizing::auto_total(LIMIT).unwrap();
    let want = format!(
        "memory account: {} ({total} bytes, auto: 80 % of the cgroup v1 memory limit 64.0 MiB in {}",
        sizing::mib(total),
        limit_file(&cg).display()
    );
    assert!(stdout.contains(&want), "{stdout}");

    // A configured size over what auto would choose is kept, with a warning.
    let (cfg, _) = config(dir.path(), "memory_limit = \"60MiB\"", "8MiB");
    let out = run_in(&cg, &["validate", "-c", cfg.to_str().unwrap()]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("memory account: 60.0 MiB (62914560 bytes, service.memory_limit)"),
        "{stdout}"
    );
    let want = format!(
        "60.0 MiB is more than the {} that keeps RSS under 80 % of the container's memory limit 64.0 MiB",
        sizing::mib(total)
    );
    assert!(stderr.contains(&want), "{stderr}");

    // Too small for auto: firelane still runs (Fluent Bit would), on the smallest account,
    // and says why that may not be enough.
    let tiny = sizing::min_container_bytes() - 1;
    std::fs::write(limit_file(&cg), tiny.to_string()).unwrap();
    let (cfg, _) = config(dir.path(), "", "8MiB");
    let out = run_in(&cg, &["validate", "-c", cfg.to_str().unwrap()]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("ok:")
            && stdout.contains("memory account: 8.0 MiB (8388608 bytes, auto: the floor"),
        "{stdout}"
    );
    assert!(
        stderr.contains("below the 44.7 MiB firelane needs")
            && stderr.contains("the kernel may kill firelane"),
        "{stderr}"
    );
    // `none` runs anyway, unbounded.
    let (cfg, _) = config(dir.path(), "memory_limit = \"none\"", "8MiB");
    let out = run_in(&cg, &["validate", "-c", cfg.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("memory account: unbounded"),
        "{stdout}"
    );
}

#[test]
fn without_a_limit_the_account_is_unbounded_and_has_no_limit_gauge() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, http_port) = config(dir.path(), "memory_limit = \"none\"", "8MiB");
    let log = dir.path().join("firelane.log");
    let mut fl = Running(
        Command::new(env!("CARGO_BIN_EXE_firelane"))
            .args(["run", "-c", cfg.to_str().unwrap()])
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let body = wait_metrics(&mut fl.0, http_port, &log);
    assert!(
        !body.contains("firelane_memory_account_limit_bytes "),
        "{body}"
    );
    assert!(
        metric_sum(&body, "process_resident_memory_bytes", "") > 1e6,
        "{body}"
    );
    assert!(read(&log).contains("memory account: unbounded (service.memory_limit = none"));
}
