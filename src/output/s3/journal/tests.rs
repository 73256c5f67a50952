use proptest::prelude::*;

use super::*;

fn unsealed() -> Meta {
    Meta::unsealed(
        "app.web".to_owned(),
        Compression::Gzip,
        1_700_000_000_123,
        EventTime::new(1_700_000_000, 456_000_789),
    )
}

pub(super) fn sealed() -> Meta {
    Meta {
        sealed: Some(Sealed {
            key: "/firelane-logs/app.web/2023/11/14/22/13/20".to_owned(),
            disk_bytes: 12_345,
            raw_bytes: 98_765,
            records: 321,
        }),
        ..unsealed()
    }
}

fn uploading() -> Meta {
    Meta {
        multipart: Some(MultipartUpload {
            upload_id: "upload-7".to_owned(),
            upload_chunk_bytes: 8 << 20,
        }),
        ..sealed()
    }
}

fn json(meta: &Meta) -> serde_json::Value {
    serde_json::from_slice(&meta.to_json()).unwrap()
}

#[test]
fn meta_round_trips_through_json() {
    for meta in [unsealed(), sealed(), uploading()] {
        assert_eq!(Meta::from_json(&meta.to_json()).unwrap(), meta);
    }
}

#[test]
fn meta_json_has_version_one_and_readable_fields() {
    let doc = json(&uploading());
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["tag"], "app.web");
    assert_eq!(doc["compression"], "gzip");
    assert_eq!(doc["created_unix_ms"], 1_700_000_000_123u64);
    assert_eq!(doc["first_event"]["secs"], 1_700_000_000);
    assert_eq!(doc["first_event"]["nanos"], 456_000_789);
    assert_eq!(doc["sealed"]["records"], 321);
    assert_eq!(doc["multipart"]["upload_id"], "upload-7");
    assert_eq!(doc["multipart"]["upload_chunk_bytes"], 8 << 20);
    // Absent optional parts are left out, and read back as absent.
    let doc = json(&unsealed());
    assert!(doc.get("sealed").is_none() && doc.get("multipart").is_none());
}

#[test]
fn unknown_fields_are_ignored() {
    let mut doc = json(&sealed());
    doc["added_later"] = serde_json::json!({"anything": [1, 2]});
    doc["sealed"]["checksum"] = "abc".into();
    let bytes = serde_json::to_vec(&doc).unwrap();
    assert_eq!(Meta::from_json(&bytes).unwrap(), sealed());
}

#[test]
fn the_version_is_checked() {
    let mut doc = json(&sealed());
    doc["version"] = 2.into();
    let bytes = serde_json::to_vec(&doc).unwrap();
    assert_eq!(
        Meta::from_json(&bytes),
        Err(JournalError::UnsupportedVersion { found: 2 })
    );
    doc.as_object_mut().unwrap().remove("version");
    let bytes = serde_json::to_vec(&doc).unwrap();
    assert_eq!(Meta::from_json(&bytes), Err(JournalError::MissingVersion));
}

#[test]
fn broken_metadata_is_an_error_not_a_panic() {
    for bytes in [
        &b""[..],
        b"{",
        b"[]",
        b"{\"version\": 1}",
        b"{\"version\": \"1\", \"tag\": \"a\"}",
        b"{\"version\":1,\"tag\":\"a\",\"compression\":\"lz4\",\"created_unix_ms\":1,\
           \"first_event\":{\"secs\":1,\"nanos\":0}}",
    ] {
        assert!(matches!(Meta::from_json(bytes), Err(JournalError::Json(_))));
    }
    let mut doc = json(&unsealed());
    doc["first_event"]["nanos"] = 1_000_000_000.into();
    let err = Meta::from_json(&serde_json::to_vec(&doc).unwrap()).unwrap_err();
    assert!(matches!(
        err,
        JournalError::Invalid {
            field: "first_event.nanos",
            ..
        }
    ));
    let mut doc = json(&uploading());
    doc["multipart"]["upload_id"] = "".into();
    let err = Meta::from_json(&serde_json::to_vec(&doc).unwrap()).unwrap_err();
    assert!(matches!(
        err,
        JournalError::Invalid {
            field: "multipart.upload_id",
            ..
        }
    ));
}

