//! The transcoder's fast path: one loop over the whole document, with the input position, the
//! output position and the open containers in locals (no recursion, no call per value, no `Vec`
//! bookkeeping per byte written), writing into room zero-filled once.
//!
//! Contract: on `Ok` it wrote exactly what the checked path (the parent module) writes for the
//! same input, and described the document's map in `index` the same way. Anything else (invalid
//! JSON, nesting deeper than [`DEPTH`], a document longer than [`MAX_LEN`]) is a [`Fallback`] with
//! `out` as it was; the checked path then does the work, or says where and why the input is wrong.

use super::escape::escape;
use super::number::number;
use super::scan::plain_run_end;
use super::str_header_len;
use crate::msgpack::index::MapIndex;

/// Containers open at once, the document's object included.
const DEPTH: usize = 16;
/// The longest document taken: its output room is zero-filled up front.
const MAX_LEN: usize = 64 << 10;

/// The fast path did not transcode the document (see the module doc).
#[derive(Debug)]
pub(super) struct Fallback;

/// Why [`document`] stopped.
#[derive(Debug)]
enum Stop {
    /// The output did not fit the room it was given.
    Full,
    /// Anything else: left to the checked path.
    Other,
}

type Fast<T> = Result<T, Stop>;

/// Room for the msgpack of `len` bytes of JSON as most documents need it: strings shrink by their
/// quotes, small integers stay as long, while uint64s (`128` and up: nine bytes) and empty
/// containers (five) grow. The rest covers a short string's 16-byte copy at the end.
fn usual_room(len: usize) -> usize {
    len + len / 4 + 64
}

/// Room for the worst case: a value grows at most 2.5 times (`[]`, two bytes, becomes a five-byte
/// array32 header; `128,`, four, a nine-byte uint64).
fn worst_room(len: usize) -> usize {
    len * 5 / 2 + 64
}

/// Transcodes `src` (one JSON object) onto the end of `out`, describing its map in `index`. A
/// document that outgrows the usual room is transcoded again with room for the worst case (the
/// room is zero-filled, so it is not made bigger than most documents need).
pub(super) fn transcode(
    src: &[u8],
    out: &mut Vec<u8>,
    mut index: Option<&mut MapIndex>,
) -> Result<(), Fallback> {
    if src.len() > MAX_LEN {
        return Err(Fallback);
    }
    let base = out.len();
    for room in [usual_room(src.len()), worst_room(src.len())] {
        out.resize(base + room, 0);
        if let Some(index) = index.as_deref_mut() {
            index.begin();
        }
        match document(src, &mut out[base..], index.as_deref_mut()) {
            Ok(len) => {
                out.truncate(base + len);
                return Ok(());
            }
            Err(Stop::Full) => continue,
            Err(Stop::Other) => break,
        }
    }
    out.truncate(base);
    Err(Fallback)
}

/// Transcodes the document into `buf` (positions are relative to its start, as the index's are);
/// returns the length written.
fn document(src: &[u8], buf: &mut [u8], mut index: Option<&mut MapIndex>) -> Fast<usize> {
    let mut i = skip_ws(src, 0);
    if src.get(i) != Some(&b'{') {
        return Err(Stop::Other);
    }
    // The containers around the innermost one: their header's position and entries so far
    // (`header << 32 | n`: one word each, so the array is cleared with a few wide stores).
    let mut outer = [0u64; DEPTH];
    // Bit d: the container at depth d is an array.
    let mut arrays = 0u32;
    let mut depth = 0;
    // The innermost container: its header's position and entries so far.
    let (mut header, mut n) = (0u32, 0u32);
    // Where the next value goes.
    let mut w = 0;
    // The document's member being read: where its key's pair starts, the key's length, and where
    // its value starts.
    let (mut pair, mut key_len, mut value) = (0, 0, 0);
    let mut want_key = false;
    loop {
        if want_key {
            if src.get(i) != Some(&b'"') {
                return Err(Stop::Other);
            }
            let start = w;
            (i, w) = string(src, i + 1, buf, w)?;
            if depth == 1 {
                pair = start;
                value = w;
                key_len = w - start - str_header_len(buf[start]);
            }
            i = skip_ws(src, i);
            if src.get(i) != Some(&b':') {
                return Err(Stop::Other);
            }
            i = skip_ws(src, i + 1);
        }
        // A value starts at `i`.
        match src.get(i) {
            Some(b'"') => (i, w) = string(src, i + 1, buf, w)?,
            Some(&open @ (b'{' | b'[')) => {
                if depth == DEPTH {
                    return Err(Stop::Other);
                }
                outer[depth] = u64::from(header) << 32 | u64::from(n);
                depth += 1;
                let is_array = open == b'[';
                arrays = (arrays & !(1 << depth)) | (u32::from(is_array) << depth);
                // (The room, at most 64 KiB * 2.5 + 64, fits u32.)
                header = w as u32;
                n = 0;
                w = put(buf, w, &[if is_array { 0xdd } else { 0xdf }, 0, 0, 0, 0])?;
                i = skip_ws(src, i + 1);
                if src.get(i) != Some(if is_array { &b']' } else { &b'}' }) {
                    want_key = !is_array;
                    continue;
                }
                // Empty: its header's count is already 0.
                i += 1;
                depth -= 1;
                (header, n) = split(outer[depth]);
            }
            Some(b'-' | b'0'..=b'9') => {
                let (encoded, next) = number(src, i).map_err(|_| Stop::Other)?;
                // Nine bytes moved at once when there is room, the encoding's length kept.
                w = match buf.get_mut(w..w + 9) {
                    Some(to) => {
                        to.copy_from_slice(&encoded.bytes);
                        w + encoded.len
                    }
                    None => put(buf, w, encoded.as_slice())?,
                };
                i = next;
            }
            Some(b't') => (i, w) = literal(src, i, b"true", 0xc3, buf, w)?,
            Some(b'f') => (i, w) = literal(src, i, b"false", 0xc2, buf, w)?,
            Some(b'n') => (i, w) = literal(src, i, b"null", 0xc0, buf, w)?,
            _ => return Err(Stop::Other),
        }
        // A value ended at `i`: an entry of the innermost container, or the document itself.
        loop {
            if depth == 0 {
                return if skip_ws(src, i) == src.len() {
                    Ok(w)
                } else {
                    Err(Stop::Other)
                };
            }
            n += 1;
            if depth == 1
                && let Some(index) = index.as_deref_mut()
            {
                index.push_str_key(pair, key_len, value, w);
            }
            i = skip_ws(src, i);
            let is_array = arrays & (1 << depth) != 0;
            match src.get(i) {
                Some(b',') => {
                    i = skip_ws(src, i + 1);
                    want_key = !is_array;
                    break;
                }
                Some(b']') if is_array => {}
                Some(b'}') if !is_array => {}
                _ => return Err(Stop::Other),
            }
            i += 1;
            w = patch_count(buf, header as usize, n, w)?;
            depth -= 1;
            (header, n) = split(outer[depth]);
        }
    }
}

