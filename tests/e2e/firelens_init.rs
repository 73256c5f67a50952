//! The aws-for-fluent-bit init process, built in, against firelane as a process: a local task
//! metadata endpoint (serving tests/data/ecs_task_v4.json, a Fargate task), init files on disk and
//! in moto's S3; and the Go `cloudwatch` plugin's `$(ecs_*)` names against moto's CloudWatch Logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::moto::Moto;
use common::s3::Bucket;
use common::{Firelane, RefusedPort, free_port, message_frame, read_json_lines};

const TASK_ID: &str = "e9028f8d5d8e4f258373e7b93ce9a3c3";

/// A task metadata endpoint on 127.0.0.1 answering `/v4/abc/task`; its URI and a request count.
fn metadata_endpoint() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ecs_task_v4.json"
    ))
    .unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let ok = buf[..n].starts_with(b"GET /v4/abc/task ");
            seen.fetch_add(1, Ordering::SeqCst);
            let (status, body) = if ok {
                ("200 OK", &body[..])
            } else {
                ("404 Not Found", &b""[..])
            };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(body);
        }
    });
    (format!("http://127.0.0.1:{port}/v4/abc"), requests)
}

/// A classic config: a Forward input on `port`, the main config's `filters`, and a `plain` file
/// output `{dir}/out.log` (records as JSON lines).
fn main_config(port: u16, filters: &str) -> String {
    format!(
        "\
[SERVICE]
    HTTP_Port {{http_port}}
    Flush 0.2

[INPUT]
    Name forward
    Listen 127.0.0.1
    Port {port}
{filters}
[OUTPUT]
    Name file
    Match *
    Path {{dir}}
    File out.log
    Format plain
"
    )
}

fn send(port: u16, log: &str) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(&message_frame(
        "app",
        common::recent_secs() as u32,
        log,
        None,
    ))
    .unwrap();
}

/// Sends one record and returns it as the file output wrote it.
fn one_record(fl: &Firelane, port: u16, log: &str) -> serde_json::Value {
    send(port, log);
    let path = fl.path("out.log");
    fl.wait_for("the record in out.log", Duration::from_secs(20), || {
        !read_json_lines(&path).is_empty()
    });
    read_json_lines(&path).remove(0)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `firelane validate -c dir/fluent-bit.conf` with `envs`: (exit code, stdout, stderr). `{dir}`
/// and `{http_port}` are replaced as [`Firelane::start_file`] does.
fn validate(config: &str, envs: &[(&str, String)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = config
        .replace("{dir}", dir.path().to_str().unwrap())
        .replace("{http_port}", "2020");
    let path = write(dir.path(), "fluent-bit.conf", &config);
    let out = Command::new(env!("CARGO_BIN_EXE_firelane"))
        .args(["validate", "-c", &path])
        .env_remove("FIRELANE_CONFIG")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    // The memory account line depends on the machine's cgroup (tests/e2e/memory_sizing.rs checks it).
    let stdout: String = String::from_utf8_lossy(&out.stdout)
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("memory account: "))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ecs_variables_from_the_task_metadata_are_expanded_unless_the_user_set_them() {
    let (uri, requests) = metadata_endpoint();
    let port = free_port();
    let filters = "\
[FILTER]
    Name record_modifier
    Match *
    Record cluster ${ECS_CLUSTER}
    Record task_arn ${ECS_TASK_ARN}
    Record task_id ${ECS_TASK_ID}
    Record family ${ECS_FAMILY}
    Record revision ${ECS_REVISION}
    Record task_definition ${ECS_TASK_DEFINITION}
    Record launch_type ${ECS_LAUNCH_TYPE}
    Record region ${AWS_REGION}
    Record az ${AWS_AVAILABILITY_ZONE}
";
    let envs = [
        ("ECS_CONTAINER_METADATA_URI_V4", uri.clone()),
        ("ECS_FAMILY", "set-by-the-user".to_owned()),
    ];
    let fl = Firelane::start_file("fluent-bit.conf", &main_config(port, filters), &envs);
    let got = one_record(&fl, port, "hello");
    let want = serde_json::json!({
        "cluster": "prod-web",
        "task_arn": format!("arn:aws:ecs:us-west-2:111122223333:task/prod-web/{TASK_ID}"),
        "task_id": TASK_ID,
        "family": "set-by-the-user",
        "revision": "42",
        "task_definition": "checkout:42",
        "launch_type": "FARGATE",
        "region": "us-west-2",
        "az": "us-west-2b",
    });
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&got[k], v, "{k} in {got}");
    }
    assert_eq!(got["log"], "hello");
    assert_eq!(requests.load(Ordering::SeqCst), 1, "read once at start");
    assert!(
        fl.log()
            .contains("init: ${ECS_CLUSTER} = prod-web (from the task metadata)")
    );

    let (code, stdout, stderr) = validate(&main_config(port, filters), &envs);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "init: ECS task metadata read from {uri}/task: task arn:aws:ecs:us-west-2:111122223333:task/prod-web/{TASK_ID}"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "init: ${ECS_TASK_ID} = e9028f8d5d8e4f258373e7b93ce9a3c3 (from the task metadata)\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("init: ${ECS_FAMILY} = set-by-the-user (set in the environment; the task metadata says checkout)\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("ok: 1 inputs, 1 filters, 1 outputs\n"),
        "{stdout}"
    );
}

