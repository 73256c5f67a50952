//! File output tests: real files in a temporary directory, fed through a channel.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::*;
use crate::config::model::{DateFormat, DateKey, FileFormat};
use crate::event::ack::{AckOutcome, AckToken, AckWaiter};
use crate::event::{Event, EventTime};
use crate::health::{ComponentKind, Registry};

fn cfg(dir: &Path, file: Option<&str>) -> FileOutputConfig {
    FileOutputConfig {
        alias: None,
        match_: None,
        match_regex: None,
        path: Some(dir.to_string_lossy().into_owned()),
        file: file.map(str::to_owned),
        format: FileFormat::JsonLines,
        json_date_key: DateKey(Some("date".into())),
        json_date_format: DateFormat::Epoch,
        json_tag_key: DateKey(Some("tag".into())),
    }
}

fn output(cfg: &FileOutputConfig) -> (FileOutput, Registry) {
    let registry = Registry::new(0, Duration::from_secs(60));
    let health = registry.register(ComponentKind::Output, "file".into());
    (
        FileOutput::new(cfg, "file".into(), health).unwrap(),
        registry,
    )
}

/// `{"log": <log>}` as msgpack (log as a str, bytes kept as given).
fn log_record(log: &[u8]) -> Bytes {
    let mut rec = vec![0x81, 0xa3, b'l', b'o', b'g', 0xd9, log.len() as u8];
    rec.extend_from_slice(log);
    Bytes::from(rec)
}

