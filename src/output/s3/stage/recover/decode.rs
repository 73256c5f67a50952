//! The decoders [`super::recover`] runs over a staging file: plain, gzip (one member) and zstd
//! (one frame), each handing its output and its checkpoints to a [`Sink`].

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::{Crc, Decompress, FlushDecompress, Status};
use zstd::stream::raw::{DParameter, InBuffer, Operation, OutBuffer};

use super::{Compression, RECOVER_BUFFER_BYTES, ZSTD_COMMIT_MARKER, ZSTD_MAGIC};

/// Largest zstd window [`recover`] accepts (16 MiB; level 3 uses 2 MiB), which bounds its memory.
const ZSTD_WINDOW_LOG_MAX: u32 = 24;
/// zstd's largest block content (`ZSTD_BLOCKSIZE_MAX`).
const ZSTD_BLOCK_MAX_BYTES: usize = 128 << 10;
/// The last four bytes of a deflate sync flush (empty stored block), read as a big-endian u32.
const GZIP_COMMIT_MARKER: u32 = 0x0000_ffff;
const GZIP_FEXTRA: u8 = 0x04;
const GZIP_FNAME: u8 = 0x08;
const GZIP_FCOMMENT: u8 = 0x10;
const GZIP_FHCRC: u8 = 0x02;

/// Receives what a decoder produces.
pub(super) trait Sink {
    /// Decoded bytes, in order. `Ok(false)` stops decoding.
    fn output(&mut self, bytes: &[u8]) -> io::Result<bool>;
    /// Everything output so far is genuine: the stream decoded cleanly up to a commit marker
    /// (`ended` false) or a verified end (`ended` true), which ends `input_end` bytes into the file.
    fn checkpoint(&mut self, input_end: u64, ended: bool);
}

/// Counts decoded bytes.
pub(super) struct Count(pub u64);

impl Sink for Count {
    fn output(&mut self, bytes: &[u8]) -> io::Result<bool> {
        self.0 += bytes.len() as u64;
        Ok(true)
    }

    fn checkpoint(&mut self, _input_end: u64, _ended: bool) {}
}

pub(super) fn decode(path: &Path, compression: Compression, sink: &mut dyn Sink) -> io::Result<()> {
    let mut input = BufReader::with_capacity(RECOVER_BUFFER_BYTES, File::open(path)?);
    match compression {
        Compression::None => decode_plain(&mut input, sink),
        Compression::Gzip => decode_gzip(&mut input, sink),
        Compression::Zstd => decode_zstd(&mut input, sink),
    }
}

fn decode_plain(input: &mut impl BufRead, sink: &mut dyn Sink) -> io::Result<()> {
    let mut offset = 0;
    loop {
        let chunk = input.fill_buf()?;
        let len = chunk.len();
        if len == 0 || !sink.output(chunk)? {
            break;
        }
        input.consume(len);
        offset += len as u64;
    }
    sink.checkpoint(offset, true);
    Ok(())
}

/// How feeding one piece of input to a decoder went.
pub(super) enum Fed {
    /// All of it consumed, all output for it handed over; `done`: the stream (frame) ended.
    Consumed { done: bool },
    /// The gzip member ended after `consumed` bytes of the piece.
    StreamEnd { consumed: usize },
    /// Corrupt input, or the sink asked to stop.
    Stop,
}