#[test]
fn sniff_recognises_gzip_zstd_and_plain() {
    assert_eq!(sniff_compression(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
    assert_eq!(
        sniff_compression(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
        Compression::Zstd
    );
    assert_eq!(sniff_compression(b"{\"log\":1}\n"), Compression::None);
    assert_eq!(sniff_compression(b""), Compression::None);
}

#[test]
fn parts_journal_lines_parse_sorted_with_later_entries_winning() {
    let journal = format!(
        "{}{}{}",
        part_line(3, "\"c\""),
        part_line(1, "\"a\""),
        part_line(3, "\"c2\"")
    );
    assert_eq!(
        parse_parts(journal.as_bytes()),
        vec![(1, "\"a\"".to_owned()), (3, "\"c2\"".to_owned())]
    );
}

#[test]
fn a_torn_last_line_is_ignored() {
    let journal = b"1 \"a\"\n2 \"b\"\n3 \"c";
    assert_eq!(
        parse_parts(journal),
        vec![(1, "\"a\"".to_owned()), (2, "\"b\"".to_owned())]
    );
    assert!(parse_parts(b"1 \"a\"").is_empty());
    assert!(parse_parts(b"").is_empty());
}

#[test]
fn malformed_lines_are_skipped() {
    let journal = b"0 \"zero\"\n10001 \"too-big\"\n01 \"lead\"\n+2 \"plus\"\n2\n2 \n\
                    2  \"two-spaces\"\n2 \"a\" \"b\"\nx \"y\"\n\xff \"utf8\"\n\n\
                    4 \"ok\"\n";
    assert_eq!(parse_parts(journal), vec![(4, "\"ok\"".to_owned())]);
}

#[test]
fn file_names_are_classified() {
    assert_eq!(classify_name("7.data"), FileName::Data(7));
    assert_eq!(classify_name("7.meta"), FileName::Meta(7));
    assert_eq!(classify_name("7.meta.tmp"), FileName::MetaTmp(7));
    assert_eq!(classify_name("7.parts"), FileName::Parts(7));
    assert_eq!(classify_name("index"), FileName::Index);
    for other in [
        "index.tmp",
        "07.data",
        "+7.data",
        "7.data.tmp",
        "7",
        "x.meta",
        ".data",
        "7.DATA",
        "18446744073709551616.data",
    ] {
        assert_eq!(classify_name(other), FileName::Other, "{other}");
    }
    for id in [0, 1, 42, u64::MAX] {
        assert_eq!(classify_name(&data_name(id)), FileName::Data(id));
        assert_eq!(classify_name(&meta_name(id)), FileName::Meta(id));
        assert_eq!(classify_name(&parts_name(id)), FileName::Parts(id));
    }
}

#[test]
fn next_id_is_one_past_the_largest() {
    assert_eq!(next_id([]), 1);
    assert_eq!(next_id([3, 9, 4]), 10);
    assert_eq!(next_id([u64::MAX]), u64::MAX);
}

fn found(
    data: bool,
    meta: Option<Result<Meta, JournalError>>,
    meta_tmp: bool,
    parts: bool,
) -> Found {
    Found {
        data,
        meta,
        meta_tmp,
        parts,
    }
}

#[test]
fn every_recovery_case() {
    let unsealed_upload = Meta {
        multipart: uploading().multipart,
        ..unsealed()
    };
    let cases = [
        (
            found(true, Some(Ok(unsealed())), false, false),
            Recovery::RepairAndSeal,
        ),
        (
            found(true, Some(Ok(unsealed())), true, false),
            Recovery::RepairAndSeal,
        ),
        (
            found(true, Some(Ok(sealed())), false, false),
            Recovery::Upload,
        ),
        (
            found(true, Some(Ok(sealed())), false, true),
            Recovery::Upload,
        ),
        (
            found(true, Some(Ok(uploading())), false, true),
            Recovery::ResumeMultipart {
                upload_id: "upload-7".to_owned(),
                upload_chunk_bytes: 8 << 20,
            },
        ),
        (
            found(false, Some(Ok(uploading())), false, true),
            Recovery::AbortThenDelete {
                upload_id: "upload-7".to_owned(),
            },
        ),
        (
            found(false, Some(Ok(sealed())), false, false),
            Recovery::DeleteLeftovers,
        ),
        (
            found(false, Some(Ok(unsealed())), true, false),
            Recovery::DeleteLeftovers,
        ),
        (found(false, None, true, false), Recovery::DeleteLeftovers),
        (found(false, None, false, true), Recovery::DeleteLeftovers),
        (found(true, None, false, false), Recovery::AdoptOrphanData),
        (found(true, None, true, true), Recovery::AdoptOrphanData),
        (
            found(true, Some(Err(JournalError::MissingVersion)), false, false),
            Recovery::Unreadable {
                reason: "metadata has no \"version\" field".to_owned(),
            },
        ),
        (
            found(
                false,
                Some(Err(JournalError::UnsupportedVersion { found: 2 })),
                false,
                false,
            ),
            Recovery::Unreadable {
                reason: JournalError::UnsupportedVersion { found: 2 }.to_string(),
            },
        ),
        (
            found(true, Some(Ok(unsealed_upload)), false, false),
            Recovery::Unreadable {
                reason: "a multipart upload is recorded but the file is not sealed".to_owned(),
            },
        ),
    ];
    let map: BTreeMap<u64, Found> = cases
        .iter()
        .enumerate()
        .map(|(i, (f, _))| (i as u64 + 1, f.clone()))
        .chain([(100, Found::default())])
        .collect();
    let plan = plan_recovery(&map);
    let expected: Vec<(u64, Recovery)> = cases
        .into_iter()
        .enumerate()
        .map(|(i, (_, r))| (i as u64 + 1, r))
        .collect();
    // Id 100 has no file at all and gets no action.
    assert_eq!(plan, expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn parse_parts_never_panics_and_keeps_only_valid_lines(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let parts = parse_parts(&bytes);
        prop_assert!(parts.windows(2).all(|w| w[0].0 < w[1].0));
        for (number, etag) in &parts {
            prop_assert!((1..=MAX_PARTS).contains(number));
            prop_assert!(valid_etag(etag));
        }
    }

    #[test]
    fn journal_lines_round_trip_and_any_cut_keeps_the_complete_lines(
        entries in proptest::collection::vec((1..=MAX_PARTS, "\"[0-9a-f]{1,32}\""), 0..12),
        cut_seed: usize,
    ) {
        let journal: String = entries.iter().map(|(n, e)| part_line(*n, e)).collect();
        let mut expected = BTreeMap::new();
        for (n, e) in &entries {
            expected.insert(*n, e.clone());
        }
        prop_assert_eq!(parse_parts(journal.as_bytes()), expected.into_iter().collect::<Vec<_>>());
        // Cutting anywhere keeps exactly the lines that are still complete.
        let cut = if journal.is_empty() { 0 } else { cut_seed % (journal.len() + 1) };
        let complete_lines = journal[..cut].matches('\n').count();
        let mut expected = BTreeMap::new();
        for (n, e) in &entries[..complete_lines] {
            expected.insert(*n, e.clone());
        }
        prop_assert_eq!(parse_parts(&journal.as_bytes()[..cut]), expected.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn meta_json_round_trips(
        tag in ".{0,40}",
        created_unix_ms: u64,
        secs: i64,
        nanos in 0u32..1_000_000_000,
        key in proptest::option::of(".{0,60}"),
        upload_id in proptest::option::of("[A-Za-z0-9._-]{1,40}"),
    ) {
        let meta = Meta {
            tag,
            compression: Compression::Zstd,
            created_unix_ms,
            first_event: EventTime::new(secs, nanos),
            sealed: key.map(|key| Sealed { key, disk_bytes: 1, raw_bytes: 2, records: 3 }),
            multipart: upload_id.map(|upload_id| MultipartUpload { upload_id, upload_chunk_bytes: 5 << 20 }),
        };
        prop_assert_eq!(Meta::from_json(&meta.to_json()), Ok(meta));
    }
}
