//! Points a FireLens setup at a test, changing no more than that: the files move under a
//! temporary root, listening ports become free ones, and the AWS outputs get `endpoint` (and
//! `sts_endpoint` with `role_arn`) naming the local moto server. Pure text rewriting of Fluent Bit
//! classic-format files, line by line; every change is listed in `Pointed::changes` so that a
//! failing row shows exactly what was run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

/// Keys whose value is a path firelane writes to: moved under the root even when the test
/// provides no file there.
const WRITABLE_PATH_KEYS: [&str; 4] = ["unix_path", "storage.path", "store_dir", "db"];

/// Output plugins that call AWS (and so get moto's endpoint).
const AWS_OUTPUTS: [&str; 3] = ["cloudwatch_logs", "cloudwatch", "s3"];

/// What to point at.
#[derive(Debug, Clone)]
pub struct Target {
    /// The temporary directory standing for the container's `/`.
    pub root: String,
    /// Absolute paths of the files the test provides (moved under `root`).
    pub provided: Vec<String>,
    /// moto's URL.
    pub aws_endpoint: String,
    /// The admin HTTP port firelane must use.
    pub http_port: u16,
    /// Where `forward` outputs send (an aggregator the test runs).
    pub forward_port: u16,
}

/// The rewritten texts' bookkeeping.
#[derive(Debug, Default)]
pub struct Pointed {
    /// Config port -> the free port now in its place.
    pub ports: BTreeMap<u16, u16>,
    /// Whether some file set the admin port (else the caller must add a [SERVICE] for it).
    pub http_port_set: bool,
    /// One line per change, for failure reports.
    pub changes: Vec<String>,
}

/// A path token moved under the root if the test provides it or it is a writable location.
pub fn relocate(target: &Target, token: &str, writable: bool) -> Option<String> {
    if !token.starts_with('/') {
        return None;
    }
    let provided = target.provided.iter().any(|p| p == token);
    (provided || writable).then(|| format!("{}{token}", target.root))
}

/// Rewrites one classic-format file. `free_port` hands out a free port for a config port.
pub fn point_file(
    text: &str,
    target: &Target,
    pointed: &mut Pointed,
    free_port: &mut dyn FnMut() -> u16,
) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len() + 256);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let Some(kind) = header(line) else {
            out.push_str(&point_directive(line, target, pointed));
            out.push('\n');
            i += 1;
            continue;
        };
        // A section: its header, then entries up to the next header.
        let end = (i + 1..lines.len())
            .find(|&j| header(lines[j]).is_some())
            .unwrap_or(lines.len());
        let body = &lines[i + 1..end];
        out.push_str(line);
        out.push('\n');
        let entries: Vec<(String, String)> = body.iter().filter_map(|l| entry(l)).collect();
        let has = |k: &str| entries.iter().any(|(key, _)| key == k);
        let name = entries
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default();
        let indent = body
            .iter()
            .find(|l| entry(l).is_some())
            .map(|l| &l[..l.len() - l.trim_start().len()])
            .unwrap_or("    ");
        if kind == "output" && AWS_OUTPUTS.contains(&name.as_str()) {
            let mut add = vec![("endpoint", target.aws_endpoint.clone())];
            if has("role_arn") {
                add.push(("sts_endpoint", target.aws_endpoint.clone()));
            }
            if name == "s3" && !has("store_dir") {
                add.push(("store_dir", format!("{}/fluent-bit/s3", target.root)));
            }
            for (k, v) in add {
                out.push_str(&format!("{indent}{k} {v}\n"));
                pointed
                    .changes
                    .push(format!("[OUTPUT] {name}: added `{k} {v}`"));
            }
        }
        for l in body {
            out.push_str(&point_entry(l, &kind, &name, target, pointed, free_port));
            out.push('\n');
        }
        i = end;
    }
    out
}

/// `[NAME]` at column 0 -> the lower-cased name.
fn header(line: &str) -> Option<String> {
    let t = line.trim_end();
    (t.starts_with('[') && t.ends_with(']')).then(|| t[1..t.len() - 1].to_ascii_lowercase())
}

/// An indented `key value` line -> (lower-cased key, value); comments and blanks -> None.
fn entry(line: &str) -> Option<(String, String)> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') || !line.starts_with([' ', '\t']) {
        return None;
    }
    let (k, v) = t.split_once([' ', '\t']).unwrap_or((t, ""));
    Some((k.to_ascii_lowercase(), v.trim().to_owned()))
}

/// `@INCLUDE path` outside sections (and inside: Fluent Bit allows it anywhere).
fn point_directive(line: &str, target: &Target, pointed: &mut Pointed) -> String {
    let t = line.trim();
    let Some((kw, path)) = t.split_once([' ', '\t']) else {
        return line.to_owned();
    };
    if !kw.eq_ignore_ascii_case("@include") {
        return line.to_owned();
    }
    match relocate(target, path.trim(), false) {
        Some(moved) => {
            pointed
                .changes
                .push(format!("@INCLUDE {} -> {moved}", path.trim()));
            format!("@INCLUDE {moved}")
        }
        None => line.to_owned(),
    }
}

fn point_entry(
    line: &str,
    kind: &str,
    name: &str,
    target: &Target,
    pointed: &mut Pointed,
    free_port: &mut dyn FnMut() -> u16,
) -> String {
    if line.trim_start().starts_with('@') {
        return point_directive(line, target, pointed);
    }
    let Some((key, value)) = entry(line) else {
        return line.to_owned();
    };
    let indent = &line[..line.len() - line.trim_start().len()];
    let raw_key = line.trim().split([' ', '\t']).next().unwrap_or("");
    let set = |pointed: &mut Pointed, new: String| {
        pointed.changes.push(format!(
            "[{}] {name}: {raw_key} {value} -> {new}",
            kind.to_uppercase()
        ));
        format!("{indent}{raw_key} {new}")
    };
    match (kind, key.as_str()) {
        ("service", "http_port") => {
            pointed.http_port_set = true;
            set(pointed, target.http_port.to_string())
        }
        ("input", "port") => match value.parse::<u16>() {
            Ok(port) => {
                let new = *pointed.ports.entry(port).or_insert_with(&mut *free_port);
                set(pointed, new.to_string())
            }
            Err(_) => line.to_owned(),
        },
        ("output", "host") if name == "forward" => set(pointed, "127.0.0.1".into()),
        ("output", "port") if name == "forward" => set(pointed, target.forward_port.to_string()),
        _ => {
            // Path values: a single token (Parsers_File, storage.path, unix_path, ...).
            let writable = WRITABLE_PATH_KEYS.contains(&key.as_str());
            match relocate(target, &value, writable) {
                Some(moved) => set(pointed, moved),
                None => line.to_owned(),
            }
        }
    }
}
