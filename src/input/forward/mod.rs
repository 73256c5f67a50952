//! Fluent Forward input: the server side of [`crate::forward`] over sockets.

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
