//! The S3 output's size rules, Fluent Bit's (plugins/out_s3/s3.c and s3.h) applied to firelane's
//! staging files: which sizes a configuration may give ([`check`]), the upload plan they make
//! ([`UploadPlan`]: PutObject below 10 MiB, the chunk size in effect, what `total_file_size` is
//! compared with, when `upload_timeout` counts from), and the start-up notes that say where
//! firelane differs ([`notes`]). docs/guide/outputs/s3.md ("S3 size rules") compares them
//! rule by rule.
//!
//! Pure code: no I/O; instants come from the caller. Sizes are bytes as parsed (`1M` is
//! 1,000,000, `5M` is 5,000,000: Fluent Bit's sizes are decimal).

use std::time::{Duration, Instant};

use super::{Compression, S3OutputConfig, StoreOverflow};

/// Smallest part S3 accepts, except for the last part of an upload (5 MiB).
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;

/// Smallest `upload_chunk_size` with multipart (s3.h `MIN_CHUNKED_UPLOAD_SIZE`), S3's smallest
/// part but the last: 5 MiB, 5,242,880 bytes. `5M` (5,000,000) is below it.
pub const MIN_CHUNKED_UPLOAD_BYTES: u64 = MIN_PART_BYTES;
/// Largest `upload_chunk_size` without compression (s3.h `MAX_CHUNKED_UPLOAD_SIZE`).
pub const MAX_CHUNKED_UPLOAD_BYTES: u64 = 50_000_000;
/// Largest `upload_chunk_size` with compression (s3.h `MAX_CHUNKED_UPLOAD_COMPRESS_SIZE`).
pub const MAX_CHUNKED_UPLOAD_COMPRESSED_BYTES: u64 = 5_000_000_000;
/// Smallest `total_file_size` (s3.c `cb_s3_init`: "total_file_size must be at least 1MB").
pub const MIN_TOTAL_FILE_BYTES: u64 = 1_000_000;
/// Largest `total_file_size` (s3.h `MAX_FILE_SIZE`).
pub const MAX_TOTAL_FILE_BYTES: u64 = 50_000_000_000;
/// Largest `total_file_size` with PutObject (s3.h `MAX_FILE_SIZE_PUT_OBJECT`, 1 GB; Fluent Bit's
/// message says 50M, its check and documentation say 1G).
pub const MAX_PUT_OBJECT_FILE_BYTES: u64 = 1_000_000_000;
/// Below this `total_file_size` every file goes by PutObject even without `use_put_object`
/// (s3.c `cb_s3_init`: `file_size < 2 * MIN_CHUNKED_UPLOAD_SIZE`, 10,485,760 bytes).
pub const PUT_OBJECT_BELOW_BYTES: u64 = 2 * MIN_CHUNKED_UPLOAD_BYTES;
/// What an `upload_timeout` of 0 waits: Fluent Bit compares whole seconds (`now > created + 0`),
/// so a file goes at the first check in a later second, about one second after it opened.
pub const ZERO_TIMEOUT_WAIT: Duration = Duration::from_secs(1);

/// The options the size rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeOptions {
    pub total_file_bytes: u64,
    pub upload_chunk_bytes: u64,
    pub use_put_object: bool,
    pub compression: Compression,
    pub upload_timeout: Duration,
    /// `None`: unset ([`default_store_limit`]); 0: no limit.
    pub store_dir_limit_bytes: Option<u64>,
    pub store_dir_overflow: StoreOverflow,
}

impl SizeOptions {
    pub fn of(c: &S3OutputConfig) -> Self {
        Self {
            total_file_bytes: c.total_file_size.0,
            upload_chunk_bytes: c.upload_chunk_size.0,
            use_put_object: c.use_put_object.0,
            compression: c.compression,
            upload_timeout: c.upload_timeout.0,
            store_dir_limit_bytes: c.store_dir_limit_size.map(|s| s.0),
            store_dir_overflow: c.store_dir_overflow,
        }
    }

    /// Whether every file goes by PutObject: `use_put_object`, or a `total_file_size` under
    /// [`PUT_OBJECT_BELOW_BYTES`].
    pub fn puts_objects(&self) -> bool {
        self.use_put_object || self.total_file_bytes < PUT_OBJECT_BELOW_BYTES
    }
}

