//! Pipeline wiring: budgets, routing, building and draining.

pub mod budget;
pub mod build;
pub mod disk;
pub mod filters;
pub mod input_metrics;
pub mod intake;
pub mod router;
pub mod running;
pub mod stage;
pub mod tagmatch;
