//! Pipeline wiring: routing, building and draining (the budgets are in `event::budget`).

pub mod build;
pub mod disk;
pub mod filters;
pub mod input_metrics;
pub mod intake;
pub mod router;
pub mod running;
pub mod stage;
