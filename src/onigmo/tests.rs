use super::*;

fn p(pattern: &str) -> Pattern {
    compile(pattern).unwrap_or_else(|e| panic!("{e}"))
}

fn group<'t>(caps: &Captures<'t>, i: usize) -> Option<&'t str> {
    caps.get(i).map(|b| std::str::from_utf8(b).unwrap())
}

#[test]
fn delimiters_and_flags_are_read_as_fluent_bit_reads_them() {
    let d = |s| {
        let (body, o) = delimiters(s);
        (body, o.ignore_case, o.dotall, o.extended)
    };
    assert_eq!(d("/abc/"), ("abc", false, false, false));
    assert_eq!(d("/a/b/"), ("a/b", false, false, false));
    assert_eq!(d("/abc/i"), ("abc", true, false, false));
    assert_eq!(d("/abc/mix"), ("abc", true, true, true));
    // Only `o` (ignored) or an unknown flag: the pattern is taken as written.
    assert_eq!(d("/abc/o"), ("/abc/o", false, false, false));
    assert_eq!(d("/abc/q"), ("/abc/q", false, false, false));
    assert_eq!(d("/abc"), ("/abc", false, false, false));
    assert_eq!(d("//"), ("", false, false, false));
    assert_eq!(d("^/var/log"), ("^/var/log", false, false, false));
    // As in Fluent Bit, a path-like pattern ending in flag letters loses them to flags.
    assert_eq!(d("/var/log/mix"), ("var/log", true, true, true));
    assert!(p("/^abc$/i").is_match(b"ABC"));
    assert!(p("/a.c/m").is_match(b"a\nc"));
    assert!(!p("/a.c/").is_match(b"a\nc"));
}

#[test]
fn the_engine_is_the_regex_crate_unless_the_pattern_needs_backtracking() {
    let metrics =
        r#"^(?<metric>[^ {}]*){name=\"(?<plugin>[^ {}\"]*)\"} (?<value>[^ ]*) (?<time>[^ ]*)"#;
    assert_eq!(p(metrics).engine(), Engine::Regex);
    for (pattern, why) in [
        (r"(?<=a)b", "a look-behind"),
        (r"a(?!b)", "a look-ahead"),
        (r"(?>a+)", "an atomic group"),
        (r"a++", "a possessive quantifier"),
        (r"(a)\1", "a back-reference"),
        (r"a\Kb", r"`\K`"),
        (r"a\Z", r"`\Z`"),
        (r"a\R", r"`\R`"),
        (r"a|b^c", "a `^` that is not at the start of the pattern"),
    ] {
        assert_eq!(p(pattern).engine(), Engine::Backtracking(why), "{pattern}");
    }
    assert_eq!(
        Engine::Backtracking("a look-behind").to_string(),
        "backtracking (for a look-behind)"
    );
}

#[test]
fn a_caret_never_matches_at_the_end_of_a_text_ending_in_a_newline() {
    // The regex crate's `(?m:^)` would match there; Onigmo's `^` does not. Both engines.
    for pattern in [r"^\s*$", r"^\s*$(?!x)"] {
        let re = p(pattern);
        assert!(!re.is_match(b"abc\n"), "{pattern}");
        assert!(re.captures(b"abc\n").is_none(), "{pattern}");
        assert!(re.is_match(b"abc\n\n"), "{pattern}");
        assert!(re.is_match(b""), "{pattern}");
    }
    // A `^` after something (backtracking engine): the same rule.
    let after = p(r"x\n(?<m>^)");
    assert_eq!(after.captures(b"x\ny").unwrap().span(1), Some((2, 2)));
    assert!(!after.is_match(b"x\n"));
    // A pattern that also matches empty without `^` still matches there.
    let either = p(r"^a|(?<e>\z)");
    let caps = either.captures(b"x\n").unwrap();
    assert_eq!(caps.span(0), Some((2, 2)));
    assert_eq!(group(&caps, 1), Some(""));
}

#[test]
fn a_caret_literal_is_a_prefix_test_that_agrees_with_the_engine() {
    let values: [&[u8]; 12] = [
        b"/health",
        b"/healthz",
        b"x\n/health",
        b"x\ny\n/healthz\n",
        b"x\n/heal\n/health",
        b"\n\n",
        b"/api/health",
        b"",
        b"/HEALTH",
        b"x\n",
        b"/he\xffalth",
        "/healthé".as_bytes(),
    ];
    for pattern in ["^/health", "^/he.lth", "^a|b", "^/health$", "^é"] {
        let re = p(pattern);
        assert_eq!(re.prefix.is_some(), matches!(pattern, "^/health" | "^é"));
        for v in values {
            assert_eq!(re.is_match(v), re.captures(v).is_some(), "{pattern} {v:?}");
        }
    }
    assert!(p("^/health").is_match(b"x\n/health"));
    assert!(p("^/health").is_match(b"x\n/heal\n/health"));
    assert!(!p("^/health").is_match(b"x /health\n"));
}

