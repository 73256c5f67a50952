//! What the ECS agent writes for a FireLens task: the Fluent Bit config it generates from a task
//! definition, and what it hands the log-router container besides (environment, secrets, the
//! extra config file and where it puts it). Pure: task definition JSON in, text out.
//!
//! The rules are those of ../shared/reference/firelens.md, checked line by line against the agent
//! that applies them (aws/amazon-ecs-agent at 8dfceca6, agent/taskresource/firelens/
//! firelensconfig_unix.go and agent/api/task/task.go) and the template it renders with
//! (awslabs/go-config-generator-for-fluentd-and-fluentbit, fluent-bit-template.go):
//! - inputs: the Unix-socket forward input (`Mem_Buf_Limit` = half the router container's
//!   `memoryReservation`, else `memory`, in MB; 25MB when neither is set); in `bridge` (the default
//!   on EC2) and `awsvpc` network modes also a TCP forward input on 24224 (listening on 0.0.0.0 in
//!   bridge, 127.0.0.1 in awsvpc) and the health-check `tcp` input on 127.0.0.1:8877 with its `null`
//!   output, which comes before every other output;
//! - filters: a `grep` per `include-pattern`/`exclude-pattern` log option, then one
//!   `record_modifier` adding `ecs_cluster`, `ecs_task_arn`, `ecs_task_definition` (and
//!   `ec2_instance_id` on EC2) unless `enable-ecs-log-metadata` is false;
//! - the extra config (`config-file-type` `file`: its path; `s3`: the agent downloads it to
//!   /fluent-bit/etc/external.conf) is `@INCLUDE`d after the filters;
//! - one `[OUTPUT]` per container whose log driver is `awsfirelens` and whose options name a
//!   plugin: `Match <container>-firelens*`, then every other option verbatim except
//!   `log-driver-buffer-limit` (a Docker driver option); `secretOptions` become `${<name>_<index>}`
//!   with the container's index in the task;
//! - Go templates range over maps in sorted key order, so input and output options and record
//!   fields come out sorted by key (byte order: capitals first). The agent walks its containers in
//!   map order (random); this generator keeps the task definition's order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Where the agent puts an extra config file downloaded from S3.
pub const S3_CONFIG_PATH: &str = "/fluent-bit/etc/external.conf";
/// Where the agent mounts the generated config.
pub const CONFIG_PATH: &str = "/fluent-bit/etc/fluent-bit.conf";
/// The Unix socket the Docker fluentd driver of each app container writes to.
pub const SOCKET_PATH: &str = "/var/run/fluent.sock";

/// The task as ECS runs it: what the agent knows that the task definition does not say.
#[derive(Debug, Clone)]
pub struct TaskRun {
    pub cluster: String,
    pub region: String,
    pub account: String,
    pub task_id: String,
    pub revision: u32,
    pub ec2_instance_id: String,
    pub availability_zone: String,
}

impl TaskRun {
    pub fn task_arn(&self) -> String {
        format!(
            "arn:aws:ecs:{}:{}:task/{}/{}",
            self.region, self.account, self.cluster, self.task_id
        )
    }
}

/// How the task is launched (decides `ec2_instance_id` and `AWS_EXECUTION_ENV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    Ec2,
    Fargate,
}

/// The extra config file named by `firelensConfiguration.options`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    /// `file`: the path in the image; `s3`: the object's ARN.
    pub source: String,
    /// Where the generated config includes it from.
    pub path: String,
}

/// Everything the agent gives the log-router container.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The text of /fluent-bit/etc/fluent-bit.conf.
    pub config: String,
    pub family: String,
    pub launch: Launch,
    /// `bridge`, `awsvpc`, `host` or `none`.
    pub network_mode: String,
    pub external: Option<External>,
    /// The log-router container's `environment`, in order.
    pub environment: Vec<(String, String)>,
    /// The variables ECS sets from `secretOptions` (`apikey_1`, ...), with the option they fill.
    pub secrets: Vec<String>,
    /// Each app container whose logs go through FireLens, with the tag of its stdout records.
    pub app_tags: Vec<(String, String)>,
}

/// Why a task definition gives no config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenError {
    /// Not valid JSON, or a field of the wrong shape: ECS refuses to register it.
    Invalid(String),
    /// A `fluentd` log router: not what firelane replaces.
    Fluentd,
}

impl std::fmt::Display for GenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GenError::Invalid(why) => write!(f, "invalid task definition: {why}"),
            GenError::Fluentd => {
                write!(f, "the log router is Fluentd (firelensConfiguration.type)")
            }
        }
    }
}

