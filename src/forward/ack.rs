//! Ack replies `{"ack": <chunk>}` read from an upstream, as they arrive.
//!
//! Invariants: bytes are buffered until a whole msgpack value is there; a value that is not an
//! ack map, malformed msgpack, or more than [`MAX_ACK_BYTES`] without a complete value is an
//! error (the connection is dropped and the frames resent elsewhere). Replies are a few dozen
//! bytes, so rescanning the small buffer on each read costs nothing.

use crate::msgpack::reader::{ReadError, Token, map_get, read_token, skip_value};

/// Longest reply accepted: an ack of a 24-character chunk id is 30 bytes.
pub const MAX_ACK_BYTES: usize = 1024;

/// Why the upstream's replies cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("reply larger than {MAX_ACK_BYTES} bytes")]
    TooLarge,
    #[error("malformed msgpack reply: {0}")]
    Malformed(&'static str),
    #[error("reply is not an {{\"ack\": <chunk>}} map")]
    NotAnAck,
    /// The upstream opened with a HELO: it requires the Forward handshake.
    #[error(
        "the upstream requires the Forward handshake (it sent HELO): set shared_key (and username/password if it has users)"
    )]
    HandshakeRequired,
}

impl AckError {
    /// Short stable name for the `reason` metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            AckError::HandshakeRequired => "handshake_required",
            _ => "bad_ack",
        }
    }
}

/// Whether `value` is a handshake message (`["HELO", ...]`, `["PONG", ...]`) rather than an ack.
fn is_handshake(value: &[u8]) -> bool {
    let Ok((Token::Array(n), at)) = read_token(value, 0) else {
        return false;
    };
    n > 0
        && matches!(
            read_token(value, at),
            Ok((Token::Str(b"HELO" | b"PONG"), _))
        )
}

/// Buffers what an upstream sends and yields the chunk ids it acks.
#[derive(Debug, Default)]
pub struct AckReader {
    buf: Vec<u8>,
}

impl AckReader {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next acked chunk id (the str's bytes), `Ok(None)` when more bytes are needed.
    pub fn next_ack(&mut self) -> Result<Option<Vec<u8>>, AckError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let end = match skip_value(&self.buf, 0) {
            Ok(end) => end,
            Err(ReadError::Incomplete) if self.buf.len() <= MAX_ACK_BYTES => return Ok(None),
            Err(ReadError::Incomplete) => return Err(AckError::TooLarge),
            Err(ReadError::Invalid(why)) => return Err(AckError::Malformed(why)),
        };
        if end > MAX_ACK_BYTES {
            return Err(AckError::TooLarge);
        }
        let value = &self.buf[..end];
        if is_handshake(value) {
            return Err(AckError::HandshakeRequired);
        }
        let chunk = map_get(value, b"ack")
            .and_then(|v| match read_token(v, 0) {
                Ok((Token::Str(s) | Token::Bin(s), _)) => Some(s.to_vec()),
                _ => None,
            })
            .ok_or(AckError::NotAnAck)?;
        self.buf.drain(..end);
        Ok(Some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::codec::encode_ack;
    use crate::msgpack::writer::write_str;

    fn ack(chunk: &str) -> Vec<u8> {
        let mut value = Vec::new();
        write_str(&mut value, chunk.as_bytes());
        let mut out = Vec::new();
        encode_ack(&value, &mut out);
        out
    }

    #[test]
    fn acks_split_at_every_byte_offset_are_read_in_order() {
        let mut stream = ack("QUJDREVGR0hJSktMTU5PUA==");
        stream.extend(ack("second\n"));
        for cut in 0..=stream.len() {
            let mut r = AckReader::default();
            let mut got = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                r.push(part);
                while let Some(c) = r.next_ack().unwrap() {
                    got.push(String::from_utf8(c).unwrap());
                }
            }
            assert_eq!(
                got,
                ["QUJDREVGR0hJSktMTU5PUA==", "second\n"],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn anything_but_an_ack_is_an_error() {
        for bad in [
            &[0xc1][..],                                     // reserved marker
            &[0x81, 0xa3, b'n', b'o', b'k', 0xa1, b'x'][..], // {"nok": "x"}
            &[0x81, 0xa3, b'a', b'c', b'k', 0x01][..],       // {"ack": 1}
            &[0x93, 0x01, 0x02, 0x03][..],                   // an array
        ] {
            let mut r = AckReader::default();
            r.push(bad);
            assert!(r.next_ack().is_err(), "{bad:x?}");
        }
        let mut helo = vec![0x92, 0xa4];
        helo.extend_from_slice(b"HELO");
        helo.extend_from_slice(&[0x81, 0xa9]);
        helo.extend_from_slice(b"keepalive");
        helo.push(0xc3);
        let mut r = AckReader::default();
        r.push(&helo);
        assert_eq!(r.next_ack(), Err(AckError::HandshakeRequired));
        let mut r = AckReader::default();
        r.push(&[0xdb, 0xff, 0xff, 0xff, 0xff]);
        r.push(&[b'a'; MAX_ACK_BYTES]);
        assert_eq!(r.next_ack(), Err(AckError::TooLarge));
    }
}
