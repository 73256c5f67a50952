//! Tag selection with Fluent Bit's semantics.
//!
//! `Match`: a glob where `*` matches any run of characters, dots included, or nothing; anchored at
//! both ends; case-sensitive. `Match_Regex`: a Fluent Bit regex (Onigmo syntax, see
//! [`crate::onigmo`]) matched at the start of the tag (not the end), as Fluent Bit's
//! router does with `onig_match`.

use crate::onigmo::{self, Pattern, RegexError};

/// Selects tags for an output (or a filter).
#[derive(Debug, Clone)]
pub enum TagMatcher {
    Glob(String),
    Regex(Pattern),
    /// Neither `match` nor `match_regex` was set: matches nothing (config validation rejects it).
    Nothing,
}

impl TagMatcher {
    /// Builds a matcher; an invalid regex is an error naming the pattern.
    pub fn new(glob: Option<&str>, regex: Option<&str>) -> Result<Self, RegexError> {
        Ok(match (glob, regex) {
            (_, Some(re)) => TagMatcher::Regex(onigmo::compile(re)?),
            (Some(g), None) => TagMatcher::Glob(g.to_owned()),
            (None, None) => TagMatcher::Nothing,
        })
    }

    pub fn matches(&self, tag: &str) -> bool {
        match self {
            TagMatcher::Glob(g) => glob_match(g.as_bytes(), tag.as_bytes()),
            TagMatcher::Regex(re) => re.is_match_at_start(tag.as_bytes()),
            TagMatcher::Nothing => false,
        }
    }
}

/// Wildcard match with `*` only, in O(len(pattern) * len(tag)) worst case and no allocation:
/// on a mismatch, retry from the last `*` with one more character consumed by it.
pub fn glob_match(pattern: &[u8], tag: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < tag.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == tag[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        TagMatcher::new(Some(p), None).unwrap().matches(t)
    }

    #[test]
    fn fluent_bit_match_semantics() {
        assert!(m("file.*.log", "file.apache.log"));
        assert!(m("file.*.log", "file.a.b.log"), "* spans dots");
        assert!(m("*", "anything.at.all"));
        assert!(m("*", ""), "* matches the empty tag");
        assert!(!m("metrics.*", "metrics"));
        assert!(m("metrics.*", "metrics."));
        assert!(m("app-firelens*", "app-firelens-0123abcd"));
        assert!(
            !m("app-firelens*", "other-app-firelens-1"),
            "anchored at the start"
        );
        assert!(!m("app", "app2"), "anchored at the end");
        assert!(!m("App", "app"), "case-sensitive");
        assert!(m("a*b*c", "aXXbYYbc"));
        assert!(!m("a*b*c", "aXXbYYb"));
        assert!(m("**", "x"));
    }

    #[test]
    fn regex_is_anchored_at_start_only() {
        let r = TagMatcher::new(None, Some("app-.*-firelens")).unwrap();
        assert!(r.matches("app-web-firelens-123"));
        assert!(!r.matches("x-app-web-firelens"));
        // Onigmo syntax: a `{` that starts no interval is a literal.
        assert!(TagMatcher::new(None, Some("a{b")).unwrap().matches("a{b.c"));
        assert!(TagMatcher::new(None, Some("(")).is_err());
        assert!(!TagMatcher::Nothing.matches("a"));
    }
}
