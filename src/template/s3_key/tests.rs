use proptest::prelude::*;

use super::strftime::WEEKDAY_NAMES;
use super::*;
use crate::rng::Rng;

/// 2020-08-15T00:00:00Z, the instant Fluent Bit's own key tests use.
const AUG_15_2020: i64 = 1_597_449_600;
const UUID: &str = "AbC12345";

fn ctx(tag: &str, unix_secs: i64) -> KeyContext<'_> {
    KeyContext {
        tag,
        unix_secs,
        index: 0,
        uuid: UUID,
    }
}

fn render_with(t: &KeyTemplate, ctx: &KeyContext<'_>) -> (String, RenderInfo) {
    let mut out = String::from("stale");
    let info = t.render(ctx, &mut out);
    (out, info)
}

/// Renders with `static_file_path` on (no suffix) and asserts nothing was papered over.
fn key(format: &str, delimiters: &str, tag: &str, unix_secs: i64) -> String {
    let t = KeyTemplate::parse(format, delimiters, true).unwrap();
    let (out, info) = render_with(&t, &ctx(tag, unix_secs));
    assert_eq!(info, RenderInfo::default(), "{format} with tag {tag}");
    out
}

fn parse_err(format: &str) -> KeyTemplateError {
    KeyTemplate::parse(format, ".", false).unwrap_err()
}

#[test]
fn fluent_bit_key_examples() {
    // The cases of Fluent Bit's tests/internal/aws_util.c, minus the leading '/' rule.
    let tag = "aa.bb.ccc";
    let cases = [
        ("logs/$TAG[2]/$TAG[0]/%Y/%m/%d", "logs/ccc/aa/2020/08/15"),
        ("logs/$TAG/%Y/%m/%d", "logs/aa.bb.ccc/2020/08/15"),
        (
            "logs/my.great_photos-2020:jan/$TAG/%Y/%m/%d",
            "logs/my.great_photos-2020:jan/aa.bb.ccc/2020/08/15",
        ),
        ("logs/fluent-bit", "logs/fluent-bit"),
    ];
    for (format, want) in cases {
        assert_eq!(key(format, ".", tag, AUG_15_2020), want, "{format}");
    }
}

#[test]
fn default_format_gets_the_random_suffix() {
    let t = KeyTemplate::parse("/firelane-logs/$TAG/%Y/%m/%d/%H/%M/%S", ".", false).unwrap();
    assert!(t.appends_random_suffix());
    assert!(t.needs_uuid());
    assert!(!t.uses_index());
    let (out, info) = render_with(&t, &ctx("app.web", AUG_15_2020 + 3723));
    assert_eq!(
        out,
        "firelane-logs/app.web/2020/08/15/01/02/03-objectAbC12345"
    );
    assert_eq!(info, RenderInfo::default());
}

#[test]
fn tag_parts_split_on_any_delimiter_character() {
    let f = "$TAG[0]|$TAG[1]|$TAG[2]";
    assert_eq!(key(f, ".-", "aa.bb-ccc", 0), "aa|bb|ccc");
    assert_eq!(key(f, "-_/", "a_b/c", 0), "a|b|c");
    // Empty parts are skipped like strtok does: consecutive, leading and trailing delimiters.
    assert_eq!(key(f, ".-", ".a..b-.-c-", 0), "a|b|c");
    // Non-ASCII delimiters split on whole characters.
    assert_eq!(key(f, "→", "x→yé→z", 0), "x|yé|z");
    // No delimiter in the tag, or none configured: part 0 is the whole tag.
    assert_eq!(key("$TAG[0]", ".", "nodots", 0), "nodots");
    assert_eq!(key("$TAG[0]", "", "a.b", 0), "a.b");
    // Indices past Fluent Bit's 10-part limit work too.
    assert_eq!(key("$TAG[10]", ".", "0.1.2.3.4.5.6.7.8.9.ten", 0), "ten");
    assert_eq!(key("$TAG[007]", ".", "0.1.2.3.4.5.6.7", 0), "7");
}

