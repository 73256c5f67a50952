//! Keeps values that came from the environment (`${VAR}`) out of config messages: they often hold
//! secrets (shared keys, passwords), and `firelane validate` output ends up in CI logs.
//!
//! Invariant: every message leaving `load` has each environment value written as `${VAR}` instead,
//! wherever it appears quoted (`"v"`, `` `v` ``, `'v'`) or, for values of at least
//! `MIN_BARE_LEN` characters, anywhere. Shorter values are replaced only when quoted, because a
//! bare `1` or `on` cannot be told apart from the message's own words.

use std::cell::RefCell;

use crate::config::errors::Problem;

/// A bare (unquoted) value is replaced only from this length on.
const MIN_BARE_LEN: usize = 4;

/// The variables an environment lookup answered, in the order asked.
#[derive(Debug, Default)]
pub struct EnvSeen(RefCell<Vec<(String, String)>>);

impl EnvSeen {
    /// Wraps `env` so every answered lookup is remembered.
    pub fn recording<'a>(
        &'a self,
        env: &'a dyn Fn(&str) -> Option<String>,
    ) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            let value = env(name);
            if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
                self.0.borrow_mut().push((name.to_owned(), v.clone()));
            }
            value
        }
    }

    /// Rewrites each problem's message and key with `${VAR}` in place of the values seen.
    pub fn redact(&self, problems: &mut [Problem]) {
        let seen = self.0.borrow();
        // Longest first, so a value containing another is replaced whole.
        let mut by_len: Vec<&(String, String)> = seen.iter().collect();
        by_len.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        for p in problems {
            for (name, value) in &by_len {
                p.message = redact_value(&p.message, name, value);
                p.key = redact_value(&p.key, name, value);
            }
        }
    }
}

/// `text` with `value` written as `${name}`.
fn redact_value(text: &str, name: &str, value: &str) -> String {
    let shown = format!("${{{name}}}");
    let mut out = text.to_owned();
    for (open, close) in [('"', '"'), ('`', '`'), ('\'', '\'')] {
        let quoted = format!("{open}{value}{close}");
        if out.contains(&quoted) {
            out = out.replace(&quoted, &format!("{open}{shown}{close}"));
        }
        // serde quotes with Debug escaping: a value holding `"` or `\` appears escaped.
        let escaped = format!("{value:?}");
        if out.contains(&escaped) {
            out = out.replace(&escaped, &format!("\"{shown}\""));
        }
    }
    if value.chars().count() >= MIN_BARE_LEN && out.contains(value) {
        out = out.replace(value, &shown);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(message: &str) -> Problem {
        Problem {
            origin: "f.conf".into(),
            line: Some(3),
            key: "Port".into(),
            message: message.into(),
        }
    }

    fn seen(pairs: &[(&str, &str)]) -> EnvSeen {
        let s = EnvSeen::default();
        for (n, v) in pairs {
            s.0.borrow_mut().push(((*n).into(), (*v).into()));
        }
        s
    }

    #[test]
    fn quoted_and_bare_values_become_references() {
        let s = seen(&[("PORT", "hunter2"), ("KEY", "sw0rdfish")]);
        let mut p = [
            problem("invalid type: string \"hunter2\", expected u16"),
            problem("`hunter2` is not a size"),
            problem("prefix /ecs/sw0rdfish/x is too long"),
        ];
        s.redact(&mut p);
        assert_eq!(
            p[0].message,
            "invalid type: string \"${PORT}\", expected u16"
        );
        assert_eq!(p[1].message, "`${PORT}` is not a size");
        assert_eq!(p[2].message, "prefix /ecs/${KEY}/x is too long");
    }

    #[test]
    fn short_values_are_replaced_only_when_quoted() {
        let s = seen(&[("N", "16")]);
        let mut p = [problem("invalid type: string \"16\", expected u16")];
        s.redact(&mut p);
        assert_eq!(p[0].message, "invalid type: string \"${N}\", expected u16");
    }

    #[test]
    fn values_with_quotes_are_found_in_their_escaped_form() {
        let s = seen(&[("K", "a\"b")]);
        let mut p = [problem("invalid value: string \"a\\\"b\", expected x")];
        s.redact(&mut p);
        assert_eq!(p[0].message, "invalid value: string \"${K}\", expected x");
    }

    #[test]
    fn recording_remembers_only_answered_lookups() {
        let s = EnvSeen::default();
        let env = |n: &str| (n == "SET").then(|| "value1".to_owned());
        let rec = s.recording(&env);
        assert_eq!(rec("SET").as_deref(), Some("value1"));
        assert_eq!(rec("UNSET"), None);
        assert_eq!(*s.0.borrow(), vec![("SET".to_owned(), "value1".to_owned())]);
    }
}
