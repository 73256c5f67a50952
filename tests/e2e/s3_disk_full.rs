//! The S3 output's `store_dir` on a full disk (issue "acked means kept", case 1): staging that
//! hits ENOSPC holds its records and tries again while uploads free space; firelane starts on a
//! full disk and uploads what it holds; without `store_dir_limit_size` staging stops at half the
//! free space. The disk is a small tmpfs (the tests are skipped where mounting is not allowed);
//! S3 is moto, "down" until the bucket is created. Each test counts sent / acked / delivered /
//! duplicated / lost records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::ledger::Ledger;
use common::moto::Moto;
use common::s3::Bucket;
use common::tinyfs::TinyFs;
use common::*;

const RECORDS_PER_FRAME: usize = 100;

fn config(port: u16, moto: &Moto, store: &Path, extra: &str) -> String {
    format!(
        "[[inputs]]\nname = \"forward\"\nlisten = \"127.0.0.1\"\nport = {port}\nack = \"delivered\"\n\n\
         [[outputs]]\nname = \"s3\"\nmatch = \"*\"\nbucket = \"logs\"\nendpoint = \"{}\"\n\
         store_dir = \"{}\"\nupload_timeout = \"1s\"\n{extra}",
        moto.endpoint(),
        store.display()
    )
}

/// Frames of [`RECORDS_PER_FRAME`] records (chunk `f<n>`, records `f<n>-<i>` padded to ~250 bytes)
/// written by one thread, acks read by another.
struct Sender {
    acked: Arc<Mutex<HashSet<String>>>,
    frames: usize,
}

impl Sender {
    fn start(port: u16, frames: usize) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut reader = stream.try_clone().unwrap();
        let acked = Arc::new(Mutex::new(HashSet::new()));
        let seen = acked.clone();
        std::thread::spawn(move || {
            while let Some(id) = try_read_ack(&mut reader) {
                seen.lock().unwrap().insert(id);
            }
        });
        let mut writer = stream;
        std::thread::spawn(move || {
            for f in 0..frames {
                let logs: Vec<String> = (0..RECORDS_PER_FRAME)
                    .map(|i| format!("f{f}-{i} {}", pad(f * RECORDS_PER_FRAME + i)))
                    .collect();
                let chunk = format!("f{f}");
                if writer
                    .write_all(&forward_frame("full", &logs, Some(&chunk)))
                    .is_err()
                {
                    return;
                }
            }
        });
        Self { acked, frames }
    }

    fn acked_frames(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// The ledger: every record sent, those of acked frames acked.
    fn ledger(&self) -> Ledger {
        let acked = self.acked.lock().unwrap();
        Ledger {
            sent: self.frames * RECORDS_PER_FRAME,
            acked: acked
                .iter()
                .flat_map(|f| (0..RECORDS_PER_FRAME).map(move |i| format!("{f}-{i}")))
                .collect(),
            ..Ledger::default()
        }
    }
}

