//! `Time_Format` parsing: a strptime subset turning a parser's time field into an [`EventTime`].
//!
//! Invariants: pure (the year for year-less formats such as syslog's `%b %d %H:%M:%S` comes from a
//! reference time the caller passes, never from a clock); never panics on arbitrary input; the
//! result is UTC with the parsed offset applied (a format without `%z`/`%Z` reads local time as
//! UTC, unless the text itself ends in an ISO 8601 zone such as `Z` or `+09:00`).

use crate::event::EventTime;
use crate::time::{civil_from_days, days_from_civil};

/// Why a `Time_Format` string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeFormatError {
    /// A `%x` directive this parser does not implement.
    #[error("unsupported time directive %{0}")]
    UnsupportedDirective(char),
    /// The format ends with a lone `%`.
    #[error("time format ends with a lone %")]
    TrailingPercent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Literal(u8),
    /// Any run of whitespace (zero or more), as in strptime.
    Space,
    Year,
    Year2,
    Month,
    MonthName,
    Day,
    DayOfYear,
    Hour,
    Minute,
    Second,
    Fraction,
    Offset,
    ZoneName,
    Epoch,
    WeekdayName,
}

/// A compiled `Time_Format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeFormat {
    items: Vec<Item>,
    /// Seconds east of UTC for text without a zone (Fluent Bit's `Time_Offset`).
    default_offset: i64,
}

impl TimeFormat {
    /// Compiles a strptime-style format. Supported: `%Y %y %m %d %e %j %H %M %S %L %z %Z %b %h %B
    /// %a %A %s %T %F %%`, and ` ` (any whitespace run). `%L` is the fraction of a second (any
    /// number of digits); a `.` or `,` just before it may be absent from the text.
    pub fn compile(format: &str) -> Result<Self, TimeFormatError> {
        let mut items = Vec::new();
        let mut bytes = format.bytes();
        while let Some(b) = bytes.next() {
            if b.is_ascii_whitespace() {
                if items.last() != Some(&Item::Space) {
                    items.push(Item::Space);
                }
                continue;
            }
            if b != b'%' {
                items.push(Item::Literal(b));
                continue;
            }
            let d = bytes.next().ok_or(TimeFormatError::TrailingPercent)?;
            match d {
                b'Y' => items.push(Item::Year),
                b'y' => items.push(Item::Year2),
                b'm' => items.push(Item::Month),
                b'b' | b'h' | b'B' => items.push(Item::MonthName),
                b'd' | b'e' => items.push(Item::Day),
                b'j' => items.push(Item::DayOfYear),
                b'H' => items.push(Item::Hour),
                b'M' => items.push(Item::Minute),
                b'S' => items.push(Item::Second),
                b'L' => items.push(Item::Fraction),
                b'z' => items.push(Item::Offset),
                b'Z' => items.push(Item::ZoneName),
                b's' => items.push(Item::Epoch),
                b'a' | b'A' => items.push(Item::WeekdayName),
                b'T' => items.extend([
                    Item::Hour,
                    Item::Literal(b':'),
                    Item::Minute,
                    Item::Literal(b':'),
                    Item::Second,
                ]),
                b'F' => items.extend([
                    Item::Year,
                    Item::Literal(b'-'),
                    Item::Month,
                    Item::Literal(b'-'),
                    Item::Day,
                ]),
                b'%' => items.push(Item::Literal(b'%')),
                other => return Err(TimeFormatError::UnsupportedDirective(char::from(other))),
            }
        }
        Ok(Self {
            items,
            default_offset: 0,
        })
    }

    /// The same format, reading zone-less times at `secs` east of UTC instead of UTC.
    pub fn with_default_offset(mut self, secs: i64) -> Self {
        self.default_offset = secs;
        self
    }

