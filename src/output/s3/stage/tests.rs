//! Staging file tests: real files in a temporary directory; finished and repaired files are checked
//! with the plain flate2 / zstd decoders.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use tempfile::TempDir;

use super::*;

const ALL: [Compression; 3] = [Compression::None, Compression::Gzip, Compression::Zstd];
const COMPRESSED: [Compression; 2] = [Compression::Gzip, Compression::Zstd];

fn line(i: usize) -> Vec<u8> {
    format!(
        "{{\"date\":{},\"seq\":{i},\"level\":\"info\",\"msg\":\"GET /api/v1/items/{} 200\",\"ms\":{}}}\n",
        1_700_000_000 + i / 10,
        i % 97,
        i * 7 % 1000
    )
    .into_bytes()
}

fn plain_decode(compression: Compression, bytes: &[u8]) -> Vec<u8> {
    match compression {
        Compression::None => bytes.to_vec(),
        Compression::Gzip => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
            out
        }
        Compression::Zstd => zstd::decode_all(bytes).unwrap(),
    }
}

/// Files of one test: `damaged` is rewritten for every recovery, and repaired in place.
struct Scratch {
    _dir: TempDir,
    damaged: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        // tmpfs where there is one: these tests do thousands of fsyncs, which cost milliseconds
        // each on a disk and prove nothing here (power loss cannot be simulated in-process).
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        Scratch {
            damaged: dir.path().join("1.data"),
            _dir: dir,
        }
    }

    /// Recovers `damaged` (as bytes) and checks the repaired file is a complete object (or,
    /// without lines, empty) whose sizes match the report; returns the report and the lines.
    fn recover(&self, damaged: &[u8], compression: Compression) -> (Recovered, Vec<u8>) {
        fs::write(&self.damaged, damaged).unwrap();
        let recovered = recover(&self.damaged, compression).unwrap();
        let repaired = fs::read(&self.damaged).unwrap();
        assert_eq!(recovered.finished.disk_bytes, repaired.len() as u64);
        assert!(
            repaired.len() <= damaged.len() + 13,
            "a repair adds at most a stream end"
        );
        if recovered.lines == 0 {
            assert!(repaired.is_empty(), "a file without lines is emptied");
            return (recovered, Vec::new());
        }
        let lines = plain_decode(compression, &repaired);
        assert_eq!(
            recovered.lines,
            lines.iter().filter(|&&b| b == b'\n').count() as u64
        );
        assert_eq!(recovered.lines_bytes, lines.len() as u64);
        assert_eq!(recovered.finished.raw_bytes, lines.len() as u64);
        assert!(lines.is_empty() || lines.ends_with(b"\n"));
        (recovered, lines)
    }
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

#[test]
fn content_encoding_names_the_compression() {
    assert_eq!(Compression::None.content_encoding(), None);
    assert_eq!(Compression::Gzip.content_encoding(), Some("gzip"));
    assert_eq!(Compression::Zstd.content_encoding(), Some("zstd"));
}

#[test]
fn finished_files_decode_with_the_plain_decoders() {
    for compression in ALL {
        let scratch = Scratch::new();
        let mut writer = StageWriter::create(&scratch.damaged, compression).unwrap();
        let mut expected = Vec::new();
        for i in 0..2_000 {
            let l = line(i);
            writer.append(&l).unwrap();
            expected.extend_from_slice(&l);
            if i % 300 == 299 {
                writer.commit().unwrap();
                assert_eq!(writer.disk_bytes(), file_len(&scratch.damaged));
            }
        }
        assert_eq!(writer.raw_bytes(), expected.len() as u64);
        let finished = writer.finish().unwrap();
        let bytes = fs::read(&scratch.damaged).unwrap();
        let sizes = Finished {
            disk_bytes: bytes.len() as u64,
            raw_bytes: expected.len() as u64,
        };
        assert_eq!(finished, sizes, "{compression:?}");
        assert_eq!(
            plain_decode(compression, &bytes),
            expected,
            "{compression:?}"
        );
        if compression != Compression::None {
            assert!(
                bytes.len() * 4 < expected.len(),
                "{compression:?}: {}",
                bytes.len()
            );
        }
    }
}

