//! Configuration problems: each carries its file, line (when known) and key path, so a user can fix
//! every mistake in one pass. `ConfigErrors` is never empty when returned as an error.

use std::fmt;

/// One mistake in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File name (or another label for text given in memory).
    pub origin: String,
    /// 1-based line, when the mistake can be located.
    pub line: Option<usize>,
    /// Key path such as `outputs[1].match_regex`; empty for file-level problems (syntax, I/O).
    pub key: String,
    pub message: String,
}

/// Every problem found in a configuration, in file order where known, and the warnings found
/// with them (Fluent Bit files: keys accepted but ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl fmt::Display for Problem {
    /// `firelane.toml:12: outputs[1].match_regex: invalid regex: ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl fmt::Display for ConfigErrors {
    /// One problem per line, then one warning per line (`warning: file:line: ...`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        for w in &self.warnings {
            write!(f, "\nwarning: {w}")?;
        }
        Ok(())
    }
}

/// A problem located by key path only; the loader adds the file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub path: super::spans::KeyPath,
    pub message: String,
}

impl Issue {
    pub fn new(path: super::spans::KeyPath, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
        }
    }
}

impl ConfigErrors {
    pub fn single(origin: &str, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                origin: origin.to_owned(),
                line: None,
                key: String::new(),
                message: message.into(),
            }],
            warnings: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(line: Option<usize>, key: &str) -> Problem {
        Problem {
            origin: "firelane.toml".into(),
            line,
            key: key.into(),
            message: "invalid regex: x".into(),
        }
    }

    #[test]
    fn display_shows_file_line_key_and_omits_what_is_unknown() {
        assert_eq!(
            problem(Some(12), "outputs[1].match_regex").to_string(),
            "firelane.toml:12: outputs[1].match_regex: invalid regex: x"
        );
        assert_eq!(
            problem(None, "inputs").to_string(),
            "firelane.toml: inputs: invalid regex: x"
        );
        assert_eq!(
            problem(Some(3), "").to_string(),
            "firelane.toml:3: invalid regex: x"
        );
    }

    #[test]
    fn errors_list_one_problem_per_line() {
        let errs = ConfigErrors {
            problems: vec![problem(Some(1), "a"), problem(Some(2), "b")],
            warnings: vec![problem(Some(3), "c")],
        };
        let text = errs.to_string();
        assert_eq!(text.lines().count(), 3);
        assert!(
            text.ends_with("\nwarning: firelane.toml:3: c: invalid regex: x"),
            "{text}"
        );
    }
}
