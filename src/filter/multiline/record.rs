//! msgpack helpers shared by both modes: read a string field, and write a group's record
//! (the first piece's map with the content key replaced and some keys left out).
//!
//! Invariant: the rewritten map keeps every other entry of the first piece byte for byte, in order.

use bytes::Bytes;

use crate::msgpack::reader::{Token, as_str_bytes, map_get, read_token, skip_value};
use crate::msgpack::writer::{write_map_len, write_str};

/// The string value of `key` in the map `record` (str or bin), if any.
pub(crate) fn str_field<'a>(record: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    map_get(record, key).and_then(as_str_bytes)
}

/// True if the map `record` has an entry `key` (any value).
pub(crate) fn has_key(record: &[u8], key: &[u8]) -> bool {
    map_get(record, key).is_some()
}

/// True if `key` holds `true` or the string `"true"` (Docker sends its flags as strings).
pub(crate) fn flag_field(record: &[u8], key: &[u8]) -> bool {
    match map_get(record, key).and_then(|v| read_token(v, 0).ok()) {
        Some((Token::Bool(b), _)) => b,
        Some((Token::Str(s), _)) => s == b"true",
        _ => false,
    }
}

/// The record of a finished group: `base` with `content_key` set to `content` and the `remove`
/// keys left out; a map of the content alone if `base` is not a well-formed map.
pub(crate) fn rebuild_record(
    base: &[u8],
    content_key: &[u8],
    content: &[u8],
    remove: &[&[u8]],
) -> Bytes {
    let mut out = Vec::with_capacity(base.len() + content.len() + 8);
    if !rebuild(base, content_key, content, remove, &mut out) {
        out.clear();
        write_map_len(&mut out, 1);
        write_str(&mut out, content_key);
        write_str(&mut out, content);
    }
    Bytes::from(out)
}

/// Writes `base` (a msgpack map) into `out` with `content_key` set to `content` (appended if the
/// key was missing) and every key in `remove` left out. Returns `false` (and leaves `out` as it
/// was) if `base` is not a well-formed map; the caller then writes a map of the content alone.
fn rebuild(
    base: &[u8],
    content_key: &[u8],
    content: &[u8],
    remove: &[&[u8]],
    out: &mut Vec<u8>,
) -> bool {
    let start = out.len();
    let Ok((Token::Map(n), mut p)) = read_token(base, 0) else {
        return false;
    };
    // First pass: which entries survive (so the header count is right before copying).
    let mut kept: Vec<(usize, usize, bool)> = Vec::with_capacity(n as usize);
    let mut saw_content = false;
    for _ in 0..n {
        let Ok(key_end) = skip_value(base, p) else {
            return false;
        };
        let Ok(val_end) = skip_value(base, key_end) else {
            return false;
        };
        let key = match read_token(base, p) {
            Ok((Token::Str(k), _)) => Some(k),
            _ => None,
        };
        let is_content = key == Some(content_key);
        let removed = key.is_some_and(|k| remove.contains(&k));
        // A duplicate content key is written once (the first occurrence carries the new value).
        let duplicate_content = is_content && saw_content;
        if !removed && !duplicate_content {
            kept.push((p, val_end, is_content));
        }
        saw_content |= is_content;
        p = val_end;
    }
    let extra = u32::from(!saw_content);
    write_map_len(out, kept.len() as u32 + extra);
    for &(from, to, is_content) in &kept {
        if is_content {
            write_str(out, content_key);
            write_str(out, content);
        } else {
            out.extend_from_slice(&base[from..to]);
        }
    }
    if !saw_content {
        write_str(out, content_key);
        write_str(out, content);
    }
    debug_assert!(out.len() > start);
    true
}
