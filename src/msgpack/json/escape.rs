//! JSON string literals from raw bytes: escaping and UTF-8 repair.
//!
//! Invariants: the output is always valid UTF-8 and a valid JSON string literal, or the content of
//! one (no quotes), or, for the "twice" forms, a literal escaped again as the content of an
//! enclosing string. Each invalid UTF-8
//! sequence (as delimited by `Utf8Error::error_len`, the same rule as `String::from_utf8_lossy`) is
//! replaced by exactly one U+FFFD and counted once. Bytes are scanned once; runs that need no
//! escaping are copied with `extend_from_slice`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::TranscodeStats;

/// U+FFFD REPLACEMENT CHARACTER in UTF-8.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// For each byte: 0 = copy as is; `u` = `\u00XX`; any other value = `\` followed by that byte.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes a JSON string literal (with quotes) from raw bytes (invalid UTF-8 replaced and counted).
pub fn write_str(bytes: &[u8], out: &mut Vec<u8>, stats: &mut TranscodeStats) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    escape_raw::<false>(bytes, out, stats);
    out.push(b'"');
}

/// Writes a JSON string literal (with quotes) from text already known to be valid UTF-8.
pub fn write_str_valid(text: &str, out: &mut Vec<u8>) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    escape_valid::<false>(text.as_bytes(), out);
    out.push(b'"');
}

/// Writes raw bytes as the content of a JSON string (no quotes), invalid UTF-8 replaced and
/// counted as in [`write_str`]. Returns the length of the repaired, unescaped text.
pub fn write_str_content(bytes: &[u8], out: &mut Vec<u8>, stats: &mut TranscodeStats) -> usize {
    out.reserve(bytes.len());
    let start = out.len();
    let added = escape_raw::<false>(bytes, out, stats);
    out.len() - start - added
}

/// Writes valid UTF-8 `text` as the content of a JSON string (no quotes). Returns the bytes that
/// escaping added (`out` grew by `text.len()` plus that).
pub fn write_str_content_valid(text: &str, out: &mut Vec<u8>) -> usize {
    escape_valid::<false>(text.as_bytes(), out)
}

/// Writes the JSON string literal of raw bytes (with its quotes) escaped once more, as the content
/// of an enclosing JSON string: `"a\nb"` becomes `\"a\\nb\"`. Invalid UTF-8 is replaced and
/// counted as in [`write_str`]. Returns the bytes the second escaping added, so the plain literal
/// is that many bytes shorter than what was written.
pub(super) fn write_str_escaped(
    bytes: &[u8],
    out: &mut Vec<u8>,
    stats: &mut TranscodeStats,
) -> usize {
    out.reserve(bytes.len() + 4);
    out.extend_from_slice(b"\\\"");
    let added = 2 + escape_raw::<true>(bytes, out, stats);
    out.extend_from_slice(b"\\\"");
    added
}

/// Calls `write` with each valid UTF-8 run of `bytes` and with U+FFFD for each invalid sequence
/// (counted in `stats`), in order.
#[inline]
fn for_each_repaired(bytes: &[u8], stats: &mut TranscodeStats, mut write: impl FnMut(&[u8])) {
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                write(valid.as_bytes());
                return;
            }
            Err(err) => {
                let (valid, after) = rest.split_at(err.valid_up_to());
                write(valid);
                write(REPLACEMENT);
                stats.invalid_utf8_sequences += 1;
                match err.error_len() {
                    Some(bad_len) => rest = &after[bad_len..],
                    // A sequence cut short by the end of the string: one replacement for all of it.
                    None => return,
                }
            }
        }
    }
}

/// Escapes raw bytes as [`escape_valid`] does, invalid UTF-8 replaced and counted as in
/// [`for_each_repaired`]. ASCII needs no validation, so it is scanned once, 8 bytes at a time, for
/// bytes to escape and bytes above 0x7f together; from the first non-ASCII byte on, the rest is
/// validated and escaped in two passes. Returns the bytes added by the last level of escaping.
#[inline]
fn escape_raw<const TWICE: bool>(
    bytes: &[u8],
    out: &mut Vec<u8>,
    stats: &mut TranscodeStats,
) -> usize {
    let (mut added, stopped_at) = escape_run::<TWICE, true>(bytes, out);
    if let Some(i) = stopped_at {
        for_each_repaired(&bytes[i..], stats, |run| {
            added += escape_valid::<TWICE>(run, out);
        });
    }
    added
}

/// Escapes bytes already known to be valid UTF-8 (so multi-byte characters are copied whole), once
/// or, with `TWICE`, a second time as the content of an enclosing JSON string (`\n` -> `\\n`,
/// `"` -> `\\\"`). Returns the bytes added by the last level of escaping. Skips 8 bytes at a time
/// while none of them needs escaping (most log text).
#[inline]
pub(super) fn escape_valid<const TWICE: bool>(bytes: &[u8], out: &mut Vec<u8>) -> usize {
    escape_run::<TWICE, false>(bytes, out).0
}

