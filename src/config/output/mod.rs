//! Each output's options, one file per plugin (the local outputs share `local.rs`): the struct,
//! declared with `entry_options!`, and its `Check`.

/// `name = "cloudwatch_logs"` (and `cloudwatch`).
pub mod cloudwatch;
/// `name = "forward"` in `[[outputs]]`.
pub mod forward;
/// `name = "stdout"`, `"file"`, `"null"`.
pub mod local;
/// `name = "s3"`.
pub mod s3;
