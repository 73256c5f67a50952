//! Builds what ECS and the image give the log router for one row, under a temporary root that
//! stands for the container's `/`: the generated config (or the image's own), the extra files,
//! the S3 objects the init process would download, and the sidecar's environment; every file
//! pointed at the test (point.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;

use super::bench::{Bench, data};
use super::generate::{self, GenError, Launch};
use super::land;
use super::point::{self, Pointed, Target};
use super::row::{Land, Row, Send, Source};
use super::table::IMAGE_FILES;
use crate::common::free_port;

/// A row made ready to run.
pub struct Setup {
    pub root: tempfile::TempDir,
    pub http_port: u16,
    /// Where the config's `forward` outputs now send.
    pub forward_port: u16,
    /// The root config, relative to `root`.
    pub config: String,
    pub config_text: String,
    pub envs: Vec<(String, String)>,
    pub pointed: Pointed,
    /// Container name -> the tag of its stdout records.
    pub tags: HashMap<String, String>,
}

/// The row's files and variables before pointing.
struct Sources {
    /// (path in the container, text).
    files: Vec<(String, String)>,
    tags: HashMap<String, String>,
    /// The log router's own variables (task definition, secrets).
    envs: Vec<(String, String)>,
    /// The root config's path in the container.
    config: String,
    family: String,
    launch: Launch,
}

