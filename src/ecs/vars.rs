//! ECS task metadata as variables of output name templates that are fixed for the life of the
//! process (the S3 key format): `$ecs_cluster`, `$ecs_task_arn`, `$ecs_task_id`,
//! `$ecs_task_definition`, `$ecs_launch_type`, `$ecs_availability_zone` — the names of the keys the
//! `ecs` filter adds by default. (CloudWatch templates read record fields, so there the `ecs`
//! filter's keys are used as `$ecs_task_id` directly.)
//!
//! Substitution happens once, at output start; a value the metadata lacks (or metadata that could
//! not be read) renders as `unknown`, so keys stay well-formed.

use super::task::TaskMetadata;

/// The variables, longest name first so that no name is cut by a shorter one.
pub const VARIABLES: [&str; 6] = [
    "ecs_availability_zone",
    "ecs_task_definition",
    "ecs_launch_type",
    "ecs_task_arn",
    "ecs_task_id",
    "ecs_cluster",
];

/// What a variable renders as when its value is not known.
pub const UNKNOWN: &str = "unknown";

/// Whether `template` uses any of the variables.
pub fn uses_variables(template: &str) -> bool {
    VARIABLES
        .iter()
        .any(|v| template.contains(&format!("${v}")))
}

fn value(meta: &TaskMetadata, var: &str) -> Option<String> {
    match var {
        "ecs_availability_zone" => meta.availability_zone.clone(),
        "ecs_task_definition" => Some(meta.task_definition()),
        "ecs_launch_type" => meta.launch_type.clone(),
        "ecs_task_arn" => Some(meta.task_arn.clone()),
        "ecs_task_id" => Some(meta.task_id.clone()),
        "ecs_cluster" => Some(meta.cluster_name.clone()),
        _ => None,
    }
}

/// Replaces every `$<variable>` in `template` with its value from `meta`.
pub fn substitute(template: &str, meta: Option<&TaskMetadata>) -> String {
    let mut out = template.to_owned();
    for var in VARIABLES {
        let pattern = format!("${var}");
        if out.contains(&pattern) {
            let v = meta
                .and_then(|m| value(m, var))
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| UNKNOWN.to_owned());
            out = out.replace(&pattern, &v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> TaskMetadata {
        TaskMetadata::from_json(include_bytes!("../../tests/data/ecs_task_v4.json")).unwrap()
    }

    #[test]
    fn variables_render_from_the_task_metadata() {
        let t = "/logs/$ecs_cluster/$ecs_task_definition/$ecs_task_id/$TAG/%Y";
        assert!(uses_variables(t));
        assert_eq!(
            substitute(t, Some(&meta())),
            "/logs/prod-web/checkout:42/e9028f8d5d8e4f258373e7b93ce9a3c3/$TAG/%Y"
        );
        assert_eq!(substitute(t, None), "/logs/unknown/unknown/unknown/$TAG/%Y");
        assert!(!uses_variables("/logs/$TAG/%Y"));
        assert_eq!(
            substitute("$ecs_availability_zone-$ecs_launch_type", Some(&meta())),
            "us-west-2b-FARGATE"
        );
    }
}
