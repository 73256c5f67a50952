//! Capped decompression of CompressedPackedForward payloads (gzip, several members; zstd, several
//! frames).
//!
//! Invariants: output never grows past `max_decompressed_bytes + 1` bytes, whatever the input
//! claims (a gzip bomb stops at the cap, it is not inflated first and measured after); corrupt or
//! truncated input is an error, never a panic.

use std::io::Read;

use bytes::Bytes;

use super::FrameError;

/// Payload formats that need decompressing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Zstd,
}

impl Codec {
    fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
        }
    }

    /// Fluent Bit's sniffing: a valid plain payload starts with an entry array header, never with
    /// these magic bytes, so recognising them cannot misread a plain payload.
    pub(super) fn sniff(payload: &[u8]) -> Option<Codec> {
        if payload.starts_with(&[0x1f, 0x8b]) {
            Some(Codec::Gzip)
        } else if payload.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Codec::Zstd)
        } else {
            None
        }
    }
}

/// Smallest buffer growth step; growth otherwise doubles, clamped to the cap.
const MIN_GROW_BYTES: usize = 16 * 1024;

/// Decompresses `payload`, failing as soon as the output would exceed `max_bytes`.
pub(super) fn decompress(
    codec: Codec,
    payload: &[u8],
    max_bytes: usize,
) -> Result<Bytes, FrameError> {
    let fail = |e: std::io::Error| FrameError::Decompress {
        codec: codec.name(),
        detail: e.to_string(),
    };
    let out = match codec {
        Codec::Gzip => read_capped(flate2::bufread::MultiGzDecoder::new(payload), max_bytes),
        // `with_buffer` reads the slice directly; the decoder continues across concatenated frames.
        Codec::Zstd => zstd::stream::read::Decoder::with_buffer(payload)
            .and_then(|d| read_capped(d, max_bytes)),
    }
    .map_err(fail)?;
    match out {
        Some(mut v) => {
            // Growth doubles, so up to half the buffer can be spare; records keep the whole
            // allocation alive, and the memory budget counts only `len`.
            if v.capacity() - v.len() > v.len() / 8 {
                v.shrink_to_fit();
            }
            Ok(Bytes::from(v))
        }
        None => Err(FrameError::DecompressedTooLarge {
            limit_bytes: max_bytes,
        }),
    }
}

/// The decompressed size `payload` announces, if it does: zstd's frame content size (the first
/// frame's; ZSTD_compress writes it), gzip's ISIZE (the last member's size mod 2^32, in its last
/// four bytes; exact for the single member Fluent Bit writes). A hint for charging memory once,
/// never trusted as a bound: output past it is charged as it grows.
pub fn announced_size(codec: Codec, payload: &[u8]) -> Option<usize> {
    match codec {
        Codec::Zstd => zstd::zstd_safe::get_frame_content_size(payload)
            .ok()
            .flatten()
            .and_then(|n| usize::try_from(n).ok()),
        Codec::Gzip => {
            let tail: [u8; 4] = payload
                .get(payload.len().checked_sub(4)?..)?
                .try_into()
                .ok()?;
            usize::try_from(u32::from_le_bytes(tail)).ok()
        }
    }
}

/// How far [`Inflater::fill`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// The output buffer is full; grow it (charging the growth first) and call again.
    Full,
    /// The payload is decompressed completely.
    End,
}

enum Decoder {
    Gzip(flate2::bufread::MultiGzDecoder<std::io::Cursor<Bytes>>),
    Zstd(zstd::stream::read::Decoder<'static, std::io::Cursor<Bytes>>),
}

/// Decompresses a payload step by step into a buffer the caller grows, so that the caller can
/// charge each growth before it allocates (the server waits for memory between steps).
pub struct Inflater {
    codec: Codec,
    decoder: Decoder,
    max_bytes: usize,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("codec", &self.codec)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// Bytes to add to a decompression buffer of `capacity` (never above `max_bytes + 1` in all):
/// it doubles, from [`MIN_GROW_BYTES`], so a payload is copied at most once on average.
pub fn grow_step(capacity: usize, max_bytes: usize) -> usize {
    let cap = max_bytes.saturating_add(1);
    capacity
        .max(MIN_GROW_BYTES)
        .min(cap.saturating_sub(capacity))
}

impl Inflater {
    pub fn new(codec: Codec, payload: Bytes, max_bytes: usize) -> Result<Self, FrameError> {
        let cursor = std::io::Cursor::new(payload);
        let decoder = match codec {
            Codec::Gzip => Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(cursor)),
            Codec::Zstd => Decoder::Zstd(
                zstd::stream::read::Decoder::with_buffer(cursor).map_err(|e| {
                    FrameError::Decompress {
                        codec: codec.name(),
                        detail: e.to_string(),
                    }
                })?,
            ),
        };
        Ok(Self {
            codec,
            decoder,
            max_bytes,
        })
    }

