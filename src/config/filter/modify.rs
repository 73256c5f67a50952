//! `name = "modify"`: the filter's options and how they build it.

use serde::Deserialize;

use super::StringList;
use crate::config::common::entry_options;
use crate::filter::modify::Modify;

entry_options! {
    /// `name = "modify"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ModifyConfig ["modify"] {
        /// Rules applied in order, each as Fluent Bit writes it: `Set KEY VALUE`, `Add KEY VALUE`,
        /// `Remove KEY`, `Remove_wildcard PREFIX`, `Remove_regex REGEX`, `Rename KEY NEW`,
        /// `Hard_rename KEY NEW`, `Copy KEY NEW`, `Hard_copy KEY NEW`.
        #[serde(default)]
        pub rules: StringList,
        /// Conditions that must all hold for the rules to apply: `Key_exists KEY`,
        /// `Key_does_not_exist KEY`, `A_key_matches REGEX`, `No_key_matches REGEX`,
        /// `Key_value_equals KEY VALUE`, `Key_value_does_not_equal KEY VALUE`,
        /// `Key_value_matches KEY REGEX`, `Key_value_does_not_match KEY REGEX`,
        /// `Matching_keys_have_matching_values KEY_REGEX VALUE_REGEX`,
        /// `Matching_keys_do_not_have_matching_values KEY_REGEX VALUE_REGEX`.
        #[serde(default)]
        pub condition: StringList,
    }
}

impl ModifyConfig {
    pub fn build(&self) -> Result<Modify, String> {
        let rules: Vec<(&str, &str)> = self
            .rules
            .0
            .iter()
            .map(|r| {
                let r = r.trim();
                r.split_once(char::is_whitespace)
                    .map_or((r, ""), |(name, args)| (name, args.trim_start()))
            })
            .collect();
        if rules.is_empty() {
            return Err("no rules: set `rules`, e.g. [\"Set key value\"]".to_owned());
        }
        Modify::from_config(&rules, &self.condition.0).map_err(|e| e.to_string())
    }
}
