//! msgpack handling: records stay msgpack bytes until an output encodes them.

/// Record accessors (`$key['sub'][0]`): parse once, look values up in records.
pub mod accessor;
/// Rebuilding a msgpack map: iterate its entries, write a new one with entries skipped or added.
pub mod edit;
/// A record's top-level entries, read once and shared by the filters of a fused run.
pub mod index;
/// msgpack to JSON, straight into an output buffer.
pub mod json;
/// JSON text to msgpack in one pass (the tcp input and the `json` parser).
pub mod json_in;
/// Token-level zero-copy reader.
pub mod reader;
/// msgpack encoding (and the re-exported JSON -> msgpack entry point).
pub mod writer;
