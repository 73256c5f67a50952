//! Templates: text with `$` variables, rendered per record or per file, in the dialects of
//! Fluent Bit's plugins. One lexer ([`lex`]) reads every variable; each dialect file chooses
//! which variables it has and how values render, and its tests pin where dialects differ:
//!
//! | dialect | file | variables | a missing value |
//! |---|---|---|---|
//! | CloudWatch group and stream names | `log_name.rs` | `$TAG`, `$TAG[n]`, record accessors | the whole name falls back to the static one |
//! | `rewrite_tag`'s NEW_TAG | `rewrite.rs` | those, `$0`..`$9`, `${key}` | renders as nothing |
//! | S3 keys (`s3_key_format`) | `s3_key.rs` | `$TAG`, `$TAG[n]` (own delimiters), `$UUID`, `$INDEX`, `%` time | `$TAG[n]` renders `<tag>[n]` |
//!
//! Pure: no I/O, no clock, no randomness inside; parsing and rendering never panic.

use std::fmt::Write as _;

use crate::msgpack::reader::{Token, read_token};

/// What a `$` starts, for every dialect.
pub mod lex;
/// CloudWatch log group and stream names.
pub mod log_name;
/// `rewrite_tag`'s NEW_TAG.
pub mod rewrite;
/// S3 object keys.
pub mod s3_key;

/// Appends a scalar msgpack value as text: str/bin raw (lossy UTF-8), numbers and booleans as
/// text. False, with nothing appended, for nil, containers, ext and unreadable bytes.
pub fn push_scalar(value: &[u8], out: &mut String) -> bool {
    let Ok((token, _)) = read_token(value, 0) else {
        return false;
    };
    // Writing into a String cannot fail, so the fmt::Results below are ignored.
    match token {
        Token::Str(s) | Token::Bin(s) => push_lossy(s, out),
        Token::UInt(n) => _ = write!(out, "{n}"),
        Token::Int(n) => _ = write!(out, "{n}"),
        Token::F32(x) => _ = write!(out, "{x}"),
        Token::F64(x) => _ = write!(out, "{x}"),
        Token::Bool(v) => out.push_str(if v { "true" } else { "false" }),
        Token::Nil | Token::Array(_) | Token::Map(_) | Token::Ext(..) => return false,
    }
    true
}

/// Like `String::from_utf8_lossy`, without its temporary allocation for invalid input.
pub fn push_lossy(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}
