//! The variables the aws-for-fluent-bit init process exports before starting Fluent Bit, made from
//! the task metadata: same names, same values, same order (its `ECSTaskMetadata` struct), and, as
//! there, a variable whose value is empty (no launch type before agent 1.45, no availability zone
//! on older platforms) is not set at all.

use super::task::TaskMetadata;

/// Every name the init process may export, in its order.
pub const NAMES: [&str; 9] = [
    "AWS_REGION",
    "AWS_AVAILABILITY_ZONE",
    "ECS_CLUSTER",
    "ECS_TASK_ARN",
    "ECS_TASK_ID",
    "ECS_FAMILY",
    "ECS_LAUNCH_TYPE",
    "ECS_REVISION",
    "ECS_TASK_DEFINITION",
];

/// `(name, value)` for each variable with a value. `AWS_REGION` is the task ARN's region,
/// `ECS_CLUSTER` the cluster's name even when the endpoint reports its ARN, `ECS_TASK_DEFINITION`
/// is `family:revision`.
pub fn init_variables(task: &TaskMetadata) -> Vec<(&'static str, String)> {
    let values = [
        task.region().map(str::to_owned),
        task.availability_zone.clone(),
        Some(task.cluster_name.clone()),
        Some(task.task_arn.clone()),
        Some(task.task_id.clone()),
        Some(task.family.clone()),
        task.launch_type.clone(),
        Some(task.revision.clone()),
        Some(task.task_definition()),
    ];
    NAMES
        .into_iter()
        .zip(values)
        .filter_map(|(name, value)| Some((name, value.filter(|v| !v.is_empty())?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The init process's own test cases (fluent_bit_init_process_test.go), on their metadata.
    const GO_TEST_TASK: &str = r#"{"Cluster":"ecs-cluster","TaskARN":"arn:aws:ecs:us-west-2:123456789123:task/ecs-cluster/4ca5a280e68947cd84a8357f0d008fb5","Family":"code_test_A","Revision":"35","DesiredStatus":"RUNNING","AvailabilityZone":"us-west-2a","LaunchType":"EC2","Containers":[]}"#;

    fn vars(json: &str) -> Vec<(&'static str, String)> {
        init_variables(&TaskMetadata::from_json(json.as_bytes()).unwrap())
    }

    fn owned(v: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        v.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn full_metadata_gives_every_variable_in_the_init_process_order() {
        let arn =
            "arn:aws:ecs:us-west-2:123456789123:task/ecs-cluster/4ca5a280e68947cd84a8357f0d008fb5";
        let want = owned(&[
            ("AWS_REGION", "us-west-2"),
            ("AWS_AVAILABILITY_ZONE", "us-west-2a"),
            ("ECS_CLUSTER", "ecs-cluster"),
            ("ECS_TASK_ARN", arn),
            ("ECS_TASK_ID", "4ca5a280e68947cd84a8357f0d008fb5"),
            ("ECS_FAMILY", "code_test_A"),
            ("ECS_LAUNCH_TYPE", "EC2"),
            ("ECS_REVISION", "35"),
            ("ECS_TASK_DEFINITION", "code_test_A:35"),
        ]);
        assert_eq!(vars(GO_TEST_TASK), want);
        // A cluster ARN gives its name.
        let with_arn = GO_TEST_TASK.replace(
            r#""Cluster":"ecs-cluster""#,
            r#""Cluster":"arn:aws:ecs:us-west-2:111122223333:cluster/ecs-cluster""#,
        );
        assert_eq!(vars(&with_arn), want);
    }

    #[test]
    fn empty_values_are_not_exported() {
        let old_agent = GO_TEST_TASK.replace(r#""LaunchType":"EC2","#, "").replace(
            r#""AvailabilityZone":"us-west-2a","#,
            r#""AvailabilityZone":"","#,
        );
        let names: Vec<_> = vars(&old_agent).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "AWS_REGION",
                "ECS_CLUSTER",
                "ECS_TASK_ARN",
                "ECS_TASK_ID",
                "ECS_FAMILY",
                "ECS_REVISION",
                "ECS_TASK_DEFINITION"
            ]
        );
    }
}
