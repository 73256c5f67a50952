//! Framing: is a whole Forward request at the start of the read buffer?
//!
//! Invariants: a [`FrameScanner`] never rescans a token it has already passed (only a token cut by
//! the end of the buffer is read again on the next call), never looks at bytes beyond
//! `max_frame_bytes`, never allocates and never panics. The root must be an array or `nil`; any
//! other first byte is rejected at once, without waiting for the rest of the value.

use crate::msgpack::reader::{MAX_DEPTH, ReadError, Token, read_token};

use super::{DecodeLimits, FrameError};

/// Resumable frame boundary scanner, one per connection.
///
/// Contract: between two calls the caller may only append bytes to the buffer; after `check`
/// returns `Ok(Some(len))` or `Err`, the scanner is reset and the next call must pass a buffer that
/// starts at the next frame (the caller has split off the `len` bytes). Each call costs
/// O(bytes added since the last call), unlike [`check_frame`], which rescans from the start.
#[derive(Debug, Clone)]
pub struct FrameScanner {
    /// Where the next unread token starts.
    pos: usize,
    /// Values still to read at the current nesting level.
    pending: u64,
    depth: usize,
    /// `pending` of each enclosing container.
    stack: [u64; MAX_DEPTH],
}

impl Default for FrameScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameScanner {
    pub const fn new() -> Self {
        Self {
            pos: 0,
            pending: 1,
            depth: 0,
            stack: [0; MAX_DEPTH],
        }
    }

    /// Forgets a partly scanned frame (e.g. the caller dropped its buffer).
    pub fn reset(&mut self) {
        // `stack` entries above `depth` are never read, so they need no clearing.
        self.pos = 0;
        self.pending = 1;
        self.depth = 0;
    }

    /// `Ok(Some(len))`: a whole frame is `buf[..len]`. `Ok(None)`: wait for more bytes.
    /// `Err`: the stream is corrupt, or the frame cannot end within `max_frame_bytes`; close it.
    pub fn check(
        &mut self,
        buf: &[u8],
        limits: &DecodeLimits,
    ) -> Result<Option<usize>, FrameError> {
        let mut result = self.scan(buf, limits);
        // A `bin`/`str` header announcing more than the limit: refused now, not after the
        // limit's worth of bytes arrived.
        if matches!(result, Ok(None))
            && self
                .known_len(buf)
                .is_some_and(|n| n > limits.max_frame_bytes)
        {
            result = Err(FrameError::FrameTooLarge {
                limit_bytes: limits.max_frame_bytes,
            });
        }
        if !matches!(result, Ok(None)) {
            self.reset();
        }
        result
    }

    /// After `check` returned `Ok(None)` on `buf`: a length the frame has at least, when the value
    /// it waits for is a `bin` or `str` whose header arrived (a PackedForward payload, a long
    /// record field), so that its buffer can be sized once instead of grown. `None` when the
    /// bytes still missing are not announced by a header (an entry array, a map).
    pub fn known_len(&self, buf: &[u8]) -> Option<usize> {
        let head = buf.get(self.pos..)?;
        let be = |n: usize| -> Option<usize> {
            let b = head.get(1..=n)?;
            Some(b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x)))
        };
        let (header, len) = match *head.first()? {
            0xc4 | 0xd9 => (2, be(1)?),
            0xc5 | 0xda => (3, be(2)?),
            0xc6 | 0xdb => (5, be(4)?),
            _ => return None,
        };
        Some(self.pos.saturating_add(header).saturating_add(len))
    }

    fn scan(&mut self, buf: &[u8], limits: &DecodeLimits) -> Result<Option<usize>, FrameError> {
        if self.pos == 0 {
            match buf.first() {
                None => return Ok(None),
                // A heartbeat: complete by itself.
                Some(0xc0) => return Ok(Some(1)),
                Some(0x90..=0x9f | 0xdc | 0xdd) => {}
                Some(_) => return Err(FrameError::NonArrayRoot),
            }
        }
        // Never look past the limit: a frame that has not ended by then is too large.
        let window = &buf[..buf.len().min(limits.max_frame_bytes)];
        loop {
            while self.pending == 0 {
                if self.depth == 0 {
                    return Ok(Some(self.pos));
                }
                self.depth -= 1;
                self.pending = self.stack[self.depth];
            }
            let (tok, next) = match read_token(window, self.pos) {
                Ok(t) => t,
                Err(ReadError::Incomplete) if buf.len() > limits.max_frame_bytes => {
                    return Err(FrameError::FrameTooLarge {
                        limit_bytes: limits.max_frame_bytes,
                    });
                }
                Err(ReadError::Incomplete) => return Ok(None),
                Err(ReadError::Invalid(why)) => return Err(FrameError::Malformed(why)),
            };
            self.pos = next;
            self.pending -= 1;
            let children = match tok {
                Token::Array(n) => u64::from(n),
                Token::Map(n) => 2 * u64::from(n),
                _ => 0,
            };
            if children > 0 {
                if self.depth == MAX_DEPTH {
                    return Err(FrameError::Malformed("nesting too deep"));
                }
                self.stack[self.depth] = self.pending;
                self.depth += 1;
                self.pending = children;
            }
        }
    }
}