    /// Parses `text`; `reference` supplies the year when the format has none (the year that puts
    /// the result closest to `reference`, so a December line read in January lands in December of
    /// the previous year). Text after the format is ignored, except an ISO 8601 zone (`Z`,
    /// `+hh:mm`, `+hhmm`) when the format has no zone of its own. `None` if the text does not fit.
    pub fn parse(&self, text: &[u8], reference: EventTime) -> Option<EventTime> {
        let mut f = Fields::default();
        let mut p = 0usize;
        let mut i = 0usize;
        while i < self.items.len() {
            let item = self.items[i];
            match item {
                Item::Space => p = skip_space(text, p),
                Item::Literal(c) => {
                    if text.get(p) == Some(&c) {
                        p += 1;
                    } else if (c == b'.' || c == b',')
                        && self.items.get(i + 1) == Some(&Item::Fraction)
                    {
                        // An optional fraction: skip the separator and the fraction together.
                        i += 2;
                        continue;
                    } else {
                        return None;
                    }
                }
                Item::Year => f.year = Some(num(text, &mut p, 1, 4)?),
                Item::Year2 => {
                    let y = num(text, &mut p, 1, 2)?;
                    f.year = Some(if y < 69 { 2000 + y } else { 1900 + y });
                }
                Item::Month => f.month = Some(num(text, &mut p, 1, 2)?),
                Item::MonthName => f.month = Some(month_name(text, &mut p)?),
                Item::Day => f.day = Some(num(text, &mut p, 1, 2)?),
                Item::DayOfYear => f.yday = Some(num(text, &mut p, 1, 3)?),
                Item::Hour => f.hour = num(text, &mut p, 1, 2)?,
                Item::Minute => f.minute = num(text, &mut p, 1, 2)?,
                Item::Second => f.second = num(text, &mut p, 1, 2)?,
                Item::Fraction => f.nanos = fraction(text, &mut p)?,
                Item::Offset => f.offset = Some(offset(text, &mut p)?),
                Item::ZoneName => f.offset = Some(zone_name(text, &mut p)?),
                Item::Epoch => f.epoch = Some(epoch(text, &mut p)?),
                Item::WeekdayName => {
                    let start = p;
                    while text.get(p).is_some_and(u8::is_ascii_alphabetic) {
                        p += 1;
                    }
                    if p == start {
                        return None;
                    }
                }
            }
            i += 1;
        }
        if f.offset.is_none() && f.epoch.is_none() {
            let mut q = p;
            f.offset = Some(offset(text, &mut q).unwrap_or(self.default_offset));
        }
        f.resolve(reference)
    }
}

#[derive(Debug, Default)]
struct Fields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    yday: Option<i64>,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: u32,
    offset: Option<i64>,
    epoch: Option<i64>,
}

impl Fields {
    fn resolve(&self, reference: EventTime) -> Option<EventTime> {
        if let Some(e) = self.epoch {
            return Some(EventTime::new(e, self.nanos));
        }
        if self.hour > 23 || self.minute > 59 || self.second > 60 {
            return None;
        }
        let tod = self.hour * 3600 + self.minute * 60 + self.second - self.offset.unwrap_or(0);
        let at_year = |year: i64| -> Option<i64> {
            let days = match (self.yday, self.month, self.day) {
                (Some(yd), None, None) if (1..=366).contains(&yd) => {
                    days_from_civil(year, 1, 1) + yd - 1
                }
                (_, m, d) => {
                    let (m, d) = (m.unwrap_or(1), d.unwrap_or(1));
                    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                        return None;
                    }
                    days_from_civil(year, m, d)
                }
            };
            Some(days * 86_400 + tod)
        };
        let secs = match self.year {
            Some(y) => at_year(y)?,
            None => {
                let ref_year = civil_from_days(reference.secs.div_euclid(86_400)).0;
                // The candidate year closest to the reference time.
                [ref_year, ref_year - 1, ref_year + 1]
                    .into_iter()
                    .filter_map(at_year)
                    .min_by_key(|s| (s - reference.secs).abs())?
            }
        };
        Some(EventTime::new(secs, self.nanos))
    }
}

fn skip_space(text: &[u8], mut p: usize) -> usize {
    while text.get(p).is_some_and(u8::is_ascii_whitespace) {
        p += 1;
    }
    p
}

