//! S3 output: records staged on local disk per tag (compressed as a stream, fsync'd before they are
//! acknowledged), sealed on size or age, uploaded by PutObject or multipart, recovered after a crash.
//!
//! Durable point: a record is acknowledged once it is in a staging file on disk (fsync'd), not
//! once it is in S3. Everything staged survives a restart and is uploaded then.

/// The SDK edge: upload calls with bodies streamed from staged files.
pub mod client;
/// The store directory's bookkeeping: metadata, parts journal, file names, recovery planning.
pub mod journal;
/// One staged line per event (JSON with the date key, or the raw `log_key` value).
pub mod lines;
/// The output task: stage rounds durably, seal, upload with `workers` in flight.
pub mod output;
/// PutObject or multipart, and the byte range of every part.
pub mod parts;
/// Staging one round of batches durably; a round a full disk held back, kept and written again.
pub mod round;
/// What the output works out at start: the staging limit, `$ecs_*` in keys, logged notes.
mod setup;
/// Staging files: JSON lines through a streaming compressor, durable commits, crash recovery.
pub mod stage;
/// The store directory: staging files per tag, sealing, start-up recovery.
pub mod store;
/// Uploads of sealed files (PutObject or journaled multipart) with retries.
pub mod upload;

pub use output::S3Output;
