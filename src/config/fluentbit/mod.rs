//! Fluent Bit configuration files (classic and YAML), read into the same `Config` the TOML
//! loader produces, so a FireLens task can swap the log-router image and keep its config.

pub mod doc;
pub mod yaml;
