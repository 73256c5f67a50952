//! Real-world FireLens setups. This first part: the config ECS generates around a task
//! definition (tests/common/firelens/generate.rs), checked against rules written out by hand and
//! against the config ECS published for a known task.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::firelens::generate::{self, TaskRun};

fn run() -> TaskRun {
    TaskRun {
        cluster: "my-cluster".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        task_id: "0123456789abcdef0123456789abcdef".into(),
        revision: 3,
        ec2_instance_id: "i-01dce3798d7c17a58".into(),
        availability_zone: "us-east-1a".into(),
    }
}

fn data(rel: &str) -> String {
    let path = format!("{}/tests/data/firelens/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The config for the task definition of aws-samples/amazon-ecs-firelens-under-the-hood (bridge
/// mode on EC2, an extra config file, an `include-pattern`), written by hand from the rules.
#[test]
fn the_generator_writes_what_ecs_writes_for_a_bridge_task_with_an_extra_file() {
    let def = data(
        "amazon-ecs-firelens-under-the-hood/generated-configs/fluent-bit/task-definition.json",
    );
    let g = generate::generate(&def, &run()).unwrap();
    let want = "
[INPUT]
    Name forward
    Mem_Buf_Limit 12MB
    unix_path /var/run/fluent.sock

[INPUT]
    Name forward
    Listen 0.0.0.0
    Port 24224

[INPUT]
    Name tcp
    Tag firelens-healthcheck
    Listen 127.0.0.1
    Port 8877

[FILTER]
    Name   grep
    Match app-firelens*
    Regex  log [Ee]rror

[FILTER]
    Name record_modifier
    Match *
    Record ec2_instance_id i-01dce3798d7c17a58
    Record ecs_cluster my-cluster
    Record ecs_task_arn arn:aws:ecs:us-east-1:123456789012:task/my-cluster/0123456789abcdef0123456789abcdef
    Record ecs_task_definition firelens-example-twitch-session:3

@INCLUDE /fluent-bit.conf

[OUTPUT]
    Name null
    Match firelens-healthcheck

[OUTPUT]
    Name firehose
    Match app-firelens*
    delivery_stream demo-stream
    region ap-south-1
";
    assert_eq!(g.config, want);
    assert_eq!(g.network_mode, "bridge");
    assert_eq!(g.launch, generate::Launch::Ec2);
    assert_eq!(g.external.as_ref().unwrap().path, "/fluent-bit.conf");
    assert_eq!(
        g.environment,
        [
            ("APP_VERSION".to_owned(), "v1.1.14".to_owned()),
            ("FLB_LOG_LEVEL".to_owned(), "debug".to_owned())
        ]
    );
    assert_eq!(
        g.app_tags,
        [(
            "app".to_owned(),
            "app-firelens-0123456789abcdef0123456789abcdef".to_owned()
        )]
    );
}

/// The same, against the config ECS actually wrote for it (published with the task definition):
/// equal but for what later agents add (`Mem_Buf_Limit`) and the values of this run.
#[test]
fn the_generator_matches_the_config_ecs_published_for_that_task() {
    let def = data(
        "amazon-ecs-firelens-under-the-hood/generated-configs/fluent-bit/task-definition.json",
    );
    let published = data(
        "amazon-ecs-firelens-under-the-hood/generated-configs/fluent-bit/generated_by_firelens.conf",
    );
    let run = TaskRun {
        cluster: "furrlens".into(),
        region: "ap-south-1".into(),
        account: "144718711470".into(),
        task_id: "737d73bf-8c6e-44f1-aa86-7b3ae3922011".into(),
        revision: 5,
        ec2_instance_id: "i-01dce3798d7c17a58".into(),
        availability_zone: "ap-south-1a".into(),
    };
    let g = generate::generate(&def, &run).unwrap();
    // That agent wrote task ARNs in the old format (no cluster name).
    let ours = g
        .config
        .replace("    Mem_Buf_Limit 12MB\n", "")
        .replace("task/furrlens/737d73bf", "task/737d73bf");
    assert_eq!(ours.trim_start(), published);
}

/// An `awsvpc` task on Fargate with `secretOptions`, no metadata and an S3 extra file; a Docker
/// driver option and a task with no memory limit: what each rule does.
#[test]
fn the_generator_applies_awsvpc_secrets_s3_files_and_dropped_options() {
    let def = r#"{
      "family": "web",
      "networkMode": "awsvpc",
      "requiresCompatibilities": ["FARGATE"],
      "containerDefinitions": [
        {"name": "app", "logConfiguration": {"logDriver": "awsfirelens",
          "options": {"Name": "http", "Host": "h", "log-driver-buffer-limit": "2097152", "exclude-pattern": "^DEBUG"},
          "secretOptions": [{"name": "URI", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:x"}]}},
        {"name": "sidecar", "logConfiguration": {"logDriver": "awsfirelens"}},
        {"name": "log_router", "firelensConfiguration": {"type": "fluentbit", "options": {
          "enable-ecs-log-metadata": "false", "config-file-type": "s3",
          "config-file-value": "arn:aws:s3:::b/extra.conf"}}}
      ]
    }"#;
    let g = generate::generate(def, &run()).unwrap();
    let want = "
[INPUT]
    Name forward
    Mem_Buf_Limit 25MB
    unix_path /var/run/fluent.sock

[INPUT]
    Name forward
    Listen 127.0.0.1
    Port 24224

[INPUT]
    Name tcp
    Tag firelens-healthcheck
    Listen 127.0.0.1
    Port 8877

[FILTER]
    Name   grep
    Match app-firelens*
    Exclude log ^DEBUG

@INCLUDE /fluent-bit/etc/external.conf

[OUTPUT]
    Name null
    Match firelens-healthcheck

[OUTPUT]
    Name http
    Match app-firelens*
    Host h
    URI ${URI_0}
";
    assert_eq!(g.config, want);
    assert_eq!(g.launch, generate::Launch::Fargate);
    assert_eq!(g.secrets, ["URI_0"]);
    assert_eq!(
        g.external,
        Some(generate::External {
            source: "arn:aws:s3:::b/extra.conf".into(),
            path: "/fluent-bit/etc/external.conf".into()
        })
    );
    assert_eq!(
        g.app_tags.len(),
        2,
        "both containers log through FireLens; one has no output"
    );
    let fluentd = def.replace(r#""type": "fluentbit""#, r#""type": "fluentd""#);
    assert_eq!(
        generate::generate(&fluentd, &run()).unwrap_err(),
        generate::GenError::Fluentd
    );
}
