//! Finding the end of a string's plain run: the bytes up to the first `"`, `\` or control byte,
//! which are copied as they are. Most strings in logs are short keys and values, so the scan finds
//! the stop inside an 8-byte word with one bit scan rather than a loop over its bytes.

use super::{Step, fail};
use crate::msgpack::json::stop_bytes;

/// Bytes that end a plain run inside a string: `"`, `\` and the control bytes JSON forbids raw.
static STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Returns the end of the plain run of `src` starting at `from` (the index of the first `"`, `\`,
/// control byte, or the input length), after checking that the run is UTF-8.
#[inline(always)]
pub(super) fn plain_run_end(src: &[u8], from: usize) -> Step<usize> {
    let mut end = from;
    let mut any_high = 0u64;
    let mut stopped = false;
    while let Some(word) = src.get(end..).and_then(<[u8]>::first_chunk::<8>) {
        let word = u64::from_le_bytes(*word);
        let stops = stop_bytes(word);
        if stops != 0 {
            // The lowest flagged byte is exact: the first stop in the word.
            let bits = stops.trailing_zeros() & !7;
            any_high |= word & ((1u64 << bits) - 1);
            end += (bits / 8) as usize;
            stopped = true;
            break;
        }
        any_high |= word;
        end += 8;
    }
    if !stopped {
        // Fewer than 8 bytes are left.
        while let Some(&b) = src.get(end) {
            if STRING_STOP[usize::from(b)] {
                break;
            }
            any_high |= u64::from(b);
            end += 1;
        }
    }
    if any_high & 0x8080_8080_8080_8080 != 0 {
        // `"` and `\` are ASCII, so a valid multi-byte character never straddles two runs.
        if let Err(e) = std::str::from_utf8(&src[from..end]) {
            return fail(from + e.valid_up_to(), "invalid UTF-8 in a string");
        }
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first flagged byte of a word is the first byte the table stops at, for every byte value
    /// in every lane, after any other byte values below it.
    #[test]
    fn first_flagged_byte_is_the_first_stop_for_every_byte_in_every_lane() {
        let first_stop = |word: &[u8; 8]| word.iter().position(|&b| STRING_STOP[usize::from(b)]);
        let flagged = |word: &[u8; 8]| {
            let stops = stop_bytes(u64::from_le_bytes(*word));
            (stops != 0).then(|| (stops.trailing_zeros() / 8) as usize)
        };
        for b in 0..=255u8 {
            for below in [b'a', 0x00, 0x1f, 0x20, b'"', b'\\', 0x7f, 0x80, 0xff] {
                for lane in 0..8 {
                    let mut word = [b'a'; 8];
                    word[lane] = b;
                    word[..lane].fill(below);
                    // The byte above it varies too (where a borrow would show).
                    if lane < 7 {
                        word[lane + 1] = b.wrapping_add(1);
                    }
                    assert_eq!(flagged(&word), first_stop(&word), "{word:x?}");
                }
            }
        }
    }
}
