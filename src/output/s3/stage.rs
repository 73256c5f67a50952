//! Staging file of the S3 output: JSON lines appended through a streaming compressor to a local
//! file, with a durable commit point, a finish that leaves a complete `.gz`/`.zst`/plain object,
//! and recovery of a file a crashed run left behind. Blocking `std::fs` I/O: run it on a blocking
//! thread.
//!
//! Invariants:
//! - After [`StageWriter::commit`] returns, everything appended so far is on disk (fdatasync'd)
//!   and [`recover`] gets it back, whatever happens to the process or the machine afterwards.
//! - Compressed output is held in memory until the next commit, so the file holds only committed
//!   data, except when more than [`PENDING_WRITE_BYTES`] of output piles up between commits (then
//!   it is written early; recovery ignores it unless a later commit point made it to disk).
//! - Every commit leaves a *commit marker* in the stream, a no-op to any decoder: gzip's sync
//!   flush ends with an empty stored block (`00 00 FF FF`); for zstd the writer adds an empty raw
//!   block (`00 00 00`) after the flush (`ZSTD_e_flush`). Both flushes keep the compression
//!   window, so frequent commits cost little ratio. [`recover`] keeps output only up to the last
//!   commit marker (or a verified end of stream) that decoded cleanly, so a torn write or garbage
//!   after the committed part never turns into junk lines.
//! - After any I/O error the writer refuses further work: a failed `write` may have reached the
//!   file in part, and a failed fsync may have lost pages, so the file must go through [`recover`].
//! - Dropping a writer without [`StageWriter::finish`] writes nothing more; the file is then what
//!   a crash would leave, and [`recover`] gives back exactly the committed lines.
//!
//! Gzip: one member (flate2 `GzEncoder`, default level 6); its `flush` is a `Z_SYNC_FLUSH`.
//! Zstd: one frame at level [`ZSTD_LEVEL`] with a content checksum; its `flush` is
//! `ZSTD_e_flush`, which ends the current block. Buffering: the encoders write into a `Vec`
//! (their own 32 KiB buffers drain into it), so the file gets one `write` per commit, or per
//! [`PENDING_WRITE_BYTES`] of output, never one per line.

mod recover;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use flate2::write::GzEncoder;

pub use recover::{Recovered, recover};

/// zstd compression level of staging files.
pub const ZSTD_LEVEL: i32 = 3;
/// Compressed output held in memory between commits before it is written anyway.
pub const PENDING_WRITE_BYTES: usize = 1 << 20;
/// A non-last raw block of zero bytes: the zstd commit marker.
const ZSTD_COMMIT_MARKER: [u8; 3] = [0, 0, 0];

pub use super::journal::Compression;

/// Sizes of a finished staging file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// Length of the file (compressed).
    pub disk_bytes: u64,
    /// Uncompressed bytes in it.
    pub raw_bytes: u64,
}

enum Encoder {
    Plain(Vec<u8>),
    Gzip(GzEncoder<Vec<u8>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    fn new(compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Encoder::Plain(Vec::new()),
            Compression::Gzip => {
                Encoder::Gzip(GzEncoder::new(Vec::new(), flate2::Compression::default()))
            }
            Compression::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
                encoder.include_checksum(true)?;
                Encoder::Zstd(encoder)
            }
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Plain(out) => {
                out.extend_from_slice(bytes);
                Ok(())
            }
            Encoder::Gzip(encoder) => encoder.write_all(bytes),
            Encoder::Zstd(encoder) => encoder.write_all(bytes),
        }
    }

    /// Makes everything written so far decodable from the output, then adds the commit marker.
    fn commit_point(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(_) => Ok(()),
            // Z_SYNC_FLUSH: ends with the empty stored block that is the marker.
            Encoder::Gzip(encoder) => encoder.flush(),
            Encoder::Zstd(encoder) => {
                // ZSTD_e_flush; afterwards all output is in the Vec, at a block boundary.
                encoder.flush()?;
                encoder.get_mut().extend_from_slice(&ZSTD_COMMIT_MARKER);
                Ok(())
            }
        }
    }

    /// Compressed bytes not written to the file yet (the encoders only append to it).
    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Encoder::Plain(out) => out,
            Encoder::Gzip(encoder) => encoder.get_mut(),
            Encoder::Zstd(encoder) => encoder.get_mut(),
        }
    }

    /// Ends the stream; returns the output not written yet.
    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Encoder::Plain(out) => Ok(out),
            Encoder::Gzip(encoder) => encoder.finish(),
            Encoder::Zstd(encoder) => encoder.finish(),
        }
    }
}

