//! JSON numbers to msgpack: integers that fit u64 (or, negative, i64) stay integers, anything
//! else is an f64 (see the parent module's output contract).

use super::{Step, fail};

/// A number's msgpack encoding: 1 to 9 bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Encoded {
    /// The encoding, then zeros.
    pub bytes: [u8; 9],
    pub len: usize,
}

impl Encoded {
    pub(super) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Positive fixint, else uint64 (as `writer::write_u64`).
    fn unsigned(v: u64) -> Self {
        if v < 128 {
            return Self::short(v as u8);
        }
        Self::long(0xcf, v.to_be_bytes())
    }

    /// Negative fixint, else int64 (as `writer::write_i64` for a negative `v`).
    fn negative(v: i64) -> Self {
        if v >= -32 {
            return Self::short(v as u8);
        }
        Self::long(0xd3, v.to_be_bytes())
    }

    fn float(v: f64) -> Self {
        Self::long(0xcb, v.to_be_bytes())
    }

    fn short(b: u8) -> Self {
        let mut bytes = [0; 9];
        bytes[0] = b;
        Self { bytes, len: 1 }
    }

    fn long(marker: u8, payload: [u8; 8]) -> Self {
        let mut bytes = [marker; 9];
        bytes[1..].copy_from_slice(&payload);
        Self { bytes, len: 9 }
    }
}

/// Reads the number at `start` of `src` (whose first byte is `-` or a digit); returns its msgpack
/// encoding and the index just after it. Integer digits are summed as they are read.
#[inline(always)]
pub(super) fn number(src: &[u8], start: usize) -> Step<(Encoded, usize)> {
    let negative = src.get(start) == Some(&b'-');
    let int_start = start + usize::from(negative);
    let mut magnitude = 0u64;
    let mut i = int_start;
    match src.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while let Some(&d @ b'0'..=b'9') = src.get(i) {
                magnitude = magnitude.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                i += 1;
            }
        }
        _ => return fail(int_start, "invalid number"),
    }
    if let Some(b'0'..=b'9') = src.get(i) {
        return fail(i, "invalid number: leading zero");
    }
    if let Some(b'.' | b'e' | b'E') = src.get(i) {
        i = fraction_and_exponent(src, i)?;
    } else if i - int_start < 20 || decimal_u64(&src[int_start..i]).is_some() {
        // 19 digits always fit u64, so the sum did not wrap; longer runs were checked. Same rules
        // as serde_json: u64, else negative i64, else (`-0`, overflow) f64.
        if !negative {
            return Ok((Encoded::unsigned(magnitude), i));
        }
        let value = (magnitude as i64).wrapping_neg();
        let encoded = if value < 0 {
            Encoded::negative(value)
        } else {
            Encoded::float(-(magnitude as f64))
        };
        return Ok((encoded, i));
    }
    let parsed = std::str::from_utf8(&src[start..i])
        .ok()
        .and_then(|text| text.parse::<f64>().ok());
    match parsed {
        Some(v) if v.is_finite() => Ok((Encoded::float(v), i)),
        _ => fail(start, "number out of range"),
    }
}

/// Checks a number's `.digits` and `e[+-]digits` parts from `i`; returns the index after them.
#[inline(never)]
fn fraction_and_exponent(src: &[u8], mut i: usize) -> Step<usize> {
    if src.get(i) == Some(&b'.') {
        let frac = digits_from(src, i + 1);
        if frac == i + 1 {
            return fail(frac, "invalid number: expected a digit after `.`");
        }
        i = frac;
    }
    if let Some(b'e' | b'E') = src.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = src.get(i) {
            i += 1;
        }
        let exp = digits_from(src, i);
        if exp == i {
            return fail(i, "invalid number: expected a digit in the exponent");
        }
        i = exp;
    }
    Ok(i)
}

fn digits_from(src: &[u8], mut i: usize) -> usize {
    while let Some(b'0'..=b'9') = src.get(i) {
        i += 1;
    }
    i
}

/// The value of a run of ASCII digits, or `None` if it overflows u64.
fn decimal_u64(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgpack::writer::{write_f64, write_i64, write_u64};

    /// The encodings are the writer's, byte for byte.
    #[test]
    fn encodings_are_the_writers() {
        for v in [0, 1, 127, 128, 255, 256, 65_535, 1 << 32, u64::MAX] {
            let mut out = Vec::new();
            write_u64(&mut out, v);
            assert_eq!(Encoded::unsigned(v).as_slice(), out, "{v}");
        }
        for v in [-1, -32, -33, -128, -129, i64::MIN] {
            let mut out = Vec::new();
            write_i64(&mut out, v);
            assert_eq!(Encoded::negative(v).as_slice(), out, "{v}");
        }
        for v in [0.5, -0.0, 1e300] {
            let mut out = Vec::new();
            write_f64(&mut out, v);
            assert_eq!(Encoded::float(v).as_slice(), out, "{v}");
        }
    }

    #[test]
    fn integers_at_the_edges_of_u64_and_i64() {
        let enc = |s: &str| number(s.as_bytes(), 0).map(|(e, end)| (e.as_slice().to_vec(), end));
        assert_eq!(enc("18446744073709551615").unwrap().0, {
            let mut o = Vec::new();
            write_u64(&mut o, u64::MAX);
            o
        });
        // One more is a float, as in serde_json.
        assert_eq!(enc("18446744073709551616").unwrap().0[0], 0xcb);
        assert_eq!(enc("-9223372036854775808").unwrap().0, {
            let mut o = Vec::new();
            write_i64(&mut o, i64::MIN);
            o
        });
        assert_eq!(enc("-9223372036854775809").unwrap().0[0], 0xcb);
        assert_eq!(enc("-0").unwrap().0[0], 0xcb);
        assert_eq!(
            enc("00").unwrap_err().reason,
            "invalid number: leading zero"
        );
        assert_eq!(enc("12,").unwrap().1, 2);
    }
}
