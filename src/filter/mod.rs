//! Filters: they sit between the inputs and the router, select events by `match` / `match_regex`
//! like outputs, and run in config order (issue 5). This module holds the pure parts so far; the
//! chain that runs them is wired in a later step.
//!
//! Contract of a record filter: it reads one record (a msgpack map, `&[u8]`) and either leaves it
//! as it is (no bytes copied), writes a replacement into a caller-owned buffer, or drops it.

/// The `multiline` filter: Docker partial-message reassembly and multiline parsers (pure).
pub mod multiline;

/// What a record filter did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Keep the record as it was (the output buffer was not touched).
    Unchanged,
    /// The output buffer holds the new record (one msgpack map).
    Replaced,
    /// Drop the record.
    Dropped,
}

/// Fluent Bit's `record_modifier`: append, remove or allowlist fields, add a UUID.
pub mod record_modifier;
