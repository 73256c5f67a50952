//! The rows of the aws-for-fluent-bit image's own configs and use cases.

use super::*;

pub(super) static ROWS: &[Row] = &[
    Row {
        name: "aws-for-fluent-bit: configs/minimize-log-loss.conf",
        source: TaskWithExtra(
            EXTRA_TASK,
            "file",
            "/fluent-bit/configs/minimize-log-loss.conf",
        ),
        files: &[(
            "/fluent-bit/configs/minimize-log-loss.conf",
            afb!("configs/minimize-log-loss.conf"),
        )],
        send: APP,
        land: EXTRA_LAND,
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: configs/output-metrics-healthcheck.conf",
        source: TaskWithExtra(
            EXTRA_TASK,
            "file",
            "/fluent-bit/configs/output-metrics-healthcheck.conf",
        ),
        files: &[(
            "/fluent-bit/configs/output-metrics-healthcheck.conf",
            afb!("configs/output-metrics-healthcheck.conf"),
        )],
        send: APP,
        land: EXTRA_LAND,
        blockers: &[],
        note: "`Health_Check` and `HC_Retry_Failure_Count` are accepted and ignored (issue 30)",
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: configs/parse-json.conf",
        source: TaskWithExtra(EXTRA_TASK, "file", "/fluent-bit/configs/parse-json.conf"),
        files: &[(
            "/fluent-bit/configs/parse-json.conf",
            afb!("configs/parse-json.conf"),
        )],
        send: &[Stdout {
            container: "app",
            line: "{\"level\":\"info\",\"msg\":\"{marker}\"}",
        }],
        land: CloudWatch {
            region: "us-west-2",
            group: "firelane-extra-config",
            stream: "app-app-firelens-{task_id}",
            want: &[Field("level", "info"), Field("msg", "{marker}")],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: configs/plugin-metrics-to-cloudwatch.conf",
        source: TaskWithExtra(
            EXTRA_TASK,
            "file",
            "/fluent-bit/configs/plugin-metrics-to-cloudwatch.conf",
        ),
        files: &[
            (
                "/fluent-bit/configs/plugin-metrics-to-cloudwatch.conf",
                afb!("configs/plugin-metrics-to-cloudwatch.conf"),
            ),
            (
                "/fluent-bit/configs/plugin-metrics-parser.conf",
                afb!("configs/plugin-metrics-parser.conf"),
            ),
        ],
        env: METRICS_ENV,
        send: APP,
        land: EXTRA_LAND,
        blockers: &[EXEC],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: configs/plugin-and-storage-metrics-to-cloudwatch.conf",
        source: TaskWithExtra(
            EXTRA_TASK,
            "file",
            "/fluent-bit/configs/plugin-and-storage-metrics-to-cloudwatch.conf",
        ),
        files: &[
            (
                "/fluent-bit/configs/plugin-and-storage-metrics-to-cloudwatch.conf",
                afb!("configs/plugin-and-storage-metrics-to-cloudwatch.conf"),
            ),
            (
                "/fluent-bit/configs/plugin-metrics-parser.conf",
                afb!("configs/plugin-metrics-parser.conf"),
            ),
        ],
        env: METRICS_ENV,
        send: APP,
        land: EXTRA_LAND,
        blockers: &[EXEC, MIXED_INDENT],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: ecs/cloudwatch.conf",
        source: Own("/ecs/cloudwatch.conf"),
        files: ECS_FILES_CLOUDWATCH,
        send: APP,
        land: CloudWatch {
            region: "us-west-2",
            group: "/aws/ecs/containerinsights/{cluster}/application",
            stream: "ecs-app-firelens-{task_id}",
            want: &[
                Field("log", "GET /index.html 200 {marker}"),
                Field("ecs_cluster", "{cluster}"),
            ],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: ecs/s3.conf",
        source: Own("/ecs/s3.conf"),
        files: ECS_FILES_S3,
        env: &[("BUCKET", "firelane-examples"), ("S3_REGION", "us-west-2")],
        send: APP,
        land: S3 {
            region: "us-west-2",
            bucket: "firelane-examples",
            want: APP_LOG,
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: ecs/firehose.conf",
        source: Own("/ecs/firehose.conf"),
        files: ECS_FILES_FIREHOSE,
        env: &[
            ("FIREHOSE_REGION", "us-west-2"),
            ("DELIVERY_STREAM", "my-stream"),
        ],
        send: APP,
        land: FIREHOSE_DEST,
        blockers: &[
            KINESIS_FIREHOSE,
            no_output(27, "no kinesis_firehose output"),
        ],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: ecs/kinesis.conf",
        source: Own("/ecs/kinesis.conf"),
        files: ECS_FILES_KINESIS,
        env: &[("KINESIS_REGION", "us-west-2"), ("STREAM", "my-stream")],
        send: APP,
        land: Elsewhere("Kinesis Data Streams (moto could stand in: issue 27)"),
        blockers: &[
            refused(
                "output plugin `kinesis_streams`",
                Issue(27),
                "no kinesis_streams output",
            ),
            no_output(27, "no kinesis_streams output"),
        ],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: ecs/amazon-es.conf",
        source: Own("/ecs/amazon-es.conf"),
        files: ECS_FILES_ES,
        env: &[
            ("ES_ENDPOINT", "search-x.us-west-2.es.amazonaws.com"),
            ("INDEX", "logs"),
            ("TYPE", "_doc"),
            ("ES_REGION", "us-west-2"),
        ],
        send: APP,
        land: Elsewhere("Amazon OpenSearch Service"),
        blockers: &[
            refused("output plugin `es`", Issue(28), "no es output"),
            no_output(28, "no es output"),
        ],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: ecs/filter-parser.conf",
        source: TaskWithExtra(EXTRA_TASK, "file", "/ecs/filter-parser.conf"),
        files: &[("/ecs/filter-parser.conf", afb!("ecs/filter-parser.conf"))],
        env: &[("PARSER_NAME", "json")],
        send: &[Stdout {
            container: "app",
            line: "{\"level\":\"info\",\"msg\":\"{marker}\"}",
        }],
        land: CloudWatch {
            region: "us-west-2",
            group: "firelane-extra-config",
            stream: "app-app-firelens-{task_id}",
            want: &[Field("level", "info"), Field("msg", "{marker}")],
        },
        blockers: &[],
        note: "firelane knows the `json` parser without a Parsers_File; Fluent Bit refuses `Parser json` without one",
    },
    Row {
        name: "aws-for-fluent-bit: fluent-bit.conf (the image's default)",
        source: Own("/fluent-bit/etc/fluent-bit.conf"),
        files: &[("/fluent-bit/etc/fluent-bit.conf", afb!("fluent-bit.conf"))],
        send: &[Forward {
            port: 24224,
            tag: "app.web",
            line: "GET / 200 {marker}",
        }],
        land: CloudWatch {
            region: "us-east-1",
            group: "fluent-bit-cloudwatch",
            stream: "from-fluent-bit-app.web",
            want: &[Field("log", "GET / 200 {marker}")],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: use_cases/k8s-metadata-customize-cw",
        source: ConfigMap(afb!("use_cases/k8s-metadata-customize-cw/fluent-bit.yaml")),
        env: K8S_ENV,
        send: &[],
        land: Elsewhere("a Kubernetes node (its log files, journal and API)"),
        blockers: &[TAIL, SYSTEMD, NO_INPUT_LEFT, KUBERNETES, AWS_FILTER],
        ..PLAIN
    },
    Row {
        name: "aws-for-fluent-bit: use_cases/k8s-metadata-customize-tag",
        source: ConfigMap(afb!("use_cases/k8s-metadata-customize-tag/fluent-bit.yaml")),
        env: K8S_ENV,
        send: &[],
        land: Elsewhere("a Kubernetes node (its log files, journal and API)"),
        blockers: &[TAIL, SYSTEMD, NO_INPUT_LEFT, KUBERNETES, AWS_FILTER],
        ..PLAIN
    },
];
