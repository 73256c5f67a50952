//! How Fluent Bit reads the size and time values of the keys firelane takes from its files, key
//! by key, so that a Fluent Bit file means to firelane what it means to Fluent Bit.
//!
//! Sizes become a byte count here, so the TOML format's size rules never apply to them. Most keys
//! are Fluent Bit's size type (`flb_utils_size_to_bytes` in src/flb_utils.c: a number of bytes,
//! or K, M, G (x1000) optionally followed by B, in any case); the tcp input's `Buffer_Size` and
//! `Chunk_Size` are kilobytes (`atoi(value) * 1024`). A value Fluent Bit would refuse, or read as
//! something other than what it says (`32MiB`, `5 M`, tcp `Buffer_Size 1M` = 1 KB there), is an
//! error saying what to write instead: guessing would change what is kept.
//!
//! Durations keep firelane's reading (`units::parse_duration`: units, and compounds such as
//! `1m30s`); where Fluent Bit reads the same text differently (`1m30s` is 1 s to its time
//! parser, `Flush 500ms` is 500 s), a warning gives both readings.

use std::borrow::Cow;

use super::doc::{Entry, Findings, Section, SectionKind};
use super::translate::Translated;
use crate::config::units::parse_duration;

/// How Fluent Bit reads one key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `flb_utils_size_to_bytes`: the config map's SIZE type.
    Size,
    /// A size where Fluent Bit reads 0 or `false` (and `off` for `storage.total_limit_size`) as
    /// "no limit": firelane bounds every buffer, so that is an error here.
    SizeLimit,
    /// Whole seconds read with `atoi` (`[SERVICE] Grace`, `HC_Period`: src/flb_config.c INT).
    SecondsInt,
    /// Seconds read with `atof` (`[SERVICE] Flush`: src/flb_config.c DOUBLE).
    SecondsFloat,
    /// `flb_utils_time_to_seconds`: the config map's TIME type.
    Time,
    /// The throttle filter's own `Interval` parser (plugins/filter_throttle/throttle.c).
    ThrottleInterval,
}

/// The value kind of `key` in a `kind` section of `plugin`, for the keys firelane reads as a size
/// or a duration. Keys that are firelane's own (`max_decompressed_size`, `max_frame_size`,
/// multiline's `max_*_bytes`) read sizes as Fluent Bit's size type too, so one file has one rule;
/// firelane's own durations keep firelane's reading, as Fluent Bit has none for them.
pub fn kind_of(kind: SectionKind, plugin: &str, key: &str) -> Option<ValueKind> {
    use ValueKind::*;
    Some(match (kind, plugin, key) {
        (SectionKind::Service, _, "flush") => SecondsFloat,
        (SectionKind::Service, _, "grace" | "hc_period") => SecondsInt,
        // src/flb_input.c, flb_input_set_property: `flb_utils_size_to_bytes`, 0 = no limit.
        (SectionKind::Input, _, "mem_buf_limit") => SizeLimit,
        // The outputs' key of that name (src/flb_output.c): `off`, false or 0 = no limit.
        (SectionKind::Input, _, "storage.total_limit_size") => SizeLimit,
        // plugins/in_forward/fw.c config map: SIZE.
        (SectionKind::Input, "forward", "buffer_chunk_size" | "buffer_max_size") => Size,
        (SectionKind::Input, "forward", "max_decompressed_size") => Size,
        (SectionKind::Filter, "multiline", "max_group_bytes" | "max_total_bytes") => Size,
        (SectionKind::Filter, "throttle", "interval") => ThrottleInterval,
        // plugins/out_s3/s3.c config map: SIZE and TIME.
        (SectionKind::Output, "s3", "total_file_size" | "upload_chunk_size") => Size,
        (SectionKind::Output, "s3", "store_dir_limit_size") => Size,
        (SectionKind::Output, "s3", "upload_timeout") => Time,
        // src/flb_upstream.c config map: TIME.
        (SectionKind::Output, "forward", "net.connect_timeout") => Time,
        (SectionKind::Output, "forward", "max_frame_size") => Size,
        _ => return None,
    })
}

