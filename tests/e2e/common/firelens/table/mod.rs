//! The real-world table: each public FireLens example and aws-for-fluent-bit config, what the
//! application sends, where the record must land, and what keeps it from running unchanged today.
//! The rows are in `examples.rs` (aws-samples/amazon-ecs-firelens-examples) and `aws_image.rs`
//! (aws/aws-for-fluent-bit); what they share is here.
//! When a fix lands, delete the blocker it removes (a row with none must deliver end to end);
//! then regenerate the table in docs/guide/firelens.md (`FIRELANE_BLESS=1 cargo nextest run
//! --test firelens_examples readme`). Files are under tests/data/firelens/ (see its NOTES.md).

use super::row::By::{Issue, Unplanned, Upstream};
use super::row::Land::{Aggregator, AssumingRole, CloudWatch, Elsewhere, S3};
use super::row::Send::{Forward, Partial, Stdout, Tcp};
use super::row::Source::{ConfigMap, Own, Task, TaskWithExtra};
use super::row::Want::{Field, Message};
use super::row::{Blocker, Land, Row, Send, Want, no_config, refused};

macro_rules! ex {
    ($p:literal) => {
        concat!("amazon-ecs-firelens-examples/examples/", $p)
    };
}
macro_rules! afb {
    ($p:literal) => {
        concat!("aws-for-fluent-bit/", $p)
    };
}

mod aws_image;
mod examples;

/// An app container's stdout line.
pub(super) const APP: &[Send] = &[Stdout {
    container: "app",
    line: "GET /index.html 200 {marker}",
}];
pub(super) const APP_LOG: &[Want] = &[Field("log", "GET /index.html 200 {marker}")];
/// A task whose extra config file is the row's (tests/data/firelens/synthetic/).
pub(super) const EXTRA_TASK: &str = "synthetic/extra-config-task-definition.json";
pub(super) const EXTRA_LAND: Land = CloudWatch {
    region: "us-west-2",
    group: "firelane-extra-config",
    stream: "app-app-firelens-{task_id}",
    want: APP_LOG,
};
/// An EMF document as the EMF libraries write it (one line, over 64 bytes).
pub(super) const EMF: &str = r#"{"Service":"{marker}","_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"firelens-example","Dimensions":[["Service"]],"Metrics":[{"Name":"Latency","Unit":"Milliseconds"}]}]},"Latency":12}"#;

pub(super) const FIREHOSE: Blocker = refused(
    "output plugin `firehose` is not supported",
    Issue(27),
    "no firehose output",
);
pub(super) const KINESIS_FIREHOSE: Blocker = refused(
    "output plugin `kinesis_firehose` is not supported",
    Issue(27),
    "no kinesis_firehose output",
);
pub(super) const FIREHOSE_DEST: Land =
    Elsewhere("Kinesis Data Firehose (moto could stand in: issue 27)");

pub(super) const HTTP_OUTPUT: Blocker =
    refused("output plugin `http`", Issue(28), "no http output");
pub(super) const TAIL: Blocker = refused("input plugin `tail`", Issue(29), "no tail input");
pub(super) const EXEC: Blocker = refused("input plugin `exec`", Issue(29), "no exec input");
pub(super) const SYSTEMD: Blocker =
    refused("input plugin `systemd`", Unplanned, "no systemd input");
pub(super) const AWS_FILTER: Blocker = refused(
    "filter plugin `aws`",
    Unplanned,
    "no aws filter (EC2 metadata)",
);
pub(super) const KUBERNETES: Blocker = refused(
    "filter plugin `kubernetes`",
    Unplanned,
    "no kubernetes filter",
);
pub(super) const MIXED_INDENT: Blocker = refused(
    "indentation 3 spaces differs from the 4 spaces",
    Upstream,
    "indented by 3 and 4 spaces (Fluent Bit 2 and later refuse it too)",
);
/// The Prometheus example's init file: neither plugin is planned.
pub(super) const PROMETHEUS_PLUGINS: [Blocker; 2] = [
    refused(
        "input plugin `node_exporter_metrics` is not supported",
        Unplanned,
        "no node_exporter_metrics input",
    ),
    refused(
        "output plugin `prometheus_remote_write` is not supported",
        Unplanned,
        "no prometheus_remote_write output",
    ),
];
pub(super) const NO_INPUT_LEFT: Blocker = refused(
    "at least one [INPUT] section is required",
    Issue(29),
    "no tail input",
);

