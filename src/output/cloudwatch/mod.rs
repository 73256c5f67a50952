//! CloudWatch Logs output: PutLogEvents with exact batching, name templates, auto-create and retries.
//!
//! Pure parts (templates, messages, batching, error classes) are separate modules with unit tests;
//! the task that drives the SDK is thin.

/// Groups events per (log group, log stream) into PutLogEvents-sized requests.
pub mod batcher;
/// Turns a record into the CloudWatch message: JSON or one key's value, truncated to the limit.
pub mod message;
/// `$TAG`, `$TAG[n]` and record-field templates for group and stream names.
pub mod template;
