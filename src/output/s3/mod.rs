//! S3 output: records staged on local disk per tag (compressed as a stream, fsync'd before they are
//! acknowledged), sealed on size or age, uploaded by PutObject or multipart, recovered after a crash.
//!
//! Durable point: a record is acknowledged once it is in a staging file on disk (fsync'd), not
//! once it is in S3. Everything staged survives a restart and is uploaded then.

/// Object keys rendered from `s3_key_format` (`$TAG`, `$TAG[n]`, `$UUID`, `$INDEX`, UTC `%` times).
pub mod key;
/// The store directory's bookkeeping: metadata, parts journal, file names, recovery planning.
pub mod journal;
/// PutObject or multipart, and the byte range of every part.
pub mod parts;
/// Staging files: JSON lines through a streaming compressor, durable commits, crash recovery.
pub mod stage;
