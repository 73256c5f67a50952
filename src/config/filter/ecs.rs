//! `name = "ecs"`: the filter's options and how they build it.

use std::time::Duration;

use serde::Deserialize;

use super::StringList;
use crate::config::common::entry_options;
use crate::filter::ecs::EcsRules;

entry_options! {
    /// `name = "ecs"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct EcsConfig ["ecs"] {
        /// `KEY $Variable` rules (`$ClusterName`, `$TaskID`, `$TaskARN`, `$TaskDefinitionFamily`,
        /// `$TaskDefinitionVersion`, `$TaskDefinition`, `$LaunchType`, `$AvailabilityZone`,
        /// `$ServiceName`). Default: ecs_cluster, ecs_task_arn, ecs_task_id, ecs_task_definition,
        /// ecs_launch_type, ecs_availability_zone.
        #[serde(default)]
        pub add: StringList,
        /// Task metadata endpoint (default: `$ECS_CONTAINER_METADATA_URI_V4`, read once at start for
        /// the whole process, 5 attempts 1s apart; unset disables the filter).
        pub metadata_uri: Option<String>,
        /// Attempts to read `metadata_uri` at start (default 5).
        pub retries: Option<u32>,
        /// Wait between attempts on `metadata_uri` (default 1s).
        pub retry_interval: Option<crate::config::units::DurationValue>,
    }
}

impl EcsConfig {
    pub fn rules(&self) -> Result<EcsRules, String> {
        EcsRules::parse(&self.add.0).map_err(|e| e.to_string())
    }

    pub fn attempts(&self) -> u32 {
        self.retries.unwrap_or(5).max(1)
    }

    pub fn retry_delay(&self) -> Duration {
        self.retry_interval.map_or(Duration::from_secs(1), |d| d.0)
    }
}
