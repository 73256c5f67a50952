//! JSON numbers: integers, floats and EventTime seconds, appended without allocating.
//!
//! Invariants: every output is a valid JSON number (or `null` for NaN/infinity, which JSON cannot
//! express). Floats use Rust's shortest round-trip digits, so parsing the text gives back the same
//! value; a float always carries a `.` or an exponent so JSON readers keep it a float.

use std::fmt::{Display, LowerExp};
use std::io::Write as _;

/// Writes an unsigned or signed integer in decimal.
#[inline]
pub fn write_int<I: itoa::Integer>(value: I, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Writes a finite f64 as its shortest round-trip text; NaN and infinities as `null`.
pub fn write_f64(value: f64, out: &mut Vec<u8>) {
    write_float(value, value.abs(), value.is_finite(), out);
}

/// Writes a finite f32 with the shortest digits that identify the f32 (so `0.1f32` is `0.1`).
pub fn write_f32(value: f32, out: &mut Vec<u8>) {
    write_float(value, f64::from(value.abs()), value.is_finite(), out);
}

fn write_float<F: Display + LowerExp>(value: F, abs: f64, finite: bool, out: &mut Vec<u8>) {
    if !finite {
        out.extend_from_slice(b"null");
        return;
    }
    let start = out.len();
    // Plain notation would print 1e300 as 301 digits: switch to an exponent outside the range
    // where plain digits stay short (the same cut-offs serde_json/ryu use).
    let use_exponent = abs != 0.0 && !(1e-5..1e16).contains(&abs);
    // Writing into a Vec cannot fail.
    let _ = if use_exponent {
        write!(out, "{value:e}")
    } else {
        write!(out, "{value}")
    };
    if !out[start..].iter().any(|&b| b == b'.' || b == b'e') {
        out.extend_from_slice(b".0");
    }
}

/// Writes seconds plus nanoseconds as an exact decimal `secs.nnnnnnnnn` (nine fraction digits).
/// Negative times are written with their true value (`-1` s + 1 ns is `-0.999999999`).
pub fn write_seconds_nanos(secs: i64, nanos: u32, out: &mut Vec<u8>) {
    const NANOS_PER_SEC: i128 = 1_000_000_000;
    let total = i128::from(secs) * NANOS_PER_SEC + i128::from(nanos);
    if total < 0 {
        out.push(b'-');
    }
    let abs = total.unsigned_abs();
    write_int(abs / NANOS_PER_SEC as u128, out);
    out.push(b'.');
    // The remainder is below 1e9, so it fits u32 and pads to nine digits.
    let frac = (abs % NANOS_PER_SEC as u128) as u32;
    write_padded(frac, 9, out);
}

/// Writes `value` in decimal, left-padded with zeros to `width` digits.
pub fn write_padded(value: u32, width: usize, out: &mut Vec<u8>) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(value).as_bytes();
    out.extend(std::iter::repeat_n(
        b'0',
        width.saturating_sub(digits.len()),
    ));
    out.extend_from_slice(digits);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f64_text(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_are_short_and_stay_floats() {
        assert_eq!(f64_text(1.0), "1.0");
        assert_eq!(f64_text(-0.0), "-0.0");
        assert_eq!(f64_text(0.1), "0.1");
        assert_eq!(f64_text(1.5e20), "1.5e20");
        assert_eq!(f64_text(1e16), "1e16");
        assert_eq!(f64_text(123456.789), "123456.789");
        assert_eq!(f64_text(1e-7), "1e-7");
        assert_eq!(f64_text(f64::NAN), "null");
        assert_eq!(f64_text(f64::NEG_INFINITY), "null");
        let mut out = Vec::new();
        write_f32(0.1, &mut out);
        assert_eq!(out, b"0.1");
    }

    #[test]
    fn seconds_nanos_are_exact() {
        let text = |s, n| {
            let mut out = Vec::new();
            write_seconds_nanos(s, n, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(1_700_000_000, 123_456_789), "1700000000.123456789");
        assert_eq!(text(5, 0), "5.000000000");
        assert_eq!(text(-1, 1), "-0.999999999");
        assert_eq!(text(-2, 0), "-2.000000000");
        assert_eq!(text(i64::MIN, 0), "-9223372036854775808.000000000");
    }

    proptest! {
        #[test]
        fn finite_f64_round_trips_through_text(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            let text = f64_text(v);
            if v.is_finite() {
                let back: f64 = text.parse().unwrap();
                prop_assert_eq!(back.to_bits(), v.to_bits(), "{}", text);
                prop_assert!(serde_json::from_str::<serde_json::Value>(&text).unwrap().is_f64());
            } else {
                prop_assert_eq!(text, "null");
            }
        }

        #[test]
        fn finite_f32_round_trips_through_text(bits in any::<u32>()) {
            let v = f32::from_bits(bits);
            let mut out = Vec::new();
            write_f32(v, &mut out);
            let text = String::from_utf8(out).unwrap();
            if v.is_finite() {
                let back: f32 = text.parse().unwrap();
                prop_assert_eq!(back.to_bits(), v.to_bits(), "{}", text);
            } else {
                prop_assert_eq!(text, "null");
            }
        }
    }
}
