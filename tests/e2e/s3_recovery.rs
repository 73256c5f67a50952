//! S3 crash recovery at start-up, against moto: a multipart upload a previous run left half done is
//! completed from its journaled ETags, and an upload whose data is gone is aborted. The store
//! directory is laid out with the library's own staging and journal code, as a killed run leaves it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::moto::Moto;
use common::s3::Bucket;
use common::{Firelane, free_port};
use firelane::event::EventTime;
use firelane::output::s3::journal::{self, Compression, Meta, MultipartUpload, Sealed};
use firelane::output::s3::stage::StageWriter;

const MIB: u64 = 1024 * 1024;

#[test]
fn a_half_done_multipart_upload_is_completed_and_an_orphaned_one_aborted() {
    let moto = Moto::start();
    let bucket = Bucket::create(&moto, "logs");
    let store = tempfile::tempdir().unwrap();
    let dir = store.path().join("s3.0");
    std::fs::create_dir_all(&dir).unwrap();

    // File 1: ~11 MiB of lines, sealed, multipart started with 5 MiB parts, part 1 uploaded and
    // journaled, then the process died.
    let lines: Vec<u8> = (0..110_000)
        .flat_map(|i| {
            format!("{{\"log\":\"resume line {i:>8} {}\"}}\n", "y".repeat(80)).into_bytes()
        })
        .collect();
    let mut w = StageWriter::create(&dir.join(journal::data_name(1)), Compression::None).unwrap();
    w.append(&lines).unwrap();
    let finished = w.finish().unwrap();
    assert!(finished.disk_bytes > 10 * MIB);
    let key = "resume/object-1";
    let upload_id = bucket.create_multipart(key);
    let etag = bucket.upload_part(key, &upload_id, 1, lines[..(5 * MIB) as usize].to_vec());
    let mut meta = Meta::unsealed(
        "app".to_owned(),
        Compression::None,
        0,
        EventTime {
            secs: 1_700_000_000,
            nanos: 0,
        },
    );
    meta.sealed = Some(Sealed {
        key: key.to_owned(),
        disk_bytes: finished.disk_bytes,
        raw_bytes: finished.raw_bytes,
        records: 110_000,
    });
    meta.multipart = Some(MultipartUpload {
        upload_id: upload_id.clone(),
        upload_chunk_bytes: 5 * MIB,
    });
    journal::write_meta(&dir, 1, &meta).unwrap();
    journal::append_part(&dir, 1, 1, &etag).unwrap();

    // File 2: its upload completed and its data was deleted, but not its metadata.
    let orphan_id = bucket.create_multipart("orphan/object-2");
    let mut orphan = meta.clone();
    orphan.sealed.as_mut().unwrap().key = "orphan/object-2".to_owned();
    orphan.multipart = Some(MultipartUpload {
        upload_id: orphan_id,
        upload_chunk_bytes: 5 * MIB,
    });
    journal::write_meta(&dir, 2, &orphan).unwrap();
    assert_eq!(bucket.open_uploads(), 2);

    let port = free_port();
    let config = format!(
        "[[inputs]]\nname = \"forward\"\nlisten = \"127.0.0.1\"\nport = {port}\n\n\
         [[outputs]]\nname = \"s3\"\nmatch = \"*\"\nbucket = \"logs\"\nendpoint = \"{}\"\n\
         store_dir = \"{}\"\nupload_chunk_size = \"6M\"\n",
        moto.endpoint(),
        store.path().display()
    );
    let fl = Firelane::start_env(&config, Stdio::null(), &moto.env());
    fl.wait_for("the resumed object", Duration::from_secs(60), || {
        bucket.keys() == [key.to_owned()] && bucket.open_uploads() == 0
    });
    let object = bucket.get(key);
    assert!(
        object.body == lines,
        "the object is exactly the staged file"
    );
    assert_eq!(
        fl.metric("firelane_s3_parts_total", "s3.0"),
        1.0,
        "only the missing part was sent, in the recorded 5 MiB ranges (not the configured 6M)"
    );
    fl.wait_for("the store to empty", Duration::from_secs(10), || {
        // Only the store's lock file is left.
        common::s3::staged_files(&dir) == 0
    });
}