#[test]
fn tag_is_a_prefix_match_and_values_are_inserted_verbatim() {
    assert_eq!(key("$TAGS/$TAG$TAG", ".", "t", 0), "tS/tt");
    // A '%' or '$' inside the tag is not template syntax.
    assert_eq!(key("x/$TAG", ".", "a%Y$UUID", 0), "x/a%Y$UUID");
    // Unknown '$' sequences are literal.
    assert_eq!(key("$x/$/$$/${A}/$", ".", "t", 0), "$x/$/$$/${A}/$");
}

#[test]
fn missing_tag_part_renders_like_fluent_bit_and_is_reported() {
    let t = KeyTemplate::parse("logs/$TAG[2]/$TAG[0]/%Y/%m/%d", ",/", true).unwrap();
    let (out, info) = render_with(&t, &ctx("aa.bb-ccc", AUG_15_2020));
    // Fluent Bit's own expected key for delimiters that are not in the tag.
    assert_eq!(out, "logs/aa.bb-ccc[2]/aa.bb-ccc/2020/08/15");
    assert!(info.missing_tag_part);
    assert!(!info.truncated);

    let t = KeyTemplate::parse("$TAG[1]", ".", true).unwrap();
    let (out, info) = render_with(&t, &ctx("a..", 0));
    assert_eq!(out, "a..[1]");
    assert!(info.missing_tag_part);
}

#[test]
fn uuid_is_shared_and_turns_the_suffix_off() {
    let t = KeyTemplate::parse("/logs/$UUID/x-$UUID.gz", ".", false).unwrap();
    assert!(!t.appends_random_suffix());
    assert!(t.needs_uuid());
    let (out, _) = render_with(&t, &ctx("t", 0));
    assert_eq!(out, "logs/AbC12345/x-AbC12345.gz");
}

#[test]
fn index_renders_decimal_and_turns_the_suffix_off() {
    let t = KeyTemplate::parse("/logs/a-$INDEX-b", ".", false).unwrap();
    assert!(t.uses_index());
    assert!(!t.appends_random_suffix());
    assert!(!t.needs_uuid());
    for (index, want) in [(0, "logs/a-0-b"), (12, "logs/a-12-b")] {
        let c = KeyContext {
            index,
            ..ctx("t", 0)
        };
        assert_eq!(render_with(&t, &c).0, want);
    }
    let c = KeyContext {
        index: u64::MAX,
        ..ctx("t", 0)
    };
    assert_eq!(render_with(&t, &c).0, "logs/a-18446744073709551615-b");
}

#[test]
fn suffix_goes_after_the_extension_unless_static_file_path() {
    let dynamic = KeyTemplate::parse("/logs/$TAG.json.gz", ".", false).unwrap();
    assert_eq!(
        render_with(&dynamic, &ctx("app", 0)).0,
        "logs/app.json.gz-objectAbC12345"
    );
    let fixed = KeyTemplate::parse("/logs/$TAG.json.gz", ".", true).unwrap();
    assert!(!fixed.appends_random_suffix());
    assert!(!fixed.needs_uuid());
    assert_eq!(render_with(&fixed, &ctx("app", 0)).0, "logs/app.json.gz");
}

#[test]
fn one_leading_slash_is_dropped() {
    assert_eq!(key("/a/b", ".", "t", 0), "a/b");
    assert_eq!(key("//a", ".", "t", 0), "/a");
    assert_eq!(key("a/b/", ".", "t", 0), "a/b/");
}

#[test]
fn long_keys_are_cut_at_a_char_boundary() {
    // 1 + 2 * 600 bytes; the cut at 1024 would split an 'é', so the key stops at 1023.
    let tag = format!("a{}", "é".repeat(600));
    let t = KeyTemplate::parse("/$TAG", ".", true).unwrap();
    let (out, info) = render_with(&t, &ctx(&tag, 0));
    assert!(info.truncated);
    assert!(!info.missing_tag_part);
    assert_eq!(out.len(), 1023);
    assert!(tag.starts_with(&out));

    // With the suffix, the body is cut (at 1009 bytes, again inside an 'é') so the suffix
    // survives whole.
    let tag = "é".repeat(600);
    let t = KeyTemplate::parse("/$TAG", ".", false).unwrap();
    let (out, info) = render_with(&t, &ctx(&tag, 0));
    assert!(info.truncated);
    assert!(out.ends_with("é-objectAbC12345"), "{out}");
    assert_eq!(out.len(), 1023);

    // Exactly at the limit is not a truncation.
    let tag = "x".repeat(MAX_KEY_BYTES);
    let t = KeyTemplate::parse("$TAG", ".", true).unwrap();
    let (out, info) = render_with(&t, &ctx(&tag, 0));
    assert_eq!((out.len(), info.truncated), (MAX_KEY_BYTES, false));
}

