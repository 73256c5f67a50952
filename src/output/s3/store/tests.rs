use std::io::Read as _;
use std::time::Duration;

use super::*;
use crate::output::s3::journal::{ORPHAN_TAG, meta_name};

/// Multipart-style sealing (on bytes on disk) with a chunk size no file here reaches.
fn settings(total_file_bytes: u64, upload_timeout: Duration) -> StoreSettings {
    StoreSettings {
        compression: Compression::Gzip,
        key: KeyTemplate::parse("/logs/$TAG/%Y-$INDEX", ".", true).unwrap(),
        plan: UploadPlan {
            put_object: false,
            total_file_bytes,
            upload_chunk_bytes: u64::MAX,
            upload_timeout,
        },
    }
}

fn t0() -> EventTime {
    EventTime {
        secs: 1_700_000_000,
        nanos: 0,
    }
}

fn lines(prefix: &str, n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| format!("{{\"log\":\"{prefix} {i}\"}}\n").into_bytes())
        .collect()
}

fn content(dir: &Path, file: &SealedFile) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(fs::File::open(dir.join(data_name(file.id))).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn committed_lines_survive_a_crash_and_come_back_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let tag: Arc<str> = Arc::from("app");
    {
        let (mut store, sealed, _) =
            Store::open(dir.path(), settings(1 << 30, Duration::from_secs(600))).unwrap();
        assert!(sealed.is_empty());
        store.append(&tag, t0(), &lines("a", 100), 100).unwrap();
        store.commit("app").unwrap();
        store.append(&tag, t0(), &lines("lost", 5), 5).unwrap();
        // Dropped without sealing: as after SIGKILL (the uncommitted lines were never acked).
    }
    let (_store, sealed, report) =
        Store::open(dir.path(), settings(1 << 30, Duration::from_secs(600))).unwrap();
    assert_eq!(report.repaired, 1);
    assert_eq!(sealed.len(), 1);
    let s = sealed[0].sealed().unwrap();
    assert_eq!(s.key, "logs/app/2023-0");
    assert_eq!(content(dir.path(), &sealed[0]), lines("a", 100));
    assert_eq!(s.raw_bytes, lines("a", 100).len() as u64);
    assert_eq!(s.records, 100, "recovered lines are counted");
}

#[test]
fn files_seal_on_size_and_age_and_keep_their_key_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let tag: Arc<str> = Arc::from("web");
    let (mut store, _, _) =
        Store::open(dir.path(), settings(2_000, Duration::from_secs(60))).unwrap();
    let mut sealed = Vec::new();
    // Small: neither size nor age reached.
    store.append(&tag, t0(), &lines("x", 3), 3).unwrap();
    store.commit("web").unwrap();
    store.seal_due(Instant::now(), &mut sealed).unwrap();
    assert!(sealed.is_empty());
    // Age: one minute later it is due.
    store
        .seal_due(Instant::now() + Duration::from_secs(61), &mut sealed)
        .unwrap();
    assert_eq!(sealed.len(), 1);
    assert_eq!(sealed[0].sealed().unwrap().records, 3);
    // Size: incompressible-ish lines past 2,000 bytes seal the next file.
    let noisy: Vec<u8> = (0..400u32)
        .flat_map(|i| format!("{:x}\n", i.wrapping_mul(2_654_435_761)).into_bytes())
        .collect();
    store.append(&tag, t0(), &noisy, 400).unwrap();
    store.commit("web").unwrap();
    store.seal_due(Instant::now(), &mut sealed).unwrap();
    assert_eq!(sealed.len(), 2);
    assert_ne!(sealed[0].id, sealed[1].id);
    let keys: Vec<&str> = sealed
        .iter()
        .map(|f| f.sealed().unwrap().key.as_str())
        .collect();
    assert_eq!(
        keys,
        ["logs/web/2023-0", "logs/web/2023-1"],
        "$INDEX counts up"
    );
    assert_eq!(
        store.staged_bytes().load(Ordering::Relaxed),
        sealed
            .iter()
            .map(|f| f.sealed().unwrap().disk_bytes)
            .sum::<u64>()
    );
    drop(store);
    let (_store, again, report) =
        Store::open(dir.path(), settings(2_000, Duration::from_secs(60))).unwrap();
    assert_eq!(report.repaired, 0);
    let keys: Vec<String> = again
        .iter()
        .map(|f| f.sealed().unwrap().key.clone())
        .collect();
    assert_eq!(
        keys,
        ["logs/web/2023-0", "logs/web/2023-1"],
        "keys are not rendered again"
    );
    assert_eq!(
        journal::read_index(dir.path()).unwrap(),
        2,
        "$INDEX is persisted"
    );
}