/// The config ECS generates for `task_definition` (JSON text) run as `run`.
pub fn generate(task_definition: &str, run: &TaskRun) -> Result<Generated, GenError> {
    let root: Value = serde_json::from_str(task_definition)
        .map_err(|e| GenError::Invalid(format!("not JSON: {e}")))?;
    // `aws ecs describe-task-definition` wraps it; `register-task-definition` takes it bare.
    let def = root.get("taskDefinition").unwrap_or(&root);
    let containers = def["containerDefinitions"]
        .as_array()
        .ok_or_else(|| GenError::Invalid("no containerDefinitions array".into()))?;
    let router = containers
        .iter()
        .find(|c| c.get("firelensConfiguration").is_some())
        .ok_or_else(|| GenError::Invalid("no container has firelensConfiguration".into()))?;
    let firelens = &router["firelensConfiguration"];
    if firelens["type"].as_str() == Some("fluentd") {
        return Err(GenError::Fluentd);
    }
    let options = string_map(&firelens["options"], "firelensConfiguration.options")?;
    let launch = launch_of(def);
    let network_mode = match def["networkMode"].as_str().unwrap_or("") {
        "" => "bridge".to_owned(),
        other => other.to_owned(),
    };
    let memory_mb = router["memoryReservation"]
        .as_i64()
        .filter(|m| *m > 0)
        .or_else(|| router["memory"].as_i64())
        .unwrap_or(0);
    let mem_buf_limit = match memory_mb / 2 {
        half if half > 0 => format!("{half}MB"),
        _ => "25MB".to_owned(),
    };

    let mut text = String::new();
    let mut socket = BTreeMap::new();
    socket.insert("Mem_Buf_Limit", mem_buf_limit.as_str());
    socket.insert("unix_path", SOCKET_PATH);
    section(&mut text, "INPUT", "forward", None, &socket);
    let tcp = network_mode == "bridge" || network_mode == "awsvpc";
    if tcp {
        let listen = if network_mode == "bridge" {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        };
        let forward = BTreeMap::from([("Listen", listen), ("Port", "24224")]);
        section(&mut text, "INPUT", "forward", None, &forward);
        let health = BTreeMap::from([("Listen", "127.0.0.1"), ("Port", "8877")]);
        section(
            &mut text,
            "INPUT",
            "tcp",
            Some("firelens-healthcheck"),
            &health,
        );
    }

    let mut includes = Vec::new();
    let mut excludes = Vec::new();
    let mut outputs = String::new();
    if tcp {
        section(
            &mut outputs,
            "OUTPUT",
            "null",
            Some("firelens-healthcheck"),
            &BTreeMap::new(),
        );
    }
    let mut secrets = Vec::new();
    let mut app_tags = Vec::new();
    for (index, c) in containers.iter().enumerate() {
        let log = &c["logConfiguration"];
        if log["logDriver"].as_str() != Some("awsfirelens") {
            continue;
        }
        let name = c["name"]
            .as_str()
            .ok_or_else(|| GenError::Invalid("a container has no name".into()))?;
        let tag = format!("{name}-firelens*");
        app_tags.push((name.to_owned(), format!("{name}-firelens-{}", run.task_id)));
        let mut opts = string_map(&log["options"], "logConfiguration.options")?;
        opts.remove("log-driver-buffer-limit");
        match &log["secretOptions"] {
            Value::Null => {}
            Value::Array(list) => {
                for s in list {
                    let secret = s["name"]
                        .as_str()
                        .ok_or_else(|| GenError::Invalid("a secretOption has no name".into()))?;
                    let var = format!("{secret}_{index}");
                    opts.insert(secret.to_owned(), format!("${{{var}}}"));
                    secrets.push(var);
                }
            }
            other => {
                return Err(GenError::Invalid(format!(
                    "secretOptions of `{name}` is not a list: {other}"
                )));
            }
        }
        let plugin = opts.remove("Name");
        let mut rest = BTreeMap::new();
        for (k, v) in &opts {
            match k.as_str() {
                "include-pattern" => includes.push((tag.clone(), v.clone())),
                "exclude-pattern" => excludes.push((tag.clone(), v.clone())),
                _ => {
                    rest.insert(k.as_str(), v.as_str());
                }
            }
        }
        match plugin {
            Some(plugin) => section(&mut outputs, "OUTPUT", &plugin, Some(&tag), &rest),
            None if rest.is_empty() => {}
            None => {
                return Err(GenError::Invalid(format!(
                    "log options of `{name}` have no Name"
                )));
            }
        }
    }
    for (tag, regex) in &includes {
        write!(
            text,
            "\n[FILTER]\n    Name   grep\n    Match {tag}\n    Regex  log {regex}\n"
        )
        .unwrap();
    }
    for (tag, regex) in &excludes {
        write!(
            text,
            "\n[FILTER]\n    Name   grep\n    Match {tag}\n    Exclude log {regex}\n"
        )
        .unwrap();
    }
    if metadata_enabled(&options) {
        let definition = format!("{}:{}", def["family"].as_str().unwrap_or(""), run.revision);
        let arn = run.task_arn();
        let mut fields = BTreeMap::from([
            ("ecs_cluster", run.cluster.as_str()),
            ("ecs_task_arn", arn.as_str()),
            ("ecs_task_definition", definition.as_str()),
        ]);
        if launch == Launch::Ec2 {
            fields.insert("ec2_instance_id", run.ec2_instance_id.as_str());
        }
        text.push_str("\n[FILTER]\n    Name record_modifier\n    Match *");
        for (k, v) in fields {
            write!(text, "\n    Record {k} {v}").unwrap();
        }
        text.push('\n');
    }
    let external = match options.get("config-file-type").map(String::as_str) {
        None => None,
        Some(kind @ ("file" | "s3")) => {
            let value = options.get("config-file-value").ok_or_else(|| {
                GenError::Invalid("config-file-type without config-file-value".into())
            })?;
            let path = if kind == "s3" {
                S3_CONFIG_PATH.to_owned()
            } else {
                value.clone()
            };
            Some(External {
                source: value.clone(),
                path,
            })
        }
        Some(other) => return Err(GenError::Invalid(format!("config-file-type {other}"))),
    };
    if let Some(ext) = &external {
        write!(text, "\n@INCLUDE {}\n", ext.path).unwrap();
    }
    text.push_str(&outputs);

    let environment = router["environment"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|e| {
                    Some((
                        e["name"].as_str()?.to_owned(),
                        e["value"].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Generated {
        config: text,
        family: def["family"].as_str().unwrap_or("").to_owned(),
        launch,
        network_mode,
        external,
        environment,
        secrets,
        app_tags,
    })
}

/// Fargate when the task definition requires it and not EC2; EC2 otherwise (ECS's default).
fn launch_of(def: &Value) -> Launch {
    let compat: Vec<&str> = def["requiresCompatibilities"]
        .as_array()
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if compat.contains(&"FARGATE") && !compat.contains(&"EC2") {
        Launch::Fargate
    } else {
        Launch::Ec2
    }
}

/// `enable-ecs-log-metadata`, read with Go's `strconv.ParseBool`; a value it refuses is ignored
/// (the agent logs a warning), leaving the default: on.
fn metadata_enabled(options: &BTreeMap<String, String>) -> bool {
    !matches!(
        options.get("enable-ecs-log-metadata").map(String::as_str),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False")
    )
}

/// A JSON object of strings (absent = empty).
fn string_map(v: &Value, what: &str) -> Result<BTreeMap<String, String>, GenError> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(s) => Ok((k.clone(), s.to_owned())),
                None => Err(GenError::Invalid(format!("{what}.{k} is not a string"))),
            })
            .collect(),
        other => Err(GenError::Invalid(format!(
            "{what} is not an object: {other}"
        ))),
    }
}

