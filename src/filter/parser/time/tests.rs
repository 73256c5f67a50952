use proptest::prelude::*;

use super::*;

const REF: EventTime = EventTime::new(1_791_756_855, 0); // 2026-10-11T22:14:15Z

fn parse(format: &str, text: &str) -> Option<EventTime> {
    TimeFormat::compile(format)
        .unwrap()
        .parse(text.as_bytes(), REF)
}

#[test]
fn apache_format_applies_the_offset() {
    let f = "%d/%b/%Y:%H:%M:%S %z";
    assert_eq!(
        parse(f, "10/Oct/2000:13:55:36 -0700"),
        Some(EventTime::new(971_211_336, 0))
    );
    assert_eq!(
        parse(f, "10/Oct/2000:20:55:36 +0000"),
        Some(EventTime::new(971_211_336, 0))
    );
    assert_eq!(
        parse(f, "11/Oct/2000:02:25:36 +05:30"),
        Some(EventTime::new(971_211_336, 0))
    );
    assert_eq!(parse(f, "10/Foo/2000:13:55:36 -0700"), None);
}

#[test]
fn iso8601_with_fraction_and_zones() {
    let f = "%Y-%m-%dT%H:%M:%S.%L";
    let want = EventTime::new(1_546_344_000, 123_456_789);
    assert_eq!(parse(f, "2019-01-01T12:00:00.123456789Z"), Some(want));
    assert_eq!(parse(f, "2019-01-01T21:00:00.123456789+09:00"), Some(want));
    assert_eq!(parse(f, "2019-01-01T07:00:00.123456789-0500"), Some(want));
    // More than nine digits: the extra ones are ignored; fewer are scaled.
    assert_eq!(parse(f, "2019-01-01T12:00:00.1234567891Z"), Some(want));
    assert_eq!(
        parse(f, "2019-01-01T12:00:00.5"),
        Some(EventTime::new(1_546_344_000, 500_000_000))
    );
    // The fraction may be missing altogether.
    assert_eq!(
        parse(f, "2019-01-01T12:00:00Z"),
        Some(EventTime::new(1_546_344_000, 0))
    );
    assert_eq!(
        parse("%Y-%m-%dT%H:%M:%S.%L%z", "2019-01-01T13:00:00.000+01:00"),
        Some(EventTime::new(1_546_344_000, 0))
    );
}

#[test]
fn space_before_zone_may_be_absent_in_the_text() {
    // Fluent Bit's json parser example: format `... %z`, text ending in `Z` right after seconds.
    assert_eq!(
        parse("%Y-%m-%dT%H:%M:%S %z", "2006-07-28T13:22:04Z"),
        Some(EventTime::new(1_154_092_924, 0))
    );
    // Time_Offset: zone-less text is read at the given offset; a zone in the text still wins.
    let f = TimeFormat::compile("%F %T")
        .unwrap()
        .with_default_offset(-3 * 3600);
    assert_eq!(
        f.parse(b"2006-07-28 10:22:04", REF),
        Some(EventTime::new(1_154_092_924, 0))
    );
    assert_eq!(
        f.parse(b"2006-07-28 13:22:04Z", REF),
        Some(EventTime::new(1_154_092_924, 0))
    );
    assert_eq!(parse_offset("-03:00"), Some(-3 * 3600));
    assert_eq!(parse_offset("+0530"), Some(5 * 3600 + 30 * 60));
    assert_eq!(parse_offset("+05:30 x"), None);
}

#[test]
fn short_directives_and_epoch() {
    let want = Some(EventTime::new(1_546_344_000, 0));
    assert_eq!(parse("%F %T", "2019-01-01 12:00:00"), want);
    assert_eq!(parse("%F %T %Z", "2019-01-01 12:00:00 UTC"), want);
    assert_eq!(parse("%F %T %Z", "2019-01-01 14:00:00 +02:00"), want);
    assert_eq!(parse("%y%m%d %H%M%S", "190101 120000"), want);
    assert_eq!(parse("%Y %j %T", "2019 001 12:00:00"), want);
    assert_eq!(parse("%a, %d %b %Y %T", "Tue, 01 Jan 2019 12:00:00"), want);
    assert_eq!(parse("%s", "1546344000"), want);
    assert_eq!(
        parse("%s.%L", "1546344000.25"),
        Some(EventTime::new(1_546_344_000, 250_000_000))
    );
    assert_eq!(
        parse("%Y %j", "2024 060"),
        Some(EventTime::new(1_709_164_800, 0))
    );
}

#[test]
fn year_less_syslog_time_takes_the_closest_year() {
    let f = "%b %d %H:%M:%S";
    assert_eq!(
        parse(f, "Oct 11 22:14:15"),
        Some(EventTime::new(1_791_756_855, 0))
    );
    assert_eq!(
        parse(f, "Oct  1 22:14:15"),
        Some(EventTime::new(1_791_756_855 - 10 * 86_400, 0))
    );
    let new_year = EventTime::new(1_767_225_660, 0); // 2026-01-01T00:01:00Z
    let fmt = TimeFormat::compile(f).unwrap();
    assert_eq!(
        fmt.parse(b"Dec 31 23:59:00", new_year),
        Some(EventTime::new(1_767_225_540, 0))
    );
}

#[test]
fn rejects_bad_formats_and_out_of_range_fields() {
    assert_eq!(
        TimeFormat::compile("%Y %Q"),
        Err(TimeFormatError::UnsupportedDirective('Q'))
    );
    assert_eq!(
        TimeFormat::compile("%Y %"),
        Err(TimeFormatError::TrailingPercent)
    );
    assert_eq!(parse("%F %T", "2019-13-01 12:00:00"), None);
    assert_eq!(parse("%F %T", "2019-01-01 25:00:00"), None);
    assert_eq!(parse("%F %T", "2019-01-01"), None);
    assert_eq!(parse("%F %T %z", "2019-01-01 12:00:00 +2400"), None);
}

/// (year, month, day) of a day count since 1970-01-01, to format random instants.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn iso_round_trip_across_offsets(
        secs in 0i64..4_102_444_800,
        nanos in 0u32..1_000_000_000,
        off_min in -14 * 60i64..=14 * 60,
    ) {
        let local = secs + off_min * 60;
        let (y, m, d) = civil(local.div_euclid(86_400));
        let tod = local.rem_euclid(86_400);
        let sign = if off_min < 0 { '-' } else { '+' };
        let text = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}{sign}{:02}:{:02}",
            tod / 3600, tod / 60 % 60, tod % 60, off_min.abs() / 60, off_min.abs() % 60
        );
        prop_assert_eq!(
            parse("%Y-%m-%dT%H:%M:%S.%L%z", &text),
            Some(EventTime::new(secs, nanos)),
            "{}", text
        );
    }

    #[test]
    fn never_panics_on_arbitrary_text(text in proptest::collection::vec(any::<u8>(), 0..40)) {
        for f in ["%d/%b/%Y:%H:%M:%S %z", "%Y-%m-%dT%H:%M:%S.%L", "%s.%L", "%b %e %T %Z", "%y %j"] {
            let _ = TimeFormat::compile(f).unwrap().parse(&text, REF);
        }
    }
}
