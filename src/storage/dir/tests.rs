use super::*;
use crate::storage::FramePos;
use crate::storage::segment::segment_file_name;

#[test]
fn segments_are_listed_in_id_order_and_other_files_ignored() {
    let dir = tempfile::tempdir().unwrap();
    for id in [0x10u64, 0x2, 0xffff_ffff_ffff_ffff] {
        std::fs::write(dir.path().join(segment_file_name(id)), b"").unwrap();
    }
    for other in [
        "checkpoint",
        "checkpoint.tmp",
        "0000000000000001.wal.bad",
        "00000000000000AB.wal",
        "1.wal",
    ] {
        std::fs::write(dir.path().join(other), b"").unwrap();
    }
    std::fs::create_dir(dir.path().join(segment_file_name(5))).unwrap();
    let ids: Vec<u64> = list_segments(dir.path()).unwrap().into_keys().collect();
    assert_eq!(ids, vec![0x2, 0x10, 0xffff_ffff_ffff_ffff]);
}

fn at(segment: u64) -> crate::storage::checkpoint::Checkpoint {
    FramePos {
        segment,
        offset: 100,
    }
    .into()
}

#[test]
fn only_segments_every_consumer_passed_are_deletable() {
    let segments = [1, 2, 3, 4];
    let mut cp = Checkpoints::new();
    cp.insert("cloudwatch".into(), at(3));
    cp.insert("s3".into(), at(2));
    cp.insert("removed_output".into(), at(1));
    assert_eq!(
        fully_consumed(&segments, &cp, &["cloudwatch", "s3"]),
        vec![1]
    );
    assert_eq!(fully_consumed(&segments, &cp, &["cloudwatch"]), vec![1, 2]);
    // A consumer without a checkpoint has consumed nothing.
    assert_eq!(
        fully_consumed(&segments, &cp, &["cloudwatch", "new"]),
        Vec::<u64>::new()
    );
    // Nobody configured: nobody has read anything.
    assert_eq!(fully_consumed(&segments, &cp, &[]), Vec::<u64>::new());
    // The checkpoint's own segment is kept even at its end.
    assert_eq!(
        fully_consumed(&segments, &cp, &["removed_output"]),
        Vec::<u64>::new()
    );
}
