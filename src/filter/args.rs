//! Option-value helpers shared by the filters: Fluent Bit's word splitting with quotes. (Regexes
//! are compiled by [`crate::onigmo::compile`].)

/// Splits `text` into words separated by spaces, as Fluent Bit does for `modify` rules and
/// conditions: runs of spaces separate words; a word that starts with `"` or `'` runs to the
/// matching quote, and inside it `\"`, `\'` and `\\` stand for the quote and the backslash.
/// Returns None for an unterminated quote.
pub(crate) fn split_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' if matches!(chars.peek(), Some(&c) if c == first || c == '\\') => {
                        word.extend(chars.next());
                    }
                    c if c == first => break,
                    c => word.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ' ') {
                word.push(c);
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_spaces_and_respect_quotes() {
        let w = |t: &str| split_words(t).map(|v| v.join("|"));
        assert_eq!(w("  a  b c ").as_deref(), Some("a|b|c"));
        assert_eq!(
            w(r#"key "hello world""#).as_deref(),
            Some("key|hello world")
        );
        assert_eq!(
            w(r#"k 'it\'s' "a\\b\"""#).as_deref(),
            Some(r#"k|it's|a\b""#)
        );
        assert_eq!(w("k \"\"").as_deref(), Some("k|"));
        assert_eq!(w("🔥 💦").as_deref(), Some("🔥|💦"));
        assert_eq!(w(""), Some(String::new()));
        assert_eq!(w("k \"open"), None);
    }
}