fn batch(events: &[(&str, i64, &[u8])]) -> (Arc<Batch>, AckWaiter) {
    let events: Vec<Event> = events
        .iter()
        .map(|(tag, secs, log)| Event {
            tag: Arc::from(*tag),
            time: EventTime::new(*secs, 0),
            record: log_record(log),
        })
        .collect();
    let bytes = Batch::record_bytes(&events);
    let (token, waiter) = AckToken::new();
    (Arc::new(Batch::new(events, bytes, token, None)), waiter)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn one_file_per_tag_and_acks_resolve_after_the_write() {
    let dir = tempfile::TempDir::new().unwrap();
    let (out, _registry) = output(&cfg(dir.path(), None));
    let (tx, rx) = mpsc::channel(4);
    let task = tokio::spawn(out.run(rx));

    let (b1, w1) = batch(&[("app.a", 1, b"one"), ("app.b", 2, b"two")]);
    tx.send(b1).await.unwrap();
    assert_eq!(w1.wait().await, AckOutcome::Delivered);
    // The ack resolved, so the lines must already be in the files.
    assert_eq!(
        lines(&dir.path().join("app.a")),
        [r#"{"date":1,"tag":"app.a","log":"one"}"#]
    );
    assert_eq!(
        lines(&dir.path().join("app.b")),
        [r#"{"date":2,"tag":"app.b","log":"two"}"#]
    );

    let (b2, w2) = batch(&[("app.a", 3, b"three \"q\"\t")]);
    tx.send(b2).await.unwrap();
    assert_eq!(w2.wait().await, AckOutcome::Delivered);
    drop(tx);
    task.await.unwrap();
    assert_eq!(
        lines(&dir.path().join("app.a")),
        [
            r#"{"date":1,"tag":"app.a","log":"one"}"#,
            r#"{"date":3,"tag":"app.a","log":"three \"q\"\t"}"#,
        ]
    );
}

#[tokio::test]
async fn fixed_file_name_gets_every_tag_and_invalid_utf8_is_replaced() {
    let dir = tempfile::TempDir::new().unwrap();
    let nested = dir.path().join("logs/app");
    let (out, _registry) = output(&cfg(&nested, Some("all.log")));
    let (tx, rx) = mpsc::channel(4);
    let (b, w) = batch(&[("x", 1, b"\xff\xfe"), ("y", 2, b"ok")]);
    tx.send(b).await.unwrap();
    drop(tx);
    out.run(rx).await;
    assert_eq!(w.wait().await, AckOutcome::Delivered);
    assert_eq!(
        lines(&nested.join("all.log")),
        [
            "{\"date\":1,\"tag\":\"x\",\"log\":\"\u{FFFD}\u{FFFD}\"}",
            r#"{"date":2,"tag":"y","log":"ok"}"#,
        ]
    );
}

#[tokio::test]
async fn tags_cannot_escape_the_directory() {
    let dir = tempfile::TempDir::new().unwrap();
    let inner = dir.path().join("out");
    let (out, _registry) = output(&cfg(&inner, None));
    let (tx, rx) = mpsc::channel(4);
    let (b, w) = batch(&[("../evil", 1, b"a"), ("..", 2, b"b"), ("", 3, b"c")]);
    tx.send(b).await.unwrap();
    drop(tx);
    out.run(rx).await;
    assert_eq!(w.wait().await, AckOutcome::Delivered);
    let mut names: Vec<_> = std::fs::read_dir(&inner)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".._evil", "_", "_.."]);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn a_failed_write_is_retried_until_it_succeeds_and_nothing_is_written_twice() {
    let dir = tempfile::TempDir::new().unwrap();
    // A directory where the file for tag "blocked" should be: opening it for append fails.
    std::fs::create_dir(dir.path().join("blocked")).unwrap();
    let (out, registry) = output(&cfg(dir.path(), None));
    let (tx, rx) = mpsc::channel(4);
    let (bad, bad_waiter) = batch(&[("blocked", 1, b"held")]);
    let (good, good_waiter) = batch(&[("fine", 2, b"kept")]);
    let (bad_ack, good_ack) = (
        tokio::spawn(bad_waiter.wait()),
        tokio::spawn(good_waiter.wait()),
    );
    tx.send(bad).await.unwrap();
    tx.send(good).await.unwrap();
    drop(tx);
    let task = tokio::spawn(out.run(rx));
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The round is held: no ack yet, the output is unhealthy, the good file written once.
    assert!(!bad_ack.is_finished() && !good_ack.is_finished());
    let status = &registry.snapshot(std::time::Instant::now())[0];
    assert!(!status.healthy);
    assert!(status.last_error.as_deref().unwrap().contains("blocked"));
    assert!(!task.is_finished());
    // The obstacle goes away: the next attempt writes the held line.
    std::fs::remove_dir(dir.path().join("blocked")).unwrap();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("written within the 10 s backoff cap")
        .unwrap();
    assert_eq!(bad_ack.await.unwrap(), AckOutcome::Delivered);
    assert_eq!(good_ack.await.unwrap(), AckOutcome::Delivered);
    assert_eq!(
        lines(&dir.path().join("blocked")),
        [r#"{"date":1,"tag":"blocked","log":"held"}"#]
    );
    assert_eq!(
        lines(&dir.path().join("fine")),
        [r#"{"date":2,"tag":"fine","log":"kept"}"#]
    );
}

#[tokio::test]
async fn a_full_disk_holds_the_round_and_the_line_is_written_whole_once_there_is_room() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("f");
    // Every write to /dev/full fails with ENOSPC.
    std::os::unix::fs::symlink("/dev/full", &path).unwrap();
    let (out, _registry) = output(&cfg(dir.path(), Some("f")));
    let (tx, rx) = mpsc::channel(4);
    let (b, waiter) = batch(&[("t", 1, b"first"), ("t", 2, b"second")]);
    let ack = tokio::spawn(waiter.wait());
    tx.send(b).await.unwrap();
    drop(tx);
    let task = tokio::spawn(out.run(rx));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!ack.is_finished(), "held while the disk is full");
    // Room again: the output reopens the path and writes the round.
    std::fs::remove_file(&path).unwrap();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ack.await.unwrap(), AckOutcome::Delivered);
    assert_eq!(
        lines(&path),
        [
            r#"{"date":1,"tag":"t","log":"first"}"#,
            r#"{"date":2,"tag":"t","log":"second"}"#
        ]
    );
}

#[tokio::test]
async fn unencodable_events_are_dropped_and_the_rest_written() {
    let dir = tempfile::TempDir::new().unwrap();
    let (out, _registry) = output(&cfg(dir.path(), Some("f")));
    let (tx, rx) = mpsc::channel(4);
    let (token, waiter) = AckToken::new();
    let events = vec![
        Event {
            tag: Arc::from("t"),
            time: EventTime::new(1, 0),
            record: Bytes::from_static(b"\xa3not a map"),
        },
        Event {
            tag: Arc::from("t"),
            time: EventTime::new(2, 0),
            record: log_record(b"good"),
        },
    ];
    tx.send(Arc::new(Batch::new(events, 20, token, None)))
        .await
        .unwrap();
    drop(tx);
    out.run(rx).await;
    assert_eq!(waiter.wait().await, AckOutcome::Dropped);
    assert_eq!(
        lines(&dir.path().join("f")),
        [r#"{"date":2,"tag":"t","log":"good"}"#]
    );
}

#[test]
fn more_tags_than_open_handles_are_all_written() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut sink = FileSink::new(dir.path().to_path_buf(), true);
    for round in 0..2 {
        for i in 0..MAX_OPEN_FILES + 6 {
            let key: Arc<str> = Arc::from(format!("tag{i}"));
            sink.write(&key, format!("{round}\n").as_bytes(), &mut 0)
                .unwrap();
            assert!(sink.open.len() <= MAX_OPEN_FILES);
        }
    }
    for i in 0..MAX_OPEN_FILES + 6 {
        assert_eq!(lines(&dir.path().join(format!("tag{i}"))), ["0", "1"]);
    }
    assert!(sink.sync_and_close().is_empty());
    assert!(sink.open.is_empty());
}

#[test]
fn directory_creation_failure_names_the_path() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"").unwrap();
    let registry = Registry::new(0, Duration::from_secs(60));
    let health = registry.register(ComponentKind::Output, "file".into());
    let err = FileOutput::new(&cfg(&file.join("sub"), None), "file".into(), health)
        .err()
        .unwrap();
    assert!(err.to_string().contains("plain/sub"), "{err}");
}

