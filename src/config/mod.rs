//! Configuration: the model, value units, and loading with every problem reported at once.
//!
//! `load_file` / `load_str` return a `Config` only when it is entirely valid; otherwise every
//! problem, each with file, line and key path. Loaded configs have every `alias` resolved.

pub mod common;
pub mod discover;
pub mod errors;
pub mod filter;
pub mod fluentbit;
pub mod forward_auth;
pub mod input;
pub mod load;
pub mod model;
pub mod output;
pub mod resolve;
mod section;
pub mod spans;
pub mod storage;
pub mod tls;
pub mod units;
pub mod validate;

#[cfg(test)]
mod reference_tests;

pub use discover::embedded_default;
pub use errors::{ConfigErrors, Problem};
pub use load::{load_file, load_str};
pub use resolve::{forward_tcp_endpoint, input_alias, output_alias, resolve_aliases};
