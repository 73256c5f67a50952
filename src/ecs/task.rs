//! The task metadata endpoint v4 `/task` response.
//!
//! Only the task-level fields firelane uses are read; unknown fields are ignored (AWS adds fields
//! to v4 without a new version). `Cluster` may be a short name or an ARN: `cluster_name` is the
//! short name either way.

use serde::Deserialize;

use super::MetadataError;

/// A container of the task, as the endpoint lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerMetadata {
    /// Name in the task definition.
    pub name: String,
    /// Docker (or Fargate) container id.
    #[serde(default)]
    pub docker_id: String,
    /// Name Docker knows the container by.
    #[serde(default)]
    pub docker_name: Option<String>,
    /// Image reference.
    #[serde(default)]
    pub image: Option<String>,
}

/// The task-level metadata firelane uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskMetadata {
    /// `Cluster` as reported: a short name (EC2) or a cluster ARN (Fargate).
    pub cluster: String,
    /// The cluster's short name (`$ClusterName`): the last `/` segment of an ARN.
    pub cluster_name: String,
    /// Full task ARN (`$TaskARN`).
    pub task_arn: String,
    /// Task id, the last segment of the task ARN (`$TaskID`).
    pub task_id: String,
    /// Task definition family (`$TaskDefinitionFamily`).
    pub family: String,
    /// Task definition revision (`$TaskDefinitionVersion`).
    pub revision: String,
    /// `EC2`, `FARGATE` or `EXTERNAL`; absent with ECS agents before 1.45.
    pub launch_type: Option<String>,
    /// Absent except on Fargate platform 1.4+ and recent EC2 agents.
    pub availability_zone: Option<String>,
    /// Service the task belongs to, if any (agent 1.63.1+).
    pub service_name: Option<String>,
    /// The task's containers.
    pub containers: Vec<ContainerMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawTask {
    cluster: Option<String>,
    #[serde(rename = "TaskARN")]
    task_arn: Option<String>,
    family: Option<String>,
    revision: Option<serde_json::Value>,
    launch_type: Option<String>,
    availability_zone: Option<String>,
    service_name: Option<String>,
    #[serde(default)]
    containers: Vec<ContainerMetadata>,
}

impl TaskMetadata {
    /// Parses a `/task` response body.
    pub fn from_json(body: &[u8]) -> Result<Self, MetadataError> {
        let raw: RawTask =
            serde_json::from_slice(body).map_err(|e| MetadataError::BadMetadata(e.to_string()))?;
        let missing = |field: &str| MetadataError::BadMetadata(format!("no `{field}` field"));
        let cluster = raw
            .cluster
            .filter(|c| !c.is_empty())
            .ok_or(missing("Cluster"))?;
        let task_arn = raw.task_arn.ok_or(missing("TaskARN"))?;
        let task_id = match task_arn.rsplit_once('/') {
            Some((_, id)) if !id.is_empty() => id.to_owned(),
            _ => {
                return Err(MetadataError::BadMetadata(format!(
                    "TaskARN `{task_arn}` is not a task ARN"
                )));
            }
        };
        let revision = match raw.revision.ok_or(missing("Revision"))? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(MetadataError::BadMetadata(format!(
                    "Revision {other} is not a string or number"
                )));
            }
        };
        let cluster_name = match cluster.strip_prefix("arn:") {
            Some(_) => cluster.rsplit('/').next().unwrap_or(&cluster).to_owned(),
            None => cluster.clone(),
        };
        Ok(Self {
            cluster,
            cluster_name,
            task_arn,
            task_id,
            family: raw.family.ok_or(missing("Family"))?,
            revision,
            launch_type: raw.launch_type.filter(|s| !s.is_empty()),
            availability_zone: raw.availability_zone.filter(|s| !s.is_empty()),
            service_name: raw.service_name.filter(|s| !s.is_empty()),
            containers: raw.containers,
        })
    }

    /// `family:revision`, as the task definition is usually named.
    pub fn task_definition(&self) -> String {
        format!("{}:{}", self.family, self.revision)
    }

    /// The region field of the task ARN (`arn:aws:ecs:REGION:ACCOUNT:task/...`), where the init
    /// process takes `AWS_REGION` from; `None` when the ARN has no region.
    pub fn region(&self) -> Option<&str> {
        self.task_arn.split(':').nth(3).filter(|r| !r.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_the_task_arn() {
        let m =
            TaskMetadata::from_json(include_bytes!("../../tests/data/ecs_task_v4.json")).unwrap();
        assert_eq!(m.region(), Some("us-west-2"));
        let m = TaskMetadata::from_json(
            br#"{"Cluster":"c","TaskARN":"arn:aws:ecs::1:task/abc","Family":"f","Revision":"1"}"#,
        )
        .unwrap();
        assert_eq!(m.region(), None);
    }
}
