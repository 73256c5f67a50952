//! msgpack to JSON transcoding (written in the transcoder work).
