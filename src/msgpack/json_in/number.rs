//! JSON numbers to msgpack: integers that fit u64 (or, negative, i64) stay integers, anything
//! else is an f64 (see the parent module's output contract).

use super::{Step, Transcoder, fail};
use crate::msgpack::writer::{write_f64, write_i64, write_u64};

impl Transcoder<'_> {
    fn digits_from(&self, mut i: usize) -> usize {
        while let Some(b'0'..=b'9') = self.src.get(i) {
            i += 1;
        }
        i
    }

    pub(super) fn number(&mut self) -> Step {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        let int_start = start + usize::from(negative);
        let mut i = match self.src.get(int_start) {
            Some(b'0') => int_start + 1,
            Some(b'1'..=b'9') => self.digits_from(int_start + 1),
            _ => return fail(int_start, "invalid number"),
        };
        if let Some(b'0'..=b'9') = self.src.get(i) {
            return fail(i, "invalid number: leading zero");
        }
        let int_end = i;
        if self.src.get(i) == Some(&b'.') {
            let frac = self.digits_from(i + 1);
            if frac == i + 1 {
                return fail(frac, "invalid number: expected a digit after `.`");
            }
            i = frac;
        }
        if let Some(b'e' | b'E') = self.src.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = self.src.get(i) {
                i += 1;
            }
            let exp = self.digits_from(i);
            if exp == i {
                return fail(i, "invalid number: expected a digit in the exponent");
            }
            i = exp;
        }
        self.pos = i;
        if i == int_end {
            // Same rules as serde_json: u64, else negative i64, else (`-0`, overflow) f64.
            if let Some(magnitude) = decimal_u64(&self.src[int_start..int_end]) {
                if !negative {
                    write_u64(self.out, magnitude);
                    return Ok(());
                }
                let value = (magnitude as i64).wrapping_neg();
                if value < 0 {
                    write_i64(self.out, value);
                } else {
                    write_f64(self.out, -(magnitude as f64));
                }
                return Ok(());
            }
        }
        let parsed = std::str::from_utf8(&self.src[start..i])
            .ok()
            .and_then(|text| text.parse::<f64>().ok());
        match parsed {
            Some(v) if v.is_finite() => {
                write_f64(self.out, v);
                Ok(())
            }
            _ => fail(start, "number out of range"),
        }
    }
}

/// The value of a run of ASCII digits, or `None` if it overflows u64.
fn decimal_u64(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}
