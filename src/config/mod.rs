//! Configuration: the model, value units, and loading with every problem reported at once.

pub mod model;
pub mod units;