#[test]
fn an_empty_file_finishes_as_a_valid_empty_object() {
    for compression in ALL {
        let scratch = Scratch::new();
        let writer = StageWriter::create(&scratch.damaged, compression).unwrap();
        let finished = writer.finish().unwrap();
        assert_eq!(finished.raw_bytes, 0);
        let bytes = fs::read(&scratch.damaged).unwrap();
        assert_eq!(finished.disk_bytes, bytes.len() as u64);
        assert_eq!(plain_decode(compression, &bytes), b"");
    }
}

#[test]
fn a_commit_writes_everything_and_ends_with_the_marker() {
    for compression in ALL {
        let scratch = Scratch::new();
        let mut writer = StageWriter::create(&scratch.damaged, compression).unwrap();
        writer.append(&line(1)).unwrap();
        writer.append(&line(2)).unwrap();
        // Small appends stay in memory until the commit.
        assert_eq!((writer.disk_bytes(), file_len(&scratch.damaged)), (0, 0));
        writer.commit().unwrap();
        let bytes = fs::read(&scratch.damaged).unwrap();
        assert_eq!(writer.disk_bytes(), bytes.len() as u64);
        match compression {
            Compression::None => assert_eq!(bytes, [line(1), line(2)].concat()),
            Compression::Gzip => assert!(bytes.ends_with(&[0, 0, 0xff, 0xff])),
            Compression::Zstd => assert!(bytes.ends_with(&ZSTD_COMMIT_MARKER)),
        }
        // Nothing new: no marker, no write.
        writer.commit().unwrap();
        assert_eq!(writer.disk_bytes(), bytes.len() as u64);
        assert_eq!(file_len(&scratch.damaged), bytes.len() as u64);
    }
}

#[test]
fn create_refuses_an_existing_file() {
    let scratch = Scratch::new();
    fs::write(&scratch.damaged, b"older data\n").unwrap();
    let err = StageWriter::create(&scratch.damaged, Compression::Gzip)
        .err()
        .unwrap();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(fs::read(&scratch.damaged).unwrap(), b"older data\n");
}

#[test]
fn large_appends_are_written_before_the_commit() {
    let scratch = Scratch::new();
    let mut writer = StageWriter::create(&scratch.damaged, Compression::None).unwrap();
    writer.append(&vec![b'x'; PENDING_WRITE_BYTES]).unwrap();
    assert_eq!(writer.disk_bytes(), PENDING_WRITE_BYTES as u64);
    assert_eq!(file_len(&scratch.damaged), PENDING_WRITE_BYTES as u64);
}

#[test]
fn commit_then_drop_recovers_exactly_the_committed_lines() {
    for compression in ALL {
        let scratch = Scratch::new();
        let mut writer = StageWriter::create(&scratch.damaged, compression).unwrap();
        let committed: Vec<u8> = (0..50).flat_map(line).collect();
        writer.append(&committed).unwrap();
        writer.commit().unwrap();
        writer.append(&line(50)).unwrap();
        drop(writer);
        let damaged = fs::read(&scratch.damaged).unwrap();
        let (recovered, lines) = scratch.recover(&damaged, compression);
        assert_eq!(lines, committed, "{compression:?}");
        assert_eq!(recovered.dropped_tail_bytes, 0, "{compression:?}");
    }
}

#[test]
fn a_finished_file_recovers_completely() {
    for compression in ALL {
        let scratch = Scratch::new();
        let mut writer = StageWriter::create(&scratch.damaged, compression).unwrap();
        let all: Vec<u8> = (0..40).flat_map(line).collect();
        writer.append(&all[..1000]).unwrap();
        writer.commit().unwrap();
        writer.append(&all[1000..]).unwrap();
        writer.finish().unwrap();
        let damaged = fs::read(&scratch.damaged).unwrap();
        let (recovered, lines) = scratch.recover(&damaged, compression);
        assert_eq!(lines, all, "{compression:?}");
        assert_eq!(recovered.dropped_tail_bytes, 0, "{compression:?}");
    }
}

