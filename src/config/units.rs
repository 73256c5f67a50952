//! Value types with units, readable from TOML numbers or Fluent Bit-style strings.
//!
//! Sizes: a bare number is bytes; `K`/`M`/`G` (optionally followed by `B`) are decimal (x1000) as in
//! Fluent Bit; `KiB`/`MiB`/`GiB` are binary. Durations: a bare number is seconds; suffixes `ms`, `s`,
//! `m`, `h`, `d`, combined as in `1m30s`. Booleans in strings: true/on/yes, false/off/no (Fluent
//! Bit's words). These are the TOML format's rules; how each key of a Fluent Bit file is read is
//! `fluentbit/values.rs`.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

pub use crate::time::parse_duration;

/// A size in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

pub use crate::memory::sizing::MemoryLimit;

/// Parses `auto`, `none` or a size.
pub fn parse_memory_limit(s: &str) -> Result<MemoryLimit, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(MemoryLimit::Auto),
        "none" | "off" | "unlimited" => Ok(MemoryLimit::Unbounded),
        _ => match parse_size(s)? {
            0 => Err(format!(
                "`{s}`: a memory limit of 0 admits nothing (use `none` for no limit)"
            )),
            n => Ok(MemoryLimit::Bytes(n)),
        },
    }
}

/// A duration given in seconds or with a unit suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DurationValue(pub Duration);

/// A boolean that also accepts Fluent Bit's words (`on`, `off`, `yes`, `no`) as strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag(pub bool);

impl ByteSize {
    pub const fn mib(n: u64) -> Self {
        Self(n * 1024 * 1024)
    }
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

/// Parses `"32MiB"`, `"5M"`, `"6144000"` into bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (examples: 6144000, 5M, 32MiB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{s}` (use K, M, G, KiB, MiB, GiB)"
            ));
        }
    };
    Ok((n * mult).round() as u64)
}

/// Parses Fluent Bit's boolean words.
pub fn parse_flag(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" => Ok(true),
        "false" | "off" | "no" => Ok(false),
        _ => Err(format!(
            "`{s}` is not a boolean (true/false, on/off, yes/no)"
        )),
    }
}

struct UnitVisitor<F>(&'static str, F);

impl<'de, T, F: Fn(&str) -> Result<T, String>> Visitor<'de> for UnitVisitor<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.1)(v).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.1)(&v.to_string()).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        if v < 0 {
            return Err(E::custom(format!("{v} must not be negative")));
        }
        (self.1)(&v.to_string()).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        if v < 0.0 || !v.is_finite() {
            return Err(E::custom(format!("{v} must be a non-negative number")));
        }
        (self.1)(&v.to_string()).map_err(E::custom)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        (self.1)(if v { "true" } else { "false" }).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor(
            "a size such as 6144000, \"5M\" or \"32MiB\"",
            |s: &str| parse_size(s).map(ByteSize),
        ))
    }
}

impl<'de> Deserialize<'de> for MemoryLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor(
            "`auto`, `none` or a size such as \"64MiB\"",
            parse_memory_limit,
        ))
    }
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor(
            "a duration such as 25, \"25s\" or \"500ms\"",
            |s: &str| parse_duration(s).map(DurationValue),
        ))
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor(
            "a boolean (true/false, on/off, yes/no)",
            |s: &str| parse_flag(s).map(Flag),
        ))
    }
}

/// How many times a failed request is retried: `retry_limit` = a number, or `no_limits`/`false`/"no_retries"...
/// Words are matched case-insensitively, as Fluent Bit does (`Retry_Limit False`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryLimit {
    Limited(u32),
    Unlimited,
}

impl RetryLimit {
    /// true when `retries_done` more retries are still allowed
    /// (i.e. after `retries_done` retries, one more may be made).
    pub fn allows(self, retries_done: u32) -> bool {
        match self {
            Self::Limited(limit) => retries_done < limit,
            Self::Unlimited => true,
        }
    }
}

impl<'de> serde::Deserialize<'de> for RetryLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RetryLimitVisitor)
    }
}

struct RetryLimitVisitor;

impl Visitor<'_> for RetryLimitVisitor {
    type Value = RetryLimit;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a number of retries, "no_limits", false or "no_retries""#)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RetryLimit, E> {
        if v {
            Err(E::invalid_value(de::Unexpected::Bool(true), &self))
        } else {
            Ok(RetryLimit::Unlimited)
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RetryLimit, E> {
        u32::try_from(v)
            .map(RetryLimit::Limited)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RetryLimit, E> {
        u32::try_from(v)
            .map(RetryLimit::Limited)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RetryLimit, E> {
        let word = v.trim();
        if word.eq_ignore_ascii_case("no_limits") || word.eq_ignore_ascii_case("false") {
            Ok(RetryLimit::Unlimited)
        } else if word.eq_ignore_ascii_case("no_retries") {
            Ok(RetryLimit::Limited(0))
        } else {
            word.parse()
                .map(RetryLimit::Limited)
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_fluent_bit_decimal_units_and_binary_suffixes() {
        assert_eq!(parse_size("6144000"), Ok(6_144_000));
        assert_eq!(parse_size("5M"), Ok(5_000_000));
        assert_eq!(parse_size("25MB"), Ok(25_000_000));
        assert_eq!(parse_size("32MiB"), Ok(32 * 1024 * 1024));
        assert_eq!(parse_size("1.5K"), Ok(1500));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn durations_accept_units_and_bare_seconds() {
        assert_eq!(parse_duration("25"), Ok(Duration::from_secs(25)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn compound_durations_add_their_parts() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d2h"), Ok(Duration::from_secs(93_600)));
        assert_eq!(parse_duration("2s500ms"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("10M"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("1m30").unwrap_err().contains("needs a unit"));
        assert!(
            parse_duration("1m30x")
                .unwrap_err()
                .contains("unknown duration unit `x`")
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn flags_accept_fluent_bit_words() {
        assert_eq!(parse_flag("On"), Ok(true));
        assert_eq!(parse_flag("no"), Ok(false));
        assert!(parse_flag("maybe").is_err());
    }
}