/// `entry` as firelane must read it: its value as a byte count for a size, unchanged otherwise;
/// `None` when the value is refused (the error is in `findings`). Warns where Fluent Bit reads a
/// duration differently.
pub fn apply<'e>(
    kind: SectionKind,
    plugin: &str,
    entry: &'e Entry,
    findings: &mut Findings,
) -> Option<Cow<'e, Entry>> {
    let Some(value_kind) = kind_of(kind, plugin, &entry.key) else {
        return Some(Cow::Borrowed(entry));
    };
    let text = entry.value.as_str();
    let bytes = match value_kind {
        ValueKind::Size => size_to_bytes(text),
        ValueKind::SizeLimit => size_limit(&entry.key, text),
        _ => {
            if let Some(warning) = duration_difference(value_kind, text) {
                findings
                    .warnings
                    .push(entry.at.problem(&entry.raw_key, warning));
            }
            return Some(Cow::Borrowed(entry));
        }
    };
    match bytes {
        Ok(n) => Some(Cow::Owned(Entry {
            value: n.to_string(),
            ..entry.clone()
        })),
        Err(why) => {
            findings.errors.push(entry.at.problem(&entry.raw_key, why));
            None
        }
    }
}

const SIZE_FORMS: &str = "Fluent Bit sizes are a number of bytes, or a number with K, M or G (x1000), optionally followed by B: 6144000, 5M, 25MB";

/// `flb_utils_size_to_bytes` (src/flb_utils.c), or why Fluent Bit would refuse or misread `text`.
pub fn size_to_bytes(text: &str) -> Result<u64, String> {
    if text.eq_ignore_ascii_case("false") {
        return Ok(0);
    }
    let not_a_size = || format!("`{text}` is not a size: {SIZE_FORMS}");
    let (number, unit) = split_number(text);
    let value: f64 = number.parse().map_err(|_| not_a_size())?;
    let scale = match unit.to_ascii_uppercase().as_str() {
        "" => 1.0,
        "K" | "KB" => 1e3,
        "M" | "MB" => 1e6,
        "G" | "GB" => 1e9,
        "B" => {
            return Err(format!(
                "`{text}`: Fluent Bit refuses the unit B on its own; write {number} (bytes)"
            ));
        }
        u @ ("KIB" | "MIB" | "GIB") => {
            let binary = match u {
                "KIB" => 1024.0,
                "MIB" => 1024.0 * 1024.0,
                _ => 1024.0 * 1024.0 * 1024.0,
            };
            return Err(format!(
                "`{text}` is not a size Fluent Bit reads (it has no binary units such as KiB or MiB, which are firelane's TOML format's); write {} (bytes)",
                (value * binary).trunc()
            ));
        }
        _ => return Err(not_a_size()),
    };
    // Fluent Bit refuses a number of at least 2^63 / scale, and truncates `value * scale`.
    let bytes = (value * scale).trunc();
    if value >= (i64::MAX / scale as i64) as f64 {
        return Err(format!("`{text}` is too large a size"));
    }
    Ok(bytes as u64)
}

/// A size where Fluent Bit reads 0, `false` (and `off`, for `storage.total_limit_size`) as no
/// limit at all, which firelane does not do.
fn size_limit(key: &str, text: &str) -> Result<u64, String> {
    let off = key == "storage.total_limit_size"
        && matches!(text.to_ascii_lowercase().as_str(), "off" | "no");
    let bytes = if off { 0 } else { size_to_bytes(text)? };
    if bytes == 0 {
        return Err(format!(
            "`{text}` means \"no limit\" to Fluent Bit; firelane bounds every input's buffers: give a size (such as 25M)"
        ));
    }
    Ok(bytes)
}

