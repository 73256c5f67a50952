//! Why start-up failed, naming the component and what was wrong.

use crate::net::listener::BindError;

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("input {component}: {source}")]
    Bind {
        component: String,
        source: BindError,
    },
    #[error("output {component}: {message}")]
    Output { component: String, message: String },
    #[error("filter {component}: {message}")]
    Filter { component: String, message: String },
    #[error("input {component}: {message}")]
    Tls { component: String, message: String },
    #[error("input {component}: disk buffer: {message}")]
    Storage { component: String, message: String },
    #[error("filters: cannot start the filter threads: {0}")]
    Stage(std::io::Error),
    #[error("{component}: match_regex: {source}")]
    Regex {
        component: String,
        source: crate::onigmo::RegexError,
    },
}
