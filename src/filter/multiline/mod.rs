//! The `multiline` filter's logic (Fluent Bit's `multiline` filter): pure, clock passed in.
//!
//! Two modes, as in Fluent Bit's `mode` option:
//! - `partial_message` ([`Partials`]): Docker's fluentd log driver splits lines longer than 16 KiB
//!   into pieces marked `partial_message: "true"`, `partial_id`, `partial_ordinal`, `partial_last`.
//!   Pieces are grouped per tag and `partial_id` (pieces of different containers interleave), and
//!   the last piece emits one record: the content key concatenated, the `partial_*` keys removed,
//!   every other key (and the time) from the first piece.
//! - `parser` ([`Multiline`]): `multiline.parser` rules (built-ins `java`, `python`, `go`,
//!   `docker`, `cri`, or user regex rules as in `[MULTILINE_PARSER]`) join lines of one message.
//!
//! [`MultilineFilter::new`] builds either from the options as users write them. Both have the
//! same driving API: `push` one record with the caller's batch `mark`, `tick(now)` flushes
//! groups open for longer than `flush_ms` (no hidden timer: the caller ticks, so tests use a
//! paused clock), `flush_all` at shutdown. Output goes to a caller's `Vec<Emitted>`, in the order
//! records must be forwarded. `low_watermark()` is the smallest mark still held, so the caller
//! can acknowledge a batch only once none of its records is waiting in a group.
//!
//! Invariants:
//! - No content byte is lost or duplicated: the content of every record pushed comes out exactly
//!   once, in order within a group; regex parsers join lines with a `\n` where the previous
//!   content does not end with one, and an empty line adds a `\n` (Fluent Bit's joining).
//! - A group never grows past `max_group_bytes` of content: a piece that would push it past is
//!   preceded by the group's emission ([`EmitOutcome::FlushedSizeCap`]) and starts a new group;
//!   a single piece as large as the cap is emitted at once, also counted as size cap.
//! - After every call the groups hold at most `max_total_bytes` (first records, content
//!   buffers' capacity and per-group bookkeeping): past it, the oldest groups are emitted
//!   early, counted as size cap.
//! - A record this filter does not touch is forwarded as the same bytes (no copy, no allocation).

use std::sync::Arc;

use bytes::Bytes;

use crate::event::EventTime;

mod groups;
mod partial;
mod record;
mod rules;
mod stream;
#[cfg(test)]
mod test_support;

use std::time::Instant;

use thiserror::Error;

pub use partial::{PARTIAL_KEYS, Partials};
pub use rules::{BuiltinError, ParserDef, ParserKind, RuleDef, RulesError, builtin};
pub use stream::Multiline;

/// Fluent Bit's default `flush_ms` for this filter.
pub const DEFAULT_FLUSH_MS: u64 = 2000;
/// Default cap on one group's content (Fluent Bit's `multiline_buffer_limit` default, 2 MiB).
pub const DEFAULT_MAX_GROUP_BYTES: usize = 2 * 1024 * 1024;
/// Default cap on the bytes held by all open groups together (16 MiB).
pub const DEFAULT_MAX_TOTAL_BYTES: usize = 16 * 1024 * 1024;
/// Default `multiline.key_content`.
pub const DEFAULT_KEY_CONTENT: &str = "log";

/// Settings shared by both modes.
#[derive(Debug, Clone)]
pub struct MultilineConfig {
    /// `multiline.key_content`: the key holding the text to join (default `log`).
    pub key_content: String,
    /// `flush_ms`: a group open this long is emitted as it is at the next tick (default 2000).
    pub flush_ms: u64,
    /// Largest content of one group before it is flushed early (default 2 MiB).
    pub max_group_bytes: usize,
    /// Most bytes all open groups may hold together; past it the oldest are flushed early
    /// (default 16 MiB).
    pub max_total_bytes: usize,
}

impl Default for MultilineConfig {
    fn default() -> Self {
        Self {
            key_content: DEFAULT_KEY_CONTENT.to_owned(),
            flush_ms: DEFAULT_FLUSH_MS,
            max_group_bytes: DEFAULT_MAX_GROUP_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
        }
    }
}

/// Why a record was emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmitOutcome {
    /// Not part of any group: the original record bytes, forwarded as they came.
    Unchanged,
    /// A group ended normally (last partial piece, or a line that does not continue it).
    Complete,
    /// A group was open longer than `flush_ms` and was emitted as it was.
    FlushedTimeout,
    /// A group reached `max_group_bytes` and was emitted early; later pieces form a new group.
    FlushedSizeCap,
    /// A group was emitted by `flush_all` (shutdown).
    FlushedAll,
}

/// One record the filter hands on.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    /// The tag the record (or a group's first record) came with.
    pub tag: Arc<str>,
    /// The record's time (a group's: its first record's).
    pub time: EventTime,
    /// One msgpack map.
    pub record: Bytes,
    /// Why it was emitted.
    pub outcome: EmitOutcome,
}

/// Counts of emitted records per outcome (exported as metrics by the caller).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MultilineStats {
    /// Records forwarded as they came.
    pub unchanged: u64,
    /// Groups that ended normally.
    pub complete: u64,
    /// Groups emitted by `tick` after their flush timeout.
    pub flushed_timeout: u64,
    /// Groups emitted early by `max_group_bytes` or `max_total_bytes`.
    pub flushed_size_cap: u64,
    /// Groups emitted by `flush_all`.
    pub flushed_all: u64,
}

