//! The image's final stage without a container engine: scripts/image-rootfs.sh, the script the
//! Dockerfile's build stage runs, assembles the root filesystem from the binary cargo built for
//! these tests; firelane then runs inside it with chroot, started as the Dockerfile starts it, with
//! the Dockerfile's PATH, in a network namespace of its own (so the health checks' fixed ports
//! cannot meet another test's), and AWS's documented FireLens health checks run inside it too:
//! 0 while healthy, non-zero when /api/v1/health fails and once firelane has stopped.
//!
//! Needs root (chroot). Skipped, with a message saying why, only when not root or chroot fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::dockerfile::{self, exec_form, last};
use common::image::{Image, debug_sections, is_world_writable_sticky, tree_bytes};

/// The three task definitions of aws-samples' health-check example (tests/data/health-check).
const EXAMPLES: &str = "tests/data/health-check";

#[test]
fn the_image_runs_the_documented_firelens_health_checks() {
    let Some(image) = Image::assemble() else {
        return;
    };
    check_contents(&image);
    check_configs_validate(&image);

    let examples = health_check_examples();
    let mut extra: Vec<&str> = examples
        .iter()
        .filter_map(|e| e.config.as_deref())
        .collect();
    extra.dedup();
    assert_eq!(
        extra,
        ["/fluent-bit/configs/output-metrics-healthcheck.conf"],
        "the examples' config-file-value"
    );
    // The app's output: a file whose name is taken by a directory, so every write fails.
    std::fs::create_dir(image.root.join("tmp/blocked")).unwrap();
    image.write_firelens_config(
        Some(extra[0]),
        "[OUTPUT]\n    Name file\n    Match app-firelens*\n    Path /tmp\n    File blocked\n",
    );
    let (_, final_stage) = dockerfile::final_stage();
    let mut start = exec_form(last(&final_stage, "ENTRYPOINT").unwrap());
    start.extend(exec_form(last(&final_stage, "CMD").unwrap()));
    let check = last(&final_stage, "HEALTHCHECK").unwrap();
    let docker_check = exec_form(check.split_once(" CMD ").unwrap().1);

    let mut firelane = image.start(&start);
    let ready = Instant::now();
    loop {
        let (code, _, err) = image.exec(&[
            "/bin/sh",
            "-c",
            "curl -fsS -o /dev/null http://127.0.0.1:2020/api/v1/uptime",
        ]);
        if code == 0 {
            break;
        }
        firelane.assert_running();
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "firelane not answering ({code}: {err}): {}",
            firelane.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Healthy: every check passes, and the nc one put its record through the tcp input.
    for e in &examples {
        assert_eq!(image.shell(&e.command), 0, "{}: {}", e.file, e.command);
    }
    assert_eq!(image.run(&docker_check), 0, "{docker_check:?}");
    for variant in [
        "curl -fsS -o /dev/null -m 2 http://127.0.0.1:2020/api/v1/health",
        "curl -sf --connect-timeout 1 127.0.0.1:2020/api/v1/uptime | grep -q uptime_sec",
        "nc -z -w 2 127.0.0.1 8877",
        "nc -vz 127.0.0.1 24224",
    ] {
        assert_eq!(image.shell(variant), 0, "{variant}");
    }
    let metrics = image.output("curl -s http://127.0.0.1:2020/api/v1/metrics/prometheus");
    let healthcheck_records: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("firelane_input_records_total{") && l.contains("\"tcp."))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(healthcheck_records >= 1.0, "{metrics}");
    // Options these tools do not have are refused, not ignored.
    assert_eq!(
        image.shell("curl -L http://127.0.0.1:2020/api/v1/health"),
        2
    );
    assert_eq!(image.shell("nc -u 127.0.0.1 8877 </dev/null"), 2);

    // Unhealthy: records through FireLens's socket into the failing output, one every 100 ms
    // for as long as the checks run, so more than HC_Errors_Count (5) fail within HC_Period (5 s).
    let socket = image.root.join("var/run/fluent.sock");
    let mut conn = UnixStream::connect(&socket).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let sender = std::thread::spawn({
        let stop = stop.clone();
        move || {
            while !stop.load(Ordering::Relaxed) {
                let frame = common::message_frame("app-firelens-0123", 1_700_000_000, "x", None);
                conn.write_all(&frame).unwrap();
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    let failing = Instant::now();
    while image.shell("curl -fs -o /dev/null http://127.0.0.1:2020/api/v1/health") != 22 {
        assert!(
            failing.elapsed() < Duration::from_secs(15),
            "/api/v1/health never failed: {}",
            firelane.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for e in &examples {
        // The deep check fails; the shallow ones (uptime, the tcp input) still pass.
        let expect = if e.command.contains("/api/v1/health") {
            1
        } else {
            0
        };
        assert_eq!(image.shell(&e.command), expect, "unhealthy: {}", e.command);
    }
    assert_ne!(image.run(&docker_check), 0, "unhealthy: {docker_check:?}");
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();

    // Stopped: every check fails.
    firelane.terminate();
    for e in &examples {
        assert_eq!(image.shell(&e.command), 1, "stopped: {}", e.command);
    }
    assert_ne!(image.run(&docker_check), 0, "stopped: {docker_check:?}");
    assert_eq!(image.shell("nc -z -w 1 127.0.0.1 8877"), 1);
}

/// What the script put in the root filesystem.
fn check_contents(image: &Image) {
    let root = &image.root;
    let firelane = root.join("usr/local/bin/firelane");
    assert!(
        !debug_sections(Path::new(env!("CARGO_BIN_EXE_firelane"))).is_empty(),
        "the test binary has debug info to strip"
    );
    assert_eq!(debug_sections(&firelane), Vec::<String>::new());
    assert!(
        root.join("fluent-bit/parsers/parsers.conf").is_file(),
        "the image's standard parsers file"
    );
    for (link, target) in [
        ("usr/bin/curl", "../local/bin/firelane"),
        ("usr/bin/nc", "../local/bin/firelane"),
        ("bin/sh", "busybox"),
    ] {
        assert_eq!(
            std::fs::read_link(root.join(link)).unwrap(),
            Path::new(target),
            "{link}"
        );
    }
    assert!(
        !root.join("bin/nc").exists(),
        "busybox's nc must not shadow firelane's"
    );
    let certs = std::fs::read_to_string(root.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    assert!(certs.contains("-----BEGIN CERTIFICATE-----"));
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.contains(":65532:65532:"), "{passwd}");
    assert!(is_world_writable_sticky(&root.join("tmp")));
    for dir in ["fluent-bit/etc", "var/run"] {
        assert!(root.join(dir).is_dir(), "{dir}");
    }
    // Every file of config/image/ is under /fluent-bit/, unchanged.
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/image");
    let mut stack = vec![source.clone()];
    let mut installed = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(&source).unwrap();
            let copy = root.join("fluent-bit").join(rel);
            assert_eq!(
                std::fs::read(&copy).unwrap(),
                std::fs::read(&path).unwrap(),
                "{}",
                copy.display()
            );
            installed += 1;
        }
    }
    assert!(installed >= 6, "config/image/configs/*.conf");
    eprintln!(
        "image root filesystem: {:.1} MiB (with the test binary, stripped: {:.1} MiB)",
        tree_bytes(root) as f64 / 1048576.0,
        std::fs::metadata(&firelane).unwrap().len() as f64 / 1048576.0
    );
}

/// Each /fluent-bit/configs file, named as a task's extra config (@INCLUDEd into what ECS
/// generates), validates in the image; the ones that need the `exec` input are refused for that
/// alone, as their header says.
fn check_configs_validate(image: &Image) {
    let dir = image.root.join("fluent-bit/configs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let sections: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
        if sections.iter().all(|s| *s == "[PARSER]") {
            continue; // A parsers file: read through the metrics configs' Parsers_File.
        }
        let in_image = format!("/fluent-bit/configs/{name}");
        image.write_firelens_config(
            Some(&in_image),
            "[OUTPUT]\n    Name stdout\n    Match app-firelens*\n",
        );
        let (code, out, err) = image.exec(&[
            "/usr/local/bin/firelane",
            "validate",
            "-c",
            "/fluent-bit/etc/fluent-bit.conf",
        ]);
        let exec_inputs = text
            .lines()
            .filter(|l| {
                let words: Vec<String> = l.split_whitespace().map(str::to_lowercase).collect();
                words == ["name", "exec"]
            })
            .count();
        if exec_inputs == 0 {
            assert_eq!(code, 0, "{name}: {err}");
            assert!(out.starts_with("ok: "), "{name}: {out}");
        } else {
            assert!(
                text.contains("NOT YET USABLE") && text.contains("issue 29"),
                "{name}"
            );
            assert_eq!(code, 64, "{name}: {out}{err}");
            let errors: Vec<&str> = err
                .lines()
                .filter(|l| !l.starts_with("warning: "))
                .collect();
            assert_eq!(errors.len(), exec_inputs, "{name}: {err}");
            let prefix = format!("{in_image}:");
            for e in errors {
                let rest = e.strip_prefix(&prefix).unwrap_or_else(|| panic!("{e}"));
                let (line, refusal) = rest.split_once(": ").unwrap();
                assert!(line.parse::<u32>().is_ok(), "{e}");
                assert!(
                    refusal.starts_with("Name: input plugin `exec` is not supported;"),
                    "{name}: {e}"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 5, "configs validated");
}

/// One example task definition's log-router health check and extra config.
struct Example {
    file: String,
    command: String,
    config: Option<String>,
}

fn health_check_examples() -> Vec<Example> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLES);
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in files {
        let def: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let router = def["containerDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c.get("firelensConfiguration").is_some())
            .unwrap();
        let command = router["healthCheck"]["command"].as_array().unwrap();
        assert_eq!(command[0], "CMD-SHELL");
        out.push(Example {
            file: path.file_name().unwrap().to_string_lossy().into_owned(),
            command: command[1].as_str().unwrap().to_owned(),
            config: router["firelensConfiguration"]["options"]["config-file-value"]
                .as_str()
                .map(str::to_owned),
        });
    }
    assert_eq!(out.len(), 3, "{out:?}", out = dir.display());
    out
}
