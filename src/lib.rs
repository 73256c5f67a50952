//! firelane: a container log router (Fluent Forward in; CloudWatch Logs, S3, files out).
#![forbid(unsafe_code)]

/// The assembly: config -> running pipeline, the only module naming every component.
pub mod app;
/// firelane started as `curl` or `nc` (the image's links): just enough for health checks.
pub mod applet;
/// Command-line interface: run, validate, health.
pub mod cli;
/// Configuration model, loading and validation.
pub mod config;
/// ECS task metadata: read once at start, used by the init variables, filters and outputs.
pub mod ecs;
/// The environment as the process sees it, behind a trait so tests pass their own.
pub mod env;
/// What travels: events and batches (msgpack records as shared bytes), their acks and budget.
pub mod event;
/// Filters between inputs and routing (grep, modify, parser, multiline, ...).
pub mod filter;
/// The Fluent Forward protocol, both directions: codec, encode, acks, handshake.
pub mod forward;
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
/// Transport: listeners, connection slots, shutdown-aware reads, TLS.
pub mod net;
/// Fluent Bit's regular expressions (Onigmo syntax) on the `regex` crate, or a backtracking
/// engine for what needs one: the one pattern type filters, tag matching and parsers use.
pub mod onigmo;
/// Outputs: stdout, file, null.
pub mod output;
/// The run-time data path: intake, routing, the filter stage, inputs' disk buffers.
pub mod pipeline;
/// Rate-limited logging of repeated problems.
pub mod ratelimit;
/// The random source of jitter and UUIDs (splitmix64; not for secrets).
pub mod rng;
/// Values that are never logged (shared keys, passwords).
pub mod secret;
/// Disk buffer storage: segment files of checksummed frames, batch encoding, checkpoints.
pub mod storage;
/// Metric names and own-log setup.
pub mod telemetry;
/// Templates in Fluent Bit's dialects (CloudWatch names, S3 keys, rewrite_tag), one lexer.
pub mod template;
/// Calendar math and duration text, shared by filters, outputs and the config.
pub mod time;