/// Gzip: one member. The header is parsed here (flate2's raw `Decompress` does the deflate part)
/// so the input can be fed in pieces that end exactly at commit markers. Unlike `GzDecoder`,
/// this keeps what a truncated member holds; unlike `MultiGzDecoder`, it stops after the first
/// member (staging files have one; anything after it is dropped tail).
fn decode_gzip(input: &mut impl BufRead, sink: &mut dyn Sink) -> io::Result<()> {
    let Some(mut offset) = skip_gzip_header(input)? else {
        return Ok(());
    };
    let mut inflate = Decompress::new(false);
    let mut crc = Crc::new();
    let mut out = vec![0; RECOVER_BUFFER_BYTES];
    let mut last_four: u32 = u32::MAX;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        let marker_end = chunk.iter().position(|&b| {
            last_four = last_four << 8 | u32::from(b);
            last_four == GZIP_COMMIT_MARKER
        });
        let piece_len = marker_end.map_or(chunk.len(), |i| i + 1);
        let fed = inflate_piece(&mut inflate, &chunk[..piece_len], &mut out, &mut crc, sink)?;
        match fed {
            Fed::Stop => return Ok(()),
            Fed::Consumed { .. } => {
                input.consume(piece_len);
                offset += piece_len as u64;
                if marker_end.is_some() {
                    sink.checkpoint(offset, false);
                }
            }
            Fed::StreamEnd { consumed } => {
                input.consume(consumed);
                let mut trailer = [0; 8];
                if read_exact_or_eof(input, &mut trailer)?
                    && trailer[..4] == crc.sum().to_le_bytes()
                    && trailer[4..] == crc.amount().to_le_bytes()
                {
                    sink.checkpoint(offset + consumed as u64 + 8, true);
                }
                return Ok(());
            }
        }
    }
}

pub(super) fn inflate_piece(
    inflate: &mut Decompress,
    piece: &[u8],
    out: &mut [u8],
    crc: &mut Crc,
    sink: &mut dyn Sink,
) -> io::Result<Fed> {
    let mut pos = 0;
    loop {
        let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
        let Ok(status) = inflate.decompress(&piece[pos..], out, FlushDecompress::None) else {
            return Ok(Fed::Stop);
        };
        // Both bounded by the slice lengths just passed in.
        let consumed = (inflate.total_in() - in_before) as usize;
        let produced = (inflate.total_out() - out_before) as usize;
        pos += consumed;
        if produced > 0 {
            crc.update(&out[..produced]);
            if !sink.output(&out[..produced])? {
                return Ok(Fed::Stop);
            }
        }
        if status == Status::StreamEnd {
            return Ok(Fed::StreamEnd { consumed: pos });
        }
        if pos == piece.len() && produced < out.len() {
            return Ok(Fed::Consumed { done: false });
        }
        if consumed == 0 && produced == 0 {
            return Ok(Fed::Stop);
        }
    }
}

/// Skips a gzip member header; `None` if there is none (garbage or too short).
pub(super) fn skip_gzip_header(input: &mut impl BufRead) -> io::Result<Option<u64>> {
    let mut fixed = [0; 10];
    if !read_exact_or_eof(input, &mut fixed)?
        || fixed[..3] != [0x1f, 0x8b, 8]
        || fixed[3] & 0xe0 != 0
    {
        return Ok(None);
    }
    let flags = fixed[3];
    let mut len = 10;
    if flags & GZIP_FEXTRA != 0 {
        let mut xlen = [0; 2];
        if !read_exact_or_eof(input, &mut xlen)? {
            return Ok(None);
        }
        let xlen = u64::from(u16::from_le_bytes(xlen));
        if io::copy(&mut input.take(xlen), &mut io::sink())? < xlen {
            return Ok(None);
        }
        len += 2 + xlen;
    }
    for flag in [GZIP_FNAME, GZIP_FCOMMENT] {
        if flags & flag != 0 {
            let Some(skipped) = skip_past_zero(input)? else {
                return Ok(None);
            };
            len += skipped;
        }
    }
    if flags & GZIP_FHCRC != 0 {
        if !read_exact_or_eof(input, &mut [0; 2])? {
            return Ok(None);
        }
        len += 2;
    }
    Ok(Some(len))
}

