//! The process-wide memory account of a configuration: sized, logged once with where its total
//! came from, and checked against the inputs' `mem_buf_limit`s.

use crate::config::model::{Config, InputConfig};
use crate::config::resolve::input_alias;
use crate::memory::{Account, MemoryBudget, allocator, budget, sizing};

/// The process-wide account for `cfg` (aliases resolved): sized by [`budget`], logged once with
/// where its total came from, with a warning when the inputs' `mem_buf_limit`s add up past it.
pub fn account_for(cfg: &Config) -> Account {
    let budget = budget(cfg.service.memory_limit);
    let (allocator, allocator_warning) = allocator::describe();
    tracing::info!("memory account: {budget}; allocator: {allocator}");
    for w in budget.warning.iter().chain(&allocator_warning) {
        tracing::warn!("{w}");
    }
    if let Some(w) = oversubscribed_inputs(cfg, &budget) {
        tracing::warn!("{w}");
    }
    if let Some(total) = budget.total_bytes {
        metrics::gauge!(crate::telemetry::MEMORY_ACCOUNT_LIMIT_BYTES).set(total as f64);
    }
    let total = budget
        .total_bytes
        .map(|t| usize::try_from(t).unwrap_or(usize::MAX));
    Account::new(total).with_gauge(metrics::gauge!(crate::telemetry::MEMORY_ACCOUNT_BYTES))
}

/// When the inputs' `mem_buf_limit`s of `cfg` (aliases resolved) add up past `budget`, a warning
/// naming them.
pub fn oversubscribed_inputs(cfg: &Config, budget: &MemoryBudget) -> Option<String> {
    let inputs: Vec<(&str, u64)> = (cfg.inputs.iter())
        .map(|ic| match ic {
            InputConfig::Forward(c) => (input_alias(ic), c.mem_buf_limit.0),
            InputConfig::Tcp(c) => (input_alias(ic), c.mem_buf_limit.0),
        })
        .collect();
    sizing::oversubscribed(budget.total_bytes, &inputs)
}
