use proptest::prelude::*;

use super::*;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;
const TB: u64 = 1_000_000_000_000;

/// Every invariant the module doc promises, for a non-empty file within S3's limits.
fn check_plan(file_bytes: u64, chunk_bytes: u64, parts: &[PartRange]) {
    assert!(!parts.is_empty(), "no parts for {file_bytes} bytes");
    assert!(parts.len() <= MAX_PARTS as usize, "{} parts", parts.len());
    let mut offset = 0;
    for (i, part) in parts.iter().enumerate() {
        assert_eq!(part.number as usize, i + 1);
        assert_eq!(part.offset, offset, "part {} not contiguous", part.number);
        assert!(part.len > 0);
        assert!(
            part.len <= MAX_PART_BYTES,
            "part {} is {}",
            part.number,
            part.len
        );
        if i + 1 < parts.len() {
            assert!(
                part.len >= MIN_PART_BYTES,
                "part {} is {}",
                part.number,
                part.len
            );
        }
        offset += part.len;
    }
    assert_eq!(offset, file_bytes, "parts do not cover the file");
    // All parts but the last have the same size, at least the (clamped) chunk size.
    let first = parts[0].len;
    assert!(parts[..parts.len() - 1].iter().all(|p| p.len == first));
    if parts.len() > 1 {
        assert!(first >= chunk_bytes.clamp(MIN_PART_BYTES, MAX_PART_BYTES));
    }
}

#[test]
fn an_exact_multiple_gives_equal_parts() {
    let parts = plan_parts(20 * MIB, 5 * MIB);
    assert_eq!(parts.len(), 4);
    assert!(parts.iter().all(|p| p.len == 5 * MIB));
    assert_eq!(parts[3].offset, 15 * MIB);
}

#[test]
fn a_short_tail_is_merged_into_the_previous_part() {
    let parts = plan_parts(10 * MIB + 100, 5 * MIB);
    assert_eq!(
        parts,
        vec![
            PartRange {
                number: 1,
                offset: 0,
                len: 5 * MIB
            },
            PartRange {
                number: 2,
                offset: 5 * MIB,
                len: 5 * MIB + 100
            },
        ]
    );
}

#[test]
fn a_tail_of_at_least_the_minimum_is_its_own_part() {
    let parts = plan_parts(20 * MIB + 6 * MIB, 10 * MIB);
    let lens: Vec<u64> = parts.iter().map(|p| p.len).collect();
    assert_eq!(lens, vec![10 * MIB, 10 * MIB, 6 * MIB]);
}

#[test]
fn a_tail_that_would_overflow_the_largest_part_stays_separate() {
    let parts = plan_parts(2 * MAX_PART_BYTES + 1, MAX_PART_BYTES);
    let lens: Vec<u64> = parts.iter().map(|p| p.len).collect();
    assert_eq!(lens, vec![MAX_PART_BYTES, MAX_PART_BYTES, 1]);
}

#[test]
fn a_file_smaller_than_a_part_is_one_part() {
    assert_eq!(
        plan_parts(3 * MIB, 8 * MIB),
        vec![PartRange {
            number: 1,
            offset: 0,
            len: 3 * MIB
        }]
    );
    assert!(plan_parts(0, 5 * MIB).is_empty());
}

#[test]
fn the_chunk_size_is_clamped_to_s3_part_limits() {
    // Below the minimum: 5 MiB parts, not 1 MiB ones.
    let parts = plan_parts(12 * MIB, MIB);
    let lens: Vec<u64> = parts.iter().map(|p| p.len).collect();
    assert_eq!(lens, vec![5 * MIB, 7 * MIB]);
    // Above the maximum: 5 GiB parts.
    let parts = plan_parts(11 * GIB, 100 * GIB);
    let lens: Vec<u64> = parts.iter().map(|p| p.len).collect();
    assert_eq!(lens, vec![5 * GIB, 5 * GIB, GIB]);
}

#[test]
fn the_part_size_grows_to_stay_within_ten_thousand_parts() {
    let file_bytes = 100 * GIB;
    let parts = plan_parts(file_bytes, 5 * MIB);
    check_plan(file_bytes, 5 * MIB, &parts);
    assert_eq!(parts.len(), MAX_PARTS as usize);
    assert_eq!(parts[0].len, file_bytes.div_ceil(u64::from(MAX_PARTS)));
}

#[test]
fn the_largest_multipart_file_fits_exactly() {
    let parts = plan_parts(MAX_MULTIPART_BYTES, 5 * MIB);
    check_plan(MAX_MULTIPART_BYTES, 5 * MIB, &parts);
    assert_eq!(parts.len(), MAX_PARTS as usize);
    assert!(parts.iter().all(|p| p.len == MAX_PART_BYTES));
}

#[test]
fn choose_method_follows_the_chunk_size_and_use_put_object() {
    assert_eq!(choose_method(4 * MIB, 5 * MIB, false), Method::PutObject);
    assert_eq!(choose_method(5 * MIB, 5 * MIB, false), Method::Multipart);
    assert_eq!(choose_method(50 * MIB, 5 * MIB, true), Method::PutObject);
    assert_eq!(choose_method(0, 0, false), Method::PutObject);
    assert_eq!(choose_method(0, 5 * MIB, false), Method::PutObject);
    assert_eq!(
        choose_method(MAX_PUT_OBJECT_BYTES, 5 * MIB, true),
        Method::PutObject
    );
    assert_eq!(
        choose_method(MAX_PUT_OBJECT_BYTES + 1, 5 * MIB, true),
        Method::Multipart
    );
    assert_eq!(
        choose_method(MAX_PUT_OBJECT_BYTES + 1, u64::MAX, false),
        Method::Multipart
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn plans_keep_s3_limits(
        file_bytes in prop_oneof![1..=64 * MIB, 1..=50 * TB],
        chunk_bytes in prop_oneof![MIN_PART_BYTES..=64 * MIB, MIN_PART_BYTES..=2 * MAX_PART_BYTES],
    ) {
        let parts = plan_parts(file_bytes, chunk_bytes);
        check_plan(file_bytes, chunk_bytes, &parts);
        // The tail is merged only when that keeps the limits, and then no part is short.
        let last = parts[parts.len() - 1].len;
        if parts.len() > 1 && last < MIN_PART_BYTES {
            prop_assert!(parts[0].len + last > MAX_PART_BYTES);
        }
    }

    #[test]
    fn every_choice_is_one_s3_accepts(
        file_bytes in prop_oneof![0..=64 * MIB, 0..=2 * MAX_PUT_OBJECT_BYTES],
        chunk_bytes in MIN_PART_BYTES..=64 * MIB,
        use_put_object: bool,
    ) {
        match choose_method(file_bytes, chunk_bytes, use_put_object) {
            Method::PutObject => {
                prop_assert!(file_bytes <= MAX_PUT_OBJECT_BYTES);
                prop_assert!(file_bytes == 0 || use_put_object || file_bytes < chunk_bytes);
            }
            Method::Multipart => {
                prop_assert!(file_bytes > 0);
                prop_assert!(!use_put_object || file_bytes > MAX_PUT_OBJECT_BYTES);
                check_plan(file_bytes, chunk_bytes, &plan_parts(file_bytes, chunk_bytes));
            }
        }
    }
}
