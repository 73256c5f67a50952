//! Recovery of a staging file a previous run did not finish, or whose write failed: decode as far
//! as the stream goes, then cut the file *in place* after the last point known to be genuine and
//! end its stream there.
//!
//! Invariants: output is trusted only at a *checkpoint*: a commit marker, or the end of the stream
//! with a matching checksum, reached with everything before it decoded cleanly and ending at a line
//! end. Each input piece handed to a decoder ends at the latest at a possible checkpoint, so output
//! of a torn or garbage tail never mixes with trusted output. Memory is fixed (buffers, a bounded
//! zstd window), whatever the file size. The repair never needs more disk than the file had plus
//! 13 bytes (it truncates first), so it works on a full disk, where a copy could not be written.

mod decode;

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use flate2::{Crc, Decompress};

use self::decode::{Count, Fed, Sink, decode, inflate_piece, skip_gzip_header};
use super::{Compression, Finished, ZSTD_COMMIT_MARKER};

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Frame header descriptor bit: the frame ends with a content checksum.
const ZSTD_CHECKSUM_FLAG: u8 = 0x04;
/// A last raw block of zero bytes: ends a zstd frame after a commit marker.
const ZSTD_LAST_EMPTY_BLOCK: [u8; 3] = [1, 0, 0];
/// A final empty stored block (BFINAL=1, BTYPE=00, LEN=0, NLEN=0xffff): ends a deflate stream
/// that a sync flush left byte-aligned.
const DEFLATE_FINAL_EMPTY_BLOCK: [u8; 5] = [1, 0, 0, 0xff, 0xff];
/// Read and decode buffer sizes in [`recover`] (its memory does not depend on the file size).
const RECOVER_BUFFER_BYTES: usize = 64 << 10;

/// What [`recover`] kept and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Uncompressed bytes of the complete lines kept (they end with `\n`).
    pub lines_bytes: u64,
    /// Number of lines kept. With none, the file is left empty (0 bytes): delete it.
    pub lines: u64,
    /// Bytes of the damaged file after the point up to which it was kept: a torn or uncommitted
    /// tail, garbage, or for plain files the partial last line.
    pub dropped_tail_bytes: u64,
    /// The repaired file.
    pub finished: Finished,
}

/// Repairs, in place, a staging file a previous run did not finish (crash, SIGKILL, power loss)
/// or whose writer failed (ENOSPC, EIO): decodes as far as the stream goes, keeps every complete
/// line up to the last commit marker (or verified end of stream) that decoded cleanly, cuts the
/// file there and ends its stream (gzip: a final empty block and the trailer; zstd: a last empty
/// block, the frame's checksum flag cleared), then fsyncs. The file is then a complete object. A
/// plain file is cut after its last `\n`. Never panics on any bytes; a file of garbage yields zero
/// lines and an empty file. Memory is bounded (fixed buffers, a zstd window of at most 16 MiB).
/// On error the file may be cut but not ended: running it again finishes the repair.
pub fn recover(path: &Path, compression: Compression) -> io::Result<Recovered> {
    let damaged_bytes = std::fs::metadata(path)?.len();
    let mut scan = Scan::default();
    decode(path, compression, &mut scan)?;
    let kept = match compression {
        // Every complete line is genuine: nothing but the file's own end marks a point.
        Compression::None => Checkpoint {
            output_len: scan.last_line_end,
            lines: scan.lines_at_last_end,
            input_end: scan.last_line_end,
            ..Checkpoint::default()
        },
        Compression::Zstd => scan.checkpoints.last().copied().unwrap_or_default(),
        Compression::Gzip => last_true_gzip_checkpoint(path, &scan.checkpoints)?,
    };
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let disk_bytes = if kept.lines == 0 {
        file.set_len(0)?;
        0
    } else {
        end_stream_at(&mut file, compression, &kept)?
    };
    file.sync_all()?;
    Ok(Recovered {
        lines_bytes: kept.output_len,
        lines: kept.lines,
        dropped_tail_bytes: damaged_bytes.saturating_sub(kept.input_end),
        finished: Finished {
            disk_bytes,
            raw_bytes: kept.output_len,
        },
    })
}