/// A size option Fluent Bit refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeProblem {
    /// The option to fix.
    pub key: &'static str,
    pub message: String,
}

/// The size rules of s3.c `cb_s3_init`, in its order; every one that fails is reported (Fluent
/// Bit stops at the first). `upload_chunk_size` is checked only for multipart uploads, apart from
/// the rule that it be at most half of `total_file_size`, which Fluent Bit applies to both.
pub fn check(o: &SizeOptions) -> Vec<SizeProblem> {
    let mut problems = Vec::new();
    let mut problem = |key, message: String| problems.push(SizeProblem { key, message });
    let (total, chunk) = (o.total_file_bytes, o.upload_chunk_bytes);
    if total < MIN_TOTAL_FILE_BYTES {
        problem(
            "total_file_size",
            format!("must be at least 1M ({MIN_TOTAL_FILE_BYTES} bytes)"),
        );
    } else if total > MAX_TOTAL_FILE_BYTES {
        problem(
            "total_file_size",
            format!("must be at most 50G ({MAX_TOTAL_FILE_BYTES} bytes)"),
        );
    } else if o.use_put_object && total > MAX_PUT_OBJECT_FILE_BYTES {
        problem(
            "total_file_size",
            format!("with use_put_object the most is 1G ({MAX_PUT_OBJECT_FILE_BYTES} bytes)"),
        );
    }
    let multipart = !o.puts_objects();
    let chunk_over_total = multipart && chunk > total;
    if chunk_over_total {
        problem(
            "upload_chunk_size",
            format!("must not be larger than total_file_size ({total} bytes)"),
        );
    }
    if multipart && chunk < MIN_CHUNKED_UPLOAD_BYTES {
        problem(
            "upload_chunk_size",
            format!(
                "must be at least {MIN_CHUNKED_UPLOAD_BYTES} bytes (5MiB; `5M` is 5000000 bytes)"
            ),
        );
    }
    let (max_chunk, max_text) = if o.compression == Compression::None {
        (MAX_CHUNKED_UPLOAD_BYTES, "50M")
    } else {
        (MAX_CHUNKED_UPLOAD_COMPRESSED_BYTES, "5G with compression")
    };
    if multipart && chunk > max_chunk {
        problem(
            "upload_chunk_size",
            format!("must be at most {max_text} ({max_chunk} bytes)"),
        );
    }
    if chunk != MIN_CHUNKED_UPLOAD_BYTES && chunk.saturating_mul(2) > total && !chunk_over_total {
        problem(
            "upload_chunk_size",
            format!(
                "must be at most half of total_file_size ({total} bytes), or exactly \
                 {MIN_CHUNKED_UPLOAD_BYTES} (Fluent Bit: \"total_file_size is less than 2x \
                 upload_chunk_size\")"
            ),
        );
    }
    problems
}

/// How staging files are sealed and sent, from options that passed [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadPlan {
    /// Every file goes by PutObject.
    pub put_object: bool,
    pub total_file_bytes: u64,
    /// The multipart threshold and part size; `total_file_size` when every file goes by
    /// PutObject (s3.c sets `upload_chunk_size = file_size` then).
    pub upload_chunk_bytes: u64,
    /// `upload_timeout`, with 0 read as [`ZERO_TIMEOUT_WAIT`].
    pub upload_timeout: Duration,
}

impl UploadPlan {
    pub fn new(o: &SizeOptions) -> Self {
        let put_object = o.puts_objects();
        Self {
            put_object,
            total_file_bytes: o.total_file_bytes,
            upload_chunk_bytes: if put_object {
                o.total_file_bytes
            } else {
                o.upload_chunk_bytes
            },
            upload_timeout: if o.upload_timeout.is_zero() {
                ZERO_TIMEOUT_WAIT
            } else {
                o.upload_timeout
            },
        }
    }