#[test]
fn init_files_are_read_after_the_main_config_in_number_order() {
    let files = tempfile::tempdir().unwrap();
    let step = |value: &str| {
        format!(
            "[FILTER]\n    Name modify\n    Match *\n    Set step {value}\n    Set {value} yes\n"
        )
    };
    let two = write(files.path(), "two.conf", &step("two"));
    let ten = write(files.path(), "ten.conf", &step("ten"));
    // An init file may add an output too; it comes after the generated ones.
    let extra_output = write(
        files.path(),
        "output.conf",
        "[OUTPUT]\n    Name file\n    Match *\n    Path ${OUT_DIR}\n    File extra.log\n    Format plain\n",
    );
    let port = free_port();
    let envs = [
        ("aws_fluent_bit_init_file_10", ten.clone()),
        ("aws_fluent_bit_init_file_2", two.clone()),
        ("aws_fluent_bit_init_file_11", extra_output.clone()),
        ("OUT_DIR", files.path().display().to_string()),
    ];
    let fl = Firelane::start_file("fluent-bit.conf", &main_config(port, &step("main")), &envs);
    let got = one_record(&fl, port, "hello");
    // Filters run in order: main, then _2, then _10 (not _10 before _2, as text order would).
    assert_eq!(got["step"], "ten", "{got}");
    assert_eq!(
        (&got["main"], &got["two"], &got["ten"]),
        (&"yes".into(), &"yes".into(), &"yes".into())
    );
    let extra = files.path().join("extra.log");
    fl.wait_for(
        "the record in the init file's output",
        Duration::from_secs(20),
        || !read_json_lines(&extra).is_empty(),
    );
    assert_eq!(read_json_lines(&extra)[0]["step"], "ten");

    let (code, stdout, stderr) = validate(&main_config(port, &step("main")), &envs);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("init: aws_fluent_bit_init_file_2 = {two}: read after the main configuration"),
            format!("init: aws_fluent_bit_init_file_10 = {ten}: read after the main configuration"),
            format!(
                "init: aws_fluent_bit_init_file_11 = {extra_output}: read after the main configuration"
            ),
            "ok: 1 inputs, 3 filters, 2 outputs".to_owned(),
        ]
    );
}

#[test]
fn a_parsers_only_init_file_is_loaded_as_a_parsers_file() {
    let files = tempfile::tempdir().unwrap();
    let parsers = write(
        files.path(),
        "parsers.conf",
        "[PARSER]\n    Name kv\n    Format regex\n    Regex ^(?<key>[a-z]+)=(?<value>[a-z]+)$\n",
    );
    let port = free_port();
    let filters = "\
[FILTER]
    Name parser
    Match *
    Key_Name log
    Parser kv
";
    let envs = [("aws_fluent_bit_init_file_1", parsers.clone())];
    let fl = Firelane::start_file("fluent-bit.conf", &main_config(port, filters), &envs);
    let got = one_record(&fl, port, "color=blue");
    assert_eq!(
        (&got["key"], &got["value"]),
        (&"color".into(), &"blue".into()),
        "{got}"
    );

    let (code, stdout, stderr) = validate(&main_config(port, filters), &envs);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!(
            "init: aws_fluent_bit_init_file_1 = {parsers}: loaded as a parsers file\n"
        )),
        "{stdout}"
    );
    // Fluent Bit reads only parsers from a parsers file: a file mixing them with other sections
    // would lose those, so it is refused.
    let mixed = write(
        files.path(),
        "mixed.conf",
        "[PARSER]\n    Name kv2\n    Format json\n\n[FILTER]\n    Name grep\n    Match *\n    Regex log x\n",
    );
    let (code, stdout, stderr) = validate(
        &main_config(port, filters),
        &[("aws_fluent_bit_init_file_1", mixed.clone())],
    );
    assert_eq!(code, 64, "{stdout}{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "aws_fluent_bit_init_file_1: {mixed}: it has [PARSER]/[MULTILINE_PARSER] sections, so it is loaded as a parsers file"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("[FILTER] at line 5"), "{stderr}");
}

#[test]
fn an_s3_init_file_is_downloaded_and_read_after_the_main_config() {
    let moto = Moto::start();
    let bucket = Bucket::create(&moto, "firelens-config");
    put(
        &bucket,
        "team/extra.conf",
        "[FILTER]\n    Name modify\n    Match *\n    Set from s3\n",
    );
    let port = free_port();
    let mut envs = moto.env();
    envs.push(("AWS_ENDPOINT_URL_S3", moto.endpoint()));
    envs.push((
        "aws_fluent_bit_init_s3_1",
        "arn:aws:s3:::firelens-config/team/extra.conf".to_owned(),
    ));
    let fl = Firelane::start_file("fluent-bit.conf", &main_config(port, ""), &envs);
    let got = one_record(&fl, port, "hello");
    assert_eq!(got["from"], "s3", "{got}");
    assert!(
        !download_dir(fl.child.id()).exists(),
        "the download is removed once read"
    );

    let (code, stdout, stderr) = validate(&main_config(port, ""), &envs);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with(
            "init: aws_fluent_bit_init_s3_1 = arn:aws:s3:::firelens-config/team/extra.conf (downloaded to "
        ),
        "{stdout}"
    );
}