#[tokio::test]
async fn out_file_and_plain_formats_ignore_the_json_keys() {
    for (format, expected) in [
        (
            FileFormat::OutFile,
            [
                r#"app.a: [1.000000000, {"log":"one"}]"#,
                r#"app.b: [2.000000000, {"log":"two"}]"#,
            ],
        ),
        (FileFormat::Plain, [r#"{"log":"one"}"#, r#"{"log":"two"}"#]),
    ] {
        let dir = tempfile::TempDir::new().unwrap();
        let cfg = FileOutputConfig {
            format,
            ..cfg(dir.path(), Some("all.log"))
        };
        let (out, _registry) = output(&cfg);
        let (tx, rx) = mpsc::channel(4);
        let (b, w) = batch(&[("app.a", 1, b"one"), ("app.b", 2, b"two")]);
        tx.send(b).await.unwrap();
        drop(tx);
        out.run(rx).await;
        assert_eq!(w.wait().await, AckOutcome::Delivered);
        assert_eq!(lines(&dir.path().join("all.log")), expected, "{format:?}");
    }
}

#[tokio::test]
async fn a_tag_longer_than_a_file_name_is_written_under_a_shortened_name() {
    let dir = tempfile::TempDir::new().unwrap();
    let (out, registry) = output(&cfg(dir.path(), None));
    let (tx, rx) = mpsc::channel(4);
    let long = "t".repeat(301);
    let other = format!("{}x", "t".repeat(300));
    let (b1, w1) = batch(&[(long.as_str(), 1, b"one")]);
    let (b2, w2) = batch(&[(other.as_str(), 2, b"two")]);
    tx.send(b1).await.unwrap();
    tx.send(b2).await.unwrap();
    drop(tx);
    tokio::time::timeout(Duration::from_secs(5), out.run(rx))
        .await
        .expect("not retried: the name fits");
    assert_eq!(w1.wait().await, AckOutcome::Delivered);
    assert_eq!(w2.wait().await, AckOutcome::Delivered);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "two tags, two files: {names:?}");
    for name in &names {
        assert_eq!(name.len(), 255);
        assert!(name.starts_with(&"t".repeat(246)));
    }
    assert!(registry.snapshot(std::time::Instant::now())[0].healthy);
}

#[test]
fn long_names_are_cut_on_a_character_boundary() {
    let tag = "é".repeat(200); // 400 bytes
    let name = safe_file_name(&tag);
    assert!(name.len() <= 255);
    assert_eq!(safe_file_name(&tag), name, "the same tag, the same file");
    assert_ne!(safe_file_name(&format!("{tag}a")), name);
}
