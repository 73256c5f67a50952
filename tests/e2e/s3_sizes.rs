//! The S3 output's size rules end to end, on a Fluent Bit file shaped like the FireLens S3
//! examples (aws-for-fluent-bit `ecs/s3.conf`, amazon-ecs-firelens-examples `fluent-bit/s3`):
//! `total_file_size 1M` and a short `upload_timeout`, but without `use_put_object`. Fluent Bit
//! turns PutObject on by itself below 10 MiB (s3.c `cb_s3_init`), so the file must start, and
//! every staged file must become one object sent by PutObject, cut as Fluent Bit cuts it: once the
//! JSON lines pass `total_file_size` (before compression), or at `upload_timeout`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::moto::Moto;
use common::s3::{Bucket, Object};
use common::{Firelane, forward_frame, free_port, read_ack};

/// The FireLens example's `[OUTPUT]` (without `use_put_object`), pointed at moto and a temp
/// store; `extra` adds output lines.
fn fluent_bit_conf(port: u16, moto: &Moto, store: &std::path::Path, extra: &str) -> String {
    format!(
        "[SERVICE]
    Flush 0.2
    Grace 10
    HTTP_Server On
    HTTP_Port {{http_port}}

[INPUT]
    Name forward
    Listen 127.0.0.1
    Port {port}

[OUTPUT]
    Name s3
    Match *
    bucket logs
    region us-east-1
    total_file_size 1M
    upload_timeout 6s
    endpoint {endpoint}
    store_dir {store}
{extra}",
        endpoint = moto.endpoint(),
        store = store.display(),
    )
}

/// `frames` frames of 100 records of about 1 KB each; every frame is acked and staged before the
/// next is sent, so each one is its own round and an object holds whole frames.
fn send_staged(fl: &Firelane, port: u16, frames: usize) -> Vec<String> {
    let pad = "p".repeat(1000);
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut sent = Vec::new();
    for f in 0..frames {
        let logs: Vec<String> = (0..100).map(|i| format!("{f}-{i} {pad}")).collect();
        sent.extend(logs.iter().cloned());
        let chunk = format!("c{f}");
        conn.write_all(&forward_frame("app", &logs, Some(&chunk)))
            .unwrap();
        assert_eq!(read_ack(&mut conn), chunk);
        let staged = sent.len() as f64;
        fl.wait_for("the frame staged", Duration::from_secs(30), || {
            fl.metric("firelane_s3_staged_records_total", "s3.0") >= staged
        });
    }
    sent
}

/// An object and the `log` values of its records.
struct Delivered {
    object: Object,
    logs: Vec<String>,
}

/// One run of the example: what reached the bucket, firelane (its log and metrics) and moto.
struct Run {
    objects: Vec<Delivered>,
    fl: Firelane,
    moto: Moto,
}

/// The objects in the order their records were sent.
fn objects_in_order(bucket: &Bucket, sent: &[String]) -> Vec<Delivered> {
    let mut objects: Vec<Delivered> = bucket
        .objects()
        .into_iter()
        .map(|object| {
            let logs = object
                .lines()
                .iter()
                .map(|v| v["log"].as_str().unwrap().to_owned())
                .collect();
            Delivered { object, logs }
        })
        .collect();
    objects.sort_by_key(|d| sent.iter().position(|s| Some(s) == d.logs.first()));
    objects
}

/// Runs the example with `extra` output lines and `frames` frames; checks that every record
/// arrived once, in order, and that no multipart upload is left open.
fn run(extra: &str, frames: usize) -> Run {
    let moto = Moto::start();
    let bucket = Bucket::create(&moto, "logs");
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let fl = Firelane::start_file(
        "fluent-bit.conf",
        &fluent_bit_conf(port, &moto, store.path(), extra),
        &moto.env(),
    );
    let sent = send_staged(&fl, port, frames);
    fl.wait_for("every record in S3", Duration::from_secs(60), || {
        fl.metric("firelane_output_records_total", "s3.0") >= sent.len() as f64
    });
    let objects = objects_in_order(&bucket, &sent);
    let got: Vec<String> = objects.iter().flat_map(|d| d.logs.clone()).collect();
    assert!(got == sent, "every record once, in order");
    assert_eq!(bucket.open_uploads(), 0, "no multipart upload left open");
    Run { objects, fl, moto }
}

/// Every object went by PutObject: by its ETag, by firelane's counters, and by moto's request
/// log (CreateMultipartUpload and CompleteMultipartUpload are POSTs, UploadPart names an
/// `uploadId`).
fn assert_put_object_only(run: &Run) {
    for d in &run.objects {
        let o = &d.object;
        assert!(!o.is_multipart(), "{} was a multipart upload", o.key);
    }
    let n = run.objects.len() as f64;
    assert_eq!(run.fl.metric("firelane_s3_objects_total", "put_object"), n);
    assert_eq!(run.fl.metric("firelane_s3_objects_total", "multipart"), 0.0);
    let log = run.moto.log();
    assert!(log.contains("PUT /logs/"), "moto logs requests: {log}");
    let multipart_calls: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"POST ") || l.contains("uploadId="))
        .collect();
    assert!(multipart_calls.is_empty(), "{multipart_calls:?}");
}

#[test]
fn firelens_total_file_size_1m_without_use_put_object_uploads_by_put_object() {
    // 25 frames of ~105 KB of JSON lines: two files pass 1,000,000 bytes, the rest waits for
    // upload_timeout.
    let run = run("", 25);
    let log = run.fl.log();
    assert!(log.contains("PutObject"), "the switch is logged:\n{log}");
    assert_put_object_only(&run);
    let objects = &run.objects;
    assert_eq!(objects.len(), 3, "two by size, one by upload_timeout");
    let frame_bytes = objects[0].object.body.len() / objects[0].logs.len() * 100;
    for d in &objects[..2] {
        let len = d.object.body.len();
        assert!(
            len > 1_000_000 && len <= 1_000_000 + frame_bytes,
            "sealed on the frame that passed total_file_size (Fluent Bit: buffered bytes plus the \
             new chunk over it): {len}"
        );
    }
    assert!(
        objects[2].object.body.len() < 1_000_000,
        "the timed-out rest"
    );
}

#[test]
fn with_put_object_total_file_size_counts_the_lines_before_compression() {
    // Fluent Bit buffers JSON lines and compresses at upload, so with PutObject an object holds
    // total_file_size of lines, far less once compressed.
    let run = run("    compression gzip\n", 25);
    assert_put_object_only(&run);
    assert_eq!(run.objects.len(), 3, "two by size, one by upload_timeout");
    for d in &run.objects[..2] {
        let o = &d.object;
        assert_eq!(o.content_encoding.as_deref(), Some("gzip"));
        let lines = o.text().len();
        assert!(
            (1_000_001..1_200_000).contains(&lines),
            "about total_file_size of lines: {lines}"
        );
        assert!(o.body.len() < 200_000, "compressed: {}", o.body.len());
    }
}
