//! End to end: Forward in, the real AWS SDK out, moto's S3 (server mode, path-style) as the
//! endpoint, objects read back with GetObject. Each test runs its own moto.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use common::moto::Moto;
use common::s3::Bucket;
use common::{Firelane, forward_frame, free_port, read_ack};

/// A client connection; a missing ack fails the test after two minutes instead of hanging it.
fn connect(port: u16) -> TcpStream {
    let conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    conn
}

fn config(port: u16, moto: &Moto, store: &std::path::Path, extra: &str) -> String {
    format!(
        r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}
ack = "delivered"

[[outputs]]
name = "s3"
match = "*"
bucket = "logs"
endpoint = "{endpoint}"
store_dir = "{store}"
{extra}
"#,
        endpoint = moto.endpoint(),
        store = store.display(),
    )
}

/// moto with the bucket `logs`, a store directory, and a port for firelane's Forward input.
struct Env {
    moto: Moto,
    bucket: Bucket,
    store: tempfile::TempDir,
    port: u16,
}

impl Env {
    /// Starts firelane with the output's `extra` options.
    fn start(&self, extra: &str) -> Firelane {
        start(self.port, &self.moto, self.store.path(), extra)
    }

    fn new() -> Self {
        let moto = Moto::start();
        let bucket = Bucket::create(&moto, "logs");
        Env {
            moto,
            bucket,
            store: tempfile::tempdir().unwrap(),
            port: free_port(),
        }
    }
}

fn start(port: u16, moto: &Moto, store: &std::path::Path, extra: &str) -> Firelane {
    Firelane::start_env(
        &config(port, moto, store, extra),
        Stdio::null(),
        &moto.env(),
    )
}

fn lines(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix} line {i}")).collect()
}

/// Sends `n` frames of `per` records each on one connection, every frame acked.
fn send_acked(port: u16, tag: &str, prefix: &str, frames: usize, per: usize) {
    let mut conn = connect(port);
    for f in 0..frames {
        let chunk = format!("{prefix}-{f}");
        let logs = lines(prefix, f * per..(f + 1) * per);
        conn.write_all(&forward_frame(tag, &logs, Some(&chunk)))
            .unwrap();
        assert_eq!(read_ack(&mut conn), chunk, "acked once staged on disk");
    }
}

