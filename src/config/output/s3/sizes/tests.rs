use super::*;

const MIB: u64 = 1024 * 1024;

/// Fluent Bit's defaults: 100M, 5,242,880, multipart, no compression, 10m.
fn opts(total: u64) -> SizeOptions {
    SizeOptions {
        total_file_bytes: total,
        upload_chunk_bytes: 5 * MIB,
        use_put_object: false,
        compression: Compression::None,
        upload_timeout: Duration::from_secs(600),
        store_dir_limit_bytes: Some(0),
        store_dir_overflow: StoreOverflow::Block,
    }
}

fn with(total: u64, f: impl FnOnce(&mut SizeOptions)) -> SizeOptions {
    let mut o = opts(total);
    f(&mut o);
    o
}

/// The keys of the problems `check` finds.
fn refused(o: &SizeOptions) -> Vec<&'static str> {
    check(o).into_iter().map(|p| p.key).collect()
}

#[test]
fn fluent_bits_constants() {
    // s3.h, Fluent Bit 1.9.10 to 5.1.1.
    assert_eq!(MIN_CHUNKED_UPLOAD_BYTES, 5_242_880);
    assert_eq!(MAX_CHUNKED_UPLOAD_BYTES, 50_000_000);
    assert_eq!(MAX_CHUNKED_UPLOAD_COMPRESSED_BYTES, 5_000_000_000);
    assert_eq!(MAX_TOTAL_FILE_BYTES, 50_000_000_000);
    assert_eq!(MAX_PUT_OBJECT_FILE_BYTES, 1_000_000_000);
    assert_eq!(PUT_OBJECT_BELOW_BYTES, 10_485_760);
}

#[test]
fn the_defaults_and_the_firelens_examples_are_accepted() {
    assert!(check(&opts(100_000_000)).is_empty());
    // ecs/s3.conf, amazon-ecs-firelens-examples fluent-bit/s3: 1M, with or without use_put_object.
    assert!(check(&opts(1_000_000)).is_empty());
    assert!(check(&with(1_000_000, |o| o.use_put_object = true)).is_empty());
    // aws-for-fluent-bit load tests and config/firelens/s3: 50M with use_put_object, gzip.
    assert!(
        check(&with(50_000_000, |o| {
            o.use_put_object = true;
            o.compression = Compression::Gzip;
        }))
        .is_empty()
    );
}

#[test]
fn total_file_size_is_1m_to_50g() {
    assert_eq!(refused(&opts(999_999)), ["total_file_size"]);
    assert!(check(&opts(1_000_000)).is_empty());
    assert!(check(&opts(50_000_000_000)).is_empty());
    assert_eq!(refused(&opts(50_000_000_001)), ["total_file_size"]);
}

#[test]
fn use_put_object_allows_at_most_1g() {
    assert!(check(&with(1_000_000_000, |o| o.use_put_object = true)).is_empty());
    let p = check(&with(1_000_000_001, |o| o.use_put_object = true));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].key, "total_file_size");
    assert!(p[0].message.contains("1G"), "{}", p[0].message);
}

#[test]
fn under_10mib_every_file_goes_by_put_object() {
    let below = opts(PUT_OBJECT_BELOW_BYTES - 1);
    assert!(below.puts_objects());
    let plan = UploadPlan::new(&below);
    assert!(plan.put_object);
    assert_eq!(
        plan.upload_chunk_bytes, below.total_file_bytes,
        "the chunk is the whole file, as s3.c sets it"
    );
    let at = opts(PUT_OBJECT_BELOW_BYTES);
    assert!(!at.puts_objects());
    assert!(!UploadPlan::new(&at).put_object);
    assert_eq!(UploadPlan::new(&at).upload_chunk_bytes, 5 * MIB);
    // `10M` is 10,000,000 bytes: still under 10 MiB.
    assert!(opts(10_000_000).puts_objects());
}

#[test]
fn with_put_object_the_chunk_size_is_not_range_checked() {
    // s3.c checks upload_chunk_size's range only for multipart.
    for chunk in [1, 5_000_000, 60_000_000] {
        let o = with(200_000_000, |o| {
            o.use_put_object = true;
            o.upload_chunk_bytes = chunk;
        });
        assert!(check(&o).is_empty(), "{chunk}");
    }
}

#[test]
fn multipart_chunks_are_5mib_to_50m_or_5g_compressed() {
    let chunk = |c: u64, z: Compression| {
        refused(&with(20_000_000_000, |o| {
            o.upload_chunk_bytes = c;
            o.compression = z;
        }))
    };
    assert_eq!(
        chunk(5_000_000, Compression::None),
        ["upload_chunk_size"],
        "`5M` is too small"
    );
    assert!(chunk(5_242_880, Compression::None).is_empty());
    assert!(chunk(50_000_000, Compression::None).is_empty());
    assert_eq!(chunk(50_000_001, Compression::None), ["upload_chunk_size"]);
    assert!(chunk(50_000_001, Compression::Gzip).is_empty());
    assert!(chunk(5_000_000_000, Compression::Zstd).is_empty());
    assert_eq!(
        chunk(5_000_000_001, Compression::Gzip),
        ["upload_chunk_size"]
    );
    let m = &check(&with(20_000_000, |o| o.upload_chunk_bytes = 5_000_000))[0].message;
    assert!(
        m.contains("5242880") && m.contains("`5M` is 5000000"),
        "{m}"
    );
}

