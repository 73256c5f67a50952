//! The older Go `cloudwatch` plugin's name templates: `log_group_name` / `log_stream_name` may hold
//! `$(tag)`, `$(tag[n])`, `$(ecs_task_id)` or `$(field['nested'])`, with `default_log_group_name` /
//! `default_log_stream_name` (default `fluentbit-default`) used when one cannot be rendered. They
//! become firelane's `log_group_template` / `log_stream_template` with the static name as the
//! fallback, which is what the template means; left as they are they would name a stream
//! `app-$(ecs_task_id)`.
//!
//! `$(ecs_task_id)`, `$(ecs_task_arn)` and `$(ecs_cluster)` are not record fields: the Go plugin
//! reads them from the task metadata endpoint. [`resolve_ecs`] writes the values of the task
//! metadata read at start into the names, as literal text, before they are converted, and passes
//! them through the Go plugin's sanitizers (`.` for what a name cannot hold), so the names are the
//! Go plugin's. The cluster is what the Go plugin's v3 endpoint reports: the short name on EC2,
//! the ARN on Fargate.
//! Without the metadata (not on ECS, or the endpoint could not be read) they stay variables that
//! no record has, so the default names are used, as the Go plugin does off ECS.

use super::doc::{Doc, Origin, Section, SectionKind};
use super::translate::Translated;
use crate::ecs::task::TaskMetadata;

/// The Go plugin's ECS variables.
const ECS_VARIABLES: [&str; 3] = ["ecs_task_id", "ecs_task_arn", "ecs_cluster"];

/// `$(ecs_cluster)` as the Go plugin gets it from the v3 endpoint (`$ECS_CONTAINER_METADATA_URI`):
/// the short name on EC2 (v4 reports an ARN there, v3 the name), the `Cluster` as reported
/// elsewhere (an ARN on Fargate, from either endpoint).
fn go_cluster(task: &TaskMetadata) -> &str {
    match task.launch_type.as_deref() {
        Some("EC2") => task.cluster_name.as_str(),
        _ => task.cluster.as_str(),
    }
}

/// Writes the task's values for the ECS variables into every Go `cloudwatch` output's
/// `log_group_name` / `log_stream_name` (nothing without a task).
pub fn resolve_ecs(doc: &mut Doc, task: Option<&TaskMetadata>) {
    let Some(task) = task else {
        return;
    };
    let values = [
        task.task_id.as_str(),
        task.task_arn.as_str(),
        go_cluster(task),
    ];
    // A `$` would start a record accessor once converted; ECS never reports one.
    if values.iter().any(|v| v.contains('$')) {
        return;
    }
    for section in &mut doc.sections {
        let is_go_cloudwatch = section.kind == SectionKind::Output
            && section
                .get("name")
                .is_some_and(|n| n.value.eq_ignore_ascii_case("cloudwatch"));
        if !is_go_cloudwatch {
            continue;
        }
        for entry in &mut section.entries {
            let sanitize: fn(&str) -> String = match entry.key.as_str() {
                "log_group_name" => go_sanitize_group,
                "log_stream_name" => go_sanitize_stream,
                _ => continue,
            };
            for (var, value) in ECS_VARIABLES.iter().zip(values) {
                let written = format!("$({var})");
                if entry.value.contains(&written) {
                    entry.value = entry.value.replace(&written, &sanitize(value));
                }
            }
        }
    }
}

