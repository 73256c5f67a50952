//! The `ecs` filter's template variables (Fluent Bit's names, and ours) and their values in the
//! task metadata.

use crate::ecs::task::TaskMetadata;

/// Every template variable with a value (name without `$`, value), in [`Variable::ALL`] order.
pub fn variables(meta: &TaskMetadata) -> Vec<(String, String)> {
    Variable::ALL
        .iter()
        .filter_map(|v| Some((v.name().to_owned(), v.value(meta)?)))
        .collect()
}

/// A template variable this filter knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Variable {
    ClusterName,
    TaskId,
    TaskArn,
    Family,
    Revision,
    TaskDefinition,
    LaunchType,
    AvailabilityZone,
    ServiceName,
}

/// Fluent Bit variables that need the EC2 agent introspection API.
pub(super) const UNSUPPORTED: &[&str] = &[
    "ECSContainerName",
    "DockerContainerName",
    "ContainerID",
    "ContainerInstanceArn",
    "ContainerInstanceID",
    "ECSAgentVersion",
];

impl Variable {
    pub(super) const ALL: [Variable; 9] = [
        Self::ClusterName,
        Self::TaskId,
        Self::TaskArn,
        Self::Family,
        Self::Revision,
        Self::TaskDefinition,
        Self::LaunchType,
        Self::AvailabilityZone,
        Self::ServiceName,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::ClusterName => "ClusterName",
            Self::TaskId => "TaskID",
            Self::TaskArn => "TaskARN",
            Self::Family => "TaskDefinitionFamily",
            Self::Revision => "TaskDefinitionVersion",
            Self::TaskDefinition => "TaskDefinition",
            Self::LaunchType => "LaunchType",
            Self::AvailabilityZone => "AvailabilityZone",
            Self::ServiceName => "ServiceName",
        }
    }

    pub(super) fn value(self, m: &TaskMetadata) -> Option<String> {
        match self {
            Self::ClusterName => Some(m.cluster_name.clone()),
            Self::TaskId => Some(m.task_id.clone()),
            Self::TaskArn => Some(m.task_arn.clone()),
            Self::Family => Some(m.family.clone()),
            Self::Revision => Some(m.revision.clone()),
            Self::TaskDefinition => Some(m.task_definition()),
            Self::LaunchType => m.launch_type.clone(),
            Self::AvailabilityZone => m.availability_zone.clone(),
            Self::ServiceName => m.service_name.clone(),
        }
    }
}
