use super::*;

fn region(offset: u64, kind: DamageKind) -> Damage {
    Damage::new(PathBuf::from("seg.wal"), offset, 10, kind, "test".into())
}

fn lost(priced: &[Damage]) -> Vec<(u64, Lost)> {
    priced.iter().map(|d| (d.offset, d.lost.clone())).collect()
}

#[test]
fn a_region_between_two_frames_costs_the_gap_in_their_numbers() {
    let mut p = Pricer::new(None, 0);
    assert!(p.segment_start(Some(100)).is_empty());
    assert!(p.records(Some(100), 50).is_empty());
    p.damage(region(1, DamageKind::Damaged));
    let priced = p.records(Some(250), 10);
    assert_eq!(lost(&priced), vec![(1, Lost::Records(150..250))]);
    assert_eq!(priced[0].records_lost(), 100);
    assert!(p.finish().is_empty());
}

#[test]
fn the_end_of_a_segment_is_priced_by_the_next_segments_header() {
    let mut p = Pricer::new(None, 0);
    let _ = p.segment_start(Some(0));
    let _ = p.records(Some(0), 1_000);
    p.damage(region(7, DamageKind::Torn));
    let priced = p.segment_start(Some(12_100));
    assert_eq!(lost(&priced), vec![(7, Lost::Records(1_000..12_100))]);
    // A partial frame of a failed write: the writer gave its numbers back.
    let _ = p.records(Some(12_100), 5);
    p.damage(region(8, DamageKind::Torn));
    let priced = p.segment_start(Some(12_105));
    assert_eq!(lost(&priced), vec![(8, Lost::Records(12_105..12_105))]);
    assert_eq!(priced[0].records_lost(), 0);
    assert!(priced[0].counted());
}

#[test]
fn the_end_of_the_newest_segment_cannot_be_counted() {
    let mut p = Pricer::new(None, 0);
    let _ = p.records(Some(0), 10);
    p.damage(region(3, DamageKind::Torn));
    let priced = p.finish();
    assert_eq!(lost(&priced), vec![(3, Lost::Unknown(Uncounted::AtEnd))]);
    assert!(!priced[0].counted());
    assert_eq!(priced[0].records_lost(), 0);
}

#[test]
fn adjacent_regions_share_one_gap_counted_once_on_the_last() {
    let mut p = Pricer::new(None, 0);
    let _ = p.records(Some(0), 10);
    p.damage(region(1, DamageKind::Torn));
    p.damage(region(2, DamageKind::Unusable));
    let priced = p.segment_start(Some(40));
    assert_eq!(
        lost(&priced),
        vec![(1, Lost::WithNext), (2, Lost::Records(10..40))]
    );
    assert_eq!(priced.iter().map(Damage::records_lost).sum::<u64>(), 30);
}

#[test]
fn records_the_checkpoint_passed_are_not_lost() {
    // The checkpoint says everything below 150 was consumed.
    let mut p = Pricer::new(Some(150), 150);
    let _ = p.segment_start(Some(100));
    let _ = p.records(Some(100), 20);
    p.damage(region(1, DamageKind::Damaged)); // 120..200, of which 150..200 unconsumed
    let priced = p.records(Some(200), 1);
    assert_eq!(lost(&priced), vec![(1, Lost::Records(150..200))]);
    // Wholly behind it: nothing.
    let mut p = Pricer::new(Some(150), 150);
    let _ = p.records(Some(100), 20);
    p.damage(region(2, DamageKind::Damaged));
    let priced = p.records(Some(130), 1);
    assert_eq!(lost(&priced), vec![(2, Lost::Records(150..150))]);
    // An unusable first file, from the checkpoint to the next segment's first record.
    let mut p = Pricer::new(Some(150), 150);
    p.damage(region(3, DamageKind::Unusable));
    let priced = p.segment_start(Some(400));
    assert_eq!(lost(&priced), vec![(3, Lost::Records(150..400))]);
}

#[test]
fn records_of_older_builds_leave_the_count_unknown() {
    let mut p = Pricer::new(None, 0);
    let _ = p.records(None, 10);
    p.damage(region(1, DamageKind::Damaged));
    let priced = p.records(None, 10);
    assert_eq!(
        lost(&priced),
        vec![(1, Lost::Unknown(Uncounted::OldFormat))]
    );
    // Numbered records after unnumbered ones: still unknown where the gap starts.
    p.damage(region(2, DamageKind::Damaged));
    let priced = p.segment_start(Some(0));
    assert_eq!(
        lost(&priced),
        vec![(2, Lost::Unknown(Uncounted::OldFormat))]
    );
    // From then on, counted.
    let _ = p.records(Some(0), 5);
    p.damage(region(3, DamageKind::Damaged));
    assert_eq!(lost(&p.records(Some(9), 1)), vec![(3, Lost::Records(5..9))]);
    // An old header says nothing.
    assert!(p.segment_start(None).is_empty());
}

#[test]
fn no_starting_point_and_missing_segments_are_said_so() {
    let mut p = Pricer::new(None, 0);
    p.damage(region(1, DamageKind::Unusable));
    let priced = p.segment_start(Some(10));
    assert_eq!(
        lost(&priced),
        vec![(1, Lost::Unknown(Uncounted::NoNeighbour))]
    );
    let _ = p.records(Some(10), 1);
    p.damage(region(2, DamageKind::Damaged));
    let priced = p.discontinuity();
    assert_eq!(
        lost(&priced),
        vec![(2, Lost::Unknown(Uncounted::NoNeighbour))]
    );
    p.damage(region(3, DamageKind::Damaged));
    let priced = p.records(Some(30), 1);
    assert_eq!(
        lost(&priced),
        vec![(3, Lost::Unknown(Uncounted::NoNeighbour))]
    );
}

#[test]
fn ranges_show_the_first_and_last_record() {
    assert_eq!(SeqRange(&(1200..1300)).to_string(), "1200-1299");
    assert_eq!(SeqRange(&(7..8)).to_string(), "7");
    assert_eq!(SeqRange(&(7..7)).to_string(), "none");
}

#[test]
fn every_kind_of_verdict_logs_without_panicking() {
    crate::telemetry::init_logging("debug", crate::config::model::LogFormat::Human);
    for lost in [
        Lost::Records(1..5),
        Lost::Records(5..5),
        Lost::WithNext,
        Lost::Consumed,
        Lost::Unknown(Uncounted::AtEnd),
    ] {
        for kind in [DamageKind::Torn, DamageKind::Damaged, DamageKind::Unusable] {
            Damage {
                lost: lost.clone(),
                ..region(1, kind)
            }
            .log("test");
        }
    }
}
