//! The options element of a Forward request: `chunk` (ack id) and `compressed`.
//!
//! Invariants: `chunk` is kept as the raw msgpack bytes of its value so the ack echoes it byte for
//! byte; `size` (an untrusted hint), `fluent_signal`, `metadata`, unknown and non-string keys are
//! ignored; an unknown `compressed` value fails the frame (its payload cannot be read).

use bytes::Bytes;

use crate::msgpack::reader::{Token, read_token, skip_value};

use super::FrameError;

/// How a PackedForward payload is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
    /// No `compressed` key: plain, unless the payload starts with gzip or zstd magic bytes.
    Unspecified,
    /// `"text"` (fluentd's name for uncompressed).
    Text,
    Gzip,
    Zstd,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Options {
    pub chunk: Option<Bytes>,
    pub compression: Compression,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            chunk: None,
            compression: Compression::Unspecified,
        }
    }
}

/// Parses the options value at `frame[pos..]`, `nil` (old Docker) or a map; returns them and the
/// position after the value.
pub(super) fn parse_options(frame: &Bytes, pos: usize) -> Result<(Options, usize), FrameError> {
    let mut opts = Options::default();
    let (tok, mut p) = read_token(frame, pos).map_err(FrameError::from)?;
    let n = match tok {
        Token::Nil => return Ok((opts, p)),
        Token::Map(n) => n,
        _ => return Err(FrameError::BadOptions),
    };
    for _ in 0..n {
        let key_end = skip_value(frame, p).map_err(FrameError::from)?;
        let val_end = skip_value(frame, key_end).map_err(FrameError::from)?;
        if let (Token::Str(key), _) = read_token(frame, p).map_err(FrameError::from)? {
            match key {
                b"chunk" => opts.chunk = Some(frame.slice(key_end..val_end)),
                b"compressed" => opts.compression = compression(&frame[key_end..val_end])?,
                _ => {}
            }
        }
        p = val_end;
    }
    Ok((opts, p))
}

fn compression(value: &[u8]) -> Result<Compression, FrameError> {
    match read_token(value, 0).map_err(FrameError::from)?.0 {
        Token::Str(b"gzip") => Ok(Compression::Gzip),
        Token::Str(b"zstd") => Ok(Compression::Zstd),
        Token::Str(b"text") => Ok(Compression::Text),
        _ => Err(FrameError::UnknownCompression),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<Options, FrameError> {
        let (opts, end) = parse_options(&Bytes::copy_from_slice(b), 0)?;
        assert_eq!(end, b.len());
        Ok(opts)
    }

    #[test]
    fn nil_and_empty_map_mean_no_options() {
        assert_eq!(parse(&[0xc0]), Ok(Options::default()));
        assert_eq!(parse(&[0x80]), Ok(Options::default()));
    }

    #[test]
    fn reads_chunk_bytes_and_compression_ignoring_other_keys() {
        // {"size": 2, 1: 2, "chunk": "ab\n", "compressed": "gzip", "fluent_signal": 0}
        let opts = parse(&[
            0x85, 0xa4, b's', b'i', b'z', b'e', 0x02, 0x01, 0x02, 0xa5, b'c', b'h', b'u', b'n',
            b'k', 0xa3, b'a', b'b', b'\n', 0xaa, b'c', b'o', b'm', b'p', b'r', b'e', b's', b's',
            b'e', b'd', 0xa4, b'g', b'z', b'i', b'p', 0xad, b'f', b'l', b'u', b'e', b'n', b't',
            b'_', b's', b'i', b'g', b'n', b'a', b'l', 0x00,
        ])
        .unwrap();
        assert_eq!(opts.chunk.as_deref(), Some(&[0xa3, b'a', b'b', b'\n'][..]));
        assert_eq!(opts.compression, Compression::Gzip);
    }

    #[test]
    fn unknown_compression_and_non_map_options_fail_the_frame() {
        let lz4 = [
            0x81, 0xaa, b'c', b'o', b'm', b'p', b'r', b'e', b's', b's', b'e', b'd', 0xa3, b'l',
            b'z', b'4',
        ];
        assert_eq!(parse(&lz4), Err(FrameError::UnknownCompression));
        assert_eq!(parse(&[0x91, 0x01]), Err(FrameError::BadOptions));
        assert_eq!(parse(&[0xa1, b'x']), Err(FrameError::BadOptions));
    }
}