#[test]
fn dates_match_glibc_strftime_in_utc() {
    let all = "%Y-%m-%d %H:%M:%S|%y|%j|%b|%B|%a|%A|%e|%I|%p|%F|%T|%s|%%";
    // Expected strings from glibc 2.36's strftime(gmtime(t)) (Python's time.strftime).
    let cases = [
        (
            AUG_15_2020,
            "2020-08-15 00:00:00|20|228|Aug|August|Sat|Saturday|15|12|AM|2020-08-15|00:00:00|1597449600|%",
        ),
        (
            951_827_696, // leap day of a year divisible by 400
            "2000-02-29 12:34:56|00|060|Feb|February|Tue|Tuesday|29|12|PM|2000-02-29|12:34:56|951827696|%",
        ),
        (
            1_609_459_199, // last second of a leap year
            "2020-12-31 23:59:59|20|366|Dec|December|Thu|Thursday|31|11|PM|2020-12-31|23:59:59|1609459199|%",
        ),
        (
            1_609_459_200,
            "2021-01-01 00:00:00|21|001|Jan|January|Fri|Friday| 1|12|AM|2021-01-01|00:00:00|1609459200|%",
        ),
        (
            -2_203_891_200, // 1900 is not a leap year
            "1900-03-01 00:00:00|00|060|Mar|March|Thu|Thursday| 1|12|AM|1900-03-01|00:00:00|-2203891200|%",
        ),
        (
            4_107_503_109,
            "2100-02-28 13:05:09|00|059|Feb|February|Sun|Sunday|28|01|PM|2100-02-28|13:05:09|4107503109|%",
        ),
        (
            4_107_585_600, // 2100 is not a leap year either
            "2100-03-01 12:00:00|00|060|Mar|March|Mon|Monday| 1|12|PM|2100-03-01|12:00:00|4107585600|%",
        ),
        (
            -1,
            "1969-12-31 23:59:59|69|365|Dec|December|Wed|Wednesday|31|11|PM|1969-12-31|23:59:59|-1|%",
        ),
        (
            1_720_051_200,
            "2024-07-04 00:00:00|24|186|Jul|July|Thu|Thursday| 4|12|AM|2024-07-04|00:00:00|1720051200|%",
        ),
    ];
    for (secs, want) in cases {
        assert_eq!(key(all, ".", "t", secs), want, "t = {secs}");
    }
}

#[test]
fn extreme_times_render_without_panicking() {
    let t = KeyTemplate::parse("%F %T %j %a %y %s", ".", true).unwrap();
    for secs in [i64::MIN, i64::MIN + 1, -86_401, 0, i64::MAX] {
        let (out, info) = render_with(&t, &ctx("t", secs));
        assert!(!out.is_empty() && !info.truncated, "{secs}: {out}");
    }
}

#[test]
fn parse_errors_say_what_is_wrong() {
    use KeyTemplateError::*;
    assert_eq!(parse_err(""), Empty);
    assert_eq!(parse_err("/"), Empty);
    assert_eq!(parse_err("/a/$TAG[1"), UnclosedTagIndex { at: 3 });
    let bad = |at: usize, found: &str| BadTagIndex {
        at,
        found: found.to_owned(),
    };
    assert_eq!(parse_err("/$TAG[x]"), bad(1, "x"));
    assert_eq!(parse_err("/$TAG[-1]"), bad(1, "-1"));
    assert_eq!(parse_err("$TAG[]"), bad(0, ""));
    assert_eq!(parse_err("$TAG[ 1]"), bad(0, " 1"));
    assert_eq!(
        parse_err("$TAG[99999999999999999999999]"),
        bad(0, "99999999999999999999999")
    );
    assert_eq!(
        parse_err("/x/$FILE_NAME"),
        UnsupportedVariable {
            at: 3,
            name: "FILE_NAME"
        }
    );
    assert_eq!(
        parse_err("/$FILE_PATH"),
        UnsupportedVariable {
            at: 1,
            name: "FILE_PATH"
        }
    );
    // Every unsupported conversion is listed once, in order.
    assert_eq!(
        parse_err("/%Y/%L/%q/%L/%é/%"),
        UnsupportedConversions {
            found: "%L, %q, %é, a lone '%' at the end".to_owned()
        }
    );
    let long = format!("/{}", "a".repeat(1010));
    assert_eq!(
        parse_err(&long),
        TooLong {
            bytes: 1010,
            limit: 1009
        }
    );
    // Without the suffix the same text fits; 1025 bytes never do.
    assert!(KeyTemplate::parse(&long, ".", true).is_ok());
    assert!(KeyTemplate::parse(&"a".repeat(1025), ".", true).is_err());

    let msg = parse_err("/logs/%Y/%Z").to_string();
    assert!(
        msg.contains("%Z") && msg.contains("%Y %m %d") && msg.contains("%%"),
        "{msg}"
    );
    let msg = parse_err("/$TAG[a]").to_string();
    assert!(msg.contains("$TAG[a]") && msg.contains("$TAG[0]"), "{msg}");
}