#[test]
fn forget_removes_the_files_and_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let tag: Arc<str> = Arc::from("app");
    let (mut store, _, _) =
        Store::open(dir.path(), settings(1 << 30, Duration::from_secs(600))).unwrap();
    let mut sealed = Vec::new();
    store.append(&tag, t0(), &lines("a", 10), 10).unwrap();
    store.seal_all(&mut sealed).unwrap();
    let staged = store.staged_bytes();
    assert!(staged.load(Ordering::Relaxed) > 0);
    forget(dir.path(), &sealed[0], &staged).unwrap();
    assert_eq!(staged.load(Ordering::Relaxed), 0);
    let left: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(
        left,
        [LOCK_FILE, RESERVE_FILE, "index"],
        "only the lock, the disk reserve and the $INDEX file stay"
    );
}

#[test]
fn data_without_metadata_is_adopted_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let tag: Arc<str> = Arc::from("app");
    {
        let (mut store, _, _) =
            Store::open(dir.path(), settings(1 << 30, Duration::from_secs(600))).unwrap();
        store.append(&tag, t0(), &lines("o", 7), 7).unwrap();
        store.commit("app").unwrap();
    }
    fs::remove_file(dir.path().join(meta_name(1))).unwrap();
    let (_store, sealed, report) =
        Store::open(dir.path(), settings(1 << 30, Duration::from_secs(600))).unwrap();
    assert_eq!(report.repaired, 1);
    assert_eq!(sealed[0].meta.tag, ORPHAN_TAG);
    assert_eq!(content(dir.path(), &sealed[0]), lines("o", 7));
}

#[test]
fn unreadable_metadata_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(meta_name(4)), b"{not json").unwrap();
    fs::write(dir.path().join(data_name(4)), b"precious").unwrap();
    let (mut store, sealed, report) =
        Store::open(dir.path(), settings(1 << 30, Duration::from_secs(600))).unwrap();
    assert!(sealed.is_empty());
    assert_eq!(report.unreadable.len(), 1);
    assert_eq!(
        fs::read(dir.path().join(data_name(4))).unwrap(),
        b"precious"
    );
    // New files never reuse its id.
    let tag: Arc<str> = Arc::from("app");
    store.append(&tag, t0(), &lines("n", 1), 1).unwrap();
    assert!(dir.path().join(data_name(5)).exists());
}

#[test]
fn a_second_store_on_the_same_directory_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path(), settings(1 << 30, Duration::from_secs(600))).unwrap();
    let err = Store::open(dir.path(), settings(1 << 30, Duration::from_secs(600))).unwrap_err();
    assert!(err.to_string().contains("another process"), "{err}");
    drop(first);
    Store::open(dir.path(), settings(1 << 30, Duration::from_secs(600))).unwrap();
}

#[test]
fn with_put_object_a_file_is_due_once_its_lines_pass_total_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let batch = lines("same", 100);
    let total = 3 * batch.len() as u64; // three batches of lines: at the limit, not over it
    let mut s = settings(0, Duration::from_secs(600));
    s.plan = UploadPlan {
        put_object: true,
        total_file_bytes: total,
        upload_chunk_bytes: total,
        upload_timeout: Duration::from_secs(600),
    };
    let (mut store, _, _) = Store::open(dir.path(), s).unwrap();
    let tag: Arc<str> = Arc::from("app");
    let mut sealed = Vec::new();
    for _ in 0..3 {
        store.append(&tag, t0(), &batch, 100).unwrap();
        store.commit("app").unwrap();
        store.seal_due(Instant::now(), &mut sealed).unwrap();
    }
    assert!(
        sealed.is_empty(),
        "exactly total_file_size of lines: not over it yet"
    );
    store.append(&tag, t0(), &batch, 100).unwrap();
    store.commit("app").unwrap();
    store.seal_due(Instant::now(), &mut sealed).unwrap();
    let s = sealed[0].sealed().unwrap();
    assert_eq!(s.raw_bytes, total + batch.len() as u64);
    assert!(
        s.disk_bytes < total / 4,
        "measured before compression: {}",
        s.disk_bytes
    );
}

#[test]
fn with_multipart_upload_timeout_counts_from_the_first_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_secs(60);
    let mut s = settings(1 << 30, timeout);
    s.plan.upload_chunk_bytes = 1_000;
    let (mut store, _, _) = Store::open(dir.path(), s).unwrap();
    let tag: Arc<str> = Arc::from("app");
    store.append(&tag, t0(), &lines("a", 1), 1).unwrap();
    store.commit("app").unwrap();
    let opened_deadline = store.next_deadline().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    // Past one chunk on disk: the multipart upload "starts" now, its timeout with it.
    let noisy: Vec<u8> = (0..400u32)
        .flat_map(|i| format!("{:x}\n", i.wrapping_mul(2_654_435_761)).into_bytes())
        .collect();
    store.append(&tag, t0(), &noisy, 400).unwrap();
    store.commit("app").unwrap();
    let chunk_deadline = store.next_deadline().unwrap();
    assert!(chunk_deadline >= opened_deadline + Duration::from_millis(20));
    let mut sealed = Vec::new();
    store.seal_due(opened_deadline, &mut sealed).unwrap();
    assert!(sealed.is_empty(), "not due upload_timeout after it opened");
    store.seal_due(chunk_deadline, &mut sealed).unwrap();
    assert_eq!(sealed.len(), 1, "due upload_timeout after the first chunk");
}