/// The Go plugin's `sanitizeGroup`: each byte other than `[A-Za-z0-9_./-]` becomes `.`.
fn go_sanitize_group(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/') {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

/// The Go plugin's `sanitizeStream`: `:` and `*` become `.`.
fn go_sanitize_stream(value: &str) -> String {
    value.replace([':', '*'], ".")
}

/// The Go plugin's fallback name when none is configured.
const GO_DEFAULT_NAME: &str = "fluentbit-default";

/// Rewrites `table` (a translated `cloudwatch` output from `section`); `has_ecs_filter` tells
/// whether the config has an `ecs` filter (which adds `ecs_task_id` ... to records). ECS
/// variables still here were not resolved by [`resolve_ecs`].
pub fn rewrite(
    section: &Section,
    table: &mut toml::Table,
    has_ecs_filter: bool,
    t: &mut Translated,
) {
    for (name, template, default) in [
        (
            "log_group_name",
            "log_group_template",
            "default_log_group_name",
        ),
        (
            "log_stream_name",
            "log_stream_template",
            "default_log_stream_name",
        ),
    ] {
        let fallback = table.remove(default);
        let Some(toml::Value::String(value)) = table.get(name) else {
            continue;
        };
        if !value.contains("$(") {
            continue;
        }
        let at = section
            .get(name)
            .map_or_else(|| section.at.clone(), |e| e.at.clone());
        match convert(value) {
            Ok((converted, uses_ecs)) => {
                if uses_ecs && !has_ecs_filter {
                    warn_no_task(&at, name, t);
                }
                table.insert(template.to_owned(), toml::Value::String(converted));
                let fallback =
                    fallback.unwrap_or_else(|| toml::Value::String(GO_DEFAULT_NAME.to_owned()));
                table.insert(name.to_owned(), fallback);
            }
            Err(message) => t.findings.errors.push(at.problem(name, message)),
        }
    }
}

fn warn_no_task(at: &Origin, key: &str, t: &mut Translated) {
    t.findings.warnings.push(at.problem(
        key,
        "`$(ecs_task_id)`, `$(ecs_task_arn)` and `$(ecs_cluster)` come from the ECS task metadata, \
         which is not available (not running on ECS, or ECS_CONTAINER_METADATA_URI_V4 could not be \
         read): names using them fall back to the default name, as with the Go plugin; records \
         have them as fields only with an `ecs` filter",
    ));
}

/// The template in firelane's syntax, and whether it uses an ECS variable.
pub fn convert(value: &str) -> Result<(String, bool), String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut uses_ecs = false;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find(')')
            .ok_or_else(|| format!("`{value}`: `$(` without its `)`"))?;
        let var = after[..end].trim();
        let (head, index) = match var.find('[') {
            Some(i) => (&var[..i], &var[i..]),
            None => (var, ""),
        };
        match head {
            "tag" => {
                out.push_str("$TAG");
                out.push_str(index);
            }
            "uuid" => {
                return Err(format!(
                    "`{value}`: `$(uuid)` is not supported in names (a new stream per start): use a record field"
                ));
            }
            h if !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                uses_ecs |= ECS_VARIABLES.contains(&h);
                out.push('$');
                out.push_str(var);
            }
            _ => return Err(format!("`{value}`: `$({var})` is not a template variable")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok((out, uses_ecs))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::fluentbit::classic::read_classic;
    use crate::config::fluentbit::memfs::MemFiles;
    use crate::config::fluentbit::translate::translate;

    const CONF: &str = "\
[OUTPUT]
    Name cloudwatch
    Match *
    log_group_name /aws/ecs/containerinsights/$(ecs_cluster)/app
    log_stream_name $(ecs_task_id)/$(tag)/$(ecs_task_arn)
[OUTPUT]
    Name cloudwatch
    Match *
    log_group_name /ecs/$(ecs_task_arn)
    log_stream_name $(ecs_task_id)
[OUTPUT]
    Name cloudwatch_logs
    Match *
    log_group_name /ecs/$(ecs_cluster)
    log_stream_name s
";

    fn outputs(task: Option<&TaskMetadata>) -> (Vec<toml::Value>, Translated) {
        let fs = MemFiles::new(&[("/f.conf", CONF)]);
        let (mut doc, _) = read_classic(Path::new("/f.conf"), &fs, &|_| None);
        resolve_ecs(&mut doc, task);
        let t = translate(&doc);
        let outputs = t.table["outputs"].as_array().unwrap().clone();
        (outputs, t)
    }

    #[test]
    fn on_ec2_the_cluster_is_its_short_name_as_the_v3_endpoint_reports_it() {
        let mut task =
            TaskMetadata::from_json(include_bytes!("../../../tests/data/ecs_task_v4.json"))
                .unwrap();
        task.launch_type = Some("EC2".to_owned());
        let (outputs, _) = outputs(Some(&task));
        assert_eq!(
            outputs[0]["log_group_name"].as_str(),
            Some("/aws/ecs/containerinsights/prod-web/app")
        );
    }

    #[test]
    fn ecs_variables_are_the_task_metadata_sanitized_as_the_go_plugin_does() {
        let task = TaskMetadata::from_json(include_bytes!("../../../tests/data/ecs_task_v4.json"))
            .unwrap();
        let (outputs, t) = outputs(Some(&task));
        let arn =
            "arn:aws:ecs:us-west-2:111122223333:task/prod-web/e9028f8d5d8e4f258373e7b93ce9a3c3";
        assert_eq!(task.task_arn, arn);
        // The cluster as reported (an ARN on Fargate); `:` is not allowed in a group name.
        assert_eq!(
            outputs[0]["log_group_name"].as_str(),
            Some(
                "/aws/ecs/containerinsights/arn.aws.ecs.us-west-2.111122223333.cluster/prod-web/app"
            )
        );
        assert_eq!(
            outputs[0]["log_stream_template"].as_str(),
            Some(
                "e9028f8d5d8e4f258373e7b93ce9a3c3/$TAG/arn.aws.ecs.us-west-2.111122223333.task/prod-web/e9028f8d5d8e4f258373e7b93ce9a3c3"
            )
        );
        assert_eq!(
            outputs[0]["log_stream_name"].as_str(),
            Some("fluentbit-default")
        );
        // Fully resolved names are plain names.
        assert_eq!(
            outputs[1]["log_group_name"].as_str(),
            Some(
                "/ecs/arn.aws.ecs.us-west-2.111122223333.task/prod-web/e9028f8d5d8e4f258373e7b93ce9a3c3"
            )
        );
        assert_eq!(
            outputs[1]["log_stream_name"].as_str(),
            Some("e9028f8d5d8e4f258373e7b93ce9a3c3")
        );
        assert!(outputs[1].get("log_stream_template").is_none());
        // The C plugin has no such variables.
        assert_eq!(
            outputs[2]["log_group_name"].as_str(),
            Some("/ecs/$(ecs_cluster)")
        );
        assert!(t.findings.warnings.is_empty(), "{:?}", t.findings.warnings);
    }

    #[test]
    fn without_the_task_the_names_fall_back_with_a_warning() {
        let (outputs, t) = outputs(None);
        assert_eq!(
            outputs[1]["log_stream_template"].as_str(),
            Some("$ecs_task_id")
        );
        assert_eq!(
            outputs[1]["log_stream_name"].as_str(),
            Some("fluentbit-default")
        );
        assert_eq!(t.findings.warnings.len(), 4, "{:?}", t.findings.warnings);
        assert!(t.findings.warnings[0].message.contains("not available"));
    }

    #[test]
    fn go_variables_become_record_accessors() {
        assert_eq!(
            convert("app-$(ecs_task_id)").unwrap(),
            ("app-$ecs_task_id".to_owned(), true)
        );
        assert_eq!(
            convert("/ecs/$(tag[1])/$(kubernetes['pod_name'])-$(tag)").unwrap(),
            (
                "/ecs/$TAG[1]/$kubernetes['pod_name']-$TAG".to_owned(),
                false
            )
        );
        assert_eq!(convert("plain").unwrap(), ("plain".to_owned(), false));
        assert!(convert("x-$(uuid)").unwrap_err().contains("uuid"));
        assert!(convert("x-$(tag").is_err());
        assert!(convert("x-$(a b)").is_err());
    }
}