/// Writes `commits` (each committed), then `tail` uncommitted, then finishes; returns the file and,
/// per commit, (file length, raw length) once it was on disk.
fn staged_file(
    scratch: &Scratch,
    compression: Compression,
    commits: &[Vec<u8>],
    tail: &[u8],
) -> (Vec<u8>, Vec<(u64, u64)>) {
    let _ = fs::remove_file(&scratch.damaged);
    let mut writer = StageWriter::create(&scratch.damaged, compression).unwrap();
    let mut points = vec![(0, 0)];
    for lines in commits {
        writer.append(lines).unwrap();
        writer.commit().unwrap();
        points.push((writer.disk_bytes(), writer.raw_bytes()));
    }
    writer.append(tail).unwrap();
    writer.finish().unwrap();
    (fs::read(&scratch.damaged).unwrap(), points)
}

/// What a cut of the file at `cut` must recover: compressed, the lines of the last commit wholly
/// before the cut (all of them once the cut is at the end); plain, every complete line.
fn expected_after_cut(
    compression: Compression,
    file: &[u8],
    points: &[(u64, u64)],
    raw: &[u8],
    cut: usize,
) -> (usize, u64) {
    if compression == Compression::None {
        let end = file[..cut]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        return (end, (cut - end) as u64);
    }
    if cut == file.len() {
        return (raw.len(), 0);
    }
    let &(disk, raw_end) = points
        .iter()
        .rev()
        .find(|(disk, _)| *disk <= cut as u64)
        .unwrap();
    (raw_end as usize, cut as u64 - disk)
}

#[test]
fn truncation_at_every_offset_keeps_every_commit_before_the_cut() {
    let scratch = Scratch::new();
    let commits: Vec<Vec<u8>> = vec![
        (0..3).flat_map(line).collect(),
        (3..4).flat_map(line).collect(),
        (4..7).flat_map(line).collect(),
    ];
    let tail = line(7);
    let raw: Vec<u8> = [commits.concat(), tail.clone()].concat();
    for compression in ALL {
        let (file, points) = staged_file(&scratch, compression, &commits, &tail);
        for cut in 0..=file.len() {
            let (recovered, lines) = scratch.recover(&file[..cut], compression);
            let (end, dropped) = expected_after_cut(compression, &file, &points, &raw, cut);
            assert_eq!(lines, raw[..end], "{compression:?} cut at {cut}");
            assert_eq!(
                recovered.dropped_tail_bytes, dropped,
                "{compression:?} cut at {cut}"
            );
        }
    }
}

#[test]
fn garbage_after_the_committed_part_is_dropped() {
    let scratch = Scratch::new();
    let committed: Vec<u8> = (0..20).flat_map(line).collect();
    let garbage: [Vec<u8>; 5] = [
        vec![0; 1],
        vec![0; 4096],
        vec![0xff; 300],
        b"{\"half a line\":".repeat(20),
        (0..=255u8).cycle().take(1000).collect(),
    ];
    for compression in COMPRESSED {
        let (file, points) =
            staged_file(&scratch, compression, std::slice::from_ref(&committed), b"");
        let committed_len = points[1].0 as usize;
        for junk in &garbage {
            let damaged = [&file[..committed_len], junk].concat();
            let (_, lines) = scratch.recover(&damaged, compression);
            assert_eq!(
                lines,
                committed,
                "{compression:?} + {:?}",
                &junk[..4.min(junk.len())]
            );
        }
    }
}

#[test]
fn a_file_of_garbage_yields_zero_lines() {
    let scratch = Scratch::new();
    for compression in COMPRESSED {
        for junk in [vec![], vec![0; 1000], b"not compressed at all\n".repeat(10)] {
            let (recovered, lines) = scratch.recover(&junk, compression);
            assert!(lines.is_empty(), "{compression:?}");
            assert_eq!(recovered.dropped_tail_bytes, junk.len() as u64);
        }
    }
    let (recovered, lines) = scratch.recover(b"no newline at all", Compression::None);
    assert_eq!((lines.len(), recovered.dropped_tail_bytes), (0, 17));
}

