//! logfmt: `key=value key2="quoted \"value\"" flag` pairs separated by whitespace.
//!
//! Invariants: a bare key (no `=`) is `true` unless bare keys are refused; `key=` is `true` too
//! and `key=""` an empty string (as in Fluent Bit); a line without a single `key=value` pair, an
//! empty key or an unterminated quote does not match, so a chain of parsers can fall through to
//! the next one instead of turning a plain sentence into flags. (Fluent Bit differs on these
//! edges: it turns `just some words` into three `true` flags, skips a stray `=`, and reads an
//! unterminated quote to the end.)

use super::Parsed;
use super::fields::{Fields, Value};

/// Parses one logfmt line through `fields` into `out`; `None` if it is not logfmt.
pub(super) fn parse(
    text: &[u8],
    no_bare_keys: bool,
    mut fields: Fields<'_>,
    out: &mut Vec<u8>,
) -> Option<Parsed> {
    let mut p = 0usize;
    let mut pairs = 0usize;
    let mut unescaped = Vec::new();
    loop {
        while text.get(p).is_some_and(|b| *b <= b' ') {
            p += 1;
        }
        if p >= text.len() {
            break;
        }
        let key_start = p;
        while text
            .get(p)
            .is_some_and(|b| *b > b' ' && *b != b'=' && *b != b'"')
        {
            p += 1;
        }
        let key = &text[key_start..p];
        if key.is_empty() {
            return None;
        }
        if text.get(p) != Some(&b'=') {
            if no_bare_keys {
                return None;
            }
            fields.push(key, Value::True, out);
            continue;
        }
        p += 1;
        pairs += 1;
        if text.get(p) == Some(&b'"') {
            p += 1;
            unescaped.clear();
            loop {
                match *text.get(p)? {
                    b'"' => break,
                    b'\\' => {
                        let c = *text.get(p + 1)?;
                        unescaped.push(match c {
                            b'n' => b'\n',
                            b't' => b'\t',
                            b'r' => b'\r',
                            other => other,
                        });
                        p += 2;
                    }
                    c => {
                        unescaped.push(c);
                        p += 1;
                    }
                }
            }
            p += 1;
            fields.push(key, Value::Text(&unescaped), out);
        } else {
            let value_start = p;
            while text.get(p).is_some_and(|b| *b > b' ') {
                p += 1;
            }
            let value = &text[value_start..p];
            // Fluent Bit packs an unquoted empty value as `true`.
            let value = if value.is_empty() {
                Value::True
            } else {
                Value::Text(value)
            };
            fields.push(key, value, out);
        }
    }
    (pairs > 0).then(|| fields.done())
}