#[test]
fn a_multipart_chunk_larger_than_the_file_is_refused_once() {
    let p = check(&with(20_000_000, |o| o.upload_chunk_bytes = 30_000_000));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].message.contains("larger than total_file_size"));
}

#[test]
fn the_chunk_is_at_most_half_the_file_unless_it_is_5mib() {
    assert!(check(&with(20_000_000, |o| o.upload_chunk_bytes = 10_000_000)).is_empty());
    assert_eq!(
        refused(&with(20_000_000, |o| o.upload_chunk_bytes = 10_000_001)),
        ["upload_chunk_size"]
    );
    // 5,242,880 is exempt: total 10,485,760 (exactly twice) and 11M pass.
    assert!(check(&opts(PUT_OBJECT_BELOW_BYTES)).is_empty());
    // Also with PutObject (s3.c applies this rule before it replaces the chunk).
    assert_eq!(
        refused(&with(1_000_000, |o| {
            o.use_put_object = true;
            o.upload_chunk_bytes = 1_000_000;
        })),
        ["upload_chunk_size"]
    );
    assert!(check(&with(1_000_000, |o| o.upload_chunk_bytes = 5_242_880)).is_empty());
}

#[test]
fn upload_timeout_and_store_dir_limit_size_have_no_size_rules() {
    let o = with(100_000_000, |o| {
        o.upload_timeout = Duration::ZERO;
        o.store_dir_limit_bytes = Some(1);
    });
    assert!(check(&o).is_empty());
    assert_eq!(UploadPlan::new(&o).upload_timeout, ZERO_TIMEOUT_WAIT);
}

#[test]
fn put_object_files_are_due_on_lines_multipart_files_on_disk_bytes() {
    let put = UploadPlan::new(&opts(1_000_000));
    assert!(
        !put.size_reached(1_000_000, 0),
        "Fluent Bit sends once it is over"
    );
    assert!(put.size_reached(1_000_001, 10));
    let multipart = UploadPlan::new(&opts(100_000_000));
    assert!(!multipart.size_reached(u64::MAX, 99_999_999));
    assert!(multipart.size_reached(0, 100_000_000));
}

#[test]
fn a_multipart_file_times_out_upload_timeout_after_its_first_chunk() {
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let plan = UploadPlan::new(&with(100_000_000, |o| o.upload_timeout = s(60)));
    assert_eq!(plan.deadline(t0, None), t0 + s(60));
    // Under one chunk: still counted from opening.
    assert_eq!(
        plan.multipart_since(t0, None, 5 * MIB - 1, t0 + s(10)),
        None
    );
    // First chunk at +10s: counted from then, and that moment sticks.
    let since = plan.multipart_since(t0, None, 5 * MIB, t0 + s(10));
    assert_eq!(since, Some(t0 + s(10)));
    assert_eq!(plan.multipart_since(t0, since, 9 * MIB, t0 + s(20)), since);
    assert_eq!(plan.deadline(t0, since), t0 + s(70));
    // A chunk reached only after the timeout does not extend it (the file is due already).
    assert_eq!(plan.multipart_since(t0, None, 5 * MIB, t0 + s(60)), None);
    // PutObject files never start a multipart upload.
    let put = UploadPlan::new(&opts(1_000_000));
    assert_eq!(put.multipart_since(t0, None, 1 << 40, t0), None);
}

#[test]
fn notes_say_what_fluent_bit_adjusts_and_where_firelane_differs() {
    let n = notes(&opts(1_000_000));
    assert_eq!(n.info.len(), 1);
    assert!(n.info[0].contains("PutObject"), "{n:?}");
    assert!(n.warnings.is_empty());
    // FireLens examples with use_put_object: nothing to say.
    assert_eq!(
        notes(&with(1_000_000, |o| o.use_put_object = true)),
        Notes::default()
    );
    assert_eq!(notes(&opts(100_000_000)), Notes::default());
    let gzip = notes(&with(100_000_000, |o| o.compression = Compression::Gzip));
    assert_eq!(gzip.warnings.len(), 1);
    assert!(gzip.warnings[0].contains("compress"), "{gzip:?}");
    // With PutObject both compress whole files: no difference.
    let gzip_put = with(1_000_000, |o| o.compression = Compression::Gzip);
    assert!(notes(&gzip_put).warnings.is_empty());
    let limited = notes(&with(100_000_000, |o| {
        o.store_dir_limit_bytes = Some(1_000_000)
    }));
    assert_eq!(limited.warnings.len(), 1);
    assert!(limited.warnings[0].contains("store_dir_limit_size"));
    assert!(limited.warnings[0].contains("upload_timeout only"));
    let zero = notes(&with(100_000_000, |o| o.upload_timeout = Duration::ZERO));
    assert!(zero.info[0].contains("upload_timeout 0"));
    let unset = notes(&with(100_000_000, |o| o.store_dir_limit_bytes = None));
    assert_eq!(unset.warnings.len(), 1);
    assert!(unset.warnings[0].contains("half"), "{unset:?}");
}

#[test]
fn the_default_staging_limit_is_half_the_free_space_plus_what_is_staged() {
    assert_eq!(default_store_limit(10_000, 0), 5_000);
    assert_eq!(
        default_store_limit(0, 7_000),
        7_000,
        "a full disk at start: what is staged"
    );
    assert_eq!(default_store_limit(u64::MAX, u64::MAX), u64::MAX);
}