/// `text` split after its leading decimal number (digits, a point, an exponent), as `atof` reads
/// it; signs, hexadecimal and `inf` are left in the rest, so they are refused.
fn split_number(text: &str) -> (&str, &str) {
    let b = text.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut end = digits(0);
    if end < b.len() && b[end] == b'.' {
        end = digits(end + 1);
    }
    if end < b.len() && (b[end] == b'e' || b[end] == b'E') && end > 0 {
        let mut e = end + 1;
        if e < b.len() && (b[e] == b'+' || b[e] == b'-') {
            e += 1;
        }
        let after = digits(e);
        if after > e {
            end = after;
        }
    }
    text.split_at(end)
}

/// What Fluent Bit reads `text` as, in seconds, for a duration key of `kind`.
pub fn fluent_bit_seconds(kind: ValueKind, text: &str) -> f64 {
    match kind {
        ValueKind::SecondsInt => atoi(text) as f64,
        ValueKind::SecondsFloat => atof(text),
        ValueKind::Time => {
            // src/flb_utils.c, flb_utils_time_to_seconds: `atoi`, then the last character's unit.
            let n = atoi(text) as f64;
            match text.chars().last().map(|c| c.to_ascii_lowercase()) {
                Some('d') => n * 86400.0,
                Some('h') => n * 3600.0,
                Some('m') => n * 60.0,
                _ => n,
            }
        }
        ValueKind::ThrottleInterval => {
            // throttle.c parse_duration: `strtod`, then one optional unit character; any other
            // text is warned about and the number kept as seconds; the result is an `int`.
            let (number, rest) = split_number(text);
            let mut s = number.parse::<f64>().unwrap_or(0.0);
            if s > 0.0 && rest.chars().count() <= 1 {
                s *= match rest {
                    "" | "s" => 1.0,
                    "m" => 60.0,
                    "h" => 3600.0,
                    "d" => 86400.0,
                    _ => 1.0,
                };
            }
            s.trunc()
        }
        ValueKind::Size | ValueKind::SizeLimit => 0.0,
    }
}

/// C's `atoi`: an optional sign and the digits that follow; 0 when there are none.
fn atoi(text: &str) -> i64 {
    let t = text.trim_start();
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit);
    sign * digits.fold(0i64, |n, d| {
        n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    })
}

/// C's `atof` on the decimal forms: the leading number; 0 when there is none.
fn atof(text: &str) -> f64 {
    let t = text.trim_start();
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, t.strip_prefix('+').unwrap_or(t)),
    };
    sign * split_number(rest).0.parse::<f64>().unwrap_or(0.0)
}

/// A warning when Fluent Bit reads the duration `text` differently from firelane; `None` when
/// they agree or firelane refuses it (the loader reports that).
pub fn duration_difference(kind: ValueKind, text: &str) -> Option<String> {
    let ours = parse_duration(text).ok()?.as_secs_f64();
    let theirs = fluent_bit_seconds(kind, text);
    if (ours - theirs).abs() < 1e-9 {
        return None;
    }
    let how = match kind {
        ValueKind::SecondsInt => "whole seconds, up to the first character that is not a digit",
        ValueKind::SecondsFloat => {
            "seconds, up to the first character that is not part of a number"
        }
        ValueKind::Time => "a whole number in the unit of the last letter (s, m, h or d)",
        _ => "a number with at most one unit letter (s, m, h or d), cut to whole seconds",
    };
    let same = if kind == ValueKind::SecondsFloat || ours.fract() == 0.0 {
        format!("; write `{}` to mean the same to both", shown_seconds(ours))
    } else {
        String::new()
    };
    Some(format!(
        "Fluent Bit reads `{text}` as {}s ({how}); firelane uses {}s{same}",
        shown_seconds(theirs),
        shown_seconds(ours)
    ))
}