#[test]
fn a_failed_s3_download_stops_start_up_with_a_clear_error() {
    let moto = Moto::start();
    let _bucket = Bucket::create(&moto, "firelens-config");
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "fluent-bit.conf", &main_config(free_port(), ""));
    let mut envs = moto.env();
    envs.push(("AWS_ENDPOINT_URL_S3", moto.endpoint()));
    envs.push((
        "aws_fluent_bit_init_s3_1",
        "arn:aws:s3:::firelens-config/missing.conf".to_owned(),
    ));
    let child = Command::new(env!("CARGO_BIN_EXE_firelane"))
        .args(["run", "-c", &config])
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(!download_dir(pid).exists(), "nothing left behind");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.starts_with(
            "aws_fluent_bit_init_s3_1: arn:aws:s3:::firelens-config/missing.conf: cannot download s3://firelens-config/missing.conf (GetObject, 2 attempts): "
        ),
        "{stderr}"
    );
    assert!(stderr.contains("NoSuchKey"), "{stderr}");
}

#[test]
fn an_unreachable_metadata_endpoint_is_reported_and_start_up_goes_on() {
    let refused = RefusedPort::new();
    let port = free_port();
    let envs = [(
        "ECS_CONTAINER_METADATA_URI_V4",
        format!("http://127.0.0.1:{}/v4/abc", refused.port),
    )];
    let filters =
        "[FILTER]\n    Name record_modifier\n    Match *\n    Record cluster c-${ECS_CLUSTER}\n";
    let fl = Firelane::start_file("fluent-bit.conf", &main_config(port, filters), &envs);
    let got = one_record(&fl, port, "hello");
    assert_eq!(got["cluster"], "c-", "an unset variable is empty: {got}");
    let log = fl.log();
    assert!(
        log.contains("ECS task metadata is not available, going on without it: could not get ECS task metadata from"),
        "{log}"
    );
    assert!(log.contains("after 5 attempt(s): connect: "), "{log}");
}

#[test]
fn go_cloudwatch_names_take_the_task_from_the_metadata_endpoint_with_no_filter() {
    let moto = Moto::start();
    let (uri, _) = metadata_endpoint();
    let port = free_port();
    // No `region`, no AWS_REGION: the task's region is the SDK's, as the init process exports it.
    let mut envs: Vec<(&str, String)> = moto
        .env()
        .into_iter()
        .filter(|(k, _)| *k != "AWS_REGION")
        .collect();
    envs.push(("ECS_CONTAINER_METADATA_URI_V4", uri));
    let config = format!(
        "\
[SERVICE]
    HTTP_Port {{http_port}}
    Flush 0.2

[INPUT]
    Name forward
    Listen 127.0.0.1
    Port {port}

[OUTPUT]
    Name cloudwatch
    Match *
    endpoint {endpoint}
    log_group_name /ecs/$(ecs_cluster)
    log_stream_name app-$(ecs_task_id)
    auto_create_group true
",
        endpoint = moto.endpoint()
    );
    let fl = Firelane::start_file("fluent-bit.conf", &config, &envs);
    send(port, "hello");
    let cw = logs_in(&moto, "us-west-2");
    // The cluster as the endpoint reports it (an ARN on Fargate), `:` sanitized as the Go plugin does.
    let group = "/ecs/arn.aws.ecs.us-west-2.111122223333.cluster/prod-web";
    let stream = format!("app-{TASK_ID}");
    let mut events = Vec::new();
    fl.wait_for("the event in CloudWatch", Duration::from_secs(30), || {
        events = cw.events(group, &stream);
        !events.is_empty()
    });
    let v: serde_json::Value = serde_json::from_str(&events[0].1).unwrap();
    assert_eq!(v["log"], "hello");
    assert_eq!(cw.streams(group), [stream]);
    assert!(
        fl.log()
            .contains("init: cloudwatch.0: region us-west-2 (AWS_REGION from the task metadata)"),
        "{}",
        fl.log()
    );
}

/// Where the firelane process `pid` downloads init files.
fn download_dir(pid: u32) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("firelane-init-{pid}"))
}

/// Puts an object into `bucket`.
fn put(bucket: &Bucket, key: &str, body: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(
        bucket
            .client
            .put_object()
            .bucket(&bucket.name)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send(),
    )
    .unwrap();
}

/// A reader of what moto's CloudWatch Logs holds in `region`.
fn logs_in(moto: &Moto, region: &str) -> common::moto::Logs {
    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(moto.endpoint())
        .credentials_provider(Credentials::new(
            common::moto::ACCESS_KEY,
            common::moto::SECRET_KEY,
            None,
            None,
            "test",
        ))
        .build();
    common::moto::Logs::with_client(aws_sdk_cloudwatchlogs::Client::from_conf(conf))
}
