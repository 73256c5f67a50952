//! Runs one row of the real-world table as a user would: builds the files ECS and the image give
//! the log router (the generated config, the extra files, the environment), points them at this
//! test, runs `firelane validate`, then, where the row should get that far, starts firelane, sends
//! the record the way the application would and looks for it where the row says it lands.
//! One moto server and one task metadata endpoint serve every row.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::generate::TaskRun;
use super::land;
use super::row::{Expected, Land, Row, Stage, Want, unexplained};
use super::send;
use super::setup::{self, Setup};
use crate::common::Firelane;
use crate::common::moto::Moto;

/// The data directory of the table's files.
pub fn data(rel: &str) -> String {
    let path = format!("{}/tests/data/firelens/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Shared by every row.
pub struct Bench {
    pub moto: Moto,
    pub run: TaskRun,
    metadata_port: u16,
    metadata: Arc<Mutex<HashMap<String, String>>>,
}

impl Bench {
    pub fn start() -> Self {
        let metadata: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let metadata_port = listener.local_addr().unwrap().port();
        let served = metadata.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                serve_metadata(conn, &served);
            }
        });
        Bench {
            moto: Moto::start(),
            run: TaskRun {
                cluster: "firelens-examples".into(),
                region: "us-west-2".into(),
                account: "123456789012".into(),
                task_id: "0123456789abcdef0123456789abcdef".into(),
                revision: 7,
                ec2_instance_id: "i-0123456789abcdef0".into(),
                availability_zone: "us-west-2a".into(),
            },
            metadata_port,
            metadata,
        }
    }

    /// Serves `task` as the task metadata of row `index`; returns the endpoint's URI.
    pub fn register_metadata(&self, index: usize, task: String) -> String {
        self.metadata
            .lock()
            .unwrap()
            .insert(index.to_string(), task);
        format!("http://127.0.0.1:{}/v4/{index}", self.metadata_port)
    }

    /// Replaces `{marker}`, `{cluster}` and `{task_id}`.
    fn fill(&self, s: &str, marker: &str) -> String {
        s.replace("{marker}", marker)
            .replace("{cluster}", &self.run.cluster)
            .replace("{task_id}", &self.run.task_id)
    }
}

/// Answers `GET /v4/<key>/task` (task metadata) and `GET /v4/<key>` (the container's own).
fn serve_metadata(mut conn: TcpStream, bodies: &Mutex<HashMap<String, String>>) {
    let mut buf = [0u8; 4096];
    let n = conn.read(&mut buf).unwrap_or(0);
    let request = String::from_utf8_lossy(&buf[..n]);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let key = path.trim_start_matches("/v4/").trim_end_matches("/task");
    let body = match bodies.lock().unwrap().get(key) {
        Some(task) if path.ends_with("/task") => task.clone(),
        Some(_) => r#"{"Name":"log_router","DockerName":"log_router"}"#.to_owned(),
        None => String::new(),
    };
    let status = if body.is_empty() {
        "404 Not Found"
    } else {
        "200 OK"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body.as_bytes());
}

/// Runs `row` (number `index`); Ok when it behaves as its row says, else a report. A port
/// taken by another process between choosing it and listening on it gets the row a second try.
pub fn run_row(bench: &Bench, index: usize, row: &Row) -> Result<String, String> {
    let first = run_row_once(bench, index, row);
    match &first {
        Err(report) if report.contains("Address already in use") => run_row_once(bench, index, row),
        _ => first,
    }
}

fn run_row_once(bench: &Bench, index: usize, row: &Row) -> Result<String, String> {
    let expected = row.expected();
    let setup = match setup::prepare(bench, index, row) {
        Ok(s) => s,
        Err(e) => {
            return match expected {
                Expected::Blocked(Stage::Generate) => check(
                    unexplained(&row.first_blockers(), &[e.to_string()]),
                    "no config",
                ),
                _ => Err(format!("no config: {e}")),
            };
        }
    };
    let envs: Vec<(&str, String)> = setup
        .envs
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_firelane"))
        .args(["validate", "-c"])
        .arg(setup.root.path().join(&setup.config))
        .env_remove("FIRELANE_CONFIG")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let errors: Vec<String> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("warning:"))
        .map(str::to_owned)
        .collect();
    let context = || {
        format!(
            "\n--- changes made to point it at the test:\n{}\n--- {}:\n{}\n--- validate:\n{stderr}",
            setup.pointed.changes.join("\n"),
            setup.config,
            setup.config_text
        )
    };
    match (out.status.code(), &expected) {
        (Some(64), Expected::Blocked(Stage::Validate)) => {
            return check(unexplained(&row.first_blockers(), &errors), "refused")
                .map_err(|e| format!("{e}{}", context()));
        }
        (Some(64), _) => return Err(format!("refused by validate{}", context())),
        (Some(0), Expected::Blocked(Stage::Generate | Stage::Validate)) => {
            return Err(format!("validates now: flip the row{}", context()));
        }
        (Some(0), Expected::ValidatesOnly) => return Ok("validates".into()),
        (Some(0), _) => {}
        (code, _) => return Err(format!("validate exited with {code:?}{}", context())),
    }
    let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        deliver(bench, index, row, setup)
    }))
    .unwrap_or_else(|p| {
        Err(p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default())
    });
    match (delivered, expected) {
        (Ok(report), Expected::Delivers) => Ok(report),
        (Ok(report), _) => Err(format!("delivers now: flip the row ({report})")),
        (Err(report), Expected::Blocked(Stage::Deliver)) => check(
            unexplained(&row.first_blockers(), std::slice::from_ref(&report)),
            "not delivered",
        )
        .map_err(|e| format!("{e}\n{report}")),
        (Err(report), _) => Err(report),
    }
}

