//! A key written more than once in one section, read as Fluent Bit reads it.
//!
//! Fluent Bit has three rules (checked in its source and with its binary):
//! - Keys that take several values (`FLB_CONFIG_MAP_MULT` in the plugin's config map: grep's
//!   `Regex`, record_modifier's `Record`, modify's rules, ...) and `[SERVICE] Parsers_File` keep
//!   every value, in order.
//! - The properties every instance has (`Match`, `Tag`, `Alias`, `Port`, `tls.*`, ...: set by
//!   `flb_input_set_property`, `flb_filter_set_property`, `flb_output_set_property`) and every
//!   `[SERVICE]` key (`flb_config_set_property`) take the last value; Fluent Bit warns
//!   "property 'match' is already specified ... Overwriting". ECS relies on this: it writes its
//!   own `Match` after the options a user gave an output.
//! - A plugin's own single-valued key is an error ("configuration property 'format' is set 2
//!   times", `flb_config_map_properties_check` in src/flb_config_map.c). The Go `cloudwatch`
//!   plugin has no config map: it reads the first value (`flb_kv_get_key_value`).
//!
//! Keys firelane ignores or refuses anyway are left to their rule, one message per line.

use super::doc::{Findings, Section, SectionKind};
use super::keys::{self, KeyRule};

/// What a repeated key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Every value is kept, in order.
    List,
    /// The last value replaces the earlier ones, with a warning.
    LastWins,
    /// The first value is used, later ones ignored with a warning.
    FirstWins,
    /// An error: the key takes one value.
    Refused,
}

/// Instance properties of every input (src/flb_input.c, flb_input_set_property).
const INPUT_CORE: [&str; 13] = [
    "tag",
    "log_level",
    "log_suppress_interval",
    "routable",
    "alias",
    "mem_buf_limit",
    "listen",
    "host",
    "port",
    "ipv6",
    "tls",
    "storage.type",
    "threaded",
];
/// Instance properties of every filter (src/flb_filter.c, flb_filter_set_property).
const FILTER_CORE: [&str; 5] = [
    "match",
    "match_regex",
    "alias",
    "log_level",
    "log_suppress_interval",
];
/// Instance properties of every output (src/flb_output.c, flb_output_set_property).
const OUTPUT_CORE: [&str; 12] = [
    "match",
    "match_regex",
    "alias",
    "log_level",
    "log_suppress_interval",
    "host",
    "port",
    "ipv6",
    "retry_limit",
    "tls",
    "storage.total_limit_size",
    "workers",
];

/// What `key` (lower-case) of a `kind` section of `plugin` does when repeated.
pub fn repeat_rule(kind: SectionKind, plugin: &str, key: &str) -> Repeat {
    let tls = key.starts_with("tls.");
    match kind {
        SectionKind::Service if key == "parsers_file" => Repeat::List,
        SectionKind::Service => Repeat::LastWins,
        // Not changed here: the parser readers take what they take.
        SectionKind::Parser | SectionKind::MultilineParser => Repeat::List,
        _ if key == "name" || multi_valued(plugin, key) => Repeat::List,
        SectionKind::Input if tls || INPUT_CORE.contains(&key) => Repeat::LastWins,
        SectionKind::Filter if FILTER_CORE.contains(&key) => Repeat::LastWins,
        SectionKind::Output if tls || OUTPUT_CORE.contains(&key) => Repeat::LastWins,
        SectionKind::Output if plugin == "cloudwatch" => Repeat::FirstWins,
        _ => Repeat::Refused,
    }
}

/// The keys marked `FLB_CONFIG_MAP_MULT` in the config maps of the plugins firelane has.
fn multi_valued(plugin: &str, key: &str) -> bool {
    match plugin {
        "forward" => matches!(key, "security.users" | "add_option"),
        "grep" => matches!(key, "regex" | "exclude"),
        // Every modify key but these is a rule (`Set`, `Rename`, ...) or `Condition`.
        "modify" => !FILTER_CORE.contains(&key),
        "record_modifier" => {
            matches!(
                key,
                "record" | "remove_key" | "allowlist_key" | "whitelist_key"
            )
        }
        "nest" => key == "wildcard",
        "parser" => key == "parser",
        "rewrite_tag" => key == "rule",
        "ecs" => key == "add",
        "multiline" => key == "multiline.parser",
        _ => false,
    }
}

