//! Damage in the disk buffer priced in records: which records a damaged region cost, found from
//! the sequence numbers of the intact records around it.
//!
//! Every record written to the buffer has a sequence number, in write order across segments and
//! runs (the writer assigns them: [`super::codec::set_first_seq`], and each segment header holds
//! the number its first record gets). A damaged region costs the records numbered between the
//! last record known before it and the first known after it: the end of an intact frame or the
//! number in a segment header, then the start of the next intact frame or segment header.
//!
//! Invariants:
//! - Every region given to a [`Pricer`] comes out of it exactly once, priced or marked uncounted
//!   with the reason; a gap is priced once. Regions with no known record between them (a segment
//!   cut short, then an unusable one) share one gap, counted on the last of them.
//! - Records numbered below `delivered_below` (what the checkpoint says was consumed) are never
//!   counted lost: the consumer had them before the damage.
//! - What cannot be counted is said so ([`Lost::Unknown`]), never counted as 0: the end of the
//!   newest segment (nothing follows it), and records of older builds (no numbers).
//! - Pure: no I/O. Each region is logged once, by whoever found it, with [`Damage::log`].

use std::ops::Range;
use std::path::PathBuf;

/// What kind of damage a region is (the `reason` label of the storage damage metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// The end of a segment, cut off: a torn write, or a file cut short.
    Torn,
    /// A region in the middle of a segment, skipped: valid frames follow it.
    Damaged,
    /// A whole segment file that cannot be read (bad header), set aside as `*.bad`.
    Unusable,
}

impl DamageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Torn => "torn",
            Self::Damaged => "damaged",
            Self::Unusable => "unusable",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Torn => "disk buffer: the end of a segment was cut off",
            Self::Damaged => "disk buffer: a damaged region was skipped",
            Self::Unusable => "disk buffer: an unusable segment was set aside",
        }
    }
}

/// Why the records a region cost cannot be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Uncounted {
    /// Nothing numbered follows: the end of the newest segment, written after its last fsync (so
    /// never acked as durable) or cut off since.
    #[error(
        "nothing follows it: the end of the newest segment, written after its last fsync (never acked as durable) or cut off since"
    )]
    AtEnd,
    /// Records next to it were written by an older version, which did not number them.
    #[error("written by an older version, whose records carry no sequence numbers")]
    OldFormat,
    /// No numbered record on one side (no checkpoint to start from, or a segment missing).
    #[error("no numbered record on one side of it")]
    NoNeighbour,
}

/// The records a damaged region cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// The records with these sequence numbers (end exclusive); empty when the region held no
    /// record (a failed write's partial frame, whose numbers the writer gave again; a file too
    /// short to hold a frame).
    Records(Range<u64>),
    /// Counted with the next region: no intact record lies between them.
    WithNext,
    /// Behind the checkpoint: the consumer had its records before the damage.
    Consumed,
    Unknown(Uncounted),
}

/// A damaged region and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub file: PathBuf,
    pub offset: u64,
    pub len_bytes: u64,
    pub kind: DamageKind,
    /// Why the bytes were rejected (a frame's CRC, a header error, ...).
    pub reason: String,
    pub lost: Lost,
}

impl Damage {
    /// A region not priced yet.
    pub fn new(
        file: PathBuf,
        offset: u64,
        len_bytes: u64,
        kind: DamageKind,
        reason: String,
    ) -> Self {
        Self {
            file,
            offset,
            len_bytes,
            kind,
            reason,
            lost: Lost::Unknown(Uncounted::NoNeighbour),
        }
    }

    /// Records counted lost here (0 when uncounted: see [`Self::counted`]).
    pub fn records_lost(&self) -> u64 {
        match &self.lost {
            Lost::Records(r) => r.end.saturating_sub(r.start),
            _ => 0,
        }
    }

    /// Whether what the region cost is known (counted here, with the next region, or nothing).
    pub fn counted(&self) -> bool {
        !matches!(self.lost, Lost::Unknown(_))
    }

