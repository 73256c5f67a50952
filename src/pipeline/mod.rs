//! Pipeline wiring: budgets, routing, building and draining.

pub mod budget;
