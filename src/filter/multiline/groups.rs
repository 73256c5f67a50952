//! The open groups of both modes: a table keyed by tag and a sub-key (`partial_id`, or the
//! parser's `key_group` value), ordered by age, with the bytes it holds counted.
//!
//! Invariants: `held_bytes` is the sum over open groups of the first record's length, the
//! content buffer's capacity and the group's bookkeeping (slot, sub-key, index entries), so it
//! bounds what the groups really keep allocated even when they are many and tiny; a group's first record is
//! a copy, so holding it never keeps a whole received network buffer alive; lookups by borrowed
//! tag and sub-key never allocate (the pass-through path stays allocation free).

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::record::{has_key, rebuild_record, str_field};
use crate::event::EventTime;

/// Estimated bytes of one group's entries in the hash index and the age map (keys, vector,
/// tree node share).
const INDEX_ENTRY_BYTES: usize = 64;

/// An open group: the first record (its keys and time are kept) and the content so far.
#[derive(Debug)]
pub(crate) struct Group {
    /// The first record's time.
    pub time: EventTime,
    /// A copy of the first record.
    pub first: Bytes,
    /// The joined content so far.
    pub content: Vec<u8>,
    /// Records joined so far.
    pub pieces: usize,
    /// When the group was opened.
    pub started: Instant,
    /// The group is emitted by `tick` once it has been open this long.
    pub flush_after: Duration,
    /// Smallest caller mark of the records joined so far.
    pub min_mark: u64,
}

impl Group {
    /// A group whose first record is `first` (copied; see the module invariants).
    pub fn new(
        time: EventTime,
        first: &[u8],
        now: Instant,
        flush_after: Duration,
        mark: u64,
    ) -> Self {
        Self {
            time,
            first: Bytes::copy_from_slice(first),
            content: Vec::new(),
            pieces: 0,
            started: now,
            flush_after,
            min_mark: mark,
        }
    }

    /// Bytes the group would hold after appending `piece`.
    pub fn len_after(&self, piece: &[u8], newline_join: bool) -> usize {
        let (sep, body) = self.join_parts(piece, newline_join);
        self.content.len() + sep.len() + body.len()
    }

    /// Appends one piece. With `newline_join` (regex parsers, as Fluent Bit does) a `\n` goes
    /// between pieces when the content does not already end with one, and an empty line adds a
    /// `\n` of its own (so a blank line inside a stack trace stays a blank line).
    fn append(&mut self, piece: &[u8], newline_join: bool, mark: u64) {
        let (sep, body) = self.join_parts(piece, newline_join);
        self.content.extend_from_slice(sep);
        self.content.extend_from_slice(body);
        self.pieces += 1;
        self.min_mark = self.min_mark.min(mark);
    }

    fn join_parts<'a>(&self, piece: &'a [u8], newline_join: bool) -> (&'static [u8], &'a [u8]) {
        if !newline_join || self.pieces == 0 {
            return (b"", piece);
        }
        let sep: &[u8] = if self.content.last() == Some(&b'\n') {
            b""
        } else {
            b"\n"
        };
        let body: &[u8] = if piece.is_empty() { b"\n" } else { piece };
        (sep, body)
    }

    fn held_bytes(&self) -> usize {
        self.first.len() + self.content.capacity()
    }

    /// The group's record: the first record itself when nothing changed, else a rewritten map
    /// with `content_key` set to the joined content and the `remove` keys left out.
    pub fn into_record(self, content_key: &[u8], remove: &[&[u8]]) -> (EventTime, Bytes) {
        let unchanged_single = self.pieces == 1
            && !remove.iter().any(|k| has_key(&self.first, k))
            && str_field(&self.first, content_key) == Some(&self.content[..]);
        if unchanged_single {
            return (self.time, self.first);
        }
        let record = rebuild_record(&self.first, content_key, &self.content, remove);
        (self.time, record)
    }
}

/// One open group and what its mode needs to continue it.
#[derive(Debug)]
pub(crate) struct Slot<S> {
    /// The tag of the group's records.
    pub tag: Arc<str>,
    /// `partial_id`, or the parser's `key_group` value.
    pub sub: Option<Box<[u8]>>,
    hash: u64,
    /// Bytes of bookkeeping counted in `held_bytes` besides the group's buffers.
    overhead: usize,
    /// Parser state (which parser owns the group and where it is).
    pub state: S,
    /// What the group holds.
    pub group: Group,
}