    /// One log line: an error if records were or may have been lost, else (nothing lost, or only
    /// what was written after the last fsync of the newest segment) a warning. Fields:
    /// `records_lost` (a number, present when counted here) and `records` (the numbers lost,
    /// `first-last`; or why there is no count here).
    pub fn log(&self, component: &str) {
        let what = self.kind.what();
        let file = self.file.display();
        let (offset, bytes, reason) = (self.offset, self.len_bytes, &self.reason);
        let kind = self.kind.as_str();
        match &self.lost {
            Lost::Records(r) if r.is_empty() => tracing::warn!(
                component, file = %file, offset, bytes, kind, reason = %reason, records_lost = 0,
                "{what}; no records lost"
            ),
            Lost::Records(r) => {
                let durable = if self.kind == DamageKind::Torn {
                    ": the segment was complete (a later one follows), they had been written durably"
                } else {
                    ""
                };
                tracing::error!(
                    component, file = %file, offset, bytes, kind, reason = %reason,
                    records_lost = self.records_lost(), records = %SeqRange(r),
                    "{what}; {} records lost{durable}", self.records_lost()
                );
            }
            Lost::WithNext => tracing::error!(
                component, file = %file, offset, bytes, kind, reason = %reason,
                records = "counted with the next region",
                "{what}; the records lost are counted with the next damaged region (nothing intact between them)"
            ),
            Lost::Consumed => tracing::warn!(
                component, file = %file, offset, bytes, kind, reason = %reason, records_lost = 0,
                "{what}; no records lost: it lies behind the checkpoint, its records were consumed before"
            ),
            // Expected after a crash (what was not fsync'd yet), and no durable ack is lost.
            Lost::Unknown(why @ Uncounted::AtEnd) => tracing::warn!(
                component, file = %file, offset, bytes, kind, reason = %reason,
                records = "unknown", why = %why,
                "{what}; the records it held cannot be counted"
            ),
            Lost::Unknown(why) => tracing::error!(
                component, file = %file, offset, bytes, kind, reason = %reason,
                records = "unknown", why = %why,
                "{what}; the records it held cannot be counted"
            ),
        }
    }
}

/// Sequence numbers `a..b` shown as the first and last number lost: `1200-1299`.
struct SeqRange<'a>(&'a Range<u64>);

impl std::fmt::Display for SeqRange<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.end.checked_sub(1) {
            Some(last) if last > self.0.start => write!(f, "{}-{last}", self.0.start),
            Some(last) if last == self.0.start => write!(f, "{last}"),
            _ => f.write_str("none"),
        }
    }
}

/// Walks the log in order and prices each damaged region once the next known record shows where
/// the gap ends.
#[derive(Debug)]
pub(crate) struct Pricer {
    /// One past the last record known so far, or why it is not known.
    known_end: Result<u64, Uncounted>,
    delivered_below: u64,
    /// Regions since the last known record, waiting for the next one.
    pending: Vec<Damage>,
}

impl Pricer {
    /// `known_end`: the number of the first record after the starting point, if known.
    /// `delivered_below`: records numbered below it were consumed (0: none known).
    pub(crate) fn new(known_end: Option<u64>, delivered_below: u64) -> Self {
        Self {
            known_end: known_end.ok_or(Uncounted::NoNeighbour),
            delivered_below,
            pending: Vec::new(),
        }
    }

    /// Intact records: `count` of them from `first_seq` (`None`: not numbered, an older build's).
    /// Returns the regions this prices.
    #[must_use]
    pub(crate) fn records(&mut self, first_seq: Option<u64>, count: u64) -> Vec<Damage> {
        match first_seq {
            Some(first) => {
                let priced = self.price(Ok(first));
                self.known_end = Ok(first.saturating_add(count));
                priced
            }
            None => {
                let priced = self.price(Err(Uncounted::OldFormat));
                self.known_end = Err(Uncounted::OldFormat);
                priced
            }
        }
    }

    /// A segment header saying its first record is numbered `first_seq` (`None`: an older
    /// header, which says nothing).
    #[must_use]
    pub(crate) fn segment_start(&mut self, first_seq: Option<u64>) -> Vec<Damage> {
        match first_seq {
            Some(first) => self.records(Some(first), 0),
            None => Vec::new(),
        }
    }

    /// The log continues somewhere not adjacent (segments missing in between): what is pending
    /// cannot be priced, and nothing is known until the next record.
    #[must_use]
    pub(crate) fn discontinuity(&mut self) -> Vec<Damage> {
        let priced = self.price(Err(Uncounted::NoNeighbour));
        self.known_end = Err(Uncounted::NoNeighbour);
        priced
    }

    /// A damaged region, priced when the next known record comes.
    pub(crate) fn damage(&mut self, region: Damage) {
        self.pending.push(region);
    }

    /// The end of the log: what is pending cannot be counted.
    #[must_use]
    pub(crate) fn finish(&mut self) -> Vec<Damage> {
        self.price(Err(Uncounted::AtEnd))
    }

    fn price(&mut self, next: Result<u64, Uncounted>) -> Vec<Damage> {
        let mut group = std::mem::take(&mut self.pending);
        let lost = match (self.known_end, next) {
            (Ok(end), Ok(next)) => {
                let from = end.max(self.delivered_below);
                Lost::Records(from..next.max(from))
            }
            (Err(why), _) | (Ok(_), Err(why)) => Lost::Unknown(why),
        };
        let last = group.len().saturating_sub(1);
        for (i, region) in group.iter_mut().enumerate() {
            region.lost = match &lost {
                Lost::Records(_) if i < last => Lost::WithNext,
                other => other.clone(),
            };
        }
        group
    }
}

#[cfg(test)]
mod tests;
