//! The older Go `cloudwatch` plugin's name templates: `log_group_name` / `log_stream_name` may hold
//! `$(tag)`, `$(tag[n])`, `$(ecs_task_id)` or `$(field['nested'])`, with `default_log_group_name` /
//! `default_log_stream_name` (default `fluentbit-default`) used when one cannot be rendered. They
//! become firelane's `log_group_template` / `log_stream_template` with the static name as the
//! fallback, which is what the template means; left as they are they would name a stream
//! `app-$(ecs_task_id)`.

use super::doc::{Origin, Section};
use super::translate::Translated;

/// The Go plugin's fallback name when none is configured.
const GO_DEFAULT_NAME: &str = "fluentbit-default";

/// Rewrites `table` (a translated `cloudwatch` output from `section`); `has_ecs_filter` tells
/// whether the config has an `ecs` filter (which adds `ecs_task_id` to records).
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
            Ok((converted, uses_task_id)) => {
                if uses_task_id && !has_ecs_filter {
                    warn_task_id(&at, name, t);
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

fn warn_task_id(at: &Origin, key: &str, t: &mut Translated) {
    t.findings.warnings.push(at.problem(
        key,
        "`$(ecs_task_id)` is read from the record's `ecs_task_id` field, which FireLens's generated \
         filters do not add: add an `ecs` filter, or records without it go to the default name",
    ));
}

/// The template in firelane's syntax, and whether it reads `ecs_task_id`.
pub fn convert(value: &str) -> Result<(String, bool), String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut uses_task_id = false;
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
                uses_task_id |= h == "ecs_task_id";
                out.push('$');
                out.push_str(var);
            }
            _ => return Err(format!("`{value}`: `$({var})` is not a template variable")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok((out, uses_task_id))
}

#[cfg(test)]
mod tests {
    use super::*;

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