/// The escaping loop of [`escape_raw`] and [`escape_valid`]: writes `bytes` escaped, skipping 8
/// bytes at a time while none needs escaping. With `STOP_AT_HIGH`, stops at the first byte above
/// 0x7f, everything before it written, and returns its index. Returns the bytes added by the last
/// level of escaping.
#[inline]
fn escape_run<const TWICE: bool, const STOP_AT_HIGH: bool>(
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> (usize, Option<usize>) {
    let mut added = 0;
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let word = word_at(bytes, i);
        let clean = if STOP_AT_HIGH {
            !needs_escape_or_high(word)
        } else {
            !needs_escape(word)
        };
        if clean {
            i += 8;
            continue;
        }
        let b = bytes[i];
        if STOP_AT_HIGH && !b.is_ascii() {
            out.extend_from_slice(&bytes[run_start..i]);
            return (added, Some(i));
        }
        i += 1;
        let esc = ESCAPE[usize::from(b)];
        if esc != 0 {
            out.extend_from_slice(&bytes[run_start..i - 1]);
            added += write_escape::<TWICE>(b, esc, out);
            run_start = i;
        }
    }
    out.extend_from_slice(&bytes[run_start..]);
    (added, None)
}

/// Writes the escape of byte `b` ([`ESCAPE`] gives `esc`, not 0), once or twice; returns the bytes
/// added by the last level of escaping.
#[inline]
fn write_escape<const TWICE: bool>(b: u8, esc: u8, out: &mut Vec<u8>) -> usize {
    if esc == b'u' {
        // Once: `\u00XX` for one byte. Twice: its backslash doubled.
        out.extend_from_slice(if TWICE { b"\\\\u00" } else { b"\\u00" });
        out.push(HEX_DIGITS[usize::from(b >> 4)]);
        out.push(HEX_DIGITS[usize::from(b & 0x0f)]);
        if TWICE { 1 } else { 5 }
    } else if !TWICE {
        out.extend_from_slice(&[b'\\', esc]);
        1
    } else if esc == b'"' || esc == b'\\' {
        // `\"` and `\\` each hold two characters that need escaping again.
        out.extend_from_slice(&[b'\\', b'\\', b'\\', esc]);
        2
    } else {
        out.extend_from_slice(&[b'\\', b'\\', esc]);
        1
    }
}

/// The 8 bytes from `i` as a little-endian word; past the end of `bytes`, padded with `a` (a byte
/// that needs no escaping), so a short tail is checked in one step too.
#[inline]
fn word_at(bytes: &[u8], i: usize) -> u64 {
    let mut eight = [b'a'; 8];
    match bytes.get(i..i + 8) {
        Some(word) => eight.copy_from_slice(word),
        None => {
            let tail = &bytes[i..];
            eight[..tail.len()].copy_from_slice(tail);
        }
    }
    u64::from_le_bytes(eight)
}