/// Stateless form of [`FrameScanner::check`]: scans `buf` from its start on every call, so calling
/// it after each small read of a large frame is quadratic. Call it only when a large chunk of new
/// bytes arrived, or keep a [`FrameScanner`] per connection instead.
pub fn check_frame(buf: &[u8], limits: &DecodeLimits) -> Result<Option<usize>, FrameError> {
    FrameScanner::new().check(buf, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DecodeLimits = DecodeLimits {
        max_frame_bytes: 64,
        max_decompressed_bytes: 64,
    };

    #[test]
    fn a_header_announcing_more_than_the_limit_is_refused_at_once() {
        // ["t", <bin32 of 4 GiB - 1>] with none of its bytes sent.
        let buf = [0x92, 0xa1, b't', 0xc6, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            FrameScanner::new().check(&buf, &LIMITS),
            Err(FrameError::FrameTooLarge { limit_bytes: 64 })
        );
        // Within the limit, the same header shape waits for its bytes.
        let buf = [0x92, 0xa1, b't', 0xc6, 0x00, 0x00, 0x00, 0x20];
        assert_eq!(FrameScanner::new().check(&buf, &LIMITS), Ok(None));
    }

    #[test]
    fn resumes_across_calls_and_resets_after_a_frame() {
        // ["t", 1, {"a": "b"}] then a heartbeat.
        let mut buf = vec![0x93, 0xa1, b't', 0x01, 0x81, 0xa1, b'a', 0xa1, b'b', 0xc0];
        let mut sc = FrameScanner::new();
        for cut in 0..9 {
            assert_eq!(sc.check(&buf[..cut], &LIMITS), Ok(None), "cut {cut}");
        }
        assert_eq!(sc.check(&buf, &LIMITS), Ok(Some(9)));
        buf.drain(..9);
        assert_eq!(sc.check(&buf, &LIMITS), Ok(Some(1)));
    }

    #[test]
    fn a_bin_or_str_header_tells_the_length_the_frame_has_at_least() {
        let limits = DecodeLimits {
            max_frame_bytes: 1 << 20,
            max_decompressed_bytes: 1 << 20,
        };
        // ["t", bin32(70000) ...: the payload announces 1 + 2 + 5 + 70000 bytes.
        let mut buf = vec![0x93, 0xa1, b't', 0xc6, 0, 1, 0x11, 0x70];
        buf.extend_from_slice(&[0x80; 100]);
        let mut sc = FrameScanner::new();
        assert_eq!(sc.check(&buf, &limits), Ok(None));
        assert_eq!(sc.known_len(&buf), Some(8 + 70_000));
        // A header cut short, or an entry array: not known.
        let mut sc = FrameScanner::new();
        assert_eq!(sc.check(&buf[..5], &limits), Ok(None));
        assert_eq!(sc.known_len(&buf[..5]), None);
        let fwd = [0x93, 0xa1, b't', 0xdc, 0x01, 0x00, 0x92];
        let mut sc = FrameScanner::new();
        assert_eq!(sc.check(&fwd, &limits), Ok(None));
        assert_eq!(sc.known_len(&fwd), None);
        // str8 and bin16.
        for (buf, want) in [
            (vec![0x92, 0xd9, 200, b'x'], 2 + 200 + 1),
            (vec![0x92, 0xa1, b't', 0xc5, 0x01, 0x00], 3 + 3 + 256),
        ] {
            let mut sc = FrameScanner::new();
            assert_eq!(sc.check(&buf, &limits), Ok(None));
            assert_eq!(sc.known_len(&buf), Some(want));
        }
    }

    #[test]
    fn rejects_non_array_root_from_its_first_byte() {
        // A str8 header announcing 255 bytes: rejected without waiting for them.
        assert_eq!(
            check_frame(&[0xd9, 0xff], &LIMITS),
            Err(FrameError::NonArrayRoot)
        );
        assert_eq!(check_frame(&[0x81], &LIMITS), Err(FrameError::NonArrayRoot));
    }

    #[test]
    fn incomplete_frame_longer_than_the_limit_is_an_error() {
        // An array of 2^32-1 elements never completes: an error once the buffer passes the limit.
        let mut buf = vec![0xdd, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(check_frame(&buf, &LIMITS), Ok(None));
        buf.resize(LIMITS.max_frame_bytes, 0x01);
        assert_eq!(check_frame(&buf, &LIMITS), Ok(None));
        buf.push(0x01);
        assert_eq!(
            check_frame(&buf, &LIMITS),
            Err(FrameError::FrameTooLarge { limit_bytes: 64 })
        );
    }

    #[test]
    fn frame_of_exactly_the_limit_passes_even_with_more_bytes_after_it() {
        // fixarray(1) + bin8 of 61 bytes = 64 bytes, then the next frame's first byte.
        let mut buf = vec![0x91, 0xc4, 61];
        buf.resize(64, 0);
        buf.push(0x91);
        assert_eq!(check_frame(&buf, &LIMITS), Ok(Some(64)));
    }
}
