use super::*;

const SEC: Duration = Duration::from_secs(1);

/// Offers `offered[i]` records in interval `i` (all at its middle); returns how many passed.
fn run(t: &mut Throttle, start: Instant, interval: Duration, offered: &[u64]) -> Vec<u64> {
    offered
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let now = start + interval * i as u32 + interval / 2;
            (0..n).filter(|_| t.admit(now)).count() as u64
        })
        .collect()
}

#[test]
fn documented_example_drops_one_record_when_the_window_average_would_pass_rate() {
    // Rate 5, Window 5, Interval 1s: panes 1|3|5|7|3|4 pass; then 7 offered, the window
    // (5,7,3,4,x) may hold 25, so 6 pass and 1 is dropped.
    let mut t = Throttle::new(5, 5, SEC).unwrap();
    let passed = run(&mut t, Instant::now(), SEC, &[1, 3, 5, 7, 3, 4, 7]);
    assert_eq!(passed, vec![1, 3, 5, 7, 3, 4, 6]);
}

#[test]
fn a_flood_passes_rate_times_window_then_only_what_leaves_the_window() {
    let mut t = Throttle::new(5, 5, SEC).unwrap();
    let passed = run(&mut t, Instant::now(), SEC, &[100; 12]);
    // The whole window budget goes in the first interval; it comes back one pane at a time,
    // five intervals later, and the flood settles at Rate records every Window intervals.
    assert_eq!(passed, vec![25, 0, 0, 0, 0, 25, 0, 0, 0, 0, 25, 0]);
}

#[test]
fn steady_rate_at_the_limit_is_never_throttled() {
    let mut t = Throttle::new(1, 300, SEC).unwrap();
    let passed = run(&mut t, Instant::now(), SEC, &[1; 1000]);
    assert!(passed.iter().all(|&n| n == 1));
}

#[test]
fn an_idle_window_starts_empty_again() {
    let start = Instant::now();
    let mut t = Throttle::new(2, 3, SEC).unwrap();
    assert_eq!(t.admit_n(start, 10), 6);
    assert_eq!(t.admit_n(start + SEC * 2, 1), 0, "still inside the window");
    // Pane 3: pane 0 (6 records) left the window.
    assert_eq!(t.admit_n(start + SEC * 3, 10), 6);
    // Far later: every pane slid out.
    assert_eq!(t.admit_n(start + SEC * 100, 10), 6);
}

#[test]
fn admit_n_admits_a_prefix_and_counts_it() {
    let start = Instant::now();
    let mut t = Throttle::new(4, 2, SEC).unwrap();
    assert_eq!(t.admit_n(start, 3), 3);
    assert_eq!(t.admit_n(start, 10), 5);
    assert_eq!(t.admit_n(start, 1), 0);
    assert!(!t.admit(start + Duration::from_millis(999)));
    // Pane 2: pane 0 slid out, pane 1 is empty.
    assert_eq!(t.admit_n(start + SEC * 2, 100), 8);
}

#[test]
fn sub_second_intervals_and_a_clock_that_steps_back() {
    let start = Instant::now();
    let ms = Duration::from_millis;
    let mut t = Throttle::new(1, 2, ms(500)).unwrap();
    assert!(t.admit(start + ms(100)));
    assert!(t.admit(start + ms(600)));
    assert!(!t.admit(start + ms(700)));
    // An older `now` (another thread was slower to take the lock) counts in the current pane.
    assert!(!t.admit(start));
    assert!(
        !t.admit(start + ms(1000)),
        "still pane 1: panes start at the first `now`"
    );
    assert!(t.admit(start + ms(1100)), "pane 0 left the window");
}

#[test]
fn status_reports_the_window_average() {
    let start = Instant::now();
    let mut t = Throttle::new(5, 4, SEC).unwrap();
    t.admit_n(start, 6);
    let s = t.status(start + SEC);
    assert_eq!(s.average_per_interval, 1.5);
    assert_eq!(
        s.to_string(),
        "limit is 5 per 1s with window size of 4, current rate is 1.50 per interval"
    );
    assert_eq!(t.status(start + SEC * 4).average_per_interval, 0.0);
}

#[test]
fn intervals_parse_in_sleep_format_with_milliseconds() {
    let ok = [
        ("1s", SEC),
        ("500ms", Duration::from_millis(500)),
        ("1.5m", Duration::from_secs(90)),
        ("0.5h", Duration::from_secs(1800)),
        ("1d", Duration::from_secs(86400)),
        ("2", Duration::from_secs(2)),
        (" 3s ", Duration::from_secs(3)),
        ("1m30s", Duration::from_secs(90)),
    ];
    for (text, want) in ok {
        assert_eq!(parse_interval(text), Ok(want), "{text}");
    }
    for text in [
        "", "0", "0s", "-1s", "1x", "s", "1.5.2s", "1 s", "1e3s", "nan",
    ] {
        assert_eq!(
            parse_interval(text),
            Err(ThrottleError::BadInterval(text.to_owned())),
            "{text}"
        );
    }
}

#[test]
fn bad_settings_are_refused_with_a_reason() {
    assert_eq!(
        Throttle::new(0, 5, SEC).unwrap_err().to_string(),
        "throttle rate must be at least 1 record per interval"
    );
    assert_eq!(
        Throttle::new(5, 0, SEC).unwrap_err(),
        ThrottleError::ZeroWindow
    );
    assert!(Throttle::new(5, 5, Duration::ZERO).is_err());
    assert_eq!(
        parse_interval("1y").unwrap_err().to_string(),
        "throttle interval `1y` is not a positive duration like 1s, 500ms, 1.5m, 1h, 1d or 1m30s"
    );
}

#[test]
fn huge_rates_do_not_overflow() {
    let mut t = Throttle::new(u64::MAX, 1000, SEC).unwrap();
    assert_eq!(t.admit_n(Instant::now(), u64::MAX), u64::MAX);
}
