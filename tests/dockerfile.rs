//! The Dockerfile cannot be built here (no Docker engine), so its facts are checked as text:
//! CI builds the binary with the exact cargo command the image build runs, the builder image is
//! the toolchain we test with, the build context holds every file the build reads, and the final
//! image exposes, checks and starts what the README says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn instructions() -> Vec<String> {
    let text = read("Dockerfile");
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        let (body, cont) = match t.strip_suffix('\\') {
            Some(b) => (b.trim(), true),
            None => (t, false),
        };
        if open {
            let last = out.last_mut().unwrap();
            last.push(' ');
            last.push_str(body);
        } else {
            out.push(body.to_owned());
        }
        open = cont;
    }
    out
}

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
    for needed in ["Cargo.toml", "Cargo.lock", "build.rs", "src/main.rs"] {
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
    let all = instructions();
    let last_from = all.iter().rposition(|i| i.starts_with("FROM ")).unwrap();
    let final_stage = &all[last_from..];
    assert!(final_stage[0].contains("distroless"), "{}", final_stage[0]);
    let find = |word: &str| {
        final_stage
            .iter()
            .find(|i| i.starts_with(word))
            .unwrap_or_else(|| panic!("no {word} in the final stage"))
            .clone()
    };
    assert_eq!(
        find("ENTRYPOINT"),
        r#"ENTRYPOINT ["/usr/local/bin/firelane"]"#
    );
    assert_eq!(find("CMD"), r#"CMD ["run"]"#);
    let expose = find("EXPOSE");
    let exposed: Vec<&str> = expose.split_whitespace().skip(1).collect();
    assert_eq!(exposed, ["24224", "2020"]);
    assert!(
        find("HEALTHCHECK").ends_with(r#"CMD ["/usr/local/bin/firelane", "health"]"#),
        "{}",
        find("HEALTHCHECK")
    );
    assert!(find("COPY").contains("/usr/local/bin/firelane"));
}
