use crate::onigmo::compile;

fn m(pattern: &str, text: &str) -> bool {
    compile(pattern)
        .unwrap_or_else(|e| panic!("{e}"))
        .is_match(text.as_bytes())
}

#[test]
fn a_dash_is_a_range_only_where_onigmo_reads_one() {
    // After a range, or first, or last: a literal `-`.
    for (class, yes, no) in [
        ("[a-c-e]", "-", "d"),
        ("[a-z-:0-9]", ":", "_"),
        ("[a-zA-Z0-9-_]", "-", "."),
        ("[-a]", "-", "b"),
        ("[a-]", "-", "b"),
        ("[!--x]", ",", "."),
        ("[.-_]", "A", "a"),
        ("[\\w-]", "-", "."),
    ] {
        let p = format!("^{class}$");
        assert!(m(&p, yes), "{class} {yes}");
        assert!(!m(&p, no), "{class} {no}");
    }
    // A nested class does not end the pending value: `[a[b]-c]` is `b` and `a-c`.
    assert!(m("^[a[x]-c]$", "b"));
}

#[test]
fn class_errors_are_onigmo_s() {
    for (pattern, reason) in [
        ("[b-a]", "empty range in char class"),
        (r"[\w-.]", "unmatched range specifier in char-class"),
        (r"[a-\w]", "char-class value at end of range"),
        ("[]", "empty char-class"),
        ("[abc", "premature end of char-class"),
        ("[[:foo:]]", "invalid POSIX bracket type"),
        ("[[:alphax:]]", "invalid POSIX bracket type"),
    ] {
        let e = compile(pattern).unwrap_err().reason;
        assert!(e.starts_with(reason), "{pattern}: {e}");
    }
}

#[test]
fn classes_hold_what_onigmo_puts_in_them() {
    assert!(m("^[]a]+$", "]a]"));
    assert!(m("^[^]a]$", "b"));
    assert!(m("^[a-z&&[^aeiou]]+$", "bcd"));
    assert!(!m("^[a-z&&[^aeiou]]$", "e"));
    assert!(m("^[[:^digit:]]$", "x"));
    assert!(m(r"^[\d\s\h]+$", "12 af"));
    assert!(!m(r"^[\d]$", "٣"));
    assert!(m(r"^[[:digit:]]$", "٣"));
    assert!(m(r"^[\p{Greek}x]+$", "αx"));
    assert!(m(r"^[\x41-\x43\u00e9]+$", "ABCé"));
    assert!(m(r"^[\b]$", "\u{8}"));
    assert!(m(r"^[^ ]+$", "a\nb"), "a negated class matches a newline");
    assert!(m("^[[:punct:]]$", "!"));
    assert!(m("^[:a]$", ":"), "`[:` without `:]` is no POSIX bracket");
    assert!(m("(?i)^[a-c]+$", "ABC"));
}
