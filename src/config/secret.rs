//! A configuration value that must never appear in logs, `/metrics`, `/health` or `firelane
//! validate` output: shared keys, passwords.
//!
//! Invariant: the only way to read the value is `expose()`, called where the secret is used
//! (digests, handshakes); `Debug` and `Display` print `<redacted>`.
//!
//! So that secrets need not be written into TOML files, a value that is exactly `${NAME}` is read
//! from the environment variable NAME when the config is loaded (an unset one is a config error
//! naming the variable, never a value). Fluent Bit files expand `${NAME}` everywhere already.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A secret string, redacted whenever it is formatted.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the code that uses it (never for messages).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let written = String::deserialize(d)?;
        from_written(written, |name| std::env::var(name).ok()).map_err(serde::de::Error::custom)
    }
}

/// The secret a config value stands for: the value itself, or the variable `${NAME}` names.
fn from_written(written: String, env: impl Fn(&str) -> Option<String>) -> Result<Secret, String> {
    let Some(name) = written
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    else {
        return Ok(Secret(written));
    };
    env(name)
        .map(Secret)
        .ok_or_else(|| format!("environment variable {name} (named by `${{{name}}}`) is not set"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(
            format!("{s:?} {s} {s:#?}"),
            "<redacted> <redacted> <redacted>"
        );
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn a_whole_value_naming_a_variable_reads_the_environment() {
        let env = |n: &str| (n == "FWD_KEY").then(|| "from-env".to_owned());
        assert_eq!(from_written("${FWD_KEY}".into(), env).unwrap().expose(), "from-env");
        let err = from_written("${MISSING}".into(), env).unwrap_err();
        assert_eq!(err, "environment variable MISSING (named by `${MISSING}`) is not set");
        // Anything else is the secret itself.
        for literal in ["x${FWD_KEY}", "${FWD_KEY}x", "${}", "${A B}", "plain"] {
            assert_eq!(from_written(literal.into(), env).unwrap().expose(), literal);
        }
    }

    #[test]
    fn reads_from_a_config_string() {
        #[derive(Deserialize, Debug)]
        struct C {
            key: Secret,
        }
        let c: C = toml::from_str("key = \"s3cr3t\"").unwrap();
        assert_eq!(c.key.expose(), "s3cr3t");
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