/// "At least one [OUTPUT]": what is left when the only output is a missing plugin.
pub(super) const fn no_output(issue: u32, why: &'static str) -> Blocker {
    refused(
        "at least one [OUTPUT] section is required",
        Issue(issue),
        why,
    )
}
pub(super) const FLUENTD: Blocker =
    no_config("Fluentd", Upstream, "a Fluentd log router, not Fluent Bit");
pub(super) const LONG_LINE: &str =
    "{marker} 2024-03-20 12:47:06.123 INFO  [main] com.example.Service - request handled in 12 ms";
pub(super) const JAVA_TRACE: &str = "Dec 14 06:41:08 Exception in thread \"main\" {marker}\n    at com.myproject.module.MyProject.badMethod(MyProject.java:22)\n    at com.myproject.module.MyProject.main(MyProject.java:6)";
pub(super) const ENVOY: &str = "[2024-03-20T12:47:06.123Z] \"GET /{marker} HTTP/1.1\" 200 - 0 12 3 2 \"-\" \"curl/8.5.0\" \"1c2d3e4f-0a0b-4c0d-8e0f-123456789abc\" \"colorteller.local:9080\" \"127.0.0.1:9080\"";
pub(super) const EMF_LAND: Land = CloudWatch {
    region: "us-west-2",
    group: "aws-emf-ecs-firelens-example-metrics",
    stream: "from-fluent-bit-emf-4f1b2c3d4e5f",
    want: &[Message(EMF)],
};
pub(super) const GO_CLOUDWATCH_LAND: Land = CloudWatch {
    region: "us-west-2",
    group: "/aws/ecs/containerinsights/{cluster}/application",
    stream: "{task_id}",
    want: APP_LOG,
};
pub(super) const HEALTH_LAND: Land = CloudWatch {
    region: "us-west-2",
    group: "app-stdout-logs",
    stream: "ecs-",
    want: APP_LOG,
};
pub(super) const OOM_LAND: Land = CloudWatch {
    region: "us-east-1",
    group: "firelens-tutorial",
    stream: "/logs/4f1b2c3d4e5f",
    want: APP_LOG,
};
pub(super) const METRICS_LAND: Land = CloudWatch {
    region: "ap-south-1",
    group: "fb-metrics-to-cw-fluent-bit-output",
    stream: "perf-logger-vanilla-app1app-firelens-{task_id}",
    want: APP_LOG,
};
pub(super) const METRICS_ENV: &[(&str, &str)] = &[
    ("FLUENT_BIT_METRICS_LOG_GROUP", "fluent-bit-metrics"),
    ("FLUENT_BIT_METRICS_LOG_REGION", "us-west-2"),
];
/// What the DaemonSet of the manifest sets (its values are the manifest's or a cluster's).
pub(super) const K8S_ENV: &[(&str, &str)] = &[
    ("AWS_REGION", "us-west-2"),
    ("CLUSTER_NAME", "firelens-examples"),
    ("HTTP_SERVER", "On"),
    ("HTTP_PORT", "2020"),
    ("READ_FROM_HEAD", "Off"),
    ("READ_FROM_TAIL", "On"),
    ("HOST_NAME", "ip-10-0-0-1.us-west-2.compute.internal"),
    ("CI_VERSION", "k8s/1.3.10"),
];
pub(super) const ECS_FILES_CLOUDWATCH: &[(&str, &str)] = &[
    ("/ecs/cloudwatch.conf", afb!("ecs/cloudwatch.conf")),
    ("/ecs/service.conf", afb!("ecs/service.conf")),
    ("/ecs/input-forward.conf", afb!("ecs/input-forward.conf")),
    ("/ecs/ecs-metadata.conf", afb!("ecs/ecs-metadata.conf")),
];
pub(super) const ECS_FILES_S3: &[(&str, &str)] = &[
    ("/ecs/s3.conf", afb!("ecs/s3.conf")),
    ("/ecs/service.conf", afb!("ecs/service.conf")),
    ("/ecs/input-forward.conf", afb!("ecs/input-forward.conf")),
    ("/ecs/ecs-metadata.conf", afb!("ecs/ecs-metadata.conf")),
];
pub(super) const ECS_FILES_FIREHOSE: &[(&str, &str)] = &[
    ("/ecs/firehose.conf", afb!("ecs/firehose.conf")),
    ("/ecs/service.conf", afb!("ecs/service.conf")),
    ("/ecs/input-forward.conf", afb!("ecs/input-forward.conf")),
    ("/ecs/ecs-metadata.conf", afb!("ecs/ecs-metadata.conf")),
];
pub(super) const ECS_FILES_KINESIS: &[(&str, &str)] = &[
    ("/ecs/kinesis.conf", afb!("ecs/kinesis.conf")),
    ("/ecs/service.conf", afb!("ecs/service.conf")),
    ("/ecs/input-forward.conf", afb!("ecs/input-forward.conf")),
    ("/ecs/ecs-metadata.conf", afb!("ecs/ecs-metadata.conf")),
];
pub(super) const ECS_FILES_ES: &[(&str, &str)] = &[
    ("/ecs/amazon-es.conf", afb!("ecs/amazon-es.conf")),
    ("/ecs/service.conf", afb!("ecs/service.conf")),
    ("/ecs/input-forward.conf", afb!("ecs/input-forward.conf")),
    ("/ecs/ecs-metadata.conf", afb!("ecs/ecs-metadata.conf")),
];