/// Reads `min..=max` decimal digits (after optional spaces, as strptime allows for `%e`).
fn num(text: &[u8], p: &mut usize, min: usize, max: usize) -> Option<i64> {
    let start = skip_space(text, *p);
    let mut q = start;
    let mut v: i64 = 0;
    while q - start < max
        && let Some(d) = text.get(q).filter(|b| b.is_ascii_digit())
    {
        v = v * 10 + i64::from(d - b'0');
        q += 1;
    }
    if q - start < min {
        return None;
    }
    *p = q;
    Some(v)
}

/// Fraction digits: the first nine count, more are read and ignored.
fn fraction(text: &[u8], p: &mut usize) -> Option<u32> {
    let start = *p;
    let mut nanos: u32 = 0;
    let mut q = start;
    while let Some(d) = text.get(q).filter(|b| b.is_ascii_digit()) {
        if q - start < 9 {
            nanos = nanos * 10 + u32::from(d - b'0');
        }
        q += 1;
    }
    let n = q - start;
    if n == 0 {
        return None;
    }
    for _ in n..9 {
        nanos *= 10;
    }
    *p = q;
    Some(nanos)
}

/// `Z`, `+hh`, `+hhmm` or `+hh:mm`; returns seconds east of UTC.
fn offset(text: &[u8], p: &mut usize) -> Option<i64> {
    let q = skip_space(text, *p);
    match text.get(q)? {
        b'Z' | b'z' => {
            *p = q + 1;
            return Some(0);
        }
        b'+' | b'-' => {}
        _ => return None,
    }
    let sign = if text[q] == b'-' { -1 } else { 1 };
    let two = |at: usize| -> Option<i64> {
        let a = text.get(at).filter(|b| b.is_ascii_digit())?;
        let b = text.get(at + 1).filter(|b| b.is_ascii_digit())?;
        Some(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
    };
    let hours = two(q + 1)?;
    let mut end = q + 3;
    let minutes = if text.get(end) == Some(&b':') {
        let m = two(end + 1)?;
        end += 3;
        m
    } else if let Some(m) = two(end) {
        end += 2;
        m
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    *p = end;
    Some(sign * (hours * 3600 + minutes * 60))
}

/// Reads a whole `Time_Offset` value (`+0200`, `-06:00`, `+02`, `Z`) as seconds east of UTC.
pub fn parse_offset(s: &str) -> Option<i64> {
    let text = s.trim().as_bytes();
    let mut p = 0;
    let off = offset(text, &mut p)?;
    (p == text.len()).then_some(off)
}

/// `%Z`: a numeric offset, or a name; `UTC`/`GMT`/`Z` and unknown names all read as UTC.
fn zone_name(text: &[u8], p: &mut usize) -> Option<i64> {
    if let Some(off) = offset(text, p) {
        return Some(off);
    }
    let start = *p;
    let mut q = start;
    while text.get(q).is_some_and(u8::is_ascii_alphabetic) {
        q += 1;
    }
    if q == start {
        return None;
    }
    *p = q;
    Some(0)
}

fn epoch(text: &[u8], p: &mut usize) -> Option<i64> {
    let neg = text.get(*p) == Some(&b'-');
    let mut q = *p + usize::from(neg);
    let start = q;
    let mut v: i64 = 0;
    while let Some(d) = text.get(q).filter(|b| b.is_ascii_digit()) {
        v = v.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
        q += 1;
    }
    if q == start {
        return None;
    }
    *p = q;
    Some(if neg { -v } else { v })
}

const MONTHS: [&[u8]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];
const MONTH_NAMES: [&[u8]; 12] = [
    b"january",
    b"february",
    b"march",
    b"april",
    b"may",
    b"june",
    b"july",
    b"august",
    b"september",
    b"october",
    b"november",
    b"december",
];

/// A month abbreviation or full name, any case.
fn month_name(text: &[u8], p: &mut usize) -> Option<i64> {
    let rest = text.get(*p..)?;
    for (i, (abbr, full)) in MONTHS.iter().zip(MONTH_NAMES).enumerate() {
        for name in [full, *abbr] {
            if rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name) {
                *p += name.len();
                return Some(i as i64 + 1);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
