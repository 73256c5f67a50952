//! The run-time data path: the intake (filters, budget, routing of each input's batches), the
//! router, the filter stage's threads and inputs' disk buffers. Built and started by `app`.

pub mod disk;
pub mod input_metrics;
pub mod intake;
pub mod router;
pub mod stage;