/// One section as the template renders it: a blank line, the header, `Name`, `Match` (outputs) or
/// `Tag` (inputs), then the options in key order.
fn section(
    out: &mut String,
    kind: &str,
    name: &str,
    tag: Option<&str>,
    opts: &BTreeMap<&str, &str>,
) {
    write!(out, "\n[{kind}]\n    Name {name}").unwrap();
    if let Some(tag) = tag {
        let key = if kind == "INPUT" { "Tag" } else { "Match" };
        write!(out, "\n    {key} {tag}").unwrap();
    }
    for (k, v) in opts {
        write!(out, "\n    {k} {v}").unwrap();
    }
    out.push('\n');
}

/// The task metadata endpoint's `$ECS_CONTAINER_METADATA_URI_V4/task` answer for `run`.
pub fn task_metadata(run: &TaskRun, family: &str, launch: Launch) -> String {
    serde_json::json!({
        "Cluster": format!("arn:aws:ecs:{}:{}:cluster/{}", run.region, run.account, run.cluster),
        "TaskARN": run.task_arn(),
        "Family": family,
        "Revision": run.revision.to_string(),
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "AvailabilityZone": run.availability_zone,
        "LaunchType": if launch == Launch::Fargate { "FARGATE" } else { "EC2" },
        "Containers": [],
    })
    .to_string()
}
