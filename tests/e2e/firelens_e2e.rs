//! FireLens drop-in, end to end: firelane runs on the config ECS generates for a CloudWatch
//! output (config/firelens/cloudwatch/fluent-bit.conf, with only its socket path, ports and
//! endpoint pointed at this test), Docker-driver-shaped records arrive on the Unix socket and on
//! TCP, and they land in moto's CloudWatch Logs with the ECS fields, in the stream FireLens names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::moto::Moto;
use common::{Firelane, free_port};

const TASK_ID: &str = "0123456789abcdef0123456789abcdef";
const TASK_ARN: &str =
    "arn:aws:ecs:us-east-1:123456789012:task/my-cluster/0123456789abcdef0123456789abcdef";

/// The generated config, pointed at this test's socket, ports and moto; a [SERVICE] section
/// sets the admin port (ECS writes none) and a short flush.
fn generated_config(fwd_port: u16, health_port: u16, moto: &Moto) -> String {
    let generated = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/firelens/cloudwatch/fluent-bit.conf"
    ))
    .unwrap();
    let replaced = generated
        .replace("/var/run/fluent.sock", "{dir}/fluent.sock")
        .replace("Port 24224", &format!("Port {fwd_port}"))
        .replace("Port 8877", &format!("Port {health_port}"))
        .replace(
            "    region us-east-1\n",
            &format!("    region us-east-1\n    endpoint {}\n", moto.endpoint()),
        );
    assert_ne!(generated, replaced);
    format!("[SERVICE]\n    HTTP_Port {{http_port}}\n    Flush 0.2\n    Grace 10\n\n{replaced}")
}

/// A Docker-shaped record as the fluentd log driver sends it.
fn record(out: &mut Vec<u8>, container: &str, log: &str) {
    rmp::encode::write_map_len(out, 4).unwrap();
    for (k, v) in [
        (
            "container_id",
            "4f1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef",
        ),
        ("container_name", container),
        ("source", "stdout"),
        ("log", log),
    ] {
        rmp::encode::write_str(out, k).unwrap();
        rmp::encode::write_str(out, v).unwrap();
    }
}

/// Message mode with an EventTime and an empty options map: `[tag, EventTime, record, {}]`.
fn message_event_time(tag: &str, secs: u32, log: &str) -> Vec<u8> {
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 4).unwrap();
    rmp::encode::write_str(&mut out, tag).unwrap();
    common::event_time(&mut out, secs, 250_000_000);
    record(&mut out, "/ecs-app-1-app-a1b2c3", log);
    rmp::encode::write_map_len(&mut out, 0).unwrap();
    out
}

/// Message mode with a signed 64-bit integer time and no options: `[tag, int64, record]`.
fn message_int_time(tag: &str, secs: i64, log: &str) -> Vec<u8> {
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 3).unwrap();
    rmp::encode::write_str(&mut out, tag).unwrap();
    rmp::encode::write_i64(&mut out, secs).unwrap();
    record(&mut out, "/ecs-app-1-app-a1b2c3", log);
    out
}

#[test]
fn docker_records_on_the_generated_config_reach_cloudwatch_with_ecs_fields() {
    let moto = Moto::start();
    let (fwd_port, health_port) = (free_port(), free_port());
    let mut fl = Firelane::start_file(
        "fluent-bit.conf",
        &generated_config(fwd_port, health_port, &moto),
        &moto.env(),
    );
    let tag = format!("app-firelens-{TASK_ID}");
    let t0 = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
        - 300;

    let mut sock = UnixStream::connect(fl.path("fluent.sock")).unwrap();
    for i in 0..200u32 {
        let frame = if i % 2 == 0 {
            message_event_time(&tag, t0 + i, &format!("unix line {i}"))
        } else {
            message_int_time(&tag, i64::from(t0 + i), &format!("unix line {i}"))
        };
        sock.write_all(&frame).unwrap();
    }
    let mut tcp = TcpStream::connect(("127.0.0.1", fwd_port)).unwrap();
    tcp.write_all(&message_event_time(&tag, t0 + 200, "tcp line"))
        .unwrap();
    // What ECS's health check sends to the tcp input; routed to the null output only.
    let mut health = TcpStream::connect(("127.0.0.1", health_port)).unwrap();
    health.write_all(b"{\"health\":\"check\"}\n").unwrap();

    let cw = moto.logs();
    let stream = format!("app/{tag}");
    let mut events = Vec::new();
    fl.wait_for("201 events in CloudWatch", Duration::from_secs(60), || {
        events = cw.events("/ecs/my-service", &stream);
        events.len() >= 201
    });
    assert_eq!(cw.streams("/ecs/my-service"), std::slice::from_ref(&stream));
    assert_eq!(cw.retention("/ecs/my-service"), Some(30));
    assert_eq!(events.len(), 201);
    let mut logs = Vec::new();
    for (i, (ts, message)) in events.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(message).unwrap();
        assert_eq!(v["ecs_cluster"], "my-cluster", "{message}");
        assert_eq!(v["ecs_task_arn"], TASK_ARN, "{message}");
        assert_eq!(v["ecs_task_definition"], "my-service:7", "{message}");
        assert_eq!(v["ec2_instance_id"], "i-0123456789abcdef0", "{message}");
        assert_eq!(v["container_name"], "/ecs-app-1-app-a1b2c3", "{message}");
        assert_eq!(v["source"], "stdout", "{message}");
        let ms = if i % 2 == 0 { 250 } else { 0 };
        assert_eq!(*ts, i64::from(t0 + i as u32) * 1000 + ms, "{message}");
        logs.push(v["log"].as_str().unwrap().to_owned());
    }
    let mut want: Vec<String> = (0..200).map(|i| format!("unix line {i}")).collect();
    want.push("tcp line".to_owned());
    assert_eq!(logs, want, "every record once, in order");

    fl.wait_for(
        "the health check record in null",
        Duration::from_secs(10),
        || fl.metric("firelane_output_records_total", "component=\"null.0\"") == 1.0,
    );
    assert_eq!(
        fl.metric(
            "firelane_output_records_total",
            "component=\"cloudwatch_logs.0\""
        ),
        201.0
    );
    // The image's HEALTHCHECK runs `firelane health`: it asks the port the config sets.
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_firelane"))
        .args(["health", "-c"])
        .arg(fl.path("fluent-bit.conf"))
        .status()
        .unwrap();
    assert!(status.success());
    drop((sock, tcp, health));
    assert_eq!(fl.terminate(), 0, "{}", fl.log());
    assert!(
        !fl.path("fluent.sock").exists(),
        "the socket file is removed on exit"
    );
    let log = fl.log();
    assert!(log.contains("configuration loaded"), "{log}");
    assert!(
        !log.contains("WARN"),
        "the generated config loads without warnings: {log}"
    );
}