/// The header position and entry count packed in an `outer` word.
#[inline(always)]
fn split(word: u64) -> (u32, u32) {
    ((word >> 32) as u32, word as u32)
}

/// Writes `n` into the 32-bit count of the container header at `header`; returns `w`.
#[inline(always)]
fn patch_count(buf: &mut [u8], header: usize, n: u32, w: usize) -> Fast<usize> {
    buf.get_mut(header + 1..header + 5)
        .ok_or(Stop::Full)?
        .copy_from_slice(&n.to_be_bytes());
    Ok(w)
}

#[inline(always)]
fn skip_ws(src: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = src.get(i) {
        i += 1;
    }
    i
}

#[inline(always)]
fn put(buf: &mut [u8], w: usize, bytes: &[u8]) -> Fast<usize> {
    let end = w + bytes.len();
    buf.get_mut(w..end)
        .ok_or(Stop::Full)?
        .copy_from_slice(bytes);
    Ok(end)
}

#[inline(always)]
fn literal(
    src: &[u8],
    i: usize,
    word: &[u8],
    marker: u8,
    buf: &mut [u8],
    w: usize,
) -> Fast<(usize, usize)> {
    if src.get(i..i + word.len()) != Some(word) {
        return Err(Stop::Other);
    }
    Ok((i + word.len(), put(buf, w, &[marker])?))
}

/// Transcodes the string whose payload starts at `start` (after its quote); returns the positions
/// after it in `src` and `buf`.
#[inline(always)]
fn string(src: &[u8], start: usize, buf: &mut [u8], w: usize) -> Fast<(usize, usize)> {
    let end = plain_run_end(src, start).map_err(|_| Stop::Other)?;
    if src.get(end) != Some(&b'"') {
        return escaped(src, start, end, buf, w);
    }
    let run = &src[start..end];
    let w = if run.len() < 32 {
        put(buf, w, &[0xa0 | run.len() as u8])?
    } else {
        let (header, len) = str_header(run.len());
        put(buf, w, &header[..len])?
    };
    // A short run is moved as 16 bytes when both sides have them, the surplus overwritten later.
    if run.len() <= 16
        && let (Some(from), Some(to)) = (src.get(start..start + 16), buf.get_mut(w..w + 16))
    {
        to.copy_from_slice(from);
        return Ok((end + 1, w + run.len()));
    }
    Ok((end + 1, put(buf, w, run)?))
}

/// [`string`] when its plain run stops at `end` on an escape (or an error): decoded after a str32
/// placeholder, then moved back behind the real header.
#[inline(never)]
fn escaped(
    src: &[u8],
    start: usize,
    mut end: usize,
    buf: &mut [u8],
    w: usize,
) -> Fast<(usize, usize)> {
    let payload = w + 5;
    let mut o = payload;
    let mut run = start;
    loop {
        o = put(buf, o, &src[run..end])?;
        match src.get(end) {
            Some(b'"') => break,
            Some(b'\\') => {
                let (decoded, next) = escape(src, end + 1).map_err(|_| Stop::Other)?;
                // Four bytes moved at once when there is room, the character's length kept.
                o = match buf.get_mut(o..o + 4) {
                    Some(to) => {
                        to.copy_from_slice(&decoded.bytes);
                        o + decoded.len
                    }
                    None => put(buf, o, decoded.as_slice())?,
                };
                run = next;
            }
            _ => return Err(Stop::Other),
        }
        end = plain_run_end(src, run).map_err(|_| Stop::Other)?;
    }
    let len = o - payload;
    let (header, header_len) = str_header(len);
    buf.copy_within(payload..o, w + header_len);
    put(buf, w, &header[..header_len])?;
    Ok((end + 1, w + header_len + len))
}

/// The smallest str header for a payload of `n` bytes, and its length.
fn str_header(n: usize) -> ([u8; 5], usize) {
    match n {
        0..32 => ([0xa0 | n as u8, 0, 0, 0, 0], 1),
        32..=0xff => ([0xd9, n as u8, 0, 0, 0], 2),
        0x100..=0xffff => {
            let [a, b] = (n as u16).to_be_bytes();
            ([0xda, a, b, 0, 0], 3)
        }
        _ => {
            let [a, b, c, d] = (n as u32).to_be_bytes();
            ([0xdb, a, b, c, d], 5)
        }
    }
}

#[cfg(test)]
mod tests;
