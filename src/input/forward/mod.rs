//! Fluent Forward input: codec (pure) and server (sockets).

/// Frame check and zero-copy decode of the four Forward modes.
pub mod codec;

/// Shared-key and user authentication (HELO/PING/PONG), server and client halves.
pub mod handshake;

/// Connection handling: reads, frames, submits, acks.
pub mod server;

/// How much a connection reads at once.
mod read_size;

/// Submitting decoded batches, inline or on the filter stage.
mod submit;

/// The read buffer, charged to the memory account.
mod buffer;

/// Decoding frames into pieces whose memory is charged first.
mod decode;
