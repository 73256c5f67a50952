use std::fs::{self, OpenOptions};
use std::io::{self, Write};

use super::super::{Meta, parse_parts, tests::sealed};
use super::*;

#[test]
fn write_atomic_replaces_the_file_and_leaves_no_tmp() {
    let dir = tempfile::tempdir().unwrap();
    write_atomic(dir.path(), "5.meta", b"first").unwrap();
    write_atomic(dir.path(), "5.meta", b"second").unwrap();
    assert_eq!(fs::read(dir.path().join("5.meta")).unwrap(), b"second");
    assert!(!dir.path().join("5.meta.tmp").exists());
    // A stale tmp from a crash is overwritten, not appended to.
    fs::write(dir.path().join("5.meta.tmp"), b"stale stale stale").unwrap();
    write_meta(dir.path(), 5, &sealed()).unwrap();
    let on_disk = fs::read(dir.path().join("5.meta")).unwrap();
    assert_eq!(Meta::from_json(&on_disk).unwrap(), sealed());
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["5.meta".to_owned()]);
}

#[test]
fn write_atomic_failure_leaves_no_tmp() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a non-empty directory, so the rename fails.
    fs::create_dir_all(dir.path().join("5.meta").join("x")).unwrap();
    assert!(write_atomic(dir.path(), "5.meta", b"x").is_err());
    assert!(!dir.path().join("5.meta.tmp").exists());
}

#[test]
fn index_round_trips_and_starts_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(read_index(dir.path()).unwrap(), 0);
    write_index(dir.path(), 41).unwrap();
    assert_eq!(read_index(dir.path()).unwrap(), 41);
    write_index(dir.path(), u64::MAX).unwrap();
    assert_eq!(read_index(dir.path()).unwrap(), u64::MAX);
    assert_eq!(
        fs::read_to_string(dir.path().join("index")).unwrap(),
        format!("{}\n", u64::MAX)
    );
    fs::write(dir.path().join("index"), "garbage").unwrap();
    let err = read_index(dir.path()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn appended_parts_read_back_and_a_torn_tail_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    append_part(dir.path(), 3, 1, "\"a\"").unwrap();
    append_part(dir.path(), 3, 2, "\"b\"").unwrap();
    let path = dir.path().join("3.parts");
    // A crash in the middle of the third append.
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(b"3 \"cc").unwrap();
    drop(file);
    append_part(dir.path(), 3, 4, "\"d\"").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"1 \"a\"\n2 \"b\"\n4 \"d\"\n");
    assert_eq!(
        parse_parts(&fs::read(&path).unwrap()),
        vec![
            (1, "\"a\"".to_owned()),
            (2, "\"b\"".to_owned()),
            (4, "\"d\"".to_owned())
        ]
    );
    // A torn first line: the file is emptied before the append.
    fs::write(&path, b"1 \"tor").unwrap();
    append_part(dir.path(), 3, 1, "\"a\"").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"1 \"a\"\n");
}

#[test]
fn append_part_refuses_what_the_journal_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    for (number, etag) in [
        (0, "\"a\""),
        (10_001, "\"a\""),
        (1, ""),
        (1, "a b"),
        (1, "a\n"),
    ] {
        let err = append_part(dir.path(), 1, number, etag).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
    assert!(!dir.path().join("1.parts").exists());
}

#[test]
fn remove_files_deletes_every_file_of_one_id() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "4.data",
        "4.meta",
        "4.meta.tmp",
        "4.parts",
        "5.data",
        "index",
    ] {
        fs::write(dir.path().join(name), b"x").unwrap();
    }
    remove_files(dir.path(), 4).unwrap();
    // Missing files are fine.
    remove_files(dir.path(), 4).unwrap();
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["5.data".to_owned(), "index".to_owned()]);
}