fn check(problems: Vec<String>, what: &str) -> Result<String, String> {
    if problems.is_empty() {
        Ok(what.to_owned())
    } else {
        Err(problems.join("\n"))
    }
}

/// Starts firelane on the setup, sends the row's records, stops it, and finds the record.
fn deliver(bench: &Bench, index: usize, row: &Row, setup: Setup) -> Result<String, String> {
    // Unique to this row and run: the record is found by it wherever it lands.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let marker = format!("row{index}x{nanos:x}");
    let aggregator = matches!(row.land, Land::Aggregator { .. })
        .then(|| Firelane::start(&crate::common::forward_to_file(setup.forward_port, "")));
    let envs: Vec<(&str, String)> = setup
        .envs
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let root_path = setup.root.path().to_owned();
    let mut fl = Firelane::start_in(
        setup.root,
        setup.http_port,
        &setup.config,
        &setup.config_text,
        &envs,
    );
    let mut records = 0.0;
    let mut conns = send::Connections::default();
    for s in row.send {
        let fill = |l: &str| bench.fill(l, &marker);
        records += send::send(
            &mut conns,
            &root_path,
            &setup.tags,
            &setup.pointed,
            s,
            &fill,
        );
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while fl.metric("firelane_input_records_total", "") < records && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(25));
    }
    let code = fl.terminate();
    let log = fl.log();
    let found = find(bench, row, &marker, aggregator.as_ref());
    match found {
        Ok(report) if code == 0 => Ok(report),
        Ok(report) => Err(format!("{report}, but firelane exited with {code}\n{log}")),
        Err(report) => Err(format!("{report}\n--- firelane log:\n{log}")),
    }
}

/// Looks for the record where the row says it lands; else says where it went.
fn find(
    bench: &Bench,
    row: &Row,
    marker: &str,
    aggregator: Option<&Firelane>,
) -> Result<String, String> {
    let fill = |wants: &[Want]| -> Vec<(Want, String)> {
        wants
            .iter()
            .map(|w| {
                let v = match w {
                    Want::Message(v) | Want::Field(_, v) => bench.fill(v, marker),
                };
                (*w, v)
            })
            .collect()
    };
    let endpoint = bench.moto.endpoint();
    let (role, dest) = match row.land {
        Land::AssumingRole(role, land) => (Some(role), *land),
        other => (None, other),
    };
    match dest {
        Land::CloudWatch {
            region,
            group,
            stream,
            want,
        } => {
            let (group, stream) = (bench.fill(group, marker), bench.fill(stream, marker));
            let creds = land::credentials(&endpoint, role);
            let events = land::cloudwatch_events(&endpoint, region, marker, creds);
            let at = |(g, s, _): &&(String, String, String)| *g == group && *s == stream;
            match events.iter().filter(at).collect::<Vec<_>>().as_slice() {
                [(_, _, message)] => land::check_wants(message, &fill(want))
                    .map(|()| format!("delivered to CloudWatch Logs {group} / {stream}")),
                [] => {
                    let wants = fill(want);
                    let elsewhere: Vec<String> = events
                        .iter()
                        .map(|(g, s, m)| match land::check_wants(m, &wants) {
                            Ok(()) => format!("`{g}` / `{s}`: {m}"),
                            Err(e) => format!("`{g}` / `{s}`: {e}"),
                        })
                        .collect();
                    Err(format!(
                        "not in {region} {group} / {stream}; found in: [{}]",
                        elsewhere.join("; ")
                    ))
                }
                more => Err(format!(
                    "{} records in {group} / {stream}: {more:?}",
                    more.len()
                )),
            }
        }
        Land::S3 {
            region,
            bucket,
            want,
        } => match land::s3_lines(&endpoint, region, bucket, marker).as_slice() {
            [(key, line)] => land::check_wants(line, &fill(want))
                .map(|()| format!("delivered to s3://{bucket}/{key}")),
            other => Err(format!(
                "{} lines in s3://{bucket} ({region}): {other:?}",
                other.len()
            )),
        },
        Land::Aggregator { want } => {
            let agg = aggregator.unwrap();
            let mut lines = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(5);
            while lines.is_empty() && Instant::now() < deadline {
                lines = crate::common::read_json_lines(&agg.path("out.log"))
                    .into_iter()
                    .filter(|l| l.to_string().contains(marker))
                    .collect();
                std::thread::sleep(Duration::from_millis(25));
            }
            match lines.as_slice() {
                [record] => land::check_wants(&record.to_string(), &fill(want))
                    .map(|()| "delivered to the aggregator".to_owned()),
                other => Err(format!(
                    "{} records at the aggregator: {other:?}",
                    other.len()
                )),
            }
        }
        Land::Elsewhere(dest) => Err(format!("{dest} cannot run here")),
        Land::AssumingRole(..) => unreachable!("one level"),
    }
}
