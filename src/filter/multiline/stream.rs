//! `mode parser`: joins the lines of one message (a stack trace, a container log line cut into
//! pieces) with `multiline.parser` rules, one open group per tag and `key_group` value.
//!
//! Invariants: a record without a string `key_content` is forwarded unchanged and leaves open
//! groups alone; a line that neither continues the open group nor starts one is forwarded
//! unchanged, after the group it ended; with several parsers, the first whose start matches owns
//! the group until it ends; a group ends when its parser's rules say so (a regex rule back to
//! `start_state`, the `endswith` suffix, the `equal` flag's final value) or when the next line
//! does not continue it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::groups::{Group, GroupTable, Slot};
use super::record::str_field;
use super::rules::{ParserDef, ParserKind, RuleMachine, RulesError, StateId};
use super::{EmitOutcome, Emitted, MultilineConfig, MultilineStats};
use crate::event::EventTime;

#[derive(Debug)]
enum Compiled {
    Regex(RuleMachine),
    EndsWith(Vec<u8>),
    Flag { key: String, final_value: Vec<u8> },
}

/// What a parser says about one line: the state after it and whether the group ends with it.
type Step = Option<(StateId, bool)>;

impl Compiled {
    fn starts(&self, record: &[u8], content: &[u8]) -> Step {
        match self {
            Self::Regex(m) => m.step(0, content).map(|to| (to, to == 0)),
            Self::EndsWith(suffix) => (!content.ends_with(suffix)).then_some((0, false)),
            Self::Flag { key, final_value } => str_field(record, key.as_bytes())
                .filter(|f| f != final_value)
                .map(|_| (0, false)),
        }
    }

    fn continues(&self, state: StateId, record: &[u8], content: &[u8]) -> Step {
        match self {
            // Back in start_state means the group already ended.
            Self::Regex(_) if state == 0 => None,
            Self::Regex(m) => m.step(state, content).map(|to| (to, to == 0)),
            Self::EndsWith(suffix) => Some((0, content.ends_with(suffix))),
            Self::Flag { key, final_value } => {
                str_field(record, key.as_bytes()).map(|f| (0, f == &final_value[..]))
            }
        }
    }

    fn newline_join(&self) -> bool {
        matches!(self, Self::Regex(_))
    }

    fn removed_key(&self) -> Option<&[u8]> {
        match self {
            Self::Flag { key, .. } => Some(key.as_bytes()),
            _ => None,
        }
    }
}

/// Which parser owns an open group, and its state.
#[derive(Debug, Clone, Copy)]
struct Open {
    parser: usize,
    state: StateId,
}

/// Open multiline groups of `mode parser`.
#[derive(Debug)]
pub struct Multiline {
    config: MultilineConfig,
    parsers: Vec<Compiled>,
    /// Per parser: how long its groups stay open before `tick` emits them.
    flush_after: Vec<Duration>,
    key_group: Option<String>,
    groups: GroupTable<Open>,
    scratch: Vec<u64>,
    stats: MultilineStats,
}

impl Multiline {
    /// Compiles `parsers` (tried in order). Groups are split by the first `key_group` any parser
    /// names (`stream` for docker and cri), else per tag only.
    pub fn new(config: MultilineConfig, parsers: &[ParserDef]) -> Result<Self, RulesError> {
        let mut compiled = Vec::with_capacity(parsers.len());
        for p in parsers {
            compiled.push(match &p.kind {
                ParserKind::Regex(rules) => Compiled::Regex(RuleMachine::compile(&p.name, rules)?),
                ParserKind::EndsWith { suffix } => Compiled::EndsWith(suffix.clone()),
                ParserKind::Flag {
                    flag_key,
                    final_value,
                } => Compiled::Flag {
                    key: flag_key.clone(),
                    final_value: final_value.clone(),
                },
            });
        }
        let flush_after = parsers
            .iter()
            .map(|p| Duration::from_millis(p.flush_timeout_ms.unwrap_or(config.flush_ms)))
            .collect();
        Ok(Self {
            config,
            parsers: compiled,
            flush_after,
            key_group: parsers.iter().find_map(|p| p.key_group.clone()),
            groups: GroupTable::new(),
            scratch: Vec::new(),
            stats: MultilineStats::default(),
        })
    }

    /// Feeds one record from the batch numbered `mark`; whatever must be forwarded now (a
    /// finished group, then this record if it is not held) is appended to `emit` in order.
    pub fn push(
        &mut self,
        now: Instant,
        tag: &Arc<str>,
        time: EventTime,
        record: &Bytes,
        mark: u64,
        emit: &mut Vec<Emitted>,
    ) {
        let Some(content) = str_field(record, self.config.key_content.as_bytes()) else {
            self.pass(emit, tag, time, record);
            return;
        };
        let sub = self
            .key_group
            .as_ref()
            .and_then(|k| str_field(record, k.as_bytes()));

        if let Some(age) = self.groups.find(tag, sub) {
            if self.continue_group(age, now, tag, sub, time, record, content, mark, emit) {
                self.enforce_total(emit);
                return;
            }
            // The line does not continue the group: the group is complete, and the line is
            // looked at afresh (it may start the next one).
            self.finish(age, EmitOutcome::Complete, emit);
        }

        let start = self
            .parsers
            .iter()
            .enumerate()
            .find_map(|(i, p)| p.starts(record, content).map(|s| (i, s)));
        match start {
            Some((parser, (state, false))) => {
                let group = Group::new(time, record, now, self.flush_after[parser], mark);
                let age = self.groups.insert(tag, sub, Open { parser, state }, group);
                self.groups
                    .append(age, content, self.parsers[parser].newline_join(), mark);
                self.cap_group(age, emit);
                self.enforce_total(emit);
            }
            // No start, or a one-line message: nothing to join.
            _ => self.pass(emit, tag, time, record),
        }
    }