/// The files firelane's image ships at these paths, as (path in the image, path in this
/// repository): every row sees them (scripts/image-rootfs.sh installs config/image/ there).
pub const IMAGE_FILES: &[(&str, &str)] = &[
    (
        "/fluent-bit/configs/minimize-log-loss.conf",
        "config/image/configs/minimize-log-loss.conf",
    ),
    (
        "/fluent-bit/configs/output-metrics-healthcheck.conf",
        "config/image/configs/output-metrics-healthcheck.conf",
    ),
    (
        "/fluent-bit/configs/parse-json.conf",
        "config/image/configs/parse-json.conf",
    ),
    (
        "/fluent-bit/configs/plugin-and-storage-metrics-to-cloudwatch.conf",
        "config/image/configs/plugin-and-storage-metrics-to-cloudwatch.conf",
    ),
    (
        "/fluent-bit/configs/plugin-metrics-parser.conf",
        "config/image/configs/plugin-metrics-parser.conf",
    ),
    (
        "/fluent-bit/configs/plugin-metrics-to-cloudwatch.conf",
        "config/image/configs/plugin-metrics-to-cloudwatch.conf",
    ),
    (
        "/fluent-bit/parsers/parsers.conf",
        "config/image/parsers/parsers.conf",
    ),
];

/// What most rows leave out: no extra files or variables, nothing to note.
pub(super) const PLAIN: Row = Row {
    name: "",
    source: Own(""),
    files: &[],
    env: &[],
    send: &[],
    land: Elsewhere(""),
    blockers: &[],
    note: "",
};

/// Every row: the FireLens examples, then the aws-for-fluent-bit image's configs.
pub fn rows() -> Vec<&'static Row> {
    examples::ROWS.iter().chain(aws_image::ROWS).collect()
}
