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

use serde::de::{self, Visitor};
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
        d.deserialize_string(SecretVisitor)
    }
}

/// Reads a string; any other scalar is refused without repeating it (serde's own message would
/// quote `key = 12345`).
struct SecretVisitor;

const NOT_A_STRING: &str =
    "expected a string in quotes (the value is not repeated here: it is a secret)";

impl Visitor<'_> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
        from_written(v, |name| std::env::var(name).ok()).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }
}

/// The secret a config value stands for: the value itself, or the variable `${NAME}` names.
pub fn from_written(
    written: String,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Secret, String> {
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
        assert_eq!(
            from_written("${FWD_KEY}".into(), env).unwrap().expose(),
            "from-env"
        );
        let err = from_written("${MISSING}".into(), env).unwrap_err();
        assert_eq!(
            err,
            "environment variable MISSING (named by `${MISSING}`) is not set"
        );
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

    #[test]
    fn a_value_of_the_wrong_type_is_refused_without_being_repeated() {
        #[derive(Deserialize, Debug)]
        struct C {
            #[allow(dead_code)]
            key: Secret,
        }
        // The loader reports `message()`, not the TOML snippet `Display` adds.
        for text in ["key = 8675309", "key = 86753.09", "key = true"] {
            let e = toml::from_str::<C>(text).unwrap_err().message().to_owned();
            assert!(e.contains("expected a string in quotes"), "{e}");
            assert!(!e.contains("8675309") && !e.contains("86753.09"), "{e}");
        }
    }
}