    /// Whether a file of `raw_bytes` of JSON lines, `disk_bytes` on disk, is due by size.
    ///
    /// PutObject: once the lines pass `total_file_size` (Fluent Bit buffers lines uncompressed and
    /// sends the buffer with the chunk that takes it over, compressing only then). Multipart: once
    /// the file reaches `total_file_size` on disk (Fluent Bit completes the upload once the parts
    /// it sent, compressed, reach it).
    pub fn size_reached(&self, raw_bytes: u64, disk_bytes: u64) -> bool {
        if self.put_object {
            raw_bytes > self.total_file_bytes
        } else {
            disk_bytes >= self.total_file_bytes
        }
    }

    /// When a file opened at `opened` started its multipart upload, in Fluent Bit's terms: the
    /// first time (`now`) it holds `upload_chunk_size` on disk before its `upload_timeout`.
    /// `since` is the answer so far; `None` with PutObject.
    pub fn multipart_since(
        &self,
        opened: Instant,
        since: Option<Instant>,
        disk_bytes: u64,
        now: Instant,
    ) -> Option<Instant> {
        let starts = !self.put_object
            && disk_bytes >= self.upload_chunk_bytes
            && now < opened + self.upload_timeout;
        since.or(starts.then_some(now))
    }

    /// When a file is due by age: `upload_timeout` after it opened or, once it started its
    /// multipart upload, after that (s3.c completes an upload `upload_timeout` after
    /// CreateMultipartUpload, which it calls when the first `upload_chunk_size` is buffered).
    pub fn deadline(&self, opened: Instant, multipart_since: Option<Instant>) -> Instant {
        multipart_since.unwrap_or(opened) + self.upload_timeout
    }
}

/// What an output logs at start about its size rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// Fluent Bit's own adjustments, applied here too.
    pub info: Vec<String>,
    /// Where firelane deliberately differs from Fluent Bit with these options.
    pub warnings: Vec<String>,
}

/// The start-up notes for `o` (options that passed [`check`]).
pub fn notes(o: &SizeOptions) -> Notes {
    let mut n = Notes::default();
    if !o.use_put_object && o.puts_objects() {
        n.info.push(format!(
            "total_file_size is under 10MiB ({PUT_OBJECT_BELOW_BYTES} bytes): every file is \
             uploaded with PutObject, as Fluent Bit does"
        ));
    }
    if o.upload_timeout.is_zero() {
        n.info.push(
            "upload_timeout 0: a file is uploaded 1s after it opened (Fluent Bit compares whole \
             seconds)"
                .to_owned(),
        );
    }
    if o.compression != Compression::None && !o.puts_objects() {
        n.warnings.push(
            "differs from Fluent Bit: with compression, multipart parts are upload_chunk_size \
             bytes of the compressed file and objects reach total_file_size compressed; Fluent \
             Bit compresses each upload_chunk_size of lines into one part and uploads a part \
             that ends up under 5MiB alone with PutObject (one object per chunk)"
                .to_owned(),
        );
    }
    let Some(limit) = o.store_dir_limit_bytes else {
        n.warnings.push(
            "differs from Fluent Bit: store_dir_limit_size is not set, so staging stops at half \
             the free space store_dir's filesystem had at start (plus what was already staged) \
             and the inputs wait until uploads free space; Fluent Bit has no limit by default \
             (set store_dir_limit_size 0 for none: a full disk then makes the inputs wait)"
                .to_owned(),
        );
        return n;
    };
    if limit > 0 {
        let action = match o.store_dir_overflow {
            StoreOverflow::Block => "makes the inputs wait",
            StoreOverflow::DropNewest => "drops new records, counted",
        };
        let mut w = format!(
            "differs from Fluent Bit: store_dir_limit_size counts bytes on disk (compressed) \
             and, when reached, {action} until uploads free space; Fluent Bit counts buffered \
             lines and refuses the chunk, which is retried up to retry_limit times, then \
             discarded"
        );
        if limit < o.total_file_bytes {
            w.push_str("; below total_file_size, files are uploaded at upload_timeout only");
        }
        n.warnings.push(w);
    }
    n
}

/// The staging limit when `store_dir_limit_size` is not set: half of the filesystem's free space
/// at start, plus what this output already has staged (so a restart on a disk filled by its own
/// staging uploads instead of refusing to start or shrinking the limit to nothing).
pub fn default_store_limit(free_bytes: u64, staged_bytes: u64) -> u64 {
    staged_bytes.saturating_add(free_bytes / 2)
}

#[cfg(test)]
mod tests;