    /// Appends `content` to the open group `age` if its parser says the line continues it;
    /// `false` (nothing changed) if it does not.
    #[allow(clippy::too_many_arguments)]
    fn continue_group(
        &mut self,
        age: u64,
        now: Instant,
        tag: &Arc<str>,
        sub: Option<&[u8]>,
        time: EventTime,
        record: &[u8],
        content: &[u8],
        mark: u64,
        emit: &mut Vec<Emitted>,
    ) -> bool {
        let Some(slot) = self.groups.get(age) else {
            return false;
        };
        let open = slot.state;
        let parser = &self.parsers[open.parser];
        let Some((state, ends)) = parser.continues(open.state, record, content) else {
            return false;
        };
        let join = parser.newline_join();
        let mut age = age;
        if slot.group.len_after(content, join) > self.config.max_group_bytes {
            // Emit what the group holds; this line starts the rest, in the same parser state.
            self.finish(age, EmitOutcome::FlushedSizeCap, emit);
            let group = Group::new(time, record, now, self.flush_after[open.parser], mark);
            age = self.groups.insert(tag, sub, open, group);
        }
        self.groups.append(age, content, join, mark);
        if let Some(s) = self.groups.state_mut(age) {
            s.state = state;
        }
        if ends {
            self.finish(age, EmitOutcome::Complete, emit);
        } else {
            self.cap_group(age, emit);
        }
        true
    }

    /// A group whose content alone reached `max_group_bytes` (one huge line) is emitted now.
    fn cap_group(&mut self, age: u64, emit: &mut Vec<Emitted>) {
        let full = self
            .groups
            .get(age)
            .is_some_and(|s| s.group.content.len() >= self.config.max_group_bytes);
        if full {
            self.finish(age, EmitOutcome::FlushedSizeCap, emit);
        }
    }

    /// Emits the oldest groups until the groups hold at most `max_total_bytes`.
    fn enforce_total(&mut self, emit: &mut Vec<Emitted>) {
        while self.groups.held_bytes() > self.config.max_total_bytes {
            let Some(age) = self.groups.oldest() else {
                break;
            };
            self.finish(age, EmitOutcome::FlushedSizeCap, emit);
        }
    }

    /// Emits every group open for its flush timeout (`flush_ms`, or the parser's
    /// `flush_timeout`) at `now`, oldest first.
    pub fn tick(&mut self, now: Instant, emit: &mut Vec<Emitted>) {
        let mut ages = std::mem::take(&mut self.scratch);
        self.groups.due(now, &mut ages);
        for &age in &ages {
            self.finish(age, EmitOutcome::FlushedTimeout, emit);
        }
        self.scratch = ages;
    }

    /// Emits every open group (shutdown), oldest first.
    pub fn flush_all(&mut self, emit: &mut Vec<Emitted>) {
        let mut ages = std::mem::take(&mut self.scratch);
        self.groups.all(&mut ages);
        for &age in &ages {
            self.finish(age, EmitOutcome::FlushedAll, emit);
        }
        self.scratch = ages;
    }

    /// The smallest `mark` of any record held in an open group (`None` if none is open).
    pub fn low_watermark(&self) -> Option<u64> {
        self.groups.low_watermark()
    }

    /// Number of open groups.
    pub fn open_groups(&self) -> usize {
        self.groups.len()
    }

    /// Bytes the open groups hold (bounded by `max_total_bytes` after every call).
    pub fn held_bytes(&self) -> usize {
        self.groups.held_bytes()
    }

    /// Records emitted so far, per outcome.
    pub fn stats(&self) -> MultilineStats {
        self.stats
    }

    fn finish(&mut self, age: u64, outcome: EmitOutcome, emit: &mut Vec<Emitted>) {
        let Some(Slot {
            tag, state, group, ..
        }) = self.groups.remove(age)
        else {
            return;
        };
        let removed = self.parsers[state.parser].removed_key();
        let (time, record) =
            group.into_record(self.config.key_content.as_bytes(), removed.as_slice());
        self.stats.count(outcome);
        emit.push(Emitted {
            tag,
            time,
            record,
            outcome,
        });
    }

    /// Forwards `record` as it came (no copy: the tag and bytes are reference counted).
    fn pass(&mut self, emit: &mut Vec<Emitted>, tag: &Arc<str>, time: EventTime, record: &Bytes) {
        self.stats.count(EmitOutcome::Unchanged);
        emit.push(Emitted {
            tag: Arc::clone(tag),
            time,
            record: record.clone(),
            outcome: EmitOutcome::Unchanged,
        });
    }
}

#[cfg(test)]
mod tests;