/// Builds the files and environment of `row` (number `index`) under a new root, pointed at
/// the test.
pub fn prepare(bench: &Bench, index: usize, row: &Row) -> Result<Setup, GenError> {
    // FIRELENS_KEEP=1 keeps each row's files (their path is in its report).
    let keep = std::env::var_os("FIRELENS_KEEP").is_some();
    let root = tempfile::Builder::new()
        .disable_cleanup(keep)
        .tempdir()
        .unwrap();
    let root_str = root.path().to_str().unwrap().to_owned();
    let mut src = sources(bench, row)?;
    stage_s3(bench, row, &mut src);
    let http_port = free_port();
    let target = Target {
        root: root_str.clone(),
        provided: src.files.iter().map(|(p, _)| p.clone()).collect(),
        aws_endpoint: bench.moto.endpoint(),
        http_port,
        forward_port: free_port(),
    };
    let mut pointed = Pointed::default();
    let mut next_port = free_port;
    // The image's own files are pointed too (a row may include them), but one that sets the
    // admin port counts only if the row includes it, so only the row's files say whether the
    // main config still needs a [SERVICE] HTTP_Port.
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut http_port_set = false;
    for (p, t) in &src.files {
        pointed.http_port_set = false;
        texts.push((
            p.clone(),
            point::point_file(t, &target, &mut pointed, &mut next_port),
        ));
        let image_file = IMAGE_FILES.iter().any(|(path, _)| path == p);
        http_port_set |= pointed.http_port_set && !image_file;
    }
    pointed.http_port_set = http_port_set;
    let (_, config_text) = texts.iter_mut().find(|(p, _)| *p == src.config).unwrap();
    if !pointed.http_port_set {
        *config_text = format!("[SERVICE]\n    HTTP_Port {http_port}\n\n{config_text}");
        pointed
            .changes
            .push(format!("added [SERVICE] HTTP_Port {http_port}"));
    }
    let config_text = config_text.clone();
    for (path, text) in &texts {
        let full = format!("{root_str}{path}");
        std::fs::create_dir_all(Path::new(&full).parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
    }
    std::fs::create_dir_all(format!("{root_str}/var/run")).unwrap();
    let envs = sidecar_env(bench, index, row, &src, &target);
    Ok(Setup {
        root,
        http_port,
        forward_port: target.forward_port,
        config: src.config.trim_start_matches('/').to_owned(),
        config_text,
        envs,
        pointed,
        tags: src.tags,
    })
}

/// The files of `row`: what ECS generates (or the image's own config), the extra files, the
/// image's files; the tag of each sending container.
fn sources(bench: &Bench, row: &Row) -> Result<Sources, GenError> {
    let mut src = Sources {
        files: Vec::new(),
        tags: HashMap::new(),
        envs: Vec::new(),
        config: generate::CONFIG_PATH.to_owned(),
        family: "firelens-examples".to_owned(),
        launch: Launch::Ec2,
    };
    match row.source {
        Source::Task(path) | Source::TaskWithExtra(path, _, _) => {
            let mut def = data(path);
            if let Source::TaskWithExtra(_, kind, value) = row.source {
                def = with_extra(&def, kind, value);
            }
            let g = generate::generate(&def, &bench.run)?;
            src.tags.extend(g.app_tags.iter().cloned());
            // An S3 extra file is downloaded to its own path; a `file` one is in the image (the
            // row's files, or the image's own: IMAGE_FILES) or missing.
            if let Some(ext) = g.external.as_ref().filter(|e| e.path != e.source) {
                let (_, rel) = row
                    .files
                    .iter()
                    .find(|(k, _)| *k == ext.source)
                    .unwrap_or_else(|| panic!("{}: no file for {}", row.name, ext.source));
                src.files.push((ext.path.clone(), data(rel)));
            }
            src.envs.extend(g.environment.iter().cloned());
            for s in &g.secrets {
                src.envs.push((s.clone(), format!("secret-value-of-{s}")));
            }
            src.files.push((generate::CONFIG_PATH.to_owned(), g.config));
            src.family = g.family;
            src.launch = g.launch;
        }
        Source::Own(path) => src.config = path.to_owned(),
        Source::ConfigMap(path) => {
            for (name, text) in config_map(&data(path)) {
                src.files.push((format!("/fluent-bit/etc/{name}"), text));
            }
        }
    }
    // Docker tags a container's stdout `<container>-firelens-<task id>`; with a generated config
    // the sending container must be one whose logs go through FireLens.
    let generated = matches!(row.source, Source::Task(_) | Source::TaskWithExtra(..));
    for s in row.send {
        let (Send::Stdout { container, .. } | Send::Partial { container, .. }) = s else {
            continue;
        };
        assert!(
            !generated || src.tags.contains_key(*container),
            "{}: `{container}` does not log through FireLens",
            row.name
        );
        src.tags
            .entry((*container).to_owned())
            .or_insert_with(|| format!("{container}-firelens-{}", bench.run.task_id));
    }
    for (path, rel) in IMAGE_FILES {
        let full = format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"));
        src.files
            .push(((*path).to_owned(), std::fs::read_to_string(&full).unwrap()));
    }
    for (key, rel) in row.files.iter().filter(|(k, _)| k.starts_with('/')) {
        src.files.push(((*key).to_owned(), data(rel)));
    }
    Ok(src)
}

/// Puts in moto what the row expects there: the S3 objects its init variables name
/// (`aws_fluent_bit_init_s3_N`, downloaded at start by the init process, pointed at moto through
/// `AWS_ENDPOINT_URL_S3`) and the bucket an S3 output writes to.
fn stage_s3(bench: &Bench, row: &Row, src: &mut Sources) {
    let endpoint = bench.moto.endpoint();
    let mut staged = false;
    for (arn, rel) in row
        .files
        .iter()
        .filter(|(k, _)| k.starts_with("arn:aws:s3:::"))
    {
        if !src.envs.iter().any(|(_, v)| v == arn) {
            continue;
        }
        let (bucket, key) = arn
            .trim_start_matches("arn:aws:s3:::")
            .split_once('/')
            .unwrap();
        land::s3_put(&endpoint, &bench.run.region, bucket, key, &data(rel));
        staged = true;
    }
    if staged {
        src.envs
            .push(("AWS_ENDPOINT_URL_S3".into(), endpoint.clone()));
    }
    if let Land::S3 { region, bucket, .. } = row.land {
        land::s3_put(&endpoint, region, bucket, "", "");
    }
}

/// The sidecar's environment: the task metadata endpoint (this row's answer registered on the
/// bench), the launch type, the region, Docker's HOSTNAME, the credentials moto takes; then the
/// user's and the task definition's variables (paths in them moved under the root).
fn sidecar_env(
    bench: &Bench,
    index: usize,
    row: &Row,
    src: &Sources,
    target: &Target,
) -> Vec<(String, String)> {
    let uri = bench.register_metadata(
        index,
        generate::task_metadata(&bench.run, &src.family, src.launch),
    );
    let mut all: Vec<(String, String)> = bench
        .moto
        .env()
        .into_iter()
        .filter(|(k, _)| *k != "AWS_REGION")
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let exec_env = match src.launch {
        Launch::Fargate => "AWS_ECS_FARGATE",
        Launch::Ec2 => "AWS_ECS_EC2",
    };
    all.extend([
        ("ECS_CONTAINER_METADATA_URI_V4".to_owned(), uri.clone()),
        ("ECS_CONTAINER_METADATA_URI".to_owned(), uri),
        ("AWS_EXECUTION_ENV".to_owned(), exec_env.to_owned()),
        ("AWS_REGION".to_owned(), bench.run.region.clone()),
        ("HOSTNAME".to_owned(), "4f1b2c3d4e5f".to_owned()),
    ]);
    all.extend(
        row.env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    for (k, v) in &src.envs {
        let v = point::relocate(target, v, false).unwrap_or_else(|| v.clone());
        all.push((k.clone(), v));
    }
    all
}

/// The task definition with `firelensConfiguration.options` naming an extra config file.
fn with_extra(def: &str, kind: &str, value: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(def).unwrap();
    for c in v["containerDefinitions"].as_array_mut().unwrap() {
        if let Some(f) = c.get_mut("firelensConfiguration") {
            f["options"]["config-file-type"] = kind.into();
            f["options"]["config-file-value"] = value.into();
        }
    }
    v.to_string()
}

/// The `data` entries of the ConfigMap in a multi-document Kubernetes manifest.
fn config_map(manifest: &str) -> Vec<(String, String)> {
    let docs = yaml_rust2::YamlLoader::load_from_str(manifest).unwrap();
    let map = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("ConfigMap"))
        .expect("a ConfigMap");
    map["data"]
        .as_hash()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_owned(),
                v.as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
