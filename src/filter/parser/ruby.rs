//! Fluent Bit regexes are Ruby (Onigmo) syntax; the Rust `regex` crate reads most of it as is
//! (`(?<name>...)`, `\S`, `\d`, escaped punctuation). This rewrites the few constructs it reads
//! differently or not at all, so patterns copied from a Fluent Bit parsers file keep working.
//!
//! Invariants: only escapes outside the rewritten set are passed through byte for byte; an
//! escaped backslash (`\\`) is never taken as the start of another escape. Lookaround and
//! backreferences are not rewritten: the regex crate rejects them with its own message.

use std::borrow::Cow;

/// Rewrites a Fluent Bit regex for the `regex` crate:
/// - `/pattern/` delimiters (as in Fluent Bit's `syslog-rfc3164`) are dropped;
/// - `\<` and `\>` are literal `<` and `>` in Ruby, but word boundaries in the regex crate;
/// - `\h` / `\H` (hex digit / not) and `\Z` (end, before a final newline) have no equivalent
///   escape in the regex crate.
pub(super) fn to_rust_syntax(pattern: &str) -> Cow<'_, str> {
    let body = pattern
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .unwrap_or(pattern);
    let needs_rewrite = body
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'\\' && matches!(w[1], b'<' | b'>' | b'h' | b'H' | b'Z'));
    if !needs_rewrite {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len() + 16);
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('<') => out.push('<'),
            Some('>') => out.push('>'),
            Some('h') => out.push_str("[0-9a-fA-F]"),
            Some('H') => out.push_str("[^0-9a-fA-F]"),
            Some('Z') => out.push_str(r"(?:\n?\z)"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::to_rust_syntax;

    #[test]
    fn rewrites_ruby_only_escapes_and_strips_slashes() {
        assert_eq!(to_rust_syntax(r"^\<(?<pri>[0-9]+)\>"), r"^<(?<pri>[0-9]+)>");
        assert_eq!(to_rust_syntax(r"/^a\/b$/"), r"^a\/b$");
        assert_eq!(
            to_rust_syntax(r"\h+\H\Z"),
            r"[0-9a-fA-F]+[^0-9a-fA-F](?:\n?\z)"
        );
        // An escaped backslash followed by `<` stays a backslash then a `<`.
        assert_eq!(to_rust_syntax(r"a\\<b"), r"a\\<b");
        assert_eq!(to_rust_syntax(r"a\\\<b"), r"a\\<b");
        assert!(matches!(
            to_rust_syntax(r"^(?<a>\S+)$"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn rewritten_syslog_pattern_matches_angle_brackets() {
        let re = regex::Regex::new(&to_rust_syntax(r"^\<(?<pri>[0-9]+)\>(?<rest>.*)$")).unwrap();
        let caps = re.captures("<34>Oct 11").unwrap();
        assert_eq!(&caps["pri"], "34");
    }
}