/// Which of `section`'s entries are read: a repeated key keeps every entry, its last or its
/// first, as [`repeat_rule`] says; warnings and errors go to `findings`.
pub fn kept(section: &Section, plugin: &str, findings: &mut Findings) -> Vec<bool> {
    let entries = &section.entries;
    let mut keep = vec![true; entries.len()];
    for (i, entry) in entries.iter().enumerate() {
        let earlier: Vec<usize> = (0..i).filter(|&j| entries[j].key == entry.key).collect();
        let Some(&previous) = earlier.last() else {
            continue;
        };
        if matches!(
            keys::rule(section.kind, plugin, entry),
            KeyRule::Skip | KeyRule::Ignore(_) | KeyRule::Refuse(_)
        ) {
            continue;
        }
        let raw = &entry.raw_key;
        let earlier_at = &entries[previous].at;
        let before = if earlier_at.file == entry.at.file {
            format!("line {}", earlier_at.line)
        } else {
            format!("{}:{}", earlier_at.file, earlier_at.line)
        };
        match repeat_rule(section.kind, plugin, &entry.key) {
            Repeat::List => {}
            Repeat::LastWins => {
                keep[previous] = false;
                findings.warnings.push(entry.at.problem(
                    raw,
                    format!(
                        "`{raw}` is also set on {before}: the last value is used, as in Fluent Bit"
                    ),
                ));
            }
            Repeat::FirstWins => {
                keep[i] = false;
                findings.warnings.push(entry.at.problem(
                    raw,
                    format!("`{raw}` is already set on {before}: the Go cloudwatch plugin reads the first value, as in Fluent Bit; this one is ignored"),
                ));
            }
            // One error, at the second time.
            Repeat::Refused if earlier.len() == 1 => {
                keep[i] = false;
                findings.errors.push(entry.at.problem(
                    raw,
                    format!("`{raw}` is also set on {before}: it takes one value (Fluent Bit refuses a repeated `{raw}` too); keep one"),
                ));
            }
            Repeat::Refused => keep[i] = false,
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::filter::FilterConfig;
    use crate::config::fluentbit::FbFormat;
    use crate::config::fluentbit::memfs::MemFiles;
    use crate::config::model::{Config, InputConfig, OutputConfig};

    #[test]
    fn fluent_bits_three_rules() {
        use SectionKind::*;
        for (kind, plugin, key, rule) in [
            (Output, "cloudwatch_logs", "match", Repeat::LastWins),
            (Output, "s3", "tls.verify", Repeat::LastWins),
            (Output, "cloudwatch_logs", "log_group_name", Repeat::Refused),
            (Output, "cloudwatch", "log_group_name", Repeat::FirstWins),
            (Output, "cloudwatch", "match", Repeat::LastWins),
            (Input, "forward", "tag", Repeat::LastWins),
            (Input, "forward", "security.users", Repeat::List),
            (Input, "tcp", "format", Repeat::Refused),
            (Filter, "grep", "regex", Repeat::List),
            (Filter, "grep", "match", Repeat::LastWins),
            (Filter, "modify", "set", Repeat::List),
            (Filter, "modify", "alias", Repeat::LastWins),
            (Filter, "record_modifier", "record", Repeat::List),
            (Filter, "rewrite_tag", "rule", Repeat::List),
            (Filter, "ecs", "add", Repeat::List),
            (Filter, "parser", "key_name", Repeat::Refused),
            (Service, "", "flush", Repeat::LastWins),
            (Service, "", "parsers_file", Repeat::List),
        ] {
            assert_eq!(
                repeat_rule(kind, plugin, key),
                rule,
                "{kind:?} {plugin} {key}"
            );
        }
    }

    fn load(text: &str) -> Result<(Config, Vec<String>), Vec<String>> {
        let root = "/etc/fb/fluent-bit.conf";
        let fs = MemFiles::new(&[(root, text)]);
        match super::super::load(Path::new(root), FbFormat::Classic, &fs, &|_| None) {
            Ok((cfg, w)) => Ok((cfg, w.iter().map(ToString::to_string).collect())),
            Err(e) => Err(e.problems.iter().map(ToString::to_string).collect()),
        }
    }

    #[test]
    fn the_match_ecs_writes_after_the_users_options_wins_with_a_warning() {
        let (cfg, warnings) = load(
            "[INPUT]\n    Name forward\n    Tag a\n    Tag app\n[OUTPUT]\n    Name cloudwatch_logs\n    Match *\n    region us-east-1\n    log_group_name g\n    log_stream_prefix p\n    Match app-firelens*\n",
        )
        .unwrap();
        assert_eq!(cfg.outputs[0].match_rules().0, Some("app-firelens*"));
        let InputConfig::Forward(f) = &cfg.inputs[0] else {
            panic!("{:?}", cfg.inputs[0]);
        };
        assert_eq!(f.tag.as_deref(), Some("app"));
        assert_eq!(
            warnings,
            [
                "/etc/fb/fluent-bit.conf:4: Tag: `Tag` is also set on line 3: the last value is used, as in Fluent Bit",
                "/etc/fb/fluent-bit.conf:11: Match: `Match` is also set on line 7: the last value is used, as in Fluent Bit",
            ]
        );
    }

    #[test]
    fn a_plugins_own_key_repeated_is_an_error_and_go_cloudwatch_reads_the_first() {
        let errors = load(
            "[INPUT]\n    Name forward\n[OUTPUT]\n    Name stdout\n    Match *\n    Format json_lines\n    Format json\n    Format msgpack\n",
        )
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "/etc/fb/fluent-bit.conf:7: Format: `Format` is also set on line 6: it takes one value (Fluent Bit refuses a repeated `Format` too); keep one"
            ]
        );
        let (cfg, warnings) = load(
            "[INPUT]\n    Name forward\n[OUTPUT]\n    Name cloudwatch\n    Match *\n    region us-east-1\n    log_group_name first\n    log_stream_name s\n    log_group_name second\n",
        )
        .unwrap();
        let OutputConfig::CloudwatchLogs(cw) = &cfg.outputs[0] else {
            panic!("{:?}", cfg.outputs[0]);
        };
        assert_eq!(cw.log_group_name.as_deref(), Some("first"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains(":9: log_group_name: `log_group_name` is already set on line 7"),
            "{warnings:?}"
        );
    }

    #[test]
    fn service_keys_take_the_last_value_and_lists_keep_every_value() {
        let (cfg, warnings) = load(
            "[SERVICE]\n    Grace 5\n    Grace 7\n[INPUT]\n    Name forward\n[FILTER]\n    Name grep\n    Match *\n    Regex log a\n    Regex log b\n[OUTPUT]\n    Name null\n    Match *\n",
        )
        .unwrap();
        assert_eq!(cfg.service.grace.0.as_secs(), 7);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let FilterConfig::Grep(g) = &cfg.filters[0] else {
            panic!("{:?}", cfg.filters[0]);
        };
        assert_eq!(g.regex.0, ["log a", "log b"]);
    }

    #[test]
    fn a_service_key_repeated_in_another_service_section_takes_the_last_value() {
        let root = "/etc/fb/fluent-bit.conf";
        let fs = MemFiles::new(&[
            (
                root,
                "[SERVICE]\n    HTTP_Port 2021\n@INCLUDE extra.conf\n[INPUT]\n    Name forward\n[OUTPUT]\n    Name null\n    Match *\n",
            ),
            (
                "/etc/fb/extra.conf",
                "[SERVICE]\n    HTTP_Port 2022\n    Grace 30\n",
            ),
        ]);
        let (cfg, warnings) =
            super::super::load(Path::new(root), FbFormat::Classic, &fs, &|_| None).unwrap();
        assert_eq!(cfg.service.http_port, 2022);
        assert_eq!(cfg.service.grace.0.as_secs(), 30);
        let warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "/etc/fb/extra.conf:2: HTTP_Port: `HTTP_Port` is also set on /etc/fb/fluent-bit.conf:2: the last value is used, as in Fluent Bit"
            ]
        );
    }
}