#[test]
fn random_uuid_is_eight_alphanumerics() {
    let mut rng = Rng::new(7);
    let a = random_uuid(&mut rng);
    let b = random_uuid(&mut rng);
    assert_eq!(a.len(), UUID_LEN);
    assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
    assert_ne!(a, b);
    assert_eq!(a, random_uuid(&mut Rng::new(7)), "deterministic for a seed");
    // Over many draws every class of the alphabet shows up.
    let many: String = (0..200).map(|_| random_uuid(&mut rng)).collect();
    assert!(many.bytes().any(|c| c.is_ascii_digit()));
    assert!(many.bytes().any(|c| c.is_ascii_lowercase()));
    assert!(many.bytes().any(|c| c.is_ascii_uppercase()));
}

/// Howard Hinnant's `days_from_civil`: the inverse of the code under test, written separately.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_and_render_never_panic_and_respect_the_limit(
        format in "[/$%a-zA-Z0-9\\[\\].é]{0,40}",
        tag in "[a-z.é-]{0,30}",
        secs in any::<i64>(),
        index in any::<u64>(),
        static_file_path in any::<bool>(),
    ) {
        if let Ok(t) = KeyTemplate::parse(&format, ".-", static_file_path) {
            let c = KeyContext { tag: &tag, unix_secs: secs, index, uuid: UUID };
            let (out, _) = render_with(&t, &c);
            prop_assert!(out.len() <= MAX_KEY_BYTES);
            prop_assert_eq!(out.ends_with("-objectAbC12345"), t.appends_random_suffix());
        }
    }

    #[test]
    fn tag_parts_are_the_non_empty_pieces(
        pieces in proptest::collection::vec("[a-z]{1,5}", 1..6),
        seps in proptest::collection::vec("[.-]{1,3}", 6),
    ) {
        let mut tag = seps[5].clone();
        for (piece, sep) in pieces.iter().zip(&seps) {
            tag.push_str(piece);
            tag.push_str(sep);
        }
        for (i, piece) in pieces.iter().enumerate() {
            prop_assert_eq!(&key(&format!("$TAG[{i}]"), ".-", &tag, 0), piece);
        }
        let t = KeyTemplate::parse(&format!("$TAG[{}]", pieces.len()), ".-", true).unwrap();
        prop_assert!(render_with(&t, &ctx(&tag, 0)).1.missing_tag_part);
    }

    #[test]
    fn dates_round_trip(secs in -20_000_000_000i64..20_000_000_000) {
        let out = key("%Y %m %d %H %M %S %j", ".", "t", secs);
        let f: Vec<i64> = out.split(' ').map(|x| x.parse().unwrap()).collect();
        let days = days_from_civil(f[0], f[1], f[2]);
        prop_assert_eq!(days * 86_400 + f[3] * 3600 + f[4] * 60 + f[5], secs);
        prop_assert_eq!(f[6], days - days_from_civil(f[0], 1, 1) + 1);
        let weekday = key("%A", ".", "t", secs);
        prop_assert_eq!(weekday, WEEKDAY_NAMES[(days + 4).rem_euclid(7) as usize]);
    }
}
