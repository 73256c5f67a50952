//! Deserializing one config table into its struct while collecting every problem of that table:
//! each unknown key (with a suggestion) and each bad value, rather than serde's first error.
//!
//! Unknown keys are found from the struct's field list, read by asking the type to deserialize
//! itself from a probe that records the `fields` serde derive passes. Bad values are found by
//! deserializing each key alone: every model field has a default, so a one-key table is complete.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

use super::errors::Issue;
use super::spans::KeyPath;

/// Deserializes `table` into `T`, pushing one issue per unknown key or bad value under `path`.
/// Returns `None` when a value was bad. When only unknown keys were found, returns `T` built from
/// the other keys so that semantic checks still run on it (the load fails anyway).
pub fn deserialize_table<T: DeserializeOwned>(
    table: &toml::Table,
    path: &KeyPath,
    issues: &mut Vec<Issue>,
) -> Option<T> {
    let fields = struct_fields::<T>();
    // If `T` ever gains a required field, a one-key table fails for that reason alone; such an
    // error is the same as the empty table's and is not blamed on the key.
    let baseline_error = from_table::<T>(toml::Table::new()).err();
    let mut bad_value = false;
    let mut known = toml::Table::new();
    for (key, value) in table {
        if let Some(fields) = fields
            && !fields.contains(&key.as_str())
        {
            issues.push(Issue::new(path.key(key), unknown_key_message(key, fields)));
            continue;
        }
        let single = toml::Table::from_iter([(key.clone(), value.clone())]);
        let mut value = value.clone();
        if let Err(message) = from_table::<T>(single)
            && baseline_error.as_ref() != Some(&message)
        {
            match retyped::<T>(key, &value) {
                Some(v) => value = v,
                None => {
                    issues.push(Issue::new(path.key(key), repeated_message(&value, message)));
                    bad_value = true;
                }
            }
        }
        known.insert(key.clone(), value);
    }
    if bad_value {
        return None;
    }
    match from_table::<T>(known) {
        Ok(v) => Some(v),
        Err(message) => {
            issues.push(Issue::new(path.clone(), message));
            None
        }
    }
}

/// A string the field refused, read as the number or boolean it spells, if the field takes that:
/// Fluent Bit formats have only strings (`Port 24224`, `Time_Keep On`).
fn retyped<T: DeserializeOwned>(key: &str, value: &toml::Value) -> Option<toml::Value> {
    let toml::Value::String(s) = value else {
        return None;
    };
    let t = s.trim();
    let candidates = [
        t.parse::<i64>().ok().map(toml::Value::Integer),
        t.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(toml::Value::Float),
        super::units::parse_flag(t).ok().map(toml::Value::Boolean),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|v| from_table::<T>(toml::Table::from_iter([(key.to_owned(), v.clone())])).is_ok())
}

/// A key given several times (a list) where one value is expected says so.
fn repeated_message(value: &toml::Value, message: String) -> String {
    match value {
        toml::Value::Array(items) if items.len() > 1 && message.contains("sequence") => {
            format!("given {} times; it takes one value", items.len())
        }
        _ => message,
    }
}

fn from_table<T: DeserializeOwned>(table: toml::Table) -> Result<T, String> {
    T::deserialize(toml::Value::Table(table)).map_err(|e| e.message().trim().replace('\n', "; "))
}

/// "unknown key `prot` (did you mean `port`?); known keys: alias, listen, port".
pub fn unknown_key_message(key: &str, known: &[&str]) -> String {
    let mut msg = format!("unknown key `{key}`");
    if let Some(close) = closest(key, known) {
        msg.push_str(&format!(" (did you mean `{close}`?)"));
    }
    msg.push_str("; known keys: ");
    msg.push_str(&known.join(", "));
    msg
}

/// The known name within edit distance 2 of `key`, if any (the nearest).
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Field names of a struct with a derived `Deserialize`; `None` for other shapes.
pub fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = T::deserialize(FieldProbe(&mut fields));
    fields
}