/// [`needs_escape`], or any of the 8 bytes is above 0x7f.
#[inline]
fn needs_escape_or_high(word: u64) -> bool {
    word & HIGHS != 0 || needs_escape(word)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of 8 bytes is a control character (< 0x20), `"` or `\` (the bytes [`ESCAPE`]
/// marks). Exact as a yes/no for the eight bytes (the classic "has zero byte" / "has byte less
/// than" tricks; a borrow can only follow a byte that does match).
#[inline]
pub(crate) fn needs_escape(word: u64) -> bool {
    stop_bytes(word) != 0
}

/// The bytes of `word` (little-endian) that [`needs_escape`] looks for, as their high bits. A
/// flag above the lowest one may be false (a borrow), the lowest one is exact: its byte is the
/// first control character, `"` or `\` of the eight.
#[inline]
pub(crate) fn stop_bytes(word: u64) -> u64 {
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let quote = has_zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero_byte(word ^ (ONES * u64::from(b'\\')));
    below_space | quote | backslash
}

#[inline]
fn has_zero_byte(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// Writes `data` as base64 (standard alphabet, padded), without quotes.
pub(super) fn write_base64(data: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    // Cannot overflow: a slice holds at most isize::MAX bytes, and 4/3 of that fits in usize.
    let encoded_len = data.len().div_ceil(3) * 4;
    out.resize(start + encoded_len, 0);
    match STANDARD.encode_slice(data, &mut out[start..]) {
        Ok(written) => out.truncate(start + written),
        // Unreachable: the buffer has exactly the padded length; leave an empty string rather than junk.
        Err(_) => out.truncate(start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_str(bytes: &[u8]) -> (String, u64) {
        let mut out = Vec::new();
        let mut stats = TranscodeStats::default();
        write_str(bytes, &mut out, &mut stats);
        (
            String::from_utf8(out).unwrap(),
            stats.invalid_utf8_sequences,
        )
    }

    #[test]
    fn escapes_quotes_backslashes_and_control_characters() {
        let (s, bad) = json_str(b"a\"b\\c\nd\re\tf\x08g\x0ch\x00i\x1fj\x7f");
        assert_eq!(
            s,
            r#""a\"b\\c\nd\re\tf\bg\fh\u0000i\u001fj"#.to_owned() + "\x7f\""
        );
        assert_eq!(bad, 0);
    }

    /// Calls `check(byte, position, word)` for every byte value at every position of a word of
    /// plain `a`s.
    fn each_byte_at_each_position(mut check: impl FnMut(u8, usize, u64)) {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut bytes = [b'a'; 8];
                bytes[pos] = b;
                check(b, pos, u64::from_le_bytes(bytes));
            }
        }
    }

    #[test]
    fn the_eight_byte_test_agrees_with_the_table_for_every_byte_at_every_position() {
        each_byte_at_each_position(|b, pos, word| {
            let want = ESCAPE[usize::from(b)] != 0;
            assert_eq!(needs_escape(word), want, "byte {b:#x} at {pos}");
        });
        // Neighbours that could borrow into each other.
        for (a, b) in [
            (0x00u8, 0x21u8),
            (0xffu8, 0x20u8),
            (0x21, 0x22),
            (0x80, 0x1f),
        ] {
            let bytes = [a, b, a, b, a, b, a, b];
            let want = bytes.iter().any(|&x| ESCAPE[usize::from(x)] != 0);
            assert_eq!(needs_escape(u64::from_le_bytes(bytes)), want);
        }
    }

    /// Escaping as it was done before the one-pass ASCII scan: validate, then escape each run.
    fn two_pass<const TWICE: bool>(bytes: &[u8]) -> (Vec<u8>, usize, u64) {
        let (mut out, mut added, mut stats) = (b"x".to_vec(), 0, TranscodeStats::default());
        for_each_repaired(bytes, &mut stats, |run| {
            added += escape_valid::<TWICE>(run, &mut out);
        });
        (out, added, stats.invalid_utf8_sequences)
    }

    fn one_pass<const TWICE: bool>(bytes: &[u8]) -> (Vec<u8>, usize, u64) {
        let (mut out, mut stats) = (b"x".to_vec(), TranscodeStats::default());
        let added = escape_raw::<TWICE>(bytes, &mut out, &mut stats);
        (out, added, stats.invalid_utf8_sequences)
    }

    #[test]
    fn the_high_byte_test_flags_every_byte_above_0x7f_at_every_position() {
        each_byte_at_each_position(|b, pos, word| {
            let want = ESCAPE[usize::from(b)] != 0 || !b.is_ascii();
            assert_eq!(needs_escape_or_high(word), want, "byte {b:#x} at {pos}");
        });
    }

    proptest::proptest! {
        #[test]
        fn the_one_pass_scan_writes_what_validating_first_writes(
            bytes in proptest::collection::vec(proptest::sample::select(
                &b"abcdefgh \"\\\n\x01\x1f\x7f\xc3\xa9\xff\xe2\x82\xac\xf0\x9f\x98\x80"[..]), 0..40),
        ) {
            proptest::prop_assert_eq!(one_pass::<false>(&bytes), two_pass::<false>(&bytes));
            proptest::prop_assert_eq!(one_pass::<true>(&bytes), two_pass::<true>(&bytes));
        }

        #[test]
        fn escaping_matches_serde_json(text in ".{0,64}") {
            let (s, _) = json_str(text.as_bytes());
            proptest::prop_assert_eq!(serde_json::from_str::<String>(&s).unwrap(), text);
        }
    }

    #[test]
    fn keeps_valid_multibyte_characters() {
        let (s, bad) = json_str("héllo ✓ 🚀 \u{2028}".as_bytes());
        assert_eq!(s, "\"héllo ✓ 🚀 \u{2028}\"");
        assert_eq!(bad, 0);
    }

    #[test]
    fn replaces_each_invalid_sequence_once() {
        // Two lone invalid bytes, then a truncated 3-byte sequence in the middle, then one at the end.
        let (s, bad) = json_str(b"\xff\xfeok\xe2\x82x\"\xe2\x82");
        assert_eq!(s, "\"\u{FFFD}\u{FFFD}ok\u{FFFD}x\\\"\u{FFFD}\"");
        assert_eq!(bad, 4);
        assert_eq!(
            serde_json::from_str::<String>(&s).unwrap(),
            String::from_utf8_lossy(b"\xff\xfeok\xe2\x82x\"\xe2\x82")
        );
    }

    #[test]
    fn base64_is_standard_and_padded() {
        for (data, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"\xfb\xff", "+/8="),
        ] {
            let mut out = b"x".to_vec();
            write_base64(data, &mut out);
            assert_eq!(&out[1..], want.as_bytes());
        }
    }
}