/// Appends lines to one staging file through a streaming compressor.
pub struct StageWriter {
    file: File,
    encoder: Encoder,
    disk_bytes: u64,
    /// File length at the last commit: everything before it is committed.
    committed_disk_bytes: u64,
    raw_bytes: u64,
    committed_raw_bytes: u64,
    /// An I/O error happened: the file's tail is unknown, so nothing more may be written.
    failed: bool,
}

impl std::fmt::Debug for StageWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageWriter")
            .field("disk_bytes", &self.disk_bytes)
            .field("raw_bytes", &self.raw_bytes)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl StageWriter {
    /// Creates (create_new) `path`; fsyncs the parent directory so the file exists after a crash.
    pub fn create(path: &Path, compression: Compression) -> io::Result<Self> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        sync_parent_dir(path)?;
        Ok(StageWriter {
            file,
            encoder: Encoder::new(compression)?,
            disk_bytes: 0,
            committed_disk_bytes: 0,
            raw_bytes: 0,
            committed_raw_bytes: 0,
            failed: false,
        })
    }

    /// Feeds whole lines to the compressor (may or may not reach the file yet).
    pub fn append(&mut self, lines: &[u8]) -> io::Result<()> {
        self.check_usable()?;
        let written = self.encoder.write_all(lines);
        self.poison_on_error(written)?;
        self.raw_bytes += lines.len() as u64;
        if self.encoder.output().len() >= PENDING_WRITE_BYTES {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Makes everything appended so far durable and recoverable: sync-flush the compressor (plus
    /// the commit marker), one write, fdatasync. A no-op when nothing was appended since the last
    /// commit.
    pub fn commit(&mut self) -> io::Result<()> {
        self.check_usable()?;
        if self.raw_bytes == self.committed_raw_bytes {
            return Ok(());
        }
        let flushed = self.encoder.commit_point();
        self.poison_on_error(flushed)?;
        self.write_pending()?;
        let synced = self.file.sync_data();
        self.poison_on_error(synced)?;
        self.committed_raw_bytes = self.raw_bytes;
        self.committed_disk_bytes = self.disk_bytes;
        Ok(())
    }

    /// Length of the file at the last commit. A file whose writer failed is cut there before
    /// [`recover`], which then keeps exactly the committed lines (a plain file has no commit
    /// markers, and lines written early but not committed would otherwise be kept).
    pub fn committed_disk_bytes(&self) -> u64 {
        self.committed_disk_bytes
    }

    /// Bytes in the file (compressed size so far, as of the last write; exact after a commit).
    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }

    /// Uncompressed bytes appended so far.
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// Ends the stream (gzip trailer / zstd frame end), fsyncs, returns the sizes. The file is
    /// then a complete .gz/.zst (or plain) object ready to upload as it is.
    pub fn finish(mut self) -> io::Result<Finished> {
        self.check_usable()?;
        let tail = self.encoder.finish()?;
        self.file.write_all(&tail)?;
        self.disk_bytes += tail.len() as u64;
        self.file.sync_data()?;
        Ok(Finished {
            disk_bytes: self.disk_bytes,
            raw_bytes: self.raw_bytes,
        })
    }

    fn write_pending(&mut self) -> io::Result<()> {
        let out = self.encoder.output();
        let result = self.file.write_all(out);
        let len = out.len();
        out.clear();
        if out.capacity() > 2 * PENDING_WRITE_BYTES {
            out.shrink_to(PENDING_WRITE_BYTES);
        }
        self.poison_on_error(result)?;
        self.disk_bytes += len as u64;
        Ok(())
    }

    fn check_usable(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(
                "staging file writer failed earlier; the file must be recovered",
            ));
        }
        Ok(())
    }

    fn poison_on_error<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        self.failed |= result.is_err();
        result
    }
}

fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

#[cfg(test)]
mod tests;
