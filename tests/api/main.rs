//! Library-level tests: the config loader's messages, the Fluent Bit config files and the
//! public FireLens examples read as firelane reads them, the Forward codec against the
//! protocol's conformance cases, the admin HTTP API, and the docs checked against the code. One
//! test binary.

mod config_errors;
mod docs;
mod firelens_config;
mod forward_conformance;
mod http_admin;
