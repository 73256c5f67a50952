//! The account every fault test reports: records sent, acked, delivered, duplicated and lost
//! (lost counts acked records only: what was never acked may be resent by a real client).

use std::collections::{HashMap, HashSet};

#[derive(Debug, Default)]
pub struct Ledger {
    pub sent: usize,
    pub acked: HashSet<String>,
    pub delivered: HashMap<String, usize>,
}

/// The figures of a [`Ledger`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub acked: usize,
    pub delivered: usize,
    pub duplicated: usize,
    pub lost: usize,
}

impl Ledger {
    pub fn deliver<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids {
            *self.delivered.entry(id.to_owned()).or_default() += 1;
        }
    }

    /// The figures, printed as one line for the test log under `name`.
    pub fn report(&self, name: &str) -> Report {
        let r = Report {
            sent: self.sent,
            acked: self.acked.len(),
            delivered: self.delivered.len(),
            duplicated: self.delivered.values().map(|n| n - 1).sum(),
            lost: self
                .acked
                .iter()
                .filter(|id| !self.delivered.contains_key(*id))
                .count(),
        };
        eprintln!(
            "fault report [{name}]: sent {} acked {} delivered {} duplicated {} lost {}",
            r.sent, r.acked, r.delivered, r.duplicated, r.lost
        );
        r
    }
}
