//! Filters: they sit between the inputs and the router, select events by `match` / `match_regex`
//! like outputs, and run in config order. Each filter is pure code over msgpack records; the
//! [`chain::FilterChain`] runs them before routing: for a Forward connection in its task on the
//! filter stage (`pipeline::stage`), for other inputs in the input's own task.
//!
//! Contract of a record filter: it reads one record (a msgpack map, `&[u8]`) and either leaves it
//! as it is (no bytes copied), writes a replacement into a caller-owned buffer, or drops it.

/// Option-value helpers shared by the filters (word splitting, regex errors on one line).
mod args;
/// Fluent Bit `grep`: keep or drop records by regular expressions on their values.
pub mod grep;
/// Fluent Bit `modify`: set, add, remove, rename, copy and move keys, under conditions.
pub mod modify;
/// The `multiline` filter: Docker partial-message reassembly and multiline parsers (pure).
pub mod multiline;
/// Fluent Bit `nest`: move keys into a new map (nest) or a map's entries to the top (lift).
pub mod nest;

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

/// ECS task metadata (endpoint v4) added to records, like Fluent Bit's `ecs` filter.
pub mod ecs;
/// The `parser` filter and its parsers (json, regex, logfmt, Fluent Bit's built-ins).
pub mod parser;
/// Fluent Bit's `record_modifier`: append, remove or allowlist fields, add a UUID.
pub mod record_modifier;
/// Fluent Bit's `rewrite_tag`: re-emit matching records under a new tag.
pub mod rewrite_tag;
/// Fluent Bit's `throttle`: sliding-window average rate limit, with an injected clock.
pub mod throttle;

/// The chain that runs the configured filters over a batch.
pub mod chain;
mod fused;
/// Chain stages with state across batches: throttle and multiline (with the acks it holds).
pub mod held;
/// The kinds of filter a chain runs.
pub mod stage;
#[cfg(test)]
mod test_support;