/// The `log` values of every object, objects ordered by where their first line was sent (keys of
/// files that started in the same second differ only by their random suffix), lines in order.
fn logs_in(bucket: &Bucket, sent: &[String]) -> Vec<String> {
    let mut objects: Vec<Vec<String>> = bucket
        .objects()
        .iter()
        .map(|o| {
            o.lines()
                .iter()
                .map(|v| v["log"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    objects.sort_by_key(|lines| {
        lines
            .first()
            .and_then(|l| sent.iter().position(|s| s == l))
            .unwrap_or(usize::MAX)
    });
    objects.concat()
}

/// `got` is exactly `sent`: same records, same order, none twice (reports the first difference).
fn assert_exactly(got: &[String], sent: &[String]) {
    if let Some(i) = (0..got.len().min(sent.len())).find(|&i| got[i] != sent[i]) {
        panic!(
            "record {i} differs: got {:.60}, sent {:.60}",
            got[i], sent[i]
        );
    }
    assert_eq!(got.len(), sent.len(), "record count");
}

#[test]
fn objects_get_their_keys_and_hold_exactly_the_records_gzip_and_time_rotation() {
    let env = Env::new();
    let fl = env.start(
        "compression = \"gzip\"\nupload_timeout = \"1s\"\nstatic_file_path = true\n\
         s3_key_format = \"/app/$TAG[1]/%Y/%m/%d/%H%M%S-$INDEX.gz\"",
    );
    send_acked(env.port, "ecs.web", "web", 5, 200);
    send_acked(env.port, "ecs.worker", "worker", 1, 50);
    fl.wait_for("two objects", Duration::from_secs(30), || {
        env.bucket.keys().len() == 2
    });
    let keys = env.bucket.keys();
    // Keys: the tag part, the first record's time (1700000000 = 2023-11-14 22:13:20 UTC), $INDEX.
    let names: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
    assert!(
        names.contains("app/web/2023/11/14/221320-0.gz")
            || names.contains("app/web/2023/11/14/221320-1.gz"),
        "{keys:?}"
    );
    assert!(
        keys.iter().all(|k| k.starts_with("app/")),
        "no leading slash: {keys:?}"
    );
    let web = env
        .bucket
        .objects()
        .into_iter()
        .find(|o| o.key.starts_with("app/web/"))
        .unwrap();
    assert_eq!(web.content_encoding.as_deref(), Some("gzip"));
    let got: Vec<String> = web
        .lines()
        .iter()
        .map(|v| v["log"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, lines("web", 0..1000), "every record once, in order");
    let first = &web.lines()[0];
    assert_eq!(
        first["date"], "2023-11-14T22:13:20.000000Z",
        "json_date_key, iso8601"
    );
    assert_eq!(first["container_name"], "/app");
    // Time rotation: a later record goes into a new object once the first was uploaded.
    send_acked(env.port, "ecs.web", "late", 1, 10);
    fl.wait_for("a third object", Duration::from_secs(30), || {
        env.bucket.keys().len() == 3
    });
    assert_eq!(fl.metric("firelane_s3_objects_total", "put_object"), 3.0);
    assert_eq!(fl.metric("firelane_output_records_total", "s3.0"), 1060.0);
    assert_eq!(env.bucket.open_uploads(), 0);
}

#[test]
fn large_files_go_by_multipart_and_arrive_whole() {
    let env = Env::new();
    let fl = env
        .start("total_file_size = \"12M\"\nupload_chunk_size = 5242880\nupload_timeout = \"2s\"");
    // ~13 MB of plain JSON lines: one 12M+ object by multipart, the rest later.
    let pad = "x".repeat(900);
    let mut conn = connect(env.port);
    let mut sent = Vec::new();
    for f in 0..130 {
        let logs: Vec<String> = (0..100).map(|i| format!("{f}-{i} {pad}")).collect();
        sent.extend(logs.iter().cloned());
        let chunk = format!("c{f}");
        conn.write_all(&forward_frame("big", &logs, Some(&chunk)))
            .unwrap();
        assert_eq!(read_ack(&mut conn), chunk);
    }
    fl.wait_for("every record in S3", Duration::from_secs(60), || {
        logs_in(&env.bucket, &sent).len() >= sent.len()
    });
    assert_exactly(&logs_in(&env.bucket, &sent), &sent);
    assert!(fl.metric("firelane_s3_objects_total", "multipart") >= 1.0);
    // 12M+ in 5 MiB parts: the short tail joins the last part.
    assert!(fl.metric("firelane_s3_parts_total", "s3.0") >= 2.0);
    assert_eq!(env.bucket.open_uploads(), 0, "no upload left open");
    let staged: Vec<String> = std::fs::read_dir(env.store.path().join("s3.0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".data") || n.ends_with(".meta") || n.ends_with(".parts"))
        .collect();
    assert!(staged.is_empty(), "uploaded files are deleted: {staged:?}");
}

#[test]
fn zstd_log_key_and_object_settings() {
    let env = Env::new();
    let fl = env.start(
        "compression = \"zstd\"\nlog_key = \"log\"\nupload_timeout = \"1s\"\n\
         content_type = \"text/plain\"\nstorage_class = \"STANDARD_IA\"\nsend_content_md5 = true",
    );
    send_acked(env.port, "app", "raw", 2, 100);
    fl.wait_for("an object", Duration::from_secs(30), || {
        !env.bucket.keys().is_empty()
    });
    let objects = env.bucket.objects();
    assert_eq!(objects.len(), 1);
    let o = &objects[0];
    assert!(
        o.key.starts_with("firelane-logs/app/2023/11/14/22/13/20"),
        "{}",
        o.key
    );
    assert!(
        o.key.len() > "firelane-logs/app/2023/11/14/22/13/20".len(),
        "random suffix without $UUID"
    );
    assert_eq!(o.content_encoding.as_deref(), Some("zstd"));
    assert_eq!(o.content_type.as_deref(), Some("text/plain"));
    assert_eq!(o.storage_class.as_deref(), Some("STANDARD_IA"));
    let text = o.text();
    let want: Vec<String> = lines("raw", 0..200);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        want,
        "raw log_key values, one per line"
    );
}

#[test]
fn sigterm_uploads_everything_staged() {
    let env = Env::new();
    let mut fl = env.start("compression = \"gzip\"");
    send_acked(env.port, "app", "term", 10, 100);
    assert!(
        env.bucket.keys().is_empty(),
        "nothing due yet (10m timeout, 100M size)"
    );
    assert_eq!(fl.terminate(), 0);
    let sent = lines("term", 0..1000);
    assert_exactly(&logs_in(&env.bucket, &sent), &sent);
}

#[test]
fn sigkill_then_restart_uploads_every_acked_record() {
    let env = Env::new();
    let mut fl = env.start("compression = \"gzip\"");
    send_acked(env.port, "app", "kill", 20, 100);
    common::signal(&fl.child, "KILL");
    fl.child.wait().unwrap();
    assert!(env.bucket.keys().is_empty());
    let fl2 = env.start("compression = \"gzip\"");
    fl2.wait_for("the recovered object", Duration::from_secs(30), || {
        !env.bucket.keys().is_empty()
    });
    let sent = lines("kill", 0..2000);
    assert_exactly(&logs_in(&env.bucket, &sent), &sent);
    assert_eq!(fl2.metric("firelane_s3_recovered_files_total", "s3.0"), 1.0);
    fl2.wait_for(
        "the recovered records counted",
        Duration::from_secs(10),
        || fl2.metric("firelane_output_records_total", "s3.0") == 2000.0,
    );
}

#[test]
fn an_s3_outage_loses_nothing() {
    let mut env = Env::new();
    let fl = env.start("upload_timeout = \"1s\"\ncompression = \"gzip\"");
    env.moto.stop();
    send_acked(env.port, "app", "outage", 5, 100);
    fl.wait_for("failed upload attempts", Duration::from_secs(30), || {
        fl.metric("firelane_output_retries_total", "s3.0") >= 2.0
    });
    // The stand-in comes back empty: the bucket is re-created, the upload goes through.
    env.moto.restart();
    let bucket2 = Bucket::create(&env.moto, &env.bucket.name);
    fl.wait_for(
        "the object after the outage",
        Duration::from_secs(90),
        || !bucket2.keys().is_empty(),
    );
    let sent = lines("outage", 0..500);
    assert_exactly(&logs_in(&bucket2, &sent), &sent);
}

#[test]
fn a_full_store_drops_newest_when_told_to_and_counts_it() {
    let mut env = Env::new();
    let fl = env.start(
        "upload_timeout = \"1s\"\nstore_dir_limit_size = \"6M\"\n\
         store_dir_overflow = \"drop_newest\"",
    );
    env.moto.stop(); // Nothing can be uploaded: staged bytes only grow.
    let pad = "z".repeat(500);
    let mut conn = connect(env.port);
    for f in 0..20 {
        let logs: Vec<String> = (0..1000).map(|i| format!("{f}-{i} {pad}")).collect();
        conn.write_all(&forward_frame("app", &logs, None)).unwrap();
    }
    fl.wait_for("drops to be counted", Duration::from_secs(30), || {
        fl.metric(
            "firelane_output_dropped_records_total",
            "reason=\"store_full\"",
        ) > 0.0
    });
    let staged = fl.metric("firelane_s3_staged_bytes", "s3.0");
    assert!(
        (6_000_000.0..12_000_000.0).contains(&staged),
        "staging stopped near the limit (one round past it at most: <= 4 MiB of msgpack, \
         a little more as JSON lines): {staged}"
    );
    let kept = fl.metric("firelane_s3_staged_records_total", "s3.0");
    let dropped = fl.metric(
        "firelane_output_dropped_records_total",
        "reason=\"store_full\"",
    );
    fl.wait_for(
        "every record staged or dropped",
        Duration::from_secs(30),
        || {
            fl.metric("firelane_s3_staged_records_total", "s3.0")
                + fl.metric(
                    "firelane_output_dropped_records_total",
                    "reason=\"store_full\"",
                )
                >= 20_000.0
        },
    );
    assert!(kept > 0.0 && dropped > 0.0);
}

#[test]
fn fluent_logger_records_arrive_whole_one_object_per_tag() {
    let env = Env::new();
    let mut fl = env.start(
        "compression = \"zstd\"\njson_date_key = false\n\
         s3_key_format = \"/py/$TAG[1]/$UUID.json.zst\"",
    );
    let sent = common::fluent_send(env.port, "py", 60);
    assert_eq!(fl.terminate(), 0, "SIGTERM uploads what is staged");
    for sub in 0..3 {
        let tag = format!("py.sub{sub}");
        let want = common::records_of(&sent, &tag);
        let objects: Vec<_> = env
            .bucket
            .objects()
            .into_iter()
            .filter(|o| o.key.starts_with(&format!("py/sub{sub}/")))
            .collect();
        assert_eq!(objects.len(), 1, "one object for {tag}");
        assert!(objects[0].key.ends_with(".json.zst"), "{}", objects[0].key);
        let got = objects[0].lines();
        assert_eq!(
            got.iter().collect::<Vec<_>>(),
            want,
            "records of {tag}, whole and in order"
        );
    }
}
