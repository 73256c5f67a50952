//! The Fluent Forward protocol, both directions, pure of sockets: framing and decoding
//! ([`codec`]), encoding a round of batches ([`encode`]), ack replies ([`ack`]) and the
//! shared-key handshake's server and client halves ([`handshake`]). The input
//! (`input::forward`) and the output (`output::forward`) drive them over connections.

/// Reads `{"ack": chunk}` replies.
pub mod ack;
/// Frame check and zero-copy decode of the four Forward modes.
pub mod codec;
/// A round of batches as PackedForward frames.
pub mod encode;
/// Shared-key and user authentication (HELO/PING/PONG), server and client halves.
pub mod handshake;
