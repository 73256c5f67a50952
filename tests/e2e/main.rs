//! Process-level tests: the real `firelane` binary started on a config, fed by real clients
//! (fluent-logger for Python and Node, Docker's driver format, curl) and faults, against moto and
//! local stand-ins; every fault test counts sent / acked / delivered / duplicated / lost. One
//! test binary, so the suite links once; `common/` holds the shared helpers.

mod common;

mod applets;
mod aws_endpoints;
mod backpressure;
mod chaos_cloudwatch;
mod chaos_disk;
mod chaos_s3;
mod chaos_shutdown;
mod chaos_slow_output;
mod cloudwatch;
mod cloudwatch_faults;
mod connections;
mod dockerfile;
mod filters;
mod firelens_e2e;
mod firelens_examples;
mod firelens_init;
mod fluent_bit_regex;
mod fluent_bit_semantics;
mod fluent_logger;
mod forward_auth;
mod forward_memory;
mod forward_output;
mod forward_secure;
mod forward_socket;
mod forward_tls;
mod image_rootfs;
mod local_faults;
mod memory_cgroup;
mod memory_sizing;
mod s3;
mod s3_disk_full;
mod s3_recovery;
mod s3_sizes;
mod shutdown;
mod tcp_and_cli;
