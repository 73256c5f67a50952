//! `name = "cloudwatch_logs"` (or `cloudwatch`, the older FireLens plugin): its options and checks.
//!
//! Option names are Fluent Bit's `cloudwatch_logs` ones so FireLens users can carry them over.

use serde::Deserialize;

use crate::config::common::{AwsEntry, Check, entry_options};
use crate::config::errors::Issue;
use crate::config::spans::KeyPath;
use crate::config::units::RetryLimit;
use crate::config::units::{DurationValue, Flag};
use crate::template::log_name::NameTemplate;

/// Retention periods CloudWatch Logs accepts (PutRetentionPolicy), in days.
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// Log group classes CreateLogGroup accepts.
pub const LOG_GROUP_CLASSES: [&str; 2] = ["STANDARD", "INFREQUENT_ACCESS"];
/// Most concurrent PutLogEvents requests one output may have (the account quota is ~5,000 TPS).
pub const MAX_WORKERS: usize = 64;

/// Message format header sent with PutLogEvents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum LogFormat {
    /// Plain events (no header).
    #[default]
    #[serde(rename = "json")]
    Json,
    /// Embedded Metric Format: `x-amzn-logs-format: json/emf`, CloudWatch extracts metrics.
    #[serde(rename = "json/emf")]
    JsonEmf,
}

entry_options! {
    /// `name = "cloudwatch_logs"`.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CloudWatchOutputConfig ["cloudwatch_logs", aws "CLOUDWATCH_LOGS"] {
        /// Log group of every event, and the fallback when `log_group_template` cannot be rendered. Required.
        pub log_group_name: Option<String>,
        /// Group name from the record and tag: `$TAG`, `$TAG[n]`, `$key`, `$key['nested']`.
        pub log_group_template: Option<String>,
        /// Stream of every event. Set this or `log_stream_prefix`.
        pub log_stream_name: Option<String>,
        /// Stream = prefix + tag (the usual FireLens form: `app/` gives `app/<container>-firelens-<task>`).
        pub log_stream_prefix: Option<String>,
        /// Stream name from the record and tag; falls back to `log_stream_name` / prefix + tag.
        pub log_stream_template: Option<String>,
        /// Send only this key's value as the message (strings raw). Default: the whole record as JSON.
        pub log_key: Option<String>,
        /// `json` (default) or `json/emf` (sends `x-amzn-logs-format: json/emf`).
        #[serde(default)]
        pub log_format: LogFormat,
        /// Create the log group when it does not exist (default false). Streams are always created.
        #[serde(default)]
        pub auto_create_group: Flag,
        /// Retention set on groups this output creates, in days (one of CloudWatch's allowed values).
        pub log_retention_days: Option<u32>,
        /// Class of groups this output creates: `STANDARD` or `INFREQUENT_ACCESS`.
        pub log_group_class: Option<String>,
        /// PutLogEvents requests in flight at once, across and within streams (default 4).
        #[serde(default = "default_workers")]
        pub workers: usize,
        /// Retries of a failed request: a number, `no_limits` (default: never give up, so nothing is
        /// lost; inputs are slowed instead) or `no_retries`.
        #[serde(default = "default_retry_limit")]
        pub retry_limit: RetryLimit,
        /// How long an event may wait for its batch to fill (default: `service.flush`).
        pub flush: Option<DurationValue>,
    }
}

fn default_workers() -> usize {
    4
}

fn default_retry_limit() -> RetryLimit {
    RetryLimit::Unlimited
}

/// Checks what types cannot: required names, one stream naming, allowed values, templates.
pub(crate) fn check(c: &CloudWatchOutputConfig, path: &KeyPath, issues: &mut Vec<Issue>) {
    match c.log_group_name.as_deref() {
        None => issues.push(Issue::new(
            path.key("log_group_name"),
            "required: the log group (also the fallback of log_group_template)",
        )),
        Some(name) => {
            if let Err(e) = check_group_name(name) {
                issues.push(Issue::new(path.key("log_group_name"), e));
            }
        }
    }
    match (&c.log_stream_name, &c.log_stream_prefix) {
        (Some(_), Some(_)) => issues.push(Issue::new(
            path.key("log_stream_prefix"),
            "set either log_stream_name or log_stream_prefix, not both",
        )),
        (None, None) => issues.push(Issue::new(
            path.clone(),
            "set log_stream_name or log_stream_prefix (stream = prefix + tag)",
        )),
        (Some(name), None) => {
            if let Err(e) = check_stream_name(name) {
                issues.push(Issue::new(path.key("log_stream_name"), e));
            }
        }
        _ => {}
    }
    for (key, template) in [
        ("log_group_template", &c.log_group_template),
        ("log_stream_template", &c.log_stream_template),
    ] {
        if let Some(t) = template
            && let Err(e) = NameTemplate::parse(t)
        {
            issues.push(Issue::new(
                path.key(key),
                format!("invalid template `{t}`: {e}"),
            ));
        }
    }
    if let Some(days) = c.log_retention_days
        && !RETENTION_DAYS.contains(&days)
    {
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(u32::to_string).collect();
        issues.push(Issue::new(
            path.key("log_retention_days"),
            format!(
                "{days} is not a retention CloudWatch accepts: use one of {}",
                allowed.join(", ")
            ),
        ));
    }
    if let Some(class) = &c.log_group_class
        && !LOG_GROUP_CLASSES.contains(&class.as_str())
    {
        issues.push(Issue::new(
            path.key("log_group_class"),
            format!("`{class}`: use {}", LOG_GROUP_CLASSES.join(" or ")),
        ));
    }
    if c.workers == 0 || c.workers > MAX_WORKERS {
        issues.push(Issue::new(
            path.key("workers"),
            format!("must be between 1 and {MAX_WORKERS}"),
        ));
    }
    if c.flush.is_some_and(|f| f.0.is_zero()) {
        issues.push(Issue::new(path.key("flush"), "must be more than 0"));
    }
    crate::config::common::check_aws(c.aws_auth(), path, issues);
}

/// CloudWatch's rule for group names: 1-512 characters of `[.-_/#A-Za-z0-9]`.
fn check_group_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 512 {
        return Err("must be 1 to 512 characters".to_owned());
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#')))
    {
        Some(c) => Err(format!(
            "`{name}`: CloudWatch log group names cannot contain `{c}` (allowed: letters, digits, . - _ / #)"
        )),
        None => Ok(()),
    }
}

/// CloudWatch's rule for stream names: 1-512 characters, no `:` or `*`.
fn check_stream_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 512 {
        return Err("must be 1 to 512 characters".to_owned());
    }
    if name.contains([':', '*']) {
        return Err(format!(
            "`{name}`: CloudWatch log stream names cannot contain `:` or `*`"
        ));
    }
    Ok(())
}

impl Check for CloudWatchOutputConfig {
    fn check(&self, path: &KeyPath, issues: &mut Vec<Issue>) {
        check(self, path, issues);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cloudwatchs_rules() {
        assert!(check_group_name("/ecs/my-service_1.#x").is_ok());
        assert!(check_group_name("/ecs/my service").is_err());
        assert!(check_group_name("").is_err());
        assert!(check_group_name(&"a".repeat(513)).is_err());
        assert!(check_stream_name("app/web-firelens-1").is_ok());
        assert!(check_stream_name("a:b").is_err());
        assert!(check_stream_name("a*").is_err());
    }
}
