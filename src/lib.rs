//! firelane: a container log router (Fluent Forward in; CloudWatch Logs, S3, files out).
#![forbid(unsafe_code)]

/// firelane started as `curl` or `nc` (the image's links): just enough for health checks.
pub mod applet;
/// Command-line interface: run, validate, health.
pub mod cli;
/// Configuration model, loading and validation.
pub mod config;
/// ECS task metadata: read once at start, used by the init variables, filters and outputs.
pub mod ecs;
/// What travels: events and batches (msgpack records as shared bytes), their acks and budget.
pub mod event;
/// Filters between inputs and routing (grep, modify, parser, multiline, ...).
pub mod filter;
/// Component health registry behind /health.
pub mod health;
/// HTTP admin server: /health, /metrics and Fluent Bit's aliases.
pub mod http;
/// The aws-for-fluent-bit init process, built in: ECS variables and init files at start.
pub mod init;
/// Inputs: Forward (TCP and Unix socket) and TCP lines.
pub mod input;
/// The process-wide memory account every load-dependent buffer charges.
pub mod memory;
/// Zero-copy msgpack reading and msgpack-to-JSON transcoding.
pub mod msgpack;
/// Outputs: stdout, file, null.
pub mod output;
/// Wiring: memory budgets, tag routing, building and draining the running pipeline.
pub mod pipeline;
/// Rate-limited logging of repeated problems.
pub mod ratelimit;
/// The random source of jitter and UUIDs (splitmix64; not for secrets).
pub mod rng;
/// Disk buffer storage: segment files of checksummed frames, batch encoding, checkpoints.
pub mod storage;
/// Metric names and own-log setup.
pub mod telemetry;
/// TLS: PEM files to rustls configs, and the client connector.
pub mod tls;