/// Skips through the next zero byte; how many bytes that was, `None` at EOF.
fn skip_past_zero(input: &mut impl BufRead) -> io::Result<Option<u64>> {
    let mut skipped = 0;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(None);
        }
        if let Some(i) = chunk.iter().position(|&b| b == 0) {
            input.consume(i + 1);
            return Ok(Some(skipped + i as u64 + 1));
        }
        let len = chunk.len();
        input.consume(len);
        skipped += len as u64;
    }
}

/// Zstd: one frame. Block headers are parsed here and whole blocks fed to the decoder one at a
/// time, so a block that is torn or garbage never reaches it and its output never mixes with
/// good output; output is trusted at commit markers and at the end of a frame whose checksum
/// matched.
fn decode_zstd(input: &mut impl BufRead, sink: &mut dyn Sink) -> io::Result<()> {
    let mut header = [0; 18];
    if !read_exact_or_eof(input, &mut header[..5])? || header[..4] != ZSTD_MAGIC {
        return Ok(());
    }
    let descriptor = header[4];
    let single_segment = descriptor & 0x20 != 0;
    let header_len = 5
        + usize::from(!single_segment)
        + [0, 1, 2, 4][usize::from(descriptor & 3)]
        + [usize::from(single_segment), 2, 4, 8][usize::from(descriptor >> 6)];
    let has_checksum = descriptor & 0x04 != 0;
    if !read_exact_or_eof(input, &mut header[5..header_len])? {
        return Ok(());
    }
    let mut decoder = zstd::stream::raw::Decoder::new()?;
    decoder.set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))?;
    let mut out = vec![0; RECOVER_BUFFER_BYTES];
    if let Fed::Stop = feed_zstd(&mut decoder, &header[..header_len], &mut out, sink)? {
        return Ok(());
    }
    let mut offset = header_len as u64;
    let mut block = Vec::with_capacity(3 + ZSTD_BLOCK_MAX_BYTES + 4);
    loop {
        block.clear();
        block.resize(3, 0);
        if !read_exact_or_eof(input, &mut block)? {
            return Ok(());
        }
        let head = u32::from(block[0]) | u32::from(block[1]) << 8 | u32::from(block[2]) << 16;
        let last = head & 1 == 1;
        let kind = (head >> 1) & 3;
        let size = (head >> 3) as usize;
        if kind == 3 || size > ZSTD_BLOCK_MAX_BYTES {
            return Ok(());
        }
        let content_len = if kind == 1 { 1 } else { size };
        let trailer_len = if last && has_checksum { 4 } else { 0 };
        block.resize(3 + content_len + trailer_len, 0);
        if !read_exact_or_eof(input, &mut block[3..])? {
            return Ok(());
        }
        let Fed::Consumed { done } = feed_zstd(&mut decoder, &block, &mut out, sink)? else {
            return Ok(());
        };
        offset += block.len() as u64;
        if last {
            if done {
                sink.checkpoint(offset, true);
            }
            return Ok(());
        }
        if block[..] == ZSTD_COMMIT_MARKER {
            sink.checkpoint(offset, false);
        }
    }
}

fn feed_zstd(
    decoder: &mut zstd::stream::raw::Decoder<'static>,
    bytes: &[u8],
    out: &mut [u8],
    sink: &mut dyn Sink,
) -> io::Result<Fed> {
    let mut input = InBuffer::around(bytes);
    loop {
        let in_before = input.pos();
        let mut output = OutBuffer::around(&mut *out);
        let Ok(hint) = decoder.run(&mut input, &mut output) else {
            return Ok(Fed::Stop);
        };
        let produced = output.pos();
        if produced > 0 && !sink.output(&out[..produced])? {
            return Ok(Fed::Stop);
        }
        if input.pos() == bytes.len() && produced < out.len() {
            return Ok(Fed::Consumed { done: hint == 0 });
        }
        if produced == 0 && input.pos() == in_before {
            return Ok(Fed::Stop);
        }
    }
}

/// `read_exact`, with EOF before the buffer is full reported as `false`.
fn read_exact_or_eof(input: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    match input.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}
