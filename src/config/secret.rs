//! A configuration value that must never appear in logs, `/metrics`, `/health` or `firelane
//! validate` output: shared keys, passwords.
//!
//! Invariant: the only way to read the value is `expose()`, called where the secret is used
//! (digests, handshakes); `Debug` and `Display` print `<redacted>`.

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
        String::deserialize(d).map(Secret)
    }
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
