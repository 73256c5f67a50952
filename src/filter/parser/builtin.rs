//! The parsers users expect without writing them: Fluent Bit's stock `parsers.conf` entries for
//! `docker`, `json`, `apache`, `apache2`, `apache_error`, `nginx`, `syslog-rfc5424`,
//! `syslog-rfc3164`, plus `logfmt`, written in Rust `regex` syntax from the log formats.
//!
//! Invariants: every entry compiles (tested); names and field names match Fluent Bit's so configs
//! and dashboards carry over.

use super::ParserDef;

/// Names of the built-in parsers, in the order [`builtin`] knows them.
pub const BUILTIN_PARSERS: [&str; 9] = [
    "docker",
    "json",
    "apache",
    "apache2",
    "apache_error",
    "nginx",
    "syslog-rfc5424",
    "syslog-rfc3164",
    "logfmt",
];

const APACHE_TIME: &str = "%d/%b/%Y:%H:%M:%S %z";

const APACHE: &str = r#"^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>[^"]*?)(?: +\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^"]*)" "(?<agent>[^"]*)")?$"#;

const APACHE2: &str = r#"^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>[^ ]*) +\S*)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^"]*)" "(?<agent>.*)")?$"#;

const APACHE_ERROR: &str = r"^\[[^ ]* (?<time>[^\]]*)\] \[(?<level>[^\]]*)\](?: \[pid (?<pid>[^\]]*)\])?(?: \[client (?<client>[^\]]*)\])? (?<message>.*)$";

const NGINX: &str = r#"^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>[^"]*?)(?: +\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^"]*)" "(?<agent>[^"]*)")?$"#;

const SYSLOG_5424: &str = r"^<(?<pri>[0-9]{1,5})>1 (?<time>[^ ]+) (?<host>[^ ]+) (?<ident>[^ ]+) (?<pid>[-0-9]+) (?<msgid>[^ ]+) (?<extradata>(?:\[.*?\]|-)) (?<message>.+)$";

const SYSLOG_3164: &str = r"^<(?<pri>[0-9]+)>(?<time>[^ ]* {1,2}[^ ]* [^ ]*) (?<host>[^ ]*) (?<ident>[a-zA-Z0-9_/.\-]*)(?:\[(?<pid>[0-9]+)\])?(?:[^:]*:)? *(?<message>.*)$";

/// The built-in definition called `name`, if there is one.
pub fn builtin(name: &str) -> Option<ParserDef> {
    let regex = |pattern: &str, time_format: &str, time_keep: bool| ParserDef {
        regex: Some(pattern.to_owned()),
        time_key: Some("time".to_owned()),
        time_format: Some(time_format.to_owned()),
        time_keep,
        ..ParserDef::new(name, "regex")
    };
    let def = match name {
        "docker" => ParserDef {
            time_key: Some("time".to_owned()),
            time_format: Some("%Y-%m-%dT%H:%M:%S.%L".to_owned()),
            time_keep: true,
            ..ParserDef::new(name, "json")
        },
        "json" => ParserDef {
            time_key: Some("time".to_owned()),
            time_format: Some(APACHE_TIME.to_owned()),
            ..ParserDef::new(name, "json")
        },
        "apache" => regex(APACHE, APACHE_TIME, false),
        "apache2" => regex(APACHE2, APACHE_TIME, false),
        // Fluent Bit's stock entry has no time format: the time stays a string field.
        "apache_error" => ParserDef {
            regex: Some(APACHE_ERROR.to_owned()),
            ..ParserDef::new(name, "regex")
        },
        "nginx" => regex(NGINX, APACHE_TIME, false),
        "syslog-rfc5424" => regex(SYSLOG_5424, "%Y-%m-%dT%H:%M:%S.%L%z", true),
        "syslog-rfc3164" => regex(SYSLOG_3164, "%b %d %H:%M:%S", true),
        "logfmt" => ParserDef::new(name, "logfmt"),
        _ => return None,
    };
    Some(def)
}

#[cfg(test)]
#[path = "builtin_tests.rs"]
mod tests;
