//! Inputs: each listens (through [`crate::net`]), decodes, and submits batches to the pipeline.

/// Fluent Forward protocol input.
pub mod forward;
/// Newline framing with a maximum line length.
pub mod lines;
/// Newline-delimited JSON or text over TCP.
pub mod tcp;
