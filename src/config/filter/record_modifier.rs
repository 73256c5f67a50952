//! `name = "record_modifier"`: the filter's options and how they build it.

use serde::Deserialize;

use super::StringList;
use crate::config::common::entry_options;
use crate::filter::record_modifier::RecordModifier;

entry_options! {
    /// `name = "record_modifier"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RecordModifierConfig ["record_modifier"] {
        /// `KEY VALUE` pairs appended to every record (a key the record has keeps its value).
        #[serde(default)]
        pub record: StringList,
        /// Keys removed from every record.
        #[serde(default)]
        pub remove_key: StringList,
        /// Only these keys are kept (Fluent Bit's `Allowlist_key`).
        #[serde(default)]
        pub allowlist_key: StringList,
        /// The older name of `allowlist_key`.
        #[serde(default)]
        pub whitelist_key: StringList,
        /// A key that gets a random UUID (version 4) in every record.
        pub uuid_key: Option<String>,
    }
}

impl RecordModifierConfig {
    pub fn build(&self) -> Result<RecordModifier, String> {
        self.build_with(|name| std::env::var(name).ok())
    }

    /// `env` resolves the `${NAME}` references in `record` values.
    pub fn build_with(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<RecordModifier, String> {
        let mut allow = self.allowlist_key.0.clone();
        allow.extend(self.whitelist_key.0.iter().cloned());
        let records = self
            .record
            .0
            .iter()
            .map(|r| expand_env(r, &env))
            .collect::<Result<Vec<_>, _>>()?;
        RecordModifier::new(
            &records,
            &self.remove_key.0,
            &allow,
            self.uuid_key.as_deref(),
        )
        .map_err(|e| e.to_string())
    }
}

/// Replaces each `${NAME}` in `text` with the variable's value; an unset variable is an error
/// naming it (Fluent Bit would silently write an empty value).
pub fn expand_env(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`{text}`: `${{` without a closing `}}`"));
        };
        let name = &after[..end];
        match env(name) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(format!(
                    "`{text}`: environment variable `{name}` is not set"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_are_expanded_and_unset_ones_named() {
        let env = |n: &str| (n == "HOSTNAME").then(|| "web-1".to_owned());
        assert_eq!(expand_env("host ${HOSTNAME}", env).unwrap(), "host web-1");
        assert_eq!(
            expand_env("a ${HOSTNAME}-${HOSTNAME} b", env).unwrap(),
            "a web-1-web-1 b"
        );
        assert_eq!(expand_env("plain $x", env).unwrap(), "plain $x");
        assert_eq!(
            expand_env("k ${NOPE}", env).unwrap_err(),
            "`k ${NOPE}`: environment variable `NOPE` is not set"
        );
        assert!(expand_env("k ${OPEN", env).is_err());
        let cfg = RecordModifierConfig {
            record: StringList(vec!["host ${HOSTNAME}".to_owned()]),
            ..Default::default()
        };
        assert!(cfg.build_with(env).is_ok());
    }
}
