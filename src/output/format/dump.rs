//! Fluent Bit's stdout `msgpack` format: a human-readable dump, one event per line:
//! `[N] tag: [[1700000000.000000005, {}], {"log"=>"hi", "n"=>1, "m"=>{"a"=>[1, 2]}}]`.
//!
//! Values print as msgpack-c's `msgpack_object_print` (which Fluent Bit calls) prints them: nil as
//! `nil`, bools, integers in decimal, floats as C `%f` (six decimals; `inf`, `-inf`, `nan`), str
//! between quotes with its bytes as they are (no escaping, invalid UTF-8 kept), bin between quotes
//! with `"` as `\"` and non-printable bytes as `\xNN`, ext as `(ext: <type>)"<bytes like bin>"`,
//! arrays `[a, b]`, maps `{k=>v, k=>v}`. The `{}` is the event's metadata, which firelane events
//! do not carry. Seconds are printed in full (Fluent Bit truncates them to 32 bits).
//!
//! It is a debug view, not a format to parse: strings are not escaped, so a value holding a newline
//! spans lines, exactly as in Fluent Bit.

use std::io::Write as _;

use crate::event::Event;
use crate::msgpack::json::{TranscodeError, write_int, write_padded};
use crate::msgpack::reader::{MAX_DEPTH, Token, read_token};

/// Appends the dump line of `ev`, the `seq`-th of its batch. The record must be a map. On error
/// the caller truncates what was appended.
pub(super) fn write_event(ev: &Event, seq: usize, out: &mut Vec<u8>) -> Result<(), TranscodeError> {
    if !matches!(read_token(&ev.record, 0)?.0, Token::Map(_)) {
        return Err(TranscodeError::NotAMap);
    }
    out.push(b'[');
    write_int(seq, out);
    out.extend_from_slice(b"] ");
    out.extend_from_slice(ev.tag.as_bytes());
    out.extend_from_slice(b": [[");
    write_int(ev.time.secs, out);
    out.push(b'.');
    write_padded(ev.time.nanos, 9, out);
    out.extend_from_slice(b", {}], ");
    write_value(&ev.record, 0, 0, out)?;
    out.extend_from_slice(b"]\n");
    Ok(())
}

/// Prints the value at `pos` (inside `depth` containers); returns the position after it.
fn write_value(
    buf: &[u8],
    pos: usize,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<usize, TranscodeError> {
    let (tok, mut p) = read_token(buf, pos)?;
    match tok {
        Token::Nil => out.extend_from_slice(b"nil"),
        Token::Bool(true) => out.extend_from_slice(b"true"),
        Token::Bool(false) => out.extend_from_slice(b"false"),
        Token::UInt(v) => write_int(v, out),
        Token::Int(v) => write_int(v, out),
        Token::F32(v) => write_c_float(f64::from(v), out),
        Token::F64(v) => write_c_float(v, out),
        Token::Str(s) => {
            out.push(b'"');
            out.extend_from_slice(s);
            out.push(b'"');
        }
        Token::Bin(b) => write_quoted_bytes(b, out),
        Token::Ext(ty, data) => {
            out.extend_from_slice(b"(ext: ");
            write_int(ty, out);
            out.push(b')');
            write_quoted_bytes(data, out);
        }
        Token::Array(n) => {
            check_depth(depth)?;
            out.push(b'[');
            for i in 0..n {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                p = write_value(buf, p, depth + 1, out)?;
            }
            out.push(b']');
        }
        Token::Map(n) => {
            check_depth(depth)?;
            out.push(b'{');
            for i in 0..n {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                p = write_value(buf, p, depth + 1, out)?;
                out.extend_from_slice(b"=>");
                p = write_value(buf, p, depth + 1, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(p)
}

/// C's `printf("%f", v)`: six decimals, `inf` / `-inf`, `nan` / `-nan` (glibc keeps NaN's sign).
fn write_c_float(v: f64, out: &mut Vec<u8>) {
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
    } else if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
    } else {
        // Rust and C both round the exact binary value to six decimals. Writing into a Vec
        // cannot fail.
        let _ = write!(out, "{v:.6}");
    }
}

/// msgpack-c's bin/ext payload print, between quotes: printable ASCII as is, `"` as `\"`, any
/// other byte as `\xNN`.
fn write_quoted_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0x0f)],
            ]),
        }
    }
    out.push(b'"');
}

fn check_depth(depth: usize) -> Result<(), TranscodeError> {
    if depth >= MAX_DEPTH {
        Err(TranscodeError::TooDeep)
    } else {
        Ok(())
    }
}