    /// Decompresses into `out`'s spare capacity (never beyond it). `Err` once the output would
    /// exceed `max_bytes`, or on corrupt input.
    pub fn fill(&mut self, out: &mut Vec<u8>) -> Result<Fill, FrameError> {
        let mut len = out.len();
        out.resize(out.capacity(), 0);
        let result = loop {
            if len == out.len() {
                break Ok(Fill::Full);
            }
            let read = match &mut self.decoder {
                Decoder::Gzip(d) => d.read(&mut out[len..]),
                Decoder::Zstd(d) => d.read(&mut out[len..]),
            };
            match read {
                Ok(0) => break Ok(Fill::End),
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    break Err(FrameError::Decompress {
                        codec: self.codec.name(),
                        detail: e.to_string(),
                    });
                }
            }
        };
        out.truncate(len);
        if len > self.max_bytes {
            return Err(FrameError::DecompressedTooLarge {
                limit_bytes: self.max_bytes,
            });
        }
        result
    }
}

/// Reads `r` to its end into a buffer that never holds more than `max_bytes + 1` bytes (capacity
/// included). `Ok(None)` = the output is larger than `max_bytes`.
fn read_capped(r: impl Read, max_bytes: usize) -> std::io::Result<Option<Vec<u8>>> {
    let cap = max_bytes.saturating_add(1);
    let mut r = r.take(cap as u64);
    let mut out: Vec<u8> = Vec::new();
    let mut len = 0;
    loop {
        if len == out.len() {
            if out.len() == cap {
                break;
            }
            let grow = out.len().max(MIN_GROW_BYTES);
            let new_len = out.len().saturating_add(grow).min(cap);
            out.reserve_exact(new_len - out.len());
            out.resize(new_len, 0);
        }
        match r.read(&mut out[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    out.truncate(len);
    Ok((len <= max_bytes).then_some(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn reads_every_gzip_member_and_zstd_frame() {
        let mut two = gzip(b"hello ");
        two.extend(gzip(b"world"));
        assert_eq!(
            &decompress(Codec::Gzip, &two, 100).unwrap()[..],
            b"hello world"
        );
        let mut z = zstd::encode_all(&b"hello "[..], 3).unwrap();
        z.extend(zstd::encode_all(&b"world"[..], 3).unwrap());
        assert_eq!(
            &decompress(Codec::Zstd, &z, 100).unwrap()[..],
            b"hello world"
        );
    }

    #[test]
    fn output_exactly_at_the_cap_passes_one_byte_more_fails() {
        let data = vec![7u8; 40_000];
        let gz = gzip(&data);
        assert_eq!(decompress(Codec::Gzip, &gz, 40_000).unwrap().len(), 40_000);
        assert_eq!(
            decompress(Codec::Gzip, &gz, 39_999),
            Err(FrameError::DecompressedTooLarge {
                limit_bytes: 39_999
            })
        );
    }

    #[test]
    fn buffer_never_grows_past_the_cap() {
        let out = read_capped(std::io::repeat(1), 100_000).unwrap();
        assert_eq!(out, None);
        let v = read_capped(&[1u8; 50_000][..], 50_000).unwrap().unwrap();
        assert_eq!(v.len(), 50_000);
        assert!(v.capacity() <= 50_001, "capacity {}", v.capacity());
    }

    #[test]
    fn corrupt_and_truncated_input_are_errors() {
        let gz = gzip(b"some text that compresses");
        let reason = |r: Result<Bytes, FrameError>| r.map_err(|e| e.reason());
        assert_eq!(
            reason(decompress(Codec::Gzip, &gz[..gz.len() - 4], 100)),
            Err("decompress_failed")
        );
        let mut bad = gz.clone();
        bad[12] ^= 0xff;
        assert!(decompress(Codec::Gzip, &bad, 100).is_err());
        assert_eq!(
            reason(decompress(Codec::Zstd, b"\x28\xb5\x2f\xfdjunk", 100)),
            Err("decompress_failed")
        );
    }

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(Codec::sniff(&gzip(b"x")), Some(Codec::Gzip));
        assert_eq!(
            Codec::sniff(&zstd::encode_all(&b"x"[..], 1).unwrap()),
            Some(Codec::Zstd)
        );
        assert_eq!(Codec::sniff(&[0x92, 0x01, 0x80]), None);
    }

    #[test]
    fn a_payload_announces_its_size_when_its_format_carries_it() {
        let plain = vec![7u8; 100_000];
        assert_eq!(announced_size(Codec::Gzip, &gzip(&plain)), Some(100_000));
        // One-shot compression (ZSTD_compress, what Fluent Bit calls) writes the content size.
        let z = zstd::bulk::compress(&plain, 3).unwrap();
        assert_eq!(announced_size(Codec::Zstd, &z), Some(100_000));
        // A streamed zstd frame carries no size; a truncated payload announces nothing.
        let streamed = zstd::encode_all(&plain[..], 3).unwrap();
        assert_eq!(announced_size(Codec::Zstd, &streamed), None);
        assert_eq!(announced_size(Codec::Gzip, &[0x1f, 0x8b]), None);
    }
}
