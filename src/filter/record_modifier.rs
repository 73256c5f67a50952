//! Fluent Bit's `record_modifier`: append fixed fields (`Record KEY VALUE`, `${ENV}` already
//! expanded by the config loader), remove fields (`Remove_key`) or keep only some
//! (`Allowlist_key`, alias `Whitelist_key`), and add a random UUID (`UUID_key`).
//!
//! Works on the msgpack bytes: the map header is rewritten, kept entries are copied as they are,
//! new entries appended. A record the rules do not change is passed through untouched. A `Record`
//! key the record already has is not added a second time (the record's own value is kept), so a
//! record never ends up with duplicate keys. A record that is not a map is left unchanged.

use thiserror::Error;

use super::RecordOutcome;
use crate::msgpack::index::{MapIndex, Slot, key_len_bit};
use crate::msgpack::reader::{MapEntries, key_eq};
use crate::msgpack::writer::{write_map_len, write_str};
use crate::rng::Rng;

/// Why a `record_modifier` configuration cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RecordModifierError {
    #[error("remove_key and allowlist_key cannot be used together")]
    RemoveAndAllowlist,
    #[error("`{0}`: a record rule needs a key and a value separated by a space")]
    RecordWithoutValue(String),
    #[error("{0} record rules: at most {MAX_RECORDS} are supported")]
    TooManyRecords(usize),
}

/// Most `Record` rules one filter takes (their presence is tracked in a 64-bit mask).
pub const MAX_RECORDS: usize = 64;

/// A `Record` rule: its key (a msgpack str payload) and the whole pair already encoded, so adding
/// it is one copy.
#[derive(Debug, Clone)]
struct Field {
    key: Box<[u8]>,
    pair: Box<[u8]>,
    /// Where the value starts in `pair`.
    value_at: usize,
}

impl Field {
    fn new(key: &str, value: &str) -> Self {
        let mut pair = Vec::with_capacity(key.len() + value.len() + 10);
        write_str(&mut pair, key.as_bytes());
        let value_at = pair.len();
        write_str(&mut pair, value.as_bytes());
        Self {
            key: bytes(key),
            pair: pair.into(),
            value_at,
        }
    }

    /// Appends the pair to `out` and describes it in `index`.
    #[inline]
    fn append(&self, out: &mut Vec<u8>, index: &mut MapIndex) {
        let start = out.len();
        out.extend_from_slice(&self.pair);
        index.push_str_key(start, self.key.len(), start + self.value_at, out.len());
    }
}

/// A configured `record_modifier`.
#[derive(Debug, Clone)]
pub struct RecordModifier {
    records: Vec<Field>,
    /// The `key_len_bit`s of the `Record` keys (most record keys are passed over on that).
    record_key_lens: u64,
    remove: Vec<Box<[u8]>>,
    allow: Vec<Box<[u8]>>,
    uuid_key: Option<Box<[u8]>>,
}

