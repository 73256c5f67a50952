//! The parsers every firelane has without loading a parsers file: those of the image's standard
//! parsers file, `config/image/parsers/parsers.conf` (installed at
//! `/fluent-bit/parsers/parsers.conf`, with the names of Fluent Bit's `conf/parsers.conf`),
//! compiled into the binary. One source: the built-ins are that file, read by the same reader as
//! any parsers file, and `tests/e2e/fluent_bit_regex.rs` holds both to Fluent Bit's own results.
//!
//! Invariants: the file reads without problems and every entry compiles (tested); a built-in is
//! only compiled when first used (see [`super::ParserSet`]).

use std::sync::LazyLock;

use super::ParserDef;
use super::file::parser_defs;

/// The standard parsers file, as shipped in the image.
pub const STANDARD_PARSERS_FILE: &str = include_str!("../../../config/image/parsers/parsers.conf");

static BUILTINS: LazyLock<Vec<ParserDef>> = LazyLock::new(|| {
    // The embedded file is tested to read without a problem; were it not to, there would simply
    // be no built-ins (and that test fails).
    parser_defs(STANDARD_PARSERS_FILE, "parsers.conf (built in)").unwrap_or_default()
});

/// Names of the built-in parsers, in the file's order.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|d| d.name.as_str())
}

/// How many built-in parsers there are.
pub(super) fn builtin_count() -> usize {
    BUILTINS.len()
}

/// The position of the built-in called `name` in [`builtin_names`].
pub(super) fn builtin_index(name: &str) -> Option<usize> {
    BUILTINS.iter().position(|d| d.name == name)
}

/// The built-in definition called `name`, if there is one.
pub fn builtin(name: &str) -> Option<ParserDef> {
    BUILTINS.iter().find(|d| d.name == name).cloned()
}

#[cfg(test)]
mod tests;