/// Open groups, oldest first. `S` is the per-group parser state.
#[derive(Debug)]
pub(crate) struct GroupTable<S> {
    hasher: RandomState,
    /// Hash of (tag, sub-key) -> ages of the groups with that hash (almost always one).
    index: HashMap<u64, Vec<u64>>,
    /// Age (a counter, so lower is older) -> group.
    by_age: BTreeMap<u64, Slot<S>>,
    held_bytes: usize,
    next_age: u64,
}

impl<S> GroupTable<S> {
    /// An empty table.
    pub fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            index: HashMap::new(),
            by_age: BTreeMap::new(),
            held_bytes: 0,
            next_age: 0,
        }
    }

    fn hash(&self, tag: &str, sub: Option<&[u8]>) -> u64 {
        self.hasher.hash_one((tag, sub))
    }

    /// The age of the open group of `tag` and `sub`, if any (no allocation).
    pub fn find(&self, tag: &str, sub: Option<&[u8]>) -> Option<u64> {
        let ages = self.index.get(&self.hash(tag, sub))?;
        ages.iter().copied().find(|age| {
            self.by_age
                .get(age)
                .is_some_and(|s| &*s.tag == tag && s.sub.as_deref() == sub)
        })
    }

    /// Opens a group (the caller checked there is none for this tag and sub-key).
    pub fn insert(&mut self, tag: &Arc<str>, sub: Option<&[u8]>, state: S, group: Group) -> u64 {
        let hash = self.hash(tag, sub);
        let age = self.next_age;
        self.next_age += 1;
        self.index.entry(hash).or_default().push(age);
        let overhead =
            std::mem::size_of::<Slot<S>>() + sub.map_or(0, <[u8]>::len) + INDEX_ENTRY_BYTES;
        self.held_bytes += group.held_bytes() + overhead;
        let slot = Slot {
            tag: Arc::clone(tag),
            sub: sub.map(Box::from),
            hash,
            overhead,
            state,
            group,
        };
        self.by_age.insert(age, slot);
        age
    }

    /// Appends a piece to the group `age` (no-op if it is not open).
    pub fn append(&mut self, age: u64, piece: &[u8], newline_join: bool, mark: u64) {
        if let Some(slot) = self.by_age.get_mut(&age) {
            let before = slot.group.held_bytes();
            slot.group.append(piece, newline_join, mark);
            self.held_bytes = self.held_bytes - before + slot.group.held_bytes();
        }
    }

    /// The open group `age`.
    pub fn get(&self, age: u64) -> Option<&Slot<S>> {
        self.by_age.get(&age)
    }

    /// The parser state of the open group `age`.
    pub fn state_mut(&mut self, age: u64) -> Option<&mut S> {
        self.by_age.get_mut(&age).map(|s| &mut s.state)
    }

    /// Closes the group `age` and hands it back.
    pub fn remove(&mut self, age: u64) -> Option<Slot<S>> {
        let slot = self.by_age.remove(&age)?;
        if let Some(ages) = self.index.get_mut(&slot.hash) {
            ages.retain(|a| *a != age);
            if ages.is_empty() {
                self.index.remove(&slot.hash);
            }
        }
        self.held_bytes -= slot.group.held_bytes() + slot.overhead;
        Some(slot)
    }

    /// The oldest open group.
    pub fn oldest(&self) -> Option<u64> {
        self.by_age.keys().next().copied()
    }

    /// Ages of the groups open for at least their `flush_after` at `now`, oldest first.
    pub fn due(&self, now: Instant, out: &mut Vec<u64>) {
        out.clear();
        out.extend(
            self.by_age
                .iter()
                .filter(|(_, s)| {
                    now.saturating_duration_since(s.group.started) >= s.group.flush_after
                })
                .map(|(age, _)| *age),
        );
    }

    /// Ages of every open group, oldest first.
    pub fn all(&self, out: &mut Vec<u64>) {
        out.clear();
        out.extend(self.by_age.keys().copied());
    }

    /// The smallest mark of any record held, `None` if no group is open.
    pub fn low_watermark(&self) -> Option<u64> {
        self.by_age.values().map(|s| s.group.min_mark).min()
    }

    /// Number of open groups.
    pub fn len(&self) -> usize {
        self.by_age.len()
    }

    /// Bytes held by the open groups (see the module invariants).
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }
}
