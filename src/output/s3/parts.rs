//! Upload planning for one sealed staging file: PutObject or multipart, and the byte range of
//! every multipart part.
//!
//! Pure code. Invariants of [`plan_parts`] (for a non-empty file up to [`MAX_MULTIPART_BYTES`]):
//! parts are numbered 1, 2, … in order, contiguous, and cover the file exactly; there are at
//! most [`MAX_PARTS`]; every part is at most [`MAX_PART_BYTES`] and every part except the last
//! is at least [`MIN_PART_BYTES`] (else S3 fails CompleteMultipartUpload with EntityTooSmall).

pub use crate::config::output::s3::sizes::MIN_PART_BYTES;
/// Largest part S3 accepts (5 GiB).
pub const MAX_PART_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Most parts one multipart upload may have.
pub const MAX_PARTS: u32 = 10_000;
/// Largest object one PutObject call may create (5 GiB).
pub const MAX_PUT_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Largest file a multipart upload can carry: [`MAX_PARTS`] parts of [`MAX_PART_BYTES`]
/// (about 53.7 TB, above S3's 50 TB object limit). The configuration keeps staging files far
/// smaller; past this, [`plan_parts`] would have to exceed [`MAX_PART_BYTES`].
pub const MAX_MULTIPART_BYTES: u64 = MAX_PARTS as u64 * MAX_PART_BYTES;

/// How a sealed file is sent to S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One PutObject call streamed from the file.
    PutObject,
    /// CreateMultipartUpload, one UploadPart per [`PartRange`], CompleteMultipartUpload.
    Multipart,
}

/// Chooses the upload method for a sealed file of `file_bytes` bytes.
///
/// Multipart when the file is at least `upload_chunk_bytes` and `use_put_object` is off
/// (Fluent Bit's rule). Two exceptions: an empty file is always PutObject (a multipart upload
/// needs at least one part, and S3 creates empty objects fine by PutObject), and a file over
/// [`MAX_PUT_OBJECT_BYTES`] is always multipart, even with `use_put_object`, because PutObject
/// cannot carry it.
pub fn choose_method(file_bytes: u64, upload_chunk_bytes: u64, use_put_object: bool) -> Method {
    if file_bytes == 0 {
        Method::PutObject
    } else if file_bytes > MAX_PUT_OBJECT_BYTES {
        Method::Multipart
    } else if use_put_object || file_bytes < upload_chunk_bytes {
        Method::PutObject
    } else {
        Method::Multipart
    }
}

/// One part of a multipart upload: bytes `offset..offset + len` of the sealed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartRange {
    /// S3 part number, 1-based.
    pub number: u32,
    /// Byte offset of the part in the file.
    pub offset: u64,
    /// Length of the part in bytes.
    pub len: u64,
}

/// The parts of a multipart upload of a `file_bytes`-byte file; empty for an empty file.
///
/// The part size is `upload_chunk_bytes` clamped to [`MIN_PART_BYTES`]..=[`MAX_PART_BYTES`],
/// grown to `ceil(file_bytes / MAX_PARTS)` when the file would otherwise need more than
/// [`MAX_PARTS`] parts. Parts are all of that size except the last.
///
/// Tail rule: a remainder smaller than [`MIN_PART_BYTES`] is merged into the previous part
/// when the merged part still fits [`MAX_PART_BYTES`] (one request less for a few MiB, and
/// every part then meets the minimum); otherwise it is its own, smaller, last part, which S3
/// allows. A file smaller than one part is a single part.
///
/// Above [`MAX_MULTIPART_BYTES`] no valid plan exists; the plan still covers the file in
/// [`MAX_PARTS`] parts, which then exceed [`MAX_PART_BYTES`] and S3 refuses them.
pub fn plan_parts(file_bytes: u64, upload_chunk_bytes: u64) -> Vec<PartRange> {
    if file_bytes == 0 {
        return Vec::new();
    }
    let part_bytes = upload_chunk_bytes
        .clamp(MIN_PART_BYTES, MAX_PART_BYTES)
        .max(file_bytes.div_ceil(u64::from(MAX_PARTS)));
    let full_parts = file_bytes / part_bytes;
    let tail_bytes = file_bytes % part_bytes;
    let merge_tail = tail_bytes > 0
        && tail_bytes < MIN_PART_BYTES
        && full_parts > 0
        && part_bytes + tail_bytes <= MAX_PART_BYTES;

    let count = full_parts + u64::from(tail_bytes > 0 && !merge_tail);
    let mut parts = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut offset = 0;
    let mut number: u32 = 1;
    while offset < file_bytes {
        let remaining = file_bytes - offset;
        let len = if remaining < part_bytes || (merge_tail && remaining < 2 * part_bytes) {
            remaining
        } else {
            part_bytes
        };
        parts.push(PartRange {
            number,
            offset,
            len,
        });
        offset += len;
        number += 1;
    }
    parts
}

#[cfg(test)]
mod tests;
