//! Decoding a string's escapes (`\n`, `\"`, `\u00e9`, surrogate pairs) to their UTF-8 bytes.

use super::{Step, fail};

/// What one escape stands for: 1 to 4 bytes of UTF-8.
#[derive(Debug, Clone, Copy)]
pub(super) struct Decoded {
    /// The character's UTF-8, then zeros.
    pub bytes: [u8; 4],
    pub len: usize,
}

impl Decoded {
    pub(super) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Decodes the escape whose letter is at `at` of `src` (just after its `\`); returns its bytes and
/// the index after it.
pub(super) fn escape(src: &[u8], at: usize) -> Step<(Decoded, usize)> {
    let byte = match src.get(at) {
        Some(b'"') => b'"',
        Some(b'\\') => b'\\',
        Some(b'/') => b'/',
        Some(b'b') => 0x08,
        Some(b'f') => 0x0c,
        Some(b'n') => b'\n',
        Some(b'r') => b'\r',
        Some(b't') => b'\t',
        Some(b'u') => return unicode_escape(src, at + 1),
        Some(_) => return fail(at, "invalid escape"),
        None => return fail(at, "unterminated string"),
    };
    let decoded = Decoded {
        bytes: [byte, 0, 0, 0],
        len: 1,
    };
    Ok((decoded, at + 1))
}

/// Decodes `XXXX` (and a following `\uXXXX` low surrogate) at `at`; returns the index after it.
fn unicode_escape(src: &[u8], at: usize) -> Step<(Decoded, usize)> {
    let high = hex4(src, at)?;
    let (code_point, next) = match high {
        0xdc00..=0xdfff => return fail(at, "lone surrogate in a \\u escape"),
        0xd800..=0xdbff => {
            let low_at = at + 6;
            if src.get(at + 4..low_at) != Some(b"\\u") {
                return fail(at + 4, "lone surrogate in a \\u escape");
            }
            let low = hex4(src, low_at)?;
            if !(0xdc00..=0xdfff).contains(&low) {
                return fail(low_at, "lone surrogate in a \\u escape");
            }
            (
                0x1_0000 + ((high - 0xd800) << 10) + (low - 0xdc00),
                low_at + 4,
            )
        }
        _ => (high, at + 4),
    };
    let Some(c) = char::from_u32(code_point) else {
        return fail(at, "invalid \\u escape");
    };
    let mut bytes = [0u8; 4];
    let len = c.encode_utf8(&mut bytes).len();
    Ok((Decoded { bytes, len }, next))
}

fn hex4(src: &[u8], at: usize) -> Step<u32> {
    let Some(digits) = src.get(at..at + 4) else {
        return fail(src.len(), "unterminated string");
    };
    let mut v = 0u32;
    for (i, &d) in digits.iter().enumerate() {
        let nibble = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return fail(at + i, "invalid \\u escape"),
        };
        v = (v << 4) | u32::from(nibble);
    }
    Ok(v)
}