/// `90`, `0.5`: seconds without a trailing `.0`.
fn shown_seconds(secs: f64) -> String {
    let s = format!("{secs:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Fluent Bit's default tcp `Chunk_Size`: `FLB_IN_TCP_CHUNK` (plugins/in_tcp/tcp_conn.h).
const TCP_DEFAULT_CHUNK_BYTES: u64 = 32768;
/// Above this many kilobytes, Fluent Bit's `int` byte count overflows.
const TCP_MAX_KILOBYTES: u64 = (i32::MAX as u64) / 1024;

/// The tcp input's `Buffer_Size` and `Chunk_Size` as firelane's `buffer_size`: the most bytes a
/// connection holds in Fluent Bit. Both are kilobytes (plugins/in_tcp/tcp_config.c); `Buffer_Size`
/// defaults to `Chunk_Size`, which defaults to 32768 bytes. A connection's buffer starts at
/// `Chunk_Size` and grows by `Chunk_Size` only while it stays within `Buffer_Size`
/// (plugins/in_tcp/tcp_conn.c), so the most it holds is the largest multiple of `Chunk_Size` within
/// `Buffer_Size`, and never less than one `Chunk_Size`.
pub fn tcp_buffer(section: &Section, path: &str, table: &mut toml::Table, t: &mut Translated) {
    let last = |key: &str| section.entries.iter().rev().find(|e| e.key == key);
    let (buffer, chunk) = (last("buffer_size"), last("chunk_size"));
    let read = |entry: Option<&Entry>, findings: &mut Findings| match entry {
        None => Some(None),
        Some(e) => match kilobytes(&e.raw_key, &e.value) {
            Ok(kb) => Some(Some(kb * 1024)),
            Err(why) => {
                findings.errors.push(e.at.problem(&e.raw_key, why));
                None
            }
        },
    };
    let (Some(buffer_bytes), Some(chunk_bytes)) =
        (read(buffer, &mut t.findings), read(chunk, &mut t.findings))
    else {
        return;
    };
    let Some(written) = buffer.or(chunk) else {
        return;
    };
    if chunk_bytes == Some(0) {
        if let Some(c) = chunk {
            let why = format!("`{}` must be at least 1 (kilobyte)", c.raw_key);
            t.findings.errors.push(c.at.problem(&c.raw_key, why));
        }
        return;
    }
    let c = chunk_bytes.unwrap_or(TCP_DEFAULT_CHUNK_BYTES);
    let b = buffer_bytes.unwrap_or(c);
    let held = if b >= c { b / c * c } else { c };
    if let (Some(e), true) = (buffer, held != b) {
        t.findings.warnings.push(e.at.problem(
            &e.raw_key,
            format!(
                "Fluent Bit's buffer starts at Chunk_Size ({c} bytes) and grows by Chunk_Size only while it stays within Buffer_Size ({b} bytes), so it holds at most {held} bytes: firelane's longest line is {held} bytes too"
            ),
        ));
    }
    t.locations
        .entry(format!("{path}.buffer_size"))
        .or_insert_with(|| (written.at.clone(), written.raw_key.clone()));
    table.insert(
        "buffer_size".to_owned(),
        toml::Value::String(held.to_string()),
    );
}

/// A tcp `Buffer_Size` / `Chunk_Size`: Fluent Bit reads the digits before the first other
/// character as kilobytes. A `k` or `KB` after them agrees with that; anything else would be
/// read as something else than it says (`1M` is 1 KB there), so it is refused.
pub fn kilobytes(raw_key: &str, text: &str) -> Result<u64, String> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    let unit_ok = matches!(unit.trim().to_ascii_lowercase().as_str(), "" | "k" | "kb");
    let kb = match digits.parse::<u64>() {
        Ok(kb) if unit_ok => kb,
        _ => {
            let hint = match size_to_bytes(text) {
                Ok(bytes) if bytes > 0 && text.contains(|c: char| c.is_ascii_alphabetic()) => {
                    format!(" (`{}` for {bytes} bytes)", bytes.div_ceil(1024))
                }
                _ => String::new(),
            };
            return Err(format!(
                "`{text}`: Fluent Bit's tcp input reads {raw_key} as a whole number of kilobytes (the digits before any other character, so `1M` is 1 KB there): write kilobytes{hint}"
            ));
        }
    };
    if kb > TCP_MAX_KILOBYTES {
        return Err(format!(
            "`{text}` is too large: Fluent Bit's tcp input takes at most {TCP_MAX_KILOBYTES} (kilobytes)"
        ));
    }
    Ok(kb)
}

#[cfg(test)]
mod tests;
