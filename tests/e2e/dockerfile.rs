//! The Dockerfile cannot be built here (no Docker engine), so its facts are checked as text:
//! CI builds the binary with the exact cargo command the image build runs, the builder image is
//! the toolchain we test with, the build context holds every file the build reads, and the final
//! image exposes, checks and starts what docs/guide/operations.md (Container image) says.
//! tests/e2e/image_rootfs.rs runs the final stage's root filesystem.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::dockerfile::{self, exec_form, instructions, last, read};

/// The cargo command of the image build's `RUN` (up to the first `&&`).
fn docker_cargo_command() -> String {
    let run = instructions()
        .into_iter()
        .find(|i| i.starts_with("RUN ") && i.contains("cargo build"))
        .expect("a RUN cargo build instruction");
    run["RUN ".len()..]
        .split("&&")
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn ci_builds_the_binary_with_the_image_build_command() {
    let cargo = docker_cargo_command();
    assert!(
        cargo.starts_with("cargo build --locked --release"),
        "{cargo}"
    );
    let ci = read(".ci/run");
    let ci_lines: Vec<String> = ci
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        ci_lines.contains(&cargo),
        "`.ci/run` must run `{cargo}` as a line of its own, as the Dockerfile does"
    );
}

#[test]
fn the_builder_image_is_the_toolchain_we_test_with() {
    let from = instructions()
        .into_iter()
        .find(|i| i.starts_with("FROM rust:"))
        .expect("the builder is the official Rust image");
    let tag = from["FROM rust:".len()..]
        .split(['-', ' '])
        .next()
        .unwrap()
        .to_owned();
    let rustc = Command::new("rustc").arg("--version").output().unwrap();
    let version = String::from_utf8(rustc.stdout).unwrap();
    let minor: String = version
        .split_whitespace()
        .nth(1)
        .unwrap()
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    assert_eq!(tag, minor, "FROM rust:{tag} vs {version}");
}

#[test]
fn the_build_context_has_every_file_the_build_reads() {
    let copied: Vec<String> = instructions()
        .into_iter()
        .filter(|i| i.starts_with("COPY ") && !i.contains("--from"))
        .flat_map(|i| {
            let parts: Vec<String> = i.split_whitespace().skip(1).map(str::to_owned).collect();
            parts[..parts.len() - 1].to_vec()
        })
        .collect();
    let has = |p: &str| {
        copied
            .iter()
            .any(|c| p == c || p.starts_with(&format!("{c}/")))
    };
    // The image's root filesystem: the script and the files it installs under /fluent-bit.
    let mut needed = vec![
        "Cargo.toml".to_owned(),
        "Cargo.lock".to_owned(),
        "build.rs".to_owned(),
        // The allocator's compiled-in options (src/memory/allocator.rs).
        ".cargo/config.toml".to_owned(),
        "src/main.rs".to_owned(),
        "scripts/image-rootfs.sh".to_owned(),
    ];
    for entry in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/image/configs"))
            .unwrap()
    {
        let name = entry.unwrap().file_name().into_string().unwrap();
        needed.push(format!("config/image/configs/{name}"));
    }
    for needed in &needed {
        assert!(has(needed), "{needed} not copied: {copied:?}");
    }
    // Every target Cargo.toml names must exist in the context, or cargo refuses the manifest.
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    for kind in ["bench", "test", "example", "bin"] {
        for target in manifest
            .get(kind)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(path) = target.get("path").and_then(|p| p.as_str()) {
                assert!(has(path), "{kind} {path} not copied: {copied:?}");
            }
        }
    }
    // Files compiled in with include_str!/include_bytes!.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            // Test modules (at the end of a file, by our style) are not in the release build.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for piece in text
                .split("include_str!(\"")
                .skip(1)
                .chain(text.split("include_bytes!(\"").skip(1))
            {
                let rel = piece.split('"').next().unwrap();
                // Test modules may include fixtures; the release build does not compile them.
                if path.to_string_lossy().contains("test") {
                    continue;
                }
                let file = dir.join(rel).canonicalize().unwrap();
                let rel = file
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                assert!(
                    has(&rel),
                    "{} includes {rel}, not copied: {copied:?}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn the_final_image_starts_checks_and_exposes_what_firelens_needs() {
    let (base, final_stage) = dockerfile::final_stage();
    assert_eq!(
        base, "scratch",
        "the image holds only the assembled root filesystem"
    );
    let find = |word: &str| {
        last(&final_stage, word)
            .unwrap_or_else(|| panic!("no {word} in the final stage"))
            .to_owned()
    };
    assert_eq!(exec_form(&find("ENTRYPOINT")), ["/usr/local/bin/firelane"]);
    assert_eq!(exec_form(&find("CMD")), ["run"]);
    let expose = find("EXPOSE");
    let exposed: Vec<&str> = expose.split_whitespace().collect();
    assert_eq!(exposed, ["24224", "2020"]);
    let check = find("HEALTHCHECK");
    let (_, command) = check.split_once(" CMD ").unwrap();
    assert_eq!(exec_form(command), ["/usr/local/bin/firelane", "health"]);
    assert_eq!(find("ENV"), "PATH=/usr/local/bin:/usr/bin:/bin");
    // Root by default (FireLens creates /var/run/fluent.sock as root unless "user" is set).
    assert_eq!(last(&final_stage, "USER"), None);
    let (_, nonroot) = dockerfile::named_stage("nonroot");
    assert_eq!(last(&nonroot, "USER"), Some("65532:65532"));
    assert_eq!(
        last(&nonroot, "ENTRYPOINT"),
        last(&final_stage, "ENTRYPOINT")
    );
}

#[test]
fn the_final_stage_is_the_root_filesystem_the_script_assembles() {
    let (_, final_stage) = dockerfile::final_stage();
    let copies: Vec<&String> = final_stage
        .iter()
        .filter(|i| i.starts_with("COPY"))
        .collect();
    assert_eq!(
        copies.len(),
        1,
        "only the root filesystem is copied: {copies:?}"
    );
    let words: Vec<&str> = copies[0].split_whitespace().collect();
    let ["COPY", from, rootfs, "/"] = words.as_slice() else {
        panic!("{}", copies[0]);
    };
    let build = from.strip_prefix("--from=").unwrap();
    let stages = dockerfile::stages();
    let build_stage = stages
        .iter()
        .find(|s| s.name.as_deref() == Some(build))
        .unwrap();
    // The release binary the cargo command built goes through the script into that directory.
    let run = build_stage
        .own
        .iter()
        .find(|i| i.contains("cargo build"))
        .unwrap();
    let script = format!("scripts/image-rootfs.sh {rootfs} target/release/firelane");
    assert!(
        run.split("&&").any(|c| c.trim() == script),
        "`{script}` not run after the build: {run}"
    );
}
