use proptest::prelude::*;

use super::*;

fn sample() -> Checkpoints {
    let mut cp = Checkpoints::new();
    cp.insert(
        "cloudwatch.0".into(),
        Checkpoint {
            pos: FramePos {
                segment: 3,
                offset: 4096,
            },
            next_seq: Some(1_000_000),
        },
    );
    cp.insert(
        "s3".into(),
        FramePos {
            segment: 2,
            offset: 24,
        }
        .into(),
    );
    cp
}

/// What a build before sequence numbers saved for `replay` at (3, 4096), byte for byte.
fn v1_file() -> Vec<u8> {
    let mut f = CHECKPOINT_MAGIC.to_vec();
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&6u16.to_le_bytes());
    f.extend_from_slice(b"replay");
    f.extend_from_slice(&3u64.to_le_bytes());
    f.extend_from_slice(&4096u64.to_le_bytes());
    let crc = crc32c::crc32c(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

#[test]
fn a_version_1_checkpoint_of_an_older_build_still_loads_without_a_sequence_number() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(CHECKPOINT_FILE), v1_file()).unwrap();
    let loaded = load(dir.path()).unwrap();
    assert_eq!(loaded.reset, None);
    let want = Checkpoint {
        pos: FramePos {
            segment: 3,
            offset: 4096,
        },
        next_seq: None,
    };
    assert_eq!(loaded.checkpoints.get("replay"), Some(&want));
}

#[test]
fn a_saved_checkpoint_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), &sample()).unwrap();
    assert_eq!(
        load(dir.path()).unwrap(),
        Loaded {
            checkpoints: sample(),
            reset: None
        }
    );
    assert!(!dir.path().join(CHECKPOINT_TMP_FILE).exists());
}

#[test]
fn a_missing_checkpoint_means_nothing_consumed() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(dir.path()).unwrap();
    assert!(loaded.checkpoints.is_empty());
    assert_eq!(loaded.reset, Some(CheckpointProblem::Missing));
}

#[test]
fn a_damaged_checkpoint_means_nothing_consumed() {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), &sample()).unwrap();
    let path = dir.path().join(CHECKPOINT_FILE);
    let good = std::fs::read(&path).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x04;
        std::fs::write(&path, &bad).unwrap();
        let loaded = load(dir.path()).unwrap();
        assert!(loaded.checkpoints.is_empty(), "byte {i}");
        assert!(loaded.reset.is_some(), "byte {i}");
    }
    for cut in 0..good.len() {
        std::fs::write(&path, &good[..cut]).unwrap();
        let loaded = load(dir.path()).unwrap();
        assert!(
            loaded.checkpoints.is_empty() && loaded.reset.is_some(),
            "cut {cut}"
        );
    }
}

#[test]
fn an_interrupted_save_leaves_the_old_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), &sample()).unwrap();
    let mut newer = sample();
    newer.insert(
        "s3".into(),
        FramePos {
            segment: 9,
            offset: 0,
        }
        .into(),
    );
    let partial = encode(&newer).unwrap();
    // A crash while writing the tmp file: the rename never happened.
    std::fs::write(
        dir.path().join(CHECKPOINT_TMP_FILE),
        &partial[..partial.len() / 2],
    )
    .unwrap();
    assert_eq!(load(dir.path()).unwrap().checkpoints, sample());
    // The next save replaces the leftover tmp file and wins.
    save(dir.path(), &newer).unwrap();
    assert_eq!(load(dir.path()).unwrap().checkpoints, newer);
}

#[test]
fn decoding_rejects_what_is_not_a_checkpoint() {
    let good = encode(&sample()).unwrap();
    assert_eq!(decode(b""), Err(CheckpointProblem::BadMagic));
    assert_eq!(
        decode(&good[..10]),
        Err(CheckpointProblem::Malformed("shorter than its header"))
    );
    // A structurally bad body with a valid CRC is still refused.
    let mut body = good[..good.len() - 4].to_vec();
    body.push(0);
    let crc = crc32c::crc32c(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode(&body),
        Err(CheckpointProblem::Malformed("bytes after the last entry"))
    );
    let long = "x".repeat(70_000);
    let mut cp = Checkpoints::new();
    cp.insert(
        long,
        FramePos {
            segment: 0,
            offset: 0,
        }
        .into(),
    );
    assert!(matches!(
        encode(&cp),
        Err(CheckpointError::NameTooLong(70_000))
    ));
}

proptest! {
    #[test]
    fn checkpoints_round_trip(
        entries in proptest::collection::btree_map(
            ".{0,20}",
            (any::<u64>(), any::<u64>(), proptest::option::of(0..u64::MAX)),
            0..10,
        )
    ) {
        let cp: Checkpoints = entries
            .into_iter()
            .map(|(k, (segment, offset, next_seq))| {
                (k, Checkpoint { pos: FramePos { segment, offset }, next_seq })
            })
            .collect();
        prop_assert_eq!(decode(&encode(&cp).unwrap()), Ok(cp));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let mut bytes = bytes;
        if bytes.len() >= 8 {
            bytes[..8].copy_from_slice(&CHECKPOINT_MAGIC);
        }
        let _ = decode(&bytes);
    }
}