#[test]
fn invalid_utf8_reads_as_replacement_characters_and_captures_the_original_bytes() {
    for pattern in [r"^(?<a>[^ ]*) (?<b>.*)$", r"^(?<a>[^ ]*) (?<b>.*)$(?!x)"] {
        let re = p(pattern);
        let text = b"caf\xe9 ok\xff\xfe!";
        let caps = re.captures(text).unwrap_or_else(|| panic!("{pattern}"));
        assert_eq!(caps.get(1), Some(&b"caf\xe9"[..]));
        assert_eq!(caps.get(2), Some(&b"ok\xff\xfe!"[..]));
        assert_eq!(caps.span(0), Some((0, text.len())));
        assert!(re.is_match(text));
    }
    // A replacement character is not a word character.
    assert!(!p(r"^\w+$").is_match(b"ab\xffc"));
    assert!(p(r"^\W$").is_match(b"\xff"));
}

#[test]
fn names_come_in_fluent_bit_order_and_plain_groups_capture_only_without_names() {
    let re = p(r"(?<v>\d+)(?<w>[a-z]+)(?<v>!)");
    let names: Vec<(usize, &str)> = (re.named_groups().iter())
        .map(|(i, n)| (*i, &**n))
        .collect();
    assert_eq!(names, [(1, "v"), (3, "v"), (2, "w")]);
    let mixed = p(r"(?<a>x)(y)");
    assert_eq!(mixed.group_count(), 1);
    let numbered = p(r"^([a-z-:0-9]+)/([a-zA-Z0-9-_]+)/([a-z0-9]+)$");
    assert_eq!(numbered.group_count(), 3);
    let arn = b"arn:aws:ecs:us-west-2:123456789012:task/my-cluster/0123abcd";
    let caps = numbered.captures(arn).unwrap();
    assert_eq!(group(&caps, 2), Some("my-cluster"));
    assert_eq!(group(&caps, 3), Some("0123abcd"));
}

#[test]
fn match_at_start_is_anchored_at_the_start_only() {
    let re = p("app-.*-firelens");
    assert!(re.is_match_at_start(b"app-web-firelens-1"));
    assert!(!re.is_match_at_start(b"x-app-web-firelens"));
    assert!(re.is_match(b"x-app-web-firelens"));
}

#[test]
fn errors_name_the_pattern_on_one_line() {
    let e = compile("a(").unwrap_err();
    assert_eq!(e.pattern, "a(");
    assert_eq!(
        e.to_string(),
        "invalid regex `a(`: end pattern with unmatched parenthesis (at character 2)"
    );
    let e = compile(r"\p{NoSuchProperty}").unwrap_err();
    assert!(!e.reason.contains('\n'), "{e}");
}

#[test]
fn engines_are_listed_for_validate() {
    let (count, listed) = with_engines_listed(|| {
        ["^a", r"(?<=x)y", "^a", "b("]
            .iter()
            .filter(|p| compile(p).is_ok())
            .count()
    });
    assert_eq!(count, 3);
    assert_eq!(
        listed,
        [
            ("^a".into(), Engine::Regex),
            (r"(?<=x)y".into(), Engine::Backtracking("a look-behind"))
        ]
    );
    // Outside, nothing is kept.
    let _ = compile("^c");
    assert!(with_engines_listed(|| ()).1.is_empty());
}

#[test]
fn a_leading_caret_runs_as_text_start_unless_a_line_break_is_inside() {
    let re = p(r"^(?<b>b+)$");
    // No line break (or only a last one): `^` can only be at 0.
    assert_eq!(re.captures(b"bb").unwrap().get(1), Some(&b"bb"[..]));
    assert_eq!(re.captures(b"bb\n").unwrap().get(1), Some(&b"bb"[..]));
    assert!(!re.is_match(b"abb"));
    // A line break inside: a later line may match.
    assert_eq!(re.captures(b"a\nbb\nc").unwrap().span(1), Some((2, 4)));
    assert!(re.is_match(b"a\nbb"));
    assert!(!re.is_match(b"a\nc\n"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Any pattern compiles or is refused with a message; none panics, and neither does
    /// matching any bytes; `is_match` (with its shortcuts) agrees with `captures`.
    #[test]
    fn compiling_and_matching_never_panic(
        pattern in r"[\\\[\](){}^$.*+?|:<>=!'#&\-a-z0-9 ,pPkgxuM\u{e9}]{0,24}",
        text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
    ) {
        if let Ok(re) = compile(&pattern) {
            let caps = re.captures(&text);
            proptest::prop_assert_eq!(re.is_match(&text), caps.is_some(), "{}", pattern);
            let _ = re.is_match_at_start(&text);
            if let Some(caps) = caps {
                for i in 0..=re.group_count() {
                    let _ = caps.get(i);
                }
            }
        }
    }
}

#[test]
fn a_runaway_backtracking_pattern_is_no_match() {
    // Exponential for a backtracking engine; fancy-regex stops at its step limit.
    let re = p(r"^(?<a>(?:a|a)+)+\k<a>b$");
    assert!(matches!(re.engine(), Engine::Backtracking(_)));
    let text = "a".repeat(40);
    assert!(!re.is_match(text.as_bytes()));
    assert!(re.captures(text.as_bytes()).is_none());
}
