//! msgpack handling: records stay msgpack bytes until an output encodes them.

/// msgpack to JSON, straight into an output buffer.
pub mod json;
/// Token-level zero-copy reader.
pub mod reader;
/// msgpack encoding, and JSON lines to msgpack records.
pub mod writer;