#[test]
fn a_repair_is_idempotent() {
    let scratch = Scratch::new();
    let commits: Vec<Vec<u8>> = vec![(0..5).flat_map(line).collect()];
    for compression in ALL {
        let (file, _) = staged_file(&scratch, compression, &commits, &line(9));
        let cut = file.len() - 3;
        let (first, lines) = scratch.recover(&file[..cut], compression);
        let repaired = fs::read(&scratch.damaged).unwrap();
        let (second, again) = scratch.recover(&repaired, compression);
        assert_eq!(lines, again, "{compression:?}");
        assert_eq!(second.dropped_tail_bytes, 0, "{compression:?}");
        assert_eq!(first.finished, second.finished, "{compression:?}");
    }
}

#[test]
fn frequent_commits_keep_the_compression_ratio() {
    let scratch = Scratch::new();
    // 1 MiB of lines, committed (at line ends) every 10 KB.
    let mut commits = vec![Vec::new()];
    for i in 0.. {
        if commits.len() * 10_000 >= 1 << 20 {
            break;
        }
        let round = commits.last_mut().unwrap();
        round.extend_from_slice(&line(i));
        if round.len() >= 10_000 {
            commits.push(Vec::new());
        }
    }
    let raw = commits.concat();
    for compression in COMPRESSED {
        let (one_go, _) = staged_file(&scratch, compression, &[], &raw);
        let (committed, _) = staged_file(&scratch, compression, &commits, b"");
        assert_eq!(plain_decode(compression, &committed), raw);
        let ratio = committed.len() as f64 / one_go.len() as f64;
        assert!(
            ratio <= 1.3,
            "{compression:?}: {} vs {}",
            committed.len(),
            one_go.len()
        );
    }
}

/// A line of JSON-ish text (no `\n` inside), newline-terminated.
fn any_line() -> impl Strategy<Value = Vec<u8>> {
    "[a-z0-9 {}:\",]{0,40}".prop_map(|s| format!("{s}\n").into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_commits_and_cuts_recover_whole_commits(
        rounds in prop::collection::vec(prop::collection::vec(any_line(), 0..6), 1..6),
        tail in prop::collection::vec(any_line(), 0..4),
        cut_permille in 0..=1000usize,
    ) {
        let scratch = Scratch::new();
        let commits: Vec<Vec<u8>> = rounds.iter().map(|r| r.concat()).collect();
        let tail = tail.concat();
        let raw = [commits.concat(), tail.clone()].concat();
        for compression in ALL {
            let (file, points) = staged_file(&scratch, compression, &commits, &tail);
            prop_assert_eq!(plain_decode(compression, &file), raw.clone());
            let cut = file.len() * cut_permille / 1000;
            let (recovered, lines) = scratch.recover(&file[..cut], compression);
            let (end, dropped) = expected_after_cut(compression, &file, &points, &raw, cut);
            prop_assert_eq!(&lines[..], &raw[..end], "{:?} cut at {}", compression, cut);
            prop_assert_eq!(recovered.dropped_tail_bytes, dropped);
        }
    }

    #[test]
    fn random_garbage_after_a_commit_is_dropped(
        garbage in prop::collection::vec(any::<u8>(), 1..600),
        lines in 1..30usize,
    ) {
        let scratch = Scratch::new();
        let committed: Vec<u8> = (0..lines).flat_map(line).collect();
        for compression in COMPRESSED {
            let (file, points) = staged_file(&scratch, compression, std::slice::from_ref(&committed), b"");
            let committed_len = points[1].0 as usize;
            let damaged = [&file[..committed_len], &garbage[..]].concat();
            let (_, recovered) = scratch.recover(&damaged, compression);
            prop_assert_eq!(&recovered, &committed, "{:?}", compression);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        header in 0..3usize,
    ) {
        let scratch = Scratch::new();
        // Start some inputs with a real header so the block/deflate paths see garbage too.
        let prefixes: [&[u8]; 3] = [b"", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff], &[0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58]];
        let damaged = [prefixes[header], &bytes[..]].concat();
        for compression in ALL {
            let (recovered, _) = scratch.recover(&damaged, compression);
            prop_assert!(recovered.dropped_tail_bytes <= damaged.len() as u64);
        }
    }
}
