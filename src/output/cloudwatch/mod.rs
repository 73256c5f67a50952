//! CloudWatch Logs output: PutLogEvents with exact batching, name templates, auto-create and retries.
//!
//! Pure parts (templates, messages, batching, error classes) are separate modules with unit tests;
//! the task that drives the SDK is thin.

/// The PutLogEvents request body, written as a stream's events arrive.
pub mod body;
/// The SDK edge: client construction and classified call errors.
pub mod client;
/// Which log group and stream each event goes to.
pub mod naming;
/// The output task: batches in, requests out, `workers` in flight.
pub mod output;
/// One request from first try to accepted or dropped.
pub mod sender;

pub use output::CloudWatchOutput;

/// Groups events per (log group, log stream) into PutLogEvents-sized requests.
pub mod batcher;
/// Turns a record into the CloudWatch message: JSON or one key's value, truncated to the limit.
pub mod message;
/// What CloudWatch Logs accepts as a group or stream name, applied to a rendered name.
pub mod sanitize;
/// The timestamps CloudWatch accepts: not older than 14 days, not over 2 hours ahead.
pub mod window;
