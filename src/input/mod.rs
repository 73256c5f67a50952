//! Inputs: each listens, decodes, and submits batches to the pipeline.

/// Shutdown-aware connection reads.
pub mod drain;
/// Fluent Forward protocol input.
pub mod forward;
/// The per-frame deadline (`frame_timeout`): time waited on the peer for one frame or line.
pub mod frame_clock;
/// Newline framing with a maximum line length.
pub mod lines;
/// Listening sockets (TCP, Unix) and the connection cap.
pub mod listener;
/// Connection slots: the cap, progress, and eviction of the stalest when all are taken.
pub mod slots;
/// Newline-delimited JSON or text over TCP.
pub mod tcp;
/// TLS handshakes in front of a connection handler.
pub mod tls;