struct FieldProbe<'a>(&'a mut Option<&'static [&'static str]>);

#[derive(Debug)]
struct ProbeDone;

impl fmt::Display for ProbeDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field probe")
    }
}

impl std::error::Error for ProbeDone {}

impl de::Error for ProbeDone {
    fn custom<M: fmt::Display>(_: M) -> Self {
        ProbeDone
    }
}

impl<'de> Deserializer<'de> for FieldProbe<'_> {
    type Error = ProbeDone;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeDone> {
        Err(ProbeDone)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ProbeDone> {
        *self.0 = Some(fields);
        Err(ProbeDone)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{ForwardInputConfig, ServiceConfig};

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn field_probe_reads_the_struct_field_list() {
        let fields = struct_fields::<ServiceConfig>().unwrap();
        assert!(fields.contains(&"log_level") && fields.contains(&"hc_period"));
        assert_eq!(struct_fields::<String>(), None);
    }

    #[test]
    fn every_unknown_key_and_bad_value_is_reported_with_its_key() {
        let mut issues = Vec::new();
        let t =
            table("prot = 1\nport = \"x\"\nmem_buf_limit = \"12 parsecs\"\nlisten = \"0.0.0.0\"");
        let got =
            deserialize_table::<ForwardInputConfig>(&t, &KeyPath::root().key("in"), &mut issues);
        assert!(got.is_none(), "bad values leave nothing to check further");
        let keys: Vec<String> = issues.iter().map(|i| i.path.to_string()).collect();
        assert_eq!(keys, ["in.mem_buf_limit", "in.port", "in.prot"]);
        assert!(
            issues[2].message.contains("did you mean `port`?"),
            "{}",
            issues[2].message
        );
        assert!(
            issues[0].message.contains("parsecs"),
            "{}",
            issues[0].message
        );
    }

    #[test]
    fn with_only_unknown_keys_the_rest_is_still_returned_for_checks() {
        let mut issues = Vec::new();
        let t = table("prot = 1\nport = 7");
        let got: Option<ForwardInputConfig> = deserialize_table(&t, &KeyPath::root(), &mut issues);
        assert_eq!(got.map(|c| c.port), Some(Some(7)));
        assert_eq!(issues.len(), 1);
    }

    #[test]
    fn a_clean_table_deserializes() {
        let mut issues = Vec::new();
        let t = table("port = 24225\nmem_buf_limit = \"8MiB\"");
        let got: ForwardInputConfig = deserialize_table(&t, &KeyPath::root(), &mut issues).unwrap();
        assert_eq!(got.port, Some(24225));
        assert!(issues.is_empty());
    }

    #[test]
    fn strings_are_read_as_the_numbers_and_booleans_they_spell() {
        let mut issues = Vec::new();
        let t = table("port = \"24224\"\nmax_connections = \" 12 \"\nlisten = \"1\"");
        let got: ForwardInputConfig = deserialize_table(&t, &KeyPath::root(), &mut issues).unwrap();
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(got.port, Some(24224));
        assert_eq!(got.max_connections, 12);
        assert_eq!(
            got.listen.as_deref(),
            Some("1"),
            "a string field keeps the string"
        );
        let t = table("port = \"x24224\"\nhttp_server = \"On\"");
        let _: Option<ForwardInputConfig> = deserialize_table(&t, &KeyPath::root(), &mut issues);
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert!(issues[1].message.contains("x24224"), "{issues:?}");
    }

    #[test]
    fn a_single_value_key_given_twice_says_so() {
        let mut issues = Vec::new();
        let t = table("port = [\"1\", \"2\"]");
        let got: Option<ForwardInputConfig> = deserialize_table(&t, &KeyPath::root(), &mut issues);
        assert!(got.is_none());
        assert_eq!(issues[0].message, "given 2 times; it takes one value");
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(closest("prot", &["port", "listen"]), Some("port"));
        assert_eq!(closest("colour", &["port", "listen"]), None);
    }
}