/// Text that does not compress much, so the disk fills as the records say.
fn pad(seed: usize) -> String {
    let mut x = (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..200)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// The record ids in the bucket, each as often as it is there.
fn delivered(bucket: &Bucket, ledger: &mut Ledger) {
    ledger.delivered.clear();
    for object in bucket.objects() {
        ledger.deliver(
            object
                .lines()
                .iter()
                .map(|l| l["log"].as_str().unwrap().split(' ').next().unwrap()),
        );
    }
}

fn dropped(fl: &Firelane) -> f64 {
    fl.metric("firelane_output_dropped_records_total", "s3.0")
}

/// S3 down (no bucket yet), no staging limit: `frames` are sent until staging meets ENOSPC.
fn fill_while_s3_is_down(disk: &TinyFs, frames: usize) -> (Moto, Bucket, Firelane, Sender) {
    let moto = Moto::start();
    let bucket = Bucket::absent(&moto, "logs");
    let port = free_port();
    let text = config(port, &moto, disk.path(), "store_dir_limit_size = \"0\"\n");
    let fl = Firelane::start_env(&text, Stdio::null(), &moto.env());
    let sender = Sender::start(port, frames);
    fl.wait_for(
        "staging to meet a full disk",
        Duration::from_secs(60),
        || fl.log().contains("No space left on device"),
    );
    (moto, bucket, fl, sender)
}

#[test]
fn a_full_store_dir_holds_the_records_and_uploads_them_once_s3_is_back() {
    let Some(disk) = TinyFs::mount(2 << 20) else {
        return;
    };
    let (_moto, bucket, mut fl, sender) = fill_while_s3_is_down(&disk, 150);
    std::thread::sleep(Duration::from_secs(2));
    let while_full = sender.acked_frames();
    assert!(while_full < 150, "a full disk holds the acks back");
    assert_eq!(dropped(&fl), 0.0, "nothing dropped\n{}", fl.log());
    bucket.create_now();
    fl.wait_for("every frame acked", Duration::from_secs(120), || {
        sender.acked_frames() == 150
    });
    let mut ledger = sender.ledger();
    fl.wait_for("every record in S3", Duration::from_secs(60), || {
        delivered(&bucket, &mut ledger);
        ledger.delivered.len() == ledger.sent
    });
    let report = ledger.report("s3 store_dir full, then S3 back");
    eprintln!("frames acked while the disk was full: {while_full} of 150");
    assert_eq!((report.lost, report.duplicated), (0, 0));
    assert_eq!(dropped(&fl), 0.0);
    assert_eq!(fl.terminate(), 0, "{}", fl.log());
}

#[test]
fn firelane_starts_on_a_full_store_dir_and_uploads_what_it_holds() {
    let Some(disk) = TinyFs::mount(2 << 20) else {
        return;
    };
    let (moto, bucket, mut fl, sender) = fill_while_s3_is_down(&disk, 150);
    std::thread::sleep(Duration::from_secs(1));
    fl.child.kill().unwrap();
    fl.child.wait().unwrap();
    let mut ledger = sender.ledger();
    assert!(
        !ledger.acked.is_empty(),
        "some frames were staged and acked"
    );
    disk.fill("filler");
    bucket.create_now();

    let port = free_port();
    let text = config(port, &moto, disk.path(), "store_dir_limit_size = \"0\"\n");
    let fl = Firelane::start_env(&text, Stdio::null(), &moto.env());
    fl.wait_for("every acked record in S3", Duration::from_secs(90), || {
        delivered(&bucket, &mut ledger);
        ledger
            .acked
            .iter()
            .all(|id| ledger.delivered.contains_key(id))
    });
    let report = ledger.report("s3 restart on a full store_dir");
    assert_eq!((report.lost, report.duplicated), (0, 0));
    let store = disk.path().join("s3.0");
    fl.wait_for("the store to empty", Duration::from_secs(30), || {
        s3::staged_files(&store) == 0
    });
}

#[test]
fn without_a_limit_setting_staging_stops_at_half_the_free_space() {
    let Some(disk) = TinyFs::mount(16 << 20) else {
        return;
    };
    let moto = Moto::start();
    let bucket = Bucket::absent(&moto, "logs");
    let port = free_port();
    let mut fl = Firelane::start_env(
        &config(port, &moto, disk.path(), ""),
        Stdio::null(),
        &moto.env(),
    );
    assert!(fl.log().contains("store_dir_limit_size not set"));
    let sender = Sender::start(port, 500);
    let staged = || fl.metric("firelane_s3_staged_bytes", "s3.0");
    fl.wait_for(
        "staging to reach the limit",
        Duration::from_secs(60),
        || staged() >= 7.0 * 1024.0 * 1024.0,
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(sender.acked_frames() < 500, "the limit holds the acks back");
    assert_eq!(
        fl.metric("firelane_output_errors_total", "s3.0"),
        0.0,
        "the disk never filled\n{}",
        fl.log()
    );
    bucket.create_now();
    fl.wait_for("every frame acked", Duration::from_secs(120), || {
        sender.acked_frames() == 500
    });
    let mut ledger = sender.ledger();
    fl.wait_for("every record in S3", Duration::from_secs(60), || {
        delivered(&bucket, &mut ledger);
        ledger.delivered.len() == ledger.sent
    });
    let report = ledger.report("s3 default staging limit");
    assert_eq!((report.lost, report.duplicated), (0, 0));
    assert_eq!(fl.terminate(), 0);
}
