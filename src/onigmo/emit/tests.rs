use super::super::syntax::{Options, parse};
use super::*;

fn fast(pattern: &str) -> Result<String, &'static str> {
    let tree = parse(pattern, Options::ruby(false, false, false)).unwrap();
    emit(&tree, Target::Fast).map(|e| e.pattern)
}

#[test]
fn the_fast_engine_gets_plain_regex_crate_syntax() {
    assert_eq!(
        fast(r#"^(?<metric>[^ {}]*){name=\"(?<plugin>[^ {}\"]*)\"}"#).unwrap(),
        r#"(?m:^)([^ \{\}]*)\{name="([^ \{\}"]*)"\}"#
    );
    assert_eq!(fast(r"a{,3}b{2}?").unwrap(), "a{0,3}(?:b{2})?");
    assert_eq!(
        fast(r"\d\w\s\h").unwrap(),
        r"[0-9][0-9A-Za-z_][\t\n\x0B\x0C\r ][0-9A-Fa-f]"
    );
    assert_eq!(fast("(a)(?<b>c)(d)").unwrap(), "(?:a)(c)(?:d)");
    assert_eq!(fast("x(?i)a|b").unwrap(), "x(?i:a|b)");
    assert_eq!(fast("a$|.").unwrap(), "a(?m:$)|.");
    assert_eq!(fast("(?:^a|^b)c").unwrap(), "(?:(?m:^)a|(?m:^)b)c");
}

#[test]
fn a_caret_after_anything_is_for_the_backtracking_engine() {
    for pattern in ["a^", "(?:a)*^", "x|y^", "(?:^a)+", "(?<=^a)b"] {
        assert!(fast(pattern).is_err(), "{pattern}");
    }
    for pattern in ["^a", "(^a|^b)", "\\A^a", "(?:^)*a", "x|^y"] {
        assert!(fast(pattern).is_ok(), "{pattern}");
    }
}

#[test]
fn the_backtracking_engine_gets_onigmo_s_caret_and_the_rest() {
    let tree = parse(r"^a(?<=a)\Z", Options::ruby(false, false, false)).unwrap();
    let e = emit(&tree, Target::Backtracking).unwrap();
    assert_eq!(e.pattern, r"(?:\A|(?<=\n)(?!\z))a(?<=a)(?=\n?\z)");
    let tree = parse(r"(?<q>a)\k<q>x++", Options::ruby(false, false, false)).unwrap();
    assert_eq!(
        emit(&tree, Target::Backtracking).unwrap().pattern,
        r"(a)(?:\1)(?>x+)"
    );
}