/// Cuts `file` at the checkpoint and ends its stream there; returns the new length.
fn end_stream_at(file: &mut File, compression: Compression, kept: &Checkpoint) -> io::Result<u64> {
    match compression {
        Compression::None => {
            file.set_len(kept.output_len)?;
            Ok(kept.output_len)
        }
        Compression::Gzip | Compression::Zstd if kept.stream_ended => {
            file.set_len(kept.input_end)?;
            Ok(kept.input_end)
        }
        Compression::Gzip => {
            file.set_len(kept.input_end)?;
            let mut tail = Vec::with_capacity(13);
            tail.extend_from_slice(&DEFLATE_FINAL_EMPTY_BLOCK);
            tail.extend_from_slice(&kept.crc.to_le_bytes());
            tail.extend_from_slice(&kept.crc_amount.to_le_bytes());
            file.seek(SeekFrom::Start(kept.input_end))?;
            file.write_all(&tail)?;
            Ok(kept.input_end + tail.len() as u64)
        }
        Compression::Zstd => {
            file.set_len(kept.input_end)?;
            // The content checksum covers content that is cut off: the repaired frame has none.
            let mut descriptor = [0u8; 1];
            file.seek(SeekFrom::Start(ZSTD_MAGIC.len() as u64))?;
            file.read_exact(&mut descriptor)?;
            if descriptor[0] & ZSTD_CHECKSUM_FLAG != 0 {
                file.seek(SeekFrom::Start(ZSTD_MAGIC.len() as u64))?;
                file.write_all(&[descriptor[0] & !ZSTD_CHECKSUM_FLAG])?;
            }
            file.seek(SeekFrom::Start(kept.input_end))?;
            file.write_all(&ZSTD_LAST_EMPTY_BLOCK)?;
            Ok(kept.input_end + ZSTD_LAST_EMPTY_BLOCK.len() as u64)
        }
    }
}

/// The state of the decoded stream at a checkpoint.
#[derive(Debug, Default, Clone, Copy)]
struct Checkpoint {
    /// Decoded bytes (always whole lines).
    output_len: u64,
    lines: u64,
    /// CRC-32 and length (mod 2^32) of the decoded bytes, for a gzip trailer.
    crc: u32,
    crc_amount: u32,
    /// Where it is in the file.
    input_end: u64,
    /// The stream's own end (nothing to add).
    stream_ended: bool,
}

/// Finds the last checkpoint that ends at a line end.
#[derive(Default)]
struct Scan {
    output_len: u64,
    lines: u64,
    last_line_end: u64,
    /// Lines up to `last_line_end` (plain files are cut there).
    lines_at_last_end: u64,
    crc: Crc,
    /// The last [`CHECKPOINTS_KEPT`] checkpoints, oldest first.
    checkpoints: Vec<Checkpoint>,
}

/// Checkpoints [`Scan`] remembers: a gzip commit marker found by its bytes may be a false one
/// (the same four bytes inside compressed data), which only ending the stream there can tell.
const CHECKPOINTS_KEPT: usize = 8;

impl Sink for Scan {
    fn output(&mut self, bytes: &[u8]) -> io::Result<bool> {
        if let Some(i) = bytes.iter().rposition(|&b| b == b'\n') {
            self.last_line_end = self.output_len + i as u64 + 1;
            self.lines += memchr::memchr_iter(b'\n', bytes).count() as u64;
            self.lines_at_last_end = self.lines;
        }
        self.output_len += bytes.len() as u64;
        self.crc.update(bytes);
        Ok(true)
    }

    fn checkpoint(&mut self, input_end: u64, ended: bool) {
        if self.output_len == self.last_line_end {
            if self.checkpoints.len() == CHECKPOINTS_KEPT {
                self.checkpoints.remove(0);
            }
            self.checkpoints.push(Checkpoint {
                output_len: self.output_len,
                lines: self.lines,
                crc: self.crc.sum(),
                crc_amount: self.crc.amount(),
                input_end,
                stream_ended: ended,
            });
        }
    }
}

/// The newest checkpoint where the gzip stream can be ended: its own verified end, or a commit
/// marker after which a final empty block ends the stream cleanly (a false marker does not).
fn last_true_gzip_checkpoint(path: &Path, checkpoints: &[Checkpoint]) -> io::Result<Checkpoint> {
    for kept in checkpoints.iter().rev() {
        if kept.stream_ended || gzip_ends_cleanly_at(path, kept)? {
            return Ok(*kept);
        }
    }
    Ok(Checkpoint::default())
}

/// Whether the deflate stream, cut at `kept.input_end` and followed by a final empty stored
/// block, ends there with exactly the checkpoint's output.
fn gzip_ends_cleanly_at(path: &Path, kept: &Checkpoint) -> io::Result<bool> {
    let mut file = BufReader::with_capacity(RECOVER_BUFFER_BYTES, File::open(path)?);
    let Some(header) = skip_gzip_header(&mut file)? else {
        return Ok(false);
    };
    let Some(body) = kept.input_end.checked_sub(header) else {
        return Ok(false);
    };
    let ending: &[u8] = &DEFLATE_FINAL_EMPTY_BLOCK;
    let mut input = BufReader::with_capacity(RECOVER_BUFFER_BYTES, file.take(body).chain(ending));
    let mut inflate = Decompress::new(false);
    let mut crc = Crc::new();
    let mut out = vec![0; RECOVER_BUFFER_BYTES];
    let mut count = Count(0);
    loop {
        let chunk = input.fill_buf()?;
        let len = chunk.len();
        if len == 0 {
            return Ok(false);
        }
        match inflate_piece(&mut inflate, chunk, &mut out, &mut crc, &mut count)? {
            Fed::Stop => return Ok(false),
            Fed::Consumed { .. } => input.consume(len),
            Fed::StreamEnd { consumed } => {
                input.consume(consumed);
                return Ok(input.fill_buf()?.is_empty() && count.0 == kept.output_len);
            }
        }
    }
}

#[cfg(test)]
mod tests;
