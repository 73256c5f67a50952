//! The top-level entries of a record (a msgpack map), read once and shared by the filters of a
//! fused run: grep, `record_modifier` and `parser` look keys up in it instead of walking the map
//! again, and a filter that writes a new record can describe it as it writes it, so the next
//! filter does not read it at all.
//!
//! Invariants: an [`Indexed`](MapIndex::entries) index describes exactly the record it was built
//! from or written with (every entry, in order, positions relative to the record's first byte);
//! anything it cannot describe (not a map, a malformed entry, more than [`MAX_ENTRIES`] entries)
//! makes it unindexable, and lookups then walk the record as [`map_get`] does, with the same
//! answers.

use super::reader::{Entry, MapEntries, key_eq, map_get};

/// Most entries an index holds; a bigger record is looked up by walking it.
pub const MAX_ENTRIES: usize = 32;

/// The bit of a key `len` bytes long in a 64-bit mask of key lengths (`len % 64`): a cheap first
/// test before comparing keys.
#[inline]
pub fn key_len_bit(len: usize) -> u64 {
    1 << (len % 64)
}

/// One entry's positions in its record. A non-str key has `key == value` (an empty key span) and
/// `str_key == false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slot {
    /// Where the pair (its key's marker) starts.
    pub start: u32,
    /// Where the key's payload starts.
    pub key: u32,
    /// Where the value starts (the key's payload ends).
    pub value: u32,
    /// Just after the value.
    pub end: u32,
    pub str_key: bool,
}

impl Slot {
    /// The key's payload when it is a str.
    #[inline]
    pub fn key<'a>(&self, record: &'a [u8]) -> Option<&'a [u8]> {
        self.str_key
            .then(|| &record[self.key as usize..self.value as usize])
    }

    /// Whether the key is the str `key`.
    #[inline]
    pub fn key_is(&self, record: &[u8], key: &[u8]) -> bool {
        self.str_key && key_eq(&record[self.key as usize..self.value as usize], key)
    }

    /// The whole pair's bytes.
    #[inline]
    pub fn pair<'a>(&self, record: &'a [u8]) -> &'a [u8] {
        &record[self.start as usize..self.end as usize]
    }

    /// The value's bytes.
    #[inline]
    pub fn value<'a>(&self, record: &'a [u8]) -> &'a [u8] {
        &record[self.value as usize..self.end as usize]
    }

    /// The same entry `by` bytes further on (a record whose header grew or shrank).
    #[inline]
    pub fn shifted(self, by: isize) -> Self {
        let at = |p: u32| (p as isize + by) as u32;
        Self {
            start: at(self.start),
            key: at(self.key),
            value: at(self.value),
            end: at(self.end),
            str_key: self.str_key,
        }
    }

    /// The slot of an entry read from a record.
    pub fn of(e: &Entry<'_>) -> Self {
        let key_len = e.key.map_or(0, <[u8]>::len);
        Self {
            start: e.start as u32,
            key: (e.value - key_len) as u32,
            value: e.value as u32,
            end: e.end as u32,
            str_key: e.key.is_some(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not read yet: the next lookup builds it.
    Unknown,
    Indexed,
    /// Lookups walk the record.
    Unindexable,
}

/// A record's entries (see the module doc).
#[derive(Debug, Clone)]
pub struct MapIndex {
    state: State,
    len: usize,
    /// The [`key_len_bit`]s of the entries' str keys.
    key_lens: u64,
    slots: [Slot; MAX_ENTRIES],
}

impl Default for MapIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl MapIndex {
    pub fn new() -> Self {
        Self {
            state: State::Unknown,
            len: 0,
            key_lens: 0,
            slots: [Slot::default(); MAX_ENTRIES],
        }
    }

    /// Forgets the record: the next lookup reads whatever record it is given.
    #[inline]
    pub fn clear(&mut self) {
        self.state = State::Unknown;
        self.len = 0;
        self.key_lens = 0;
    }

    /// Whether an entry of this index (built or written) may have a str key `len` bytes long;
    /// `false` is certain, `true` is a maybe.
    #[inline]
    pub fn may_have_key_len(&self, len: usize) -> bool {
        self.key_lens & key_len_bit(len) != 0
    }

    /// Whether it describes a record (built or written), as opposed to not read yet.
    pub fn is_known(&self) -> bool {
        self.state != State::Unknown
    }

    /// The entries of `record` (the record this index describes, or reads now if not read yet);
    /// `None` when the record cannot be indexed.
    #[inline]
    pub fn entries(&mut self, record: &[u8]) -> Option<&[Slot]> {
        if self.state == State::Unknown {
            self.build(record);
        }
        (self.state == State::Indexed).then(|| &self.slots[..self.len])
    }

    /// The entries of an index built or written (empty when it is not read yet or unindexable).
    #[inline]
    pub fn slots(&self) -> &[Slot] {
        match self.state {
            State::Indexed => &self.slots[..self.len],
            _ => &[],
        }
    }

    /// The value of the last entry whose key is the str `key`, as [`map_get`] finds it.
    #[inline]
    pub fn get<'a>(&mut self, record: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
        if self.entries(record).is_none() {
            return map_get(record, key);
        }
        if !self.may_have_key_len(key.len()) {
            return None;
        }
        self.slots()
            .iter()
            .rev()
            .find(|s| s.key_is(record, key))
            .map(|s| s.value(record))
    }

    fn build(&mut self, record: &[u8]) {
        self.begin();
        let Some(pairs) = MapEntries::new(record) else {
            self.state = State::Unindexable;
            return;
        };
        // (Positions are u32: a record of 4 GiB or more is walked.)
        if pairs.len() as usize > MAX_ENTRIES || u32::try_from(record.len()).is_err() {
            self.state = State::Unindexable;
            return;
        }
        for pair in pairs {
            match pair {
                Ok(e) => self.push(Slot::of(&e)),
                Err(_) => {
                    self.state = State::Unindexable;
                    return;
                }
            }
        }
    }

    /// Starts describing a record being written: entries follow with [`Self::push`].
    #[inline]
    pub fn begin(&mut self) {
        self.state = State::Indexed;
        self.len = 0;
        self.key_lens = 0;
    }

    /// Adds the next entry of a record being written (past [`MAX_ENTRIES`]: unindexable).
    #[inline(always)]
    pub fn push(&mut self, slot: Slot) {
        if self.state != State::Indexed {
            return;
        }
        match self.slots.get_mut(self.len) {
            Some(s) => {
                *s = slot;
                self.len += 1;
                if slot.str_key {
                    self.key_lens |= key_len_bit((slot.value - slot.key) as usize);
                }
            }
            None => self.state = State::Unindexable,
        }
    }

    /// Adds the pair of a str key and a value just written at `start..end` of the record, the
    /// key's payload `key_len` bytes long ending at `value`.
    #[inline(always)]
    pub fn push_str_key(&mut self, start: usize, key_len: usize, value: usize, end: usize) {
        self.push(Slot {
            start: start as u32,
            key: (value - key_len) as u32,
            value: value as u32,
            end: end as u32,
            str_key: true,
        });
    }

    /// Whether this index is what building one from `record` gives (for debug checks).
    pub fn describes(&self, record: &[u8]) -> bool {
        let mut fresh = Self::new();
        fresh.build(record);
        match (self.state, fresh.state) {
            (State::Unknown, _) => true,
            (State::Indexed, State::Indexed) => self.slots[..self.len] == fresh.slots[..fresh.len],
            // Written past its capacity: the record has more entries than it holds.
            (State::Unindexable, State::Unindexable) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests;
