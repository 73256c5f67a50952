use crate::onigmo::compile;

fn err(pattern: &str) -> String {
    compile(pattern).unwrap_err().reason
}

#[test]
fn patterns_onigmo_refuses_are_refused_with_its_reason() {
    for (pattern, reason) in [
        ("*a", "target of repeat operator is not specified"),
        ("a|+", "target of repeat operator is not specified"),
        ("{1}", "target of repeat operator is not specified"),
        ("^*", "target of repeat operator is invalid"),
        (r"\b+", "target of repeat operator is invalid"),
        ("(?=a)?", "target of repeat operator is invalid"),
        ("a{2,1}", "upper bound must be greater than lower bound"),
        ("a{100001}", "too big number for repeat range"),
        ("(a", "end pattern with unmatched parenthesis"),
        ("a)", "unmatched close parenthesis"),
        ("(?<1a>x)", "invalid group name"),
        ("(?<a-b>x)", "invalid char in group name"),
        ("(?<>x)", "group name is empty"),
        (r"\k<nope>(?<x>a)", "undefined name <nope> reference"),
        (
            r"(?<a>x)(y)\2",
            "numbered backref/call is not allowed. (use name)",
        ),
        (r"\1", "invalid backref number/name"),
        ("(?s)a", "undefined group option"),
        ("(?P<a>x)", "undefined group option"),
        (r"\u12", "too short digits"),
        (r"\x{110000}", "invalid code point value"),
        (r"a\", "end pattern at escape"),
        ("(?#unclosed", "end pattern in group"),
    ] {
        let got = err(pattern);
        assert!(got.starts_with(reason), "{pattern}: {got}");
    }
}

#[test]
fn what_firelane_does_not_support_is_named() {
    for (pattern, what) in [
        ("(?~abc)", "the absent operator"),
        ("(?(1)a|b)", "a conditional group"),
        (r"(?<a>x)\g<a>", "a subexpression call"),
        (r"\X", r"`\X`"),
        (
            r"(?<a>x)(?<a>y)\k<a>",
            "a back-reference to a name that several groups have",
        ),
        (r"(?<a>x)\k<a+1>", "a back-reference with a nest level"),
        (r"\xff", r"a byte `\xFF` that is not UTF-8"),
    ] {
        let got = err(pattern);
        assert!(got.starts_with(what), "{pattern}: {got}");
        assert!(got.contains("not supported by firelane"), "{got}");
    }
}

#[test]
fn braces_read_as_onigmo_reads_them() {
    let m = |p: &str, t: &str| compile(p).unwrap().is_match(t.as_bytes());
    // Not an interval: literal text.
    assert!(m("^a{name=b}$", "a{name=b}"));
    assert!(m("^a{,}$", "a{,}"));
    assert!(m("^a{1,z}$", "a{1,z}"));
    assert!(m("^a{ 1}$", "a{ 1}"));
    assert!(m(r"^\x{zz}$", "x{zz}"));
    // Intervals: `{,n}` is `{0,n}`; `{n}?` is an optional `{n}`, `{n}+` a repeated one.
    assert!(m("^a{,2}$", ""));
    assert!(!m("^a{,2}$", "aaa"));
    assert!(m("^(?:ab){2}?$", ""));
    assert!(m("^(?:ab){2}?$", "abab"));
    assert!(!m("^(?:ab){2}?$", "ab"));
    assert!(m("^a{2}+$", "aaaa"));
    assert!(!m("^a{2}+$", "aaa"));
    // `{n,m}?` is lazy.
    let lazy = compile("^(?<a>a{1,3}?)(?<b>a*)$").unwrap();
    let caps = lazy.captures(b"aaa").unwrap();
    assert_eq!(caps.get(1), Some(&b"a"[..]));
}

#[test]
fn escapes_read_as_onigmo_reads_them() {
    let m = |p: &str, t: &str| compile(p).unwrap().is_match(t.as_bytes());
    assert!(m(r"^\<a\>$", "<a>"));
    assert!(m(r"^\h+\H$", "0aF!"));
    assert!(m(r"^\y\q\/\-$", "yq/-"));
    assert!(m(r"^\x41\u00e9\103\0\t$", "Aé\u{43}\0\t"));
    assert!(m(r"^\xc3\xa9$", "é"));
    assert!(m(
        r"^\cA\C-b\c?\e\a\v\f$",
        "\u{1}\u{2}\u{7f}\u{1b}\u{7}\u{b}\u{c}"
    ));
    assert!(m(r"^\M-a$", "\u{e1}"));
    // `\8` and `\9` are backrefs only if such a group exists (else the digit); `\12` is octal
    // when there are fewer than 12 groups.
    assert!(m(r"^(?:a)\12$", "a\n"));
    assert!(m(r"^\p{Greek}\P{Greek}\p{^Greek}$", "αbc"));
    assert!(m(r"^\p{Alpha}\p{digit}$", "é٣"));
}

#[test]
fn options_scope_as_in_onigmo() {
    let m = |p: &str, t: &str| compile(p).unwrap().is_match(t.as_bytes());
    // `(?i)` takes the rest of the group, alternatives included.
    assert!(m("^x(?i)ab|cd$", "xCD"));
    assert!(!m("^x(?i)ab|cd$", "CD"));
    assert!(m("^(?:x(?i)a)b$", "xAb"));
    assert!(!m("^(?:x(?i)a)b$", "xAB"));
    assert!(m("^(?i:a)(?-i)b$", "Ab"));
    // `m` is dot-all, `x` ignores spaces and comments to the end of the line.
    assert!(m("(?m:a.c)", "a\nc"));
    assert!(m("(?x) a b # c\n c", "abc"));
    assert!(m("(?x)a[ ]b", "a b"));
    // `(?u)` makes `\d` Unicode, `(?a)` POSIX brackets ASCII.
    assert!(m(r"^(?u)\d$", "٣"));
    assert!(!m(r"^\d$", "٣"));
    assert!(m(r"^[[:alpha:]]$", "é"));
    assert!(!m(r"^(?a)[[:alpha:]]$", "é"));
    // Comments.
    assert!(m("^a(?#comment)b$", "ab"));
}