impl RecordModifier {
    /// `records` are Fluent Bit `Record` values, `KEY VALUE` (split at the first space; the value
    /// may contain spaces).
    pub fn new(
        records: &[String],
        remove_keys: &[String],
        allowlist_keys: &[String],
        uuid_key: Option<&str>,
    ) -> Result<Self, RecordModifierError> {
        if !remove_keys.is_empty() && !allowlist_keys.is_empty() {
            return Err(RecordModifierError::RemoveAndAllowlist);
        }
        if records.len() > MAX_RECORDS {
            return Err(RecordModifierError::TooManyRecords(records.len()));
        }
        let records = records
            .iter()
            .map(|r| {
                let (k, v) = r
                    .trim()
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| RecordModifierError::RecordWithoutValue(r.clone()))?;
                Ok(Field::new(k, v.trim_start()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            record_key_lens: records.iter().fold(0, |m, f| m | key_len_bit(f.key.len())),
            records,
            remove: remove_keys.iter().map(|k| bytes(k)).collect(),
            allow: allowlist_keys.iter().map(|k| bytes(k)).collect(),
            uuid_key: uuid_key.map(bytes),
        })
    }

    /// Applies the rules to `record`; a replacement goes to `out` (cleared first).
    pub fn apply(&self, record: &[u8], rng: &mut Rng, out: &mut Vec<u8>) -> RecordOutcome {
        self.apply_indexed(record, &mut MapIndex::new(), rng, out, &mut MapIndex::new())
    }

    /// [`Self::apply`] with the entries taken from `index`, which describes `record` (or is not
    /// read yet); on [`RecordOutcome::Replaced`] `out_index` describes `out`.
    pub fn apply_indexed(
        &self,
        record: &[u8],
        index: &mut MapIndex,
        rng: &mut Rng,
        out: &mut Vec<u8>,
        out_index: &mut MapIndex,
    ) -> RecordOutcome {
        // A record too big for the index is read into a list of its own.
        let mut spill = Vec::new();
        let slots: &[Slot] = match index.entries(record) {
            Some(slots) => slots,
            None => {
                let Some(pairs) = MapEntries::new(record) else {
                    return RecordOutcome::Unchanged;
                };
                for pair in pairs {
                    let Ok(e) = pair else {
                        return RecordOutcome::Unchanged;
                    };
                    spill.push(Slot::of(&e));
                }
                &spill
            }
        };
        let (removed, missing) = self.plan(record, slots);
        if removed == 0 && missing == 0 && self.uuid_key.is_none() {
            return RecordOutcome::Unchanged;
        }
        // Second pass: write the new map.
        out.clear();
        out_index.begin();
        let added = missing.count_ones() + u32::from(self.uuid_key.is_some());
        write_map_len(out, slots.len() as u32 - removed + added);
        match (slots.first(), slots.last()) {
            (Some(first), Some(last)) if removed == 0 => {
                // Every entry stays: one copy of them all.
                let by = out.len() as isize - first.start as isize;
                out.extend_from_slice(&record[first.start as usize..last.end as usize]);
                for s in slots {
                    out_index.push(s.shifted(by));
                }
            }
            _ => {
                for s in slots.iter().filter(|s| self.keeps(s.key(record))) {
                    let by = out.len() as isize - s.start as isize;
                    out.extend_from_slice(s.pair(record));
                    out_index.push(s.shifted(by));
                }
            }
        }
        self.append_fields(out, out_index, missing, rng);
        RecordOutcome::Replaced
    }

    /// [`Self::apply`] appending to `record` itself, when the rules only add fields and the map
    /// header keeps its size (the map32 header a parser writes always does): `record` is one a
    /// filter before this one wrote, `index` describes it (or is not read yet) and still does
    /// after. `None`: not possible here, use [`Self::apply_indexed`].
    pub fn append_in_place(
        &self,
        record: &mut Vec<u8>,
        index: &mut MapIndex,
        rng: &mut Rng,
    ) -> Option<RecordOutcome> {
        let slots = index.entries(record)?;
        let (removed, missing) = self.plan(record, slots);
        if removed != 0 {
            return None;
        }
        let added = missing.count_ones() + u32::from(self.uuid_key.is_some());
        if added == 0 {
            return Some(RecordOutcome::Unchanged);
        }
        let n = slots.len() as u32 + added;
        match *record.first()? {
            0xdf => record[1..5].copy_from_slice(&n.to_be_bytes()),
            0xde if n <= 0xffff => record[1..3].copy_from_slice(&(n as u16).to_be_bytes()),
            0x80..=0x8f if n < 16 => record[0] = 0x80 | n as u8,
            _ => return None,
        }
        self.append_fields(record, index, missing, rng);
        Some(RecordOutcome::Replaced)
    }

    /// Which entries of `record` go (their count) and which `Record` rules add a field (bit i:
    /// rule i, its key not already there).
    fn plan(&self, record: &[u8], slots: &[Slot]) -> (u32, u64) {
        let all = if self.records.len() == 64 {
            u64::MAX
        } else {
            (1u64 << self.records.len()) - 1
        };
        if self.remove.is_empty() && self.allow.is_empty() {
            // Only `Record` rules (the usual case): every entry stays, and most keys are passed
            // over on their length, read from the slot without touching the record.
            let mut present = 0u64;
            for s in slots {
                if s.str_key && self.record_key_lens & key_len_bit((s.value - s.key) as usize) != 0
                {
                    present |= self.rules_named(&record[s.key as usize..s.value as usize]);
                }
            }
            return (0, all & !present);
        }
        let mut present = 0u64;
        let mut removed = 0u32;
        for s in slots {
            let key = s.key(record);
            if !self.keeps(key) {
                removed += 1;
            } else if let Some(k) = key
                && self.record_key_lens & key_len_bit(k.len()) != 0
            {
                present |= self.rules_named(k);
            }
        }
        (removed, all & !present)
    }

    /// The `Record` rules whose key is `key` (bit i: rule i).
    #[inline]
    fn rules_named(&self, key: &[u8]) -> u64 {
        let mut named = 0;
        for (i, f) in self.records.iter().enumerate() {
            named |= u64::from(key_eq(&f.key, key)) << i;
        }
        named
    }

    /// Appends the `missing` rules' fields and the UUID field to `out`, described in `index`.
    fn append_fields(&self, out: &mut Vec<u8>, index: &mut MapIndex, missing: u64, rng: &mut Rng) {
        for (i, f) in self.records.iter().enumerate() {
            if missing & (1 << i) != 0 {
                f.append(out, index);
            }
        }
        if let Some(k) = &self.uuid_key {
            push_pair(out, index, k, uuid_v4(rng).as_bytes());
        }
    }

    /// Whether an entry with this key survives `Remove_key` / `Allowlist_key` (non-string keys
    /// never match a rule).
    #[inline]
    fn keeps(&self, key: Option<&[u8]>) -> bool {
        let listed = |list: &[Box<[u8]>]| key.is_some_and(|k| list.iter().any(|l| key_eq(l, k)));
        if !self.allow.is_empty() {
            listed(&self.allow)
        } else {
            !listed(&self.remove)
        }
    }
}

/// Appends a str key and str value pair to `out` and describes it in `index`.
fn push_pair(out: &mut Vec<u8>, index: &mut MapIndex, key: &[u8], value: &[u8]) {
    let start = out.len();
    write_str(out, key);
    let value_at = out.len();
    write_str(out, value);
    index.push_str_key(start, key.len(), value_at, out.len());
}

fn bytes(s: &str) -> Box<[u8]> {
    Box::from(s.as_bytes())
}

/// A random (version 4) UUID in its usual text form.
fn uuid_v4(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    let mut x = (u128::from(a) << 64) | u128::from(b);
    x = (x & !(0xf << 76)) | (0x4 << 76); // version 4
    x = (x & !(0x3 << 62)) | (0x2 << 62); // variant 10
    let h = format!("{x:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests;
