//! In-place repair tests that need the module's insides (the stage tests cover the rest).
use std::io::Write as _;

use super::*;

/// A gzip stream whose stored (level 0) data holds the commit marker's bytes mid-line: only a
/// true marker is a point where the stream can be ended.
#[test]
fn a_false_gzip_marker_is_not_a_place_to_end_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("1.data");
    let line = b"ab\0\0\xff\xffcd\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    gz.write_all(line).unwrap();
    gz.flush().unwrap();
    let bytes = gz.get_ref().clone();
    std::fs::write(&path, &bytes).unwrap();
    let false_end = bytes
        .windows(4)
        .position(|w| w == [0, 0, 0xff, 0xff])
        .map(|i| i as u64 + 4)
        .unwrap();
    assert!(false_end < bytes.len() as u64, "the marker is in the data");
    let at = |input_end, output_len| Checkpoint {
        output_len,
        input_end,
        ..Checkpoint::default()
    };
    assert!(!gzip_ends_cleanly_at(&path, &at(false_end, 6)).unwrap());
    let true_end = at(bytes.len() as u64, line.len() as u64);
    assert!(gzip_ends_cleanly_at(&path, &true_end).unwrap());
    assert!(!gzip_ends_cleanly_at(&path, &at(bytes.len() as u64, 3)).unwrap());
    let recovered = recover(&path, Compression::Gzip).unwrap();
    assert_eq!(
        (recovered.lines, recovered.lines_bytes),
        (1, line.len() as u64)
    );
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&std::fs::read(&path).unwrap()[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, line);
}