impl MultilineStats {
    pub(crate) fn count(&mut self, outcome: EmitOutcome) {
        let c = match outcome {
            EmitOutcome::Unchanged => &mut self.unchanged,
            EmitOutcome::Complete => &mut self.complete,
            EmitOutcome::FlushedTimeout => &mut self.flushed_timeout,
            EmitOutcome::FlushedSizeCap => &mut self.flushed_size_cap,
            EmitOutcome::FlushedAll => &mut self.flushed_all,
        };
        *c += 1;
    }
}

/// Why a `multiline` filter configuration cannot be used (one line, shown as a config error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MultilineError {
    /// `mode` is neither `parser` nor `partial_message`.
    #[error("mode {0:?} is not supported (use `parser` or `partial_message`)")]
    UnknownMode(String),
    /// Fluent Bit does not allow `multiline.parser` with `mode partial_message`.
    #[error("multiline.parser cannot be used with mode partial_message")]
    ParserWithPartialMessage,
    /// `mode parser` without any `multiline.parser`.
    #[error("mode parser needs multiline.parser (a comma-separated list of parser names)")]
    NoParser,
    /// A `multiline.parser` name that is neither built in nor defined.
    #[error(
        "unknown multiline parser {0:?} (built-ins: java, python, go, docker, cri; or the name of a [MULTILINE_PARSER])"
    )]
    UnknownParser(String),
    /// `multiline.key_content` is empty.
    #[error("multiline.key_content must not be empty")]
    EmptyKeyContent,
    /// A size limit set to zero.
    #[error("{0} must be greater than 0")]
    ZeroLimit(&'static str),
    /// A user parser's rules do not compile.
    #[error(transparent)]
    Rules(#[from] RulesError),
}

/// A configured `multiline` filter, in either mode.
#[derive(Debug)]
pub enum MultilineFilter {
    /// `mode partial_message`.
    Partial(Partials),
    /// `mode parser` (the default).
    Parser(Multiline),
}

impl MultilineFilter {
    /// Builds the filter from its options as users write them: `mode` (`parser`, the default
    /// when `None` or empty, or `partial_message`; any case), `parsers` (`multiline.parser`, a
    /// comma-separated list resolved against `user_parsers` first, then the built-ins), and the
    /// shared settings.
    pub fn new(
        mode: Option<&str>,
        parsers: Option<&str>,
        user_parsers: &[ParserDef],
        config: MultilineConfig,
    ) -> Result<Self, MultilineError> {
        if config.key_content.is_empty() {
            return Err(MultilineError::EmptyKeyContent);
        }
        if config.max_group_bytes == 0 {
            return Err(MultilineError::ZeroLimit("max_group_bytes"));
        }
        if config.max_total_bytes == 0 {
            return Err(MultilineError::ZeroLimit("max_total_bytes"));
        }
        let names: Vec<&str> = parsers
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        let mode = mode.map(str::trim).unwrap_or("");
        if mode.eq_ignore_ascii_case("partial_message") {
            if !names.is_empty() {
                return Err(MultilineError::ParserWithPartialMessage);
            }
            return Ok(Self::Partial(Partials::new(config)));
        }
        if !(mode.is_empty() || mode.eq_ignore_ascii_case("parser")) {
            return Err(MultilineError::UnknownMode(mode.to_owned()));
        }
        if names.is_empty() {
            return Err(MultilineError::NoParser);
        }
        let defs = names
            .iter()
            .map(|&name| match user_parsers.iter().find(|p| p.name == name) {
                Some(def) => Ok(def.clone()),
                None => builtin(name).map_err(|_| MultilineError::UnknownParser(name.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::Parser(Multiline::new(config, &defs)?))
    }

    /// Feeds one record that came in the batch numbered `mark` (non-decreasing); what must be
    /// forwarded now is appended to `emit`, in order.
    pub fn push(
        &mut self,
        now: Instant,
        tag: &Arc<str>,
        time: EventTime,
        record: &Bytes,
        mark: u64,
        emit: &mut Vec<Emitted>,
    ) {
        match self {
            Self::Partial(p) => p.push(now, tag, time, record, mark, emit),
            Self::Parser(m) => m.push(now, tag, time, record, mark, emit),
        }
    }

    /// Emits the groups whose flush timeout has passed at `now`, oldest first.
    pub fn tick(&mut self, now: Instant, emit: &mut Vec<Emitted>) {
        match self {
            Self::Partial(p) => p.tick(now, emit),
            Self::Parser(m) => m.tick(now, emit),
        }
    }

    /// Emits every open group (shutdown), oldest first.
    pub fn flush_all(&mut self, emit: &mut Vec<Emitted>) {
        match self {
            Self::Partial(p) => p.flush_all(emit),
            Self::Parser(m) => m.flush_all(emit),
        }
    }

    /// The smallest `mark` of any record held in an open group (`None` if none is open): every
    /// batch with a smaller mark has been forwarded in full.
    pub fn low_watermark(&self) -> Option<u64> {
        match self {
            Self::Partial(p) => p.low_watermark(),
            Self::Parser(m) => m.low_watermark(),
        }
    }

    /// Number of open groups.
    pub fn open_groups(&self) -> usize {
        match self {
            Self::Partial(p) => p.open_groups(),
            Self::Parser(m) => m.open_groups(),
        }
    }

    /// Bytes held by the open groups.
    pub fn held_bytes(&self) -> usize {
        match self {
            Self::Partial(p) => p.held_bytes(),
            Self::Parser(m) => m.held_bytes(),
        }
    }

    /// Records emitted so far, per outcome.
    pub fn stats(&self) -> MultilineStats {
        match self {
            Self::Partial(p) => p.stats(),
            Self::Parser(m) => m.stats(),
        }
    }
}

#[cfg(test)]
mod tests;
