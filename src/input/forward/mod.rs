//! Fluent Forward input: codec (pure) and server (sockets).

/// Frame check and zero-copy decode of the four Forward modes.
pub mod codec;

/// Connection handling: reads, frames, submits, acks.
pub mod server;
