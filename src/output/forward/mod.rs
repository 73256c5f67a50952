//! Forward output: events to one or more Fluent Forward aggregators, at least once when acks are on.
//!
//! Pure parts (frames, ack replies, upstream choice) are separate modules with unit tests; the
//! connector is the one place connections are made; the task that drives them is thin.

/// Connections to upstreams: TCP now, TLS and the shared-key handshake later.
pub mod connect;
/// The output task: rounds in, frames out, resent elsewhere on failure.
pub mod output;
/// Round robin / failover over upstreams with backoff.
pub mod upstreams;

pub use output::ForwardOutput;
