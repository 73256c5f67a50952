//! Option-value helpers shared by the filters: regex compilation with a one-line error (config
//! errors are shown to users on one line).

use regex::bytes::Regex;

/// Compiles a pattern; the error is one line (the regex crate's own message spans several).
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| match e {
        regex::Error::Syntax(text) => {
            let reason = text
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error:"))
                .map(str::trim);
            let reason = reason.unwrap_or("syntax error");
            format!("invalid regular expression {pattern:?}: {reason}")
        }
        other => format!(
            "regular expression {pattern:?}: {}",
            other.to_string().trim()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_errors_are_one_line() {
        let e = compile_regex("a(").unwrap_err();
        assert!(!e.contains('\n'), "{e}");
        assert!(e.contains("unclosed group"), "{e}");
        assert!(compile_regex("^a.*$").is_ok());
    }
}
