//! Inputs: each listens, decodes, and submits batches to the pipeline.

/// Fluent Forward protocol input.
pub mod forward;
