//! The rows of aws-samples/amazon-ecs-firelens-examples, in its directory order.

use super::*;

pub(super) static ROWS: &[Row] = &[
    Row {
        name: "examples/fluent-bit/add-keys",
        source: Task(ex!("fluent-bit/add-keys/task-definition.json")),
        files: &[(
            "arn:aws:s3:::yourbucket/yourdirectory/extra.conf",
            ex!("fluent-bit/add-keys/extra.conf"),
        )],
        send: APP,
        land: FIREHOSE_DEST,
        blockers: &[KINESIS_FIREHOSE],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/adot-resource-monitoring",
        source: Task(ex!(
            "fluent-bit/adot-resource-monitoring/task-definition.json"
        )),
        send: APP,
        land: CloudWatch {
            region: "us-west-2",
            group: "ecs/application",
            stream: "app-app-firelens-{task_id}",
            want: &[Message("GET /index.html 200 {marker}")],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/amazon-managed-service-for-prometheus",
        source: Task(ex!(
            "fluent-bit/amazon-managed-service-for-prometheus/task-definition.json"
        )),
        files: &[(
            "arn:aws:s3:::your-bucket/fluent-bit.conf",
            ex!("fluent-bit/amazon-managed-service-for-prometheus/config-files/fluent-bit.conf"),
        )],
        send: &[Stdout {
            container: "my-app",
            line: "GET /index.html 200 {marker}",
        }],
        land: GO_CLOUDWATCH_LAND,
        // Its init file (node_exporter_metrics in, prometheus_remote_write out) is loaded, and
        // refused for those two plugins (not planned).
        blockers: &PROMETHEUS_PLUGINS,
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/amazon-opensearch-serverless",
        source: Task(ex!(
            "fluent-bit/amazon-opensearch-serverless/task-definition.json"
        )),
        send: APP,
        land: Elsewhere("Amazon OpenSearch Serverless"),
        blockers: &[refused(
            "output plugin `opensearch`",
            Issue(28),
            "no opensearch output",
        )],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/amazon-opensearch",
        source: Task(ex!("fluent-bit/amazon-opensearch/task-definition.json")),
        send: APP,
        land: Elsewhere("Amazon OpenSearch Service"),
        blockers: &[refused(
            "output plugin `opensearch`",
            Issue(28),
            "no opensearch output",
        )],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/cloudwatchlogs-emf/emf-over-tcp (bridge)",
        source: TaskWithExtra(
            ex!("fluent-bit/cloudwatchlogs-emf/emf-over-tcp/task-definition-bridge.json"),
            "file",
            "/extra.conf",
        ),
        files: &[(
            "/extra.conf",
            ex!("fluent-bit/cloudwatchlogs-emf/emf-over-tcp/extra.conf"),
        )],
        send: &[Tcp {
            port: 25888,
            line: EMF,
        }],
        land: EMF_LAND,
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/cloudwatchlogs-emf/emf-over-tcp (localhost)",
        source: TaskWithExtra(
            ex!("fluent-bit/cloudwatchlogs-emf/emf-over-tcp/task-definition-localhost.json"),
            "file",
            "/extra.conf",
        ),
        files: &[(
            "/extra.conf",
            ex!("fluent-bit/cloudwatchlogs-emf/emf-over-tcp/extra.conf"),
        )],
        send: &[Tcp {
            port: 25888,
            line: EMF,
        }],
        land: EMF_LAND,
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/cloudwatchlogs-emf (stdout)",
        source: Task(ex!(
            "fluent-bit/cloudwatchlogs-emf/task-definition-stdout-emf.json"
        )),
        send: &[Stdout {
            container: "app",
            line: EMF,
        }],
        land: CloudWatch {
            region: "us-west-2",
            group: "emf-log-group/application",
            stream: "emf-app-firelens-{task_id}",
            want: &[Message(EMF)],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/cloudwatchlogs (cloudwatch)",
        source: Task(ex!(
            "fluent-bit/cloudwatchlogs/task-definition-cloudwatch.json"
        )),
        send: APP,
        land: GO_CLOUDWATCH_LAND,
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/cloudwatchlogs (cloudwatch_logs)",
        source: Task(ex!(
            "fluent-bit/cloudwatchlogs/task-definition-cloudwatch_logs.json"
        )),
        send: APP,
        land: CloudWatch {
            region: "us-west-2",
            group: "/aws/ecs/containerinsights/application",
            stream: "stdout-stderr-",
            want: &[
                Field("log", "GET /index.html 200 {marker}"),
                Field("ecs_cluster", "{cluster}"),
            ],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/config-file-type-file",
        source: Task(ex!("fluent-bit/config-file-type-file/task-definition.json")),
        files: &[(
            "/extra.conf",
            ex!("fluent-bit/config-file-type-file/extra.conf"),
        )],
        send: APP,
        land: FIREHOSE_DEST,
        blockers: &[FIREHOSE],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/cross-account",
        source: Task(ex!("fluent-bit/cross-account/task-definition.json")),
        send: APP,
        land: AssumingRole(
            "arn:aws:iam::222222222222:role/cross-account-log-role",
            &GO_CLOUDWATCH_LAND,
        ),
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/datadog",
        source: Task(ex!("fluent-bit/datadog/task-definition.json")),
        send: APP,
        land: Elsewhere("Datadog's intake"),
        blockers: &[refused(
            "output plugin `datadog`",
            Issue(28),
            "no datadog output",
        )],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/dynatrace",
        source: Task(ex!("fluent-bit/dynatrace/task-definition.json")),
        send: APP,
        land: Elsewhere("Dynatrace"),
        blockers: &[no_config(
            "not JSON",
            Upstream,
            "the task definition is not valid JSON (a comma is missing)",
        )],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/ecs-log-collection (tail)",
        source: Task(ex!(
            "fluent-bit/ecs-log-collection/task-definition-tail.json"
        )),
        files: &[(
            "arn:aws:s3:::yourbucket/yourdirectory/tail.conf",
            ex!("fluent-bit/ecs-log-collection/tail.conf"),
        )],
        send: APP,
        land: CloudWatch {
            region: "us-east-1",
            group: "firelens-tutorial-{cluster}",
            stream: "/logs/app/i-0123456789abcdef0-{task_id}",
            want: APP_LOG,
        },
        blockers: &[TAIL, AWS_FILTER],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/ecs-log-collection (tcp)",
        source: Task(ex!(
            "fluent-bit/ecs-log-collection/task-definition-tcp.json"
        )),
        files: &[(
            "arn:aws:s3:::yourbucket/yourdirectory/tcp.conf",
            ex!("fluent-bit/ecs-log-collection/tcp.conf"),
        )],
        send: &[Tcp {
            port: 5170,
            line: LONG_LINE,
        }],
        land: CloudWatch {
            region: "us-east-1",
            group: "firelens-tutorial-{cluster}",
            stream: "/logs/i-0123456789abcdef0-{task_id}",
            want: &[Field("log", LONG_LINE)],
        },
        blockers: &[AWS_FILTER],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/ecs-log-deletion",
        source: Task(ex!("fluent-bit/ecs-log-deletion/take-definition-tail.json")),
        files: &[(
            "arn:aws:s3:::yourbucket/yourdirectory/tail.conf",
            ex!("fluent-bit/ecs-log-deletion/tail.conf"),
        )],
        send: APP,
        land: CloudWatch {
            region: "us-east-1",
            group: "firelens-tutorial-{cluster}",
            stream: "/logs/app/i-0123456789abcdef0-{task_id}",
            want: APP_LOG,
        },
        blockers: &[TAIL],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/efs",
        source: Task(ex!("fluent-bit/efs/task-definition.json")),
        files: &[("/configs/extra.conf", ex!("fluent-bit/efs/extra.conf"))],
        send: &[Stdout {
            container: "nginx",
            line: "GET / 200 {marker}",
        }],
        land: FIREHOSE_DEST,
        blockers: &[KINESIS_FIREHOSE],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/elastic-cloud",
        source: Task(ex!("fluent-bit/elastic-cloud/task-definition.json")),
        send: &[Stdout {
            container: "example-app",
            line: "GET / 200 {marker}",
        }],
        land: Elsewhere("Elastic Cloud"),
        blockers: &[refused("output plugin `es`", Issue(28), "no es output")],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/enable-debug-logging",
        source: Task(ex!("fluent-bit/enable-debug-logging/task-definition.json")),
        files: &[(
            "arn:aws:s3:::yourbucket/yourdirectory/extra.conf",
            ex!("fluent-bit/enable-debug-logging/extra.conf"),
        )],
        send: APP,
        land: CloudWatch {
            region: "us-west-2",
            group: "firelens-fluent-bit",
            stream: "from-fluent-bitapp-firelens-{task_id}",
            want: APP_LOG,
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/filter-multiline-partial-message-mode",
        source: Task(ex!(
            "fluent-bit/filter-multiline-partial-message-mode/task-definition.json"
        )),
        files: &[(
            "/extra.conf",
            ex!(
                "fluent-bit/filter-multiline-partial-message-mode/custom-fluent-bit-with-config/extra.conf"
            ),
        )],
        send: &[Partial {
            container: "app",
            parts: &["first half {marker} ", "second half"],
        }],
        land: CloudWatch {
            region: "us-west-2",
            group: "multiline-test/application",
            stream: "multiline-app-firelens-{task_id}",
            want: &[Field("log", "first half {marker} second half")],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/filter-multiline",
        source: Task(ex!("fluent-bit/filter-multiline/task-definition.json")),
        files: &[
            (
                "/extra.conf",
                ex!("fluent-bit/filter-multiline/custom-fluent-bit-with-parser/extra.conf"),
            ),
            (
                "/parsers_multiline.conf",
                ex!(
                    "fluent-bit/filter-multiline/custom-fluent-bit-with-parser/parsers_multiline.conf"
                ),
            ),
        ],
        send: &[
            Stdout {
                container: "app",
                line: "Dec 14 06:41:08 Exception in thread \"main\" {marker}",
            },
            Stdout {
                container: "app",
                line: "    at com.myproject.module.MyProject.badMethod(MyProject.java:22)",
            },
            Stdout {
                container: "app",
                line: "    at com.myproject.module.MyProject.main(MyProject.java:6)",
            },
        ],
        land: CloudWatch {
            region: "us-west-2",
            group: "multiline-test/application",
            stream: "multiline-app-firelens-{task_id}",
            want: &[Field("log", JAVA_TRACE)],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/forward-to-aggregator",
        source: Task(ex!("fluent-bit/forward-to-aggregator/task-definition.json")),
        send: APP,
        land: Aggregator { want: APP_LOG },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/grafana-cloud",
        source: Task(ex!("fluent-bit/grafana-cloud/task-definition.json")),
        send: APP,
        land: Elsewhere("Grafana Cloud (Loki)"),
        blockers: &[refused("output plugin `loki`", Issue(28), "no loki output")],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/health-check (output metrics)",
        source: Task(ex!(
            "fluent-bit/health-check/task-definition-output-metrics-healthcheck.json"
        )),
        send: APP,
        land: HEALTH_LAND,
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/health-check (tcp)",
        source: Task(ex!(
            "fluent-bit/health-check/task-definition-tcp-healthcheck.json"
        )),
        send: &[
            Tcp {
                port: 8877,
                line: "{\"health\": \"check\"}",
            },
            Stdout {
                container: "app",
                line: "GET /index.html 200 {marker}",
            },
        ],
        land: HEALTH_LAND,
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/health-check (uptime)",
        source: Task(ex!(
            "fluent-bit/health-check/task-definition-uptime-healthcheck.json"
        )),
        send: APP,
        land: HEALTH_LAND,
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/init-metadata",
        source: Task(ex!("fluent-bit/init-metadata/task-definition.json")),
        send: APP,
        land: CloudWatch {
            region: "us-west-2",
            group: "{cluster}/application",
            stream: "{task_id}",
            want: APP_LOG,
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/kinesis-firehose",
        source: Task(ex!("fluent-bit/kinesis-firehose/task-definition.json")),
        send: APP,
        land: FIREHOSE_DEST,
        blockers: &[FIREHOSE],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/kinesis-stream",
        source: Task(ex!("fluent-bit/kinesis-stream/task-definition.json")),
        send: APP,
        land: Elsewhere("Kinesis Data Streams (moto could stand in: issue 27)"),
        blockers: &[refused(
            "output plugin `kinesis_streams`",
            Issue(27),
            "no kinesis_streams output",
        )],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/log-driver-buffer-limit",
        source: Task(ex!(
            "fluent-bit/log-driver-buffer-limit/task-definition.json"
        )),
        send: APP,
        land: GO_CLOUDWATCH_LAND,
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/logstash",
        source: Task(ex!("fluent-bit/logstash/task-definition.json")),
        send: APP,
        land: Elsewhere("Logstash"),
        blockers: &[HTTP_OUTPUT],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/multi-config-support",
        source: Task(ex!("fluent-bit/multi-config-support/task-definition.json")),
        files: &[
            (
                "arn:aws:s3:::your-bucket/tail-input.conf",
                ex!("fluent-bit/multi-config-support/config-files/tail-input.conf"),
            ),
            (
                "arn:aws:s3:::your-bucket/your-filter.conf",
                ex!("fluent-bit/multi-config-support/config-files/your-filter.conf"),
            ),
            (
                "arn:aws:s3:::your-bucket/your-parser.conf",
                ex!("fluent-bit/multi-config-support/config-files/your-parser.conf"),
            ),
            (
                "arn:aws:s3:::your-bucket/s3-output.conf",
                ex!("fluent-bit/multi-config-support/config-files/s3-output.conf"),
            ),
        ],
        send: APP,
        land: GO_CLOUDWATCH_LAND,
        // Its init files (a tail input, a parser, an S3 output) are loaded; `tail` is refused
        // (issue 29).
        blockers: &[TAIL],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/newrelic",
        source: Task(ex!("fluent-bit/newrelic/example-task-definition.json")),
        send: &[Stdout {
            container: "webserver",
            line: "GET / 200 {marker}",
        }],
        land: Elsewhere("New Relic"),
        blockers: &[refused(
            "output plugin `newrelic`",
            Unplanned,
            "New Relic's own Go plugin (their image)",
        )],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/oomkill-prevention (full filesystem)",
        source: Own("/fluent-bit/alt/fluent-bit.conf"),
        files: &[(
            "/fluent-bit/alt/fluent-bit.conf",
            ex!(
                "fluent-bit/oomkill-prevention/firelens-full-filesystem-example/fluent-bit-image/extra.conf"
            ),
        )],
        send: APP,
        land: OOM_LAND,
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/oomkill-prevention (full memory)",
        source: Own("/fluent-bit/alt/fluent-bit.conf"),
        files: &[(
            "/fluent-bit/alt/fluent-bit.conf",
            ex!(
                "fluent-bit/oomkill-prevention/firelens-full-memory-example/fluent-bit-image/extra.conf"
            ),
        )],
        send: APP,
        land: OOM_LAND,
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/oomkill-prevention (filesystem.conf)",
        source: TaskWithExtra(EXTRA_TASK, "file", "/fluent-bit/etc/extra.conf"),
        files: &[(
            "/fluent-bit/etc/extra.conf",
            ex!("fluent-bit/oomkill-prevention/filesystem.conf"),
        )],
        send: &[Tcp {
            port: 5170,
            line: LONG_LINE,
        }],
        land: CloudWatch {
            region: "us-east-1",
            group: "firelens-tutorial",
            stream: "/logs/4f1b2c3d4e5f",
            want: &[Field("log", LONG_LINE)],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/oomkill-prevention (memory.conf)",
        source: TaskWithExtra(EXTRA_TASK, "file", "/fluent-bit/etc/extra.conf"),
        files: &[(
            "/fluent-bit/etc/extra.conf",
            ex!("fluent-bit/oomkill-prevention/memory.conf"),
        )],
        send: &[Tcp {
            port: 5170,
            line: LONG_LINE,
        }],
        land: CloudWatch {
            region: "us-east-1",
            group: "firelens-tutorial-{cluster}",
            stream: "/logs/i-0123456789abcdef0-{task_id}",
            want: &[Field("log", LONG_LINE)],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/parse-common-log-formats",
        source: Task(ex!(
            "fluent-bit/parse-common-log-formats/task-definition.json"
        )),
        files: &[(
            "arn:aws:s3:::yourbucket/yourdirectory/extra.conf",
            ex!("fluent-bit/parse-common-log-formats/parse-apache.conf"),
        )],
        send: APP,
        land: FIREHOSE_DEST,
        blockers: &[FIREHOSE],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/parse-envoy-app-mesh",
        source: Task(ex!(
            "fluent-bit/parse-envoy-app-mesh/appmesh-firelens-colorteller-black-ecs-task-def.json"
        )),
        files: &[
            (
                "/fluent-bit/conf/parse_envoy.conf",
                ex!(
                    "fluent-bit/parse-envoy-app-mesh/aws-for-fluent-bit-custom-envoy/conf/parse_envoy.conf"
                ),
            ),
            (
                "/fluent-bit/parsers/envoy_parser.conf",
                ex!(
                    "fluent-bit/parse-envoy-app-mesh/aws-for-fluent-bit-custom-envoy/parsers/envoy_parser.conf"
                ),
            ),
        ],
        send: &[Stdout {
            container: "envoy",
            line: ENVOY,
        }],
        land: CloudWatch {
            region: "us-east-1",
            group: "appmesh-firelens",
            stream: "envoy-black-envoy-firelens-{task_id}",
            want: &[
                Field("method", "GET"),
                Field("path", "/{marker}"),
                Field("code", "200"),
            ],
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/parse-json",
        source: Task(ex!("fluent-bit/parse-json/task-definition.json")),
        files: &[(
            "arn:aws:s3:::yourbucket/yourdirectory/extra.conf",
            ex!("fluent-bit/parse-json/extra.conf"),
        )],
        send: APP,
        land: FIREHOSE_DEST,
        blockers: &[FIREHOSE],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/s3",
        source: Task(ex!("fluent-bit/s3/task-definition.json")),
        send: APP,
        land: S3 {
            region: "us-west-2",
            bucket: "your-bucket",
            want: APP_LOG,
        },
        blockers: &[],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/sematext",
        source: Task(ex!("fluent-bit/sematext/task-definition.json")),
        send: &[Stdout {
            container: "website",
            line: "GET / 200 {marker}",
        }],
        land: Elsewhere("Sematext"),
        // Its options hold a `Match *` besides ECS's `Match website-firelens*`: once `http` exists
        // (issue 28) firelane refuses the second Match until h-config makes the last one win,
        // with a warning, as in Fluent Bit.
        blockers: &[HTTP_OUTPUT],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/send-fb-internal-metrics-to-cw",
        source: Task(ex!(
            "fluent-bit/send-fb-internal-metrics-to-cw/task_definition.json"
        )),
        send: APP,
        land: METRICS_LAND,
        blockers: &[EXEC],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/send-fb-internal-metrics-to-cw (extra.conf)",
        source: TaskWithExtra(
            ex!("fluent-bit/send-fb-internal-metrics-to-cw/task_definition.json"),
            "file",
            "/extra.conf",
        ),
        files: &[
            (
                "/extra.conf",
                ex!("fluent-bit/send-fb-internal-metrics-to-cw/extra.conf"),
            ),
            (
                "/fb_metrics_parser.conf",
                ex!("fluent-bit/send-fb-internal-metrics-to-cw/fb_metrics_parser.conf"),
            ),
        ],
        send: APP,
        land: METRICS_LAND,
        blockers: &[EXEC],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/send-to-multiple-destinations",
        source: Task(ex!(
            "fluent-bit/send-to-multiple-destinations/task-definition.json"
        )),
        files: &[(
            "arn:aws:s3:::yourbucket/yourdirectory/extra.conf",
            ex!("fluent-bit/send-to-multiple-destinations/extra.conf"),
        )],
        send: APP,
        land: Elsewhere("Datadog's intake and Kinesis Data Firehose"),
        blockers: &[
            FIREHOSE,
            refused("output plugin `datadog`", Issue(28), "no datadog output"),
            refused(
                "set log_stream_name or log_stream_prefix",
                Upstream,
                "its cloudwatch_logs output names no log stream (Fluent Bit refuses it too)",
            ),
        ],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/signalfx",
        source: Task(ex!("fluent-bit/signalfx/task-definition.json")),
        send: APP,
        land: Elsewhere("SignalFx"),
        blockers: &[no_config(
            "secretOptions",
            Upstream,
            "secretOptions is an object, not a list: ECS refuses it",
        )],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/solarwinds-loggly",
        source: Task(ex!("fluent-bit/solarwinds-loggly/task-definition.json")),
        send: APP,
        land: Elsewhere("Loggly"),
        blockers: &[HTTP_OUTPUT],
        ..PLAIN
    },
    Row {
        name: "examples/fluent-bit/sumologic",
        source: Task(ex!("fluent-bit/sumologic/task-definition.json")),
        send: APP,
        land: Elsewhere("Sumo Logic"),
        blockers: &[HTTP_OUTPUT],
        ..PLAIN
    },
    Row {
        name: "examples/fluentd/multiline-logs",
        source: Task(ex!("fluentd/multiline-logs/task-definition.json")),
        send: APP,
        land: Elsewhere("Fluentd"),
        blockers: &[FLUENTD],
        ..PLAIN
    },
    Row {
        name: "examples/splitting-log-streams/fluent-bit",
        source: Task(ex!("splitting-log-streams/fluent-bit/task_definition.json")),
        files: &[
            (
                "/fluent-bit.conf",
                ex!("splitting-log-streams/fluent-bit/custom-fluent-bit-image/fluent-bit.conf"),
            ),
            (
                "/parser.conf",
                ex!("splitting-log-streams/fluent-bit/custom-fluent-bit-image/parser.conf"),
            ),
            (
                "/stream_processing.conf",
                ex!(
                    "splitting-log-streams/fluent-bit/custom-fluent-bit-image/stream_processing.conf"
                ),
            ),
        ],
        send: &[Stdout {
            container: "app",
            line: "{\"level\":\"info\",\"msg\":\"{marker}\"}",
        }],
        land: CloudWatch {
            region: "ap-south-1",
            group: "streams-example",
            stream: "log-level-logs.info",
            want: &[Field("msg", "{marker}")],
        },
        blockers: &[refused(
            "Streams_File",
            Unplanned,
            "the stream processor (`Streams_File`)",
        )],
        ..PLAIN
    },
    Row {
        name: "examples/splitting-log-streams/fluentd",
        source: Task(ex!("splitting-log-streams/fluentd/task_definition.json")),
        send: APP,
        land: Elsewhere("Fluentd"),
        blockers: &[FLUENTD],
        ..PLAIN
    },
];
