//! Semantic checks run after deserializing: what types alone cannot say (ranges, references between
//! entries, regexes that must compile). Every problem is returned, none stops the others.
//!
//! Checks run on whatever parts deserialized, so a typo in one section does not hide a mistake in
//! another; indexes are those of the file.

use std::net::IpAddr;

use super::errors::Issue;
use super::filter::FilterConfig;
use super::filter::{MultilineParserConfig, ParserConfig, ParserProblemAt, Parsers, parser_set};
use super::model::{AckMode, Config, InputConfig, OutputConfig, ServiceConfig};
use super::resolve::{self, input_alias, output_alias};
use super::spans::KeyPath;
use super::storage::{BufferUse, check_storage};

/// Most filters in one chain (a re-tagged record remembers the rewrite_tag filters it passed in a
/// 64-bit mask).
pub const MAX_FILTERS: usize = 64;
const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// The parts of a configuration that deserialized, with their index in the file.
#[derive(Debug, Default)]
pub(crate) struct Sections<'a> {
    pub service: Option<&'a ServiceConfig>,
    pub inputs: Vec<(usize, &'a InputConfig)>,
    pub filters: Vec<(usize, &'a FilterConfig)>,
    pub parsers: Vec<(usize, &'a ParserConfig)>,
    pub multiline_parsers: Vec<(usize, &'a MultilineParserConfig)>,
    pub outputs: Vec<(usize, &'a OutputConfig)>,
    /// Entries in the file, including those that failed to deserialize.
    pub input_entries: usize,
    pub output_entries: usize,
}

/// Checks a configuration built in code (the loader runs the same checks). Aliases not set are
/// taken as their defaults.
pub fn validate(cfg: &Config) -> Vec<Issue> {
    let mut resolved = cfg.clone();
    resolve::resolve_aliases(&mut resolved);
    check(&Sections {
        service: Some(&resolved.service),
        inputs: resolved.inputs.iter().enumerate().collect(),
        filters: resolved.filters.iter().enumerate().collect(),
        parsers: resolved.parsers.iter().enumerate().collect(),
        multiline_parsers: resolved.multiline_parsers.iter().enumerate().collect(),
        outputs: resolved.outputs.iter().enumerate().collect(),
        input_entries: resolved.inputs.len(),
        output_entries: resolved.outputs.len(),
    })
}

pub(crate) fn check(s: &Sections<'_>) -> Vec<Issue> {
    let mut issues = Vec::new();
    let root = KeyPath::root();
    if s.input_entries == 0 {
        issues.push(Issue::new(
            root.key("inputs"),
            "at least one [[inputs]] is required",
        ));
    }
    if s.output_entries == 0 {
        issues.push(Issue::new(
            root.key("outputs"),
            "at least one [[outputs]] is required",
        ));
    }
    if let Some(service) = s.service {
        check_service(service, &root.key("service"), &mut issues);
    }
    for &(i, input) in &s.inputs {
        let path = root.key("inputs").index(i);
        let has_path = s.service.is_some_and(|c| c.storage.path.is_some());
        input.check_options(&path, &mut issues);
        match input {
            InputConfig::Forward(c) => {
                let u = BufferUse {
                    storage: &c.storage,
                    ack: c.ack,
                    overflow: c.overflow,
                    overflow_timeout: c.overflow_timeout.is_some(),
                };
                check_storage(&u, has_path, &path, &mut issues);
            }
            InputConfig::Tcp(c) => {
                let u = BufferUse {
                    storage: &c.storage,
                    ack: AckMode::Accepted,
                    overflow: c.overflow,
                    overflow_timeout: c.overflow_timeout.is_some(),
                };
                check_storage(&u, has_path, &path, &mut issues);
            }
        }
    }
    let files = s.service.map_or(&[][..], |c| &c.parsers_file.0[..]);
    let (parsers, problems) = parser_set(&s.parsers, &s.multiline_parsers, files);
    for (at, message) in problems {
        let path = match at {
            ParserProblemAt::Entry(i) => root.key("parsers").index(i),
            ParserProblemAt::Multiline(i) => root.key("multiline_parsers").index(i),
            ParserProblemAt::File(i) => root.key("service").key("parsers_file").index(i),
        };
        issues.push(Issue::new(path, message));
    }
    if let Some(&(i, _)) = s.filters.get(MAX_FILTERS) {
        issues.push(Issue::new(
            root.key("filters").index(i),
            format!("at most {MAX_FILTERS} filters are supported"),
        ));
    }
    for &(i, filter) in &s.filters {
        check_filter(filter, &parsers, &root.key("filters").index(i), &mut issues);
    }
    for &(i, output) in &s.outputs {
        check_output(output, &root.key("outputs").index(i), &mut issues);
    }
    check_unique_aliases(s, &mut issues);
    check_listeners(s, &mut issues);
    issues
}

fn check_service(c: &ServiceConfig, path: &KeyPath, issues: &mut Vec<Issue>) {
    if !LOG_LEVELS
        .iter()
        .any(|l| l.eq_ignore_ascii_case(&c.log_level))
    {
        issues.push(Issue::new(
            path.key("log_level"),
            format!(
                "`{}` is not a log level: use one of {}",
                c.log_level,
                LOG_LEVELS.join(", ")
            ),
        ));
    }
    if c.http_port == 0 {
        issues.push(Issue::new(path.key("http_port"), "must not be 0"));
    }
    check_ip(&c.http_listen, &path.key("http_listen"), issues);
    if c.flush.0.is_zero() {
        issues.push(Issue::new(path.key("flush"), "must be more than 0"));
    }
    if c.hc_period.0.is_zero() {
        issues.push(Issue::new(path.key("hc_period"), "must be more than 0"));
    }
}

pub(super) fn check_ip(addr: &str, path: &KeyPath, issues: &mut Vec<Issue>) {
    if addr.parse::<IpAddr>().is_err() {
        issues.push(Issue::new(
            path.clone(),
            format!("`{addr}` is not an IP address (examples: 0.0.0.0, 127.0.0.1, ::)"),
        ));
    }
}

fn check_output(c: &OutputConfig, path: &KeyPath, issues: &mut Vec<Issue>) {
    let (match_, match_regex) = c.match_rules();
    c.check_options(path, issues);
    check_matcher("output", match_, match_regex, path, issues);
}

fn check_filter(c: &FilterConfig, parsers: &Parsers, path: &KeyPath, issues: &mut Vec<Issue>) {
    let (match_, match_regex) = c.match_rules();
    super::filter::check(c, parsers, path, issues);
    check_matcher("filter", match_, match_regex, path, issues);
}

/// `match` xor `match_regex`, and a regex that compiles.
fn check_matcher(
    kind: &str,
    match_: Option<&str>,
    match_regex: Option<&str>,
    path: &KeyPath,
    issues: &mut Vec<Issue>,
) {
    match (match_, match_regex) {
        (Some(_), Some(_)) => issues.push(Issue::new(
            path.key("match_regex"),
            "set either match or match_regex, not both",
        )),
        (None, None) => issues.push(Issue::new(
            path.clone(),
            format!("{kind} matches nothing: set match or match_regex"),
        )),
        _ => {}
    }
    if let Some(re) = match_regex
        && let Err(e) = crate::onigmo::compile(re)
    {
        issues.push(Issue::new(path.key("match_regex"), e.to_string()));
    }
}

fn check_unique_aliases(s: &Sections<'_>, issues: &mut Vec<Issue>) {
    let root = KeyPath::root();
    let named = s
        .inputs
        .iter()
        .map(|&(i, c)| (root.key("inputs").index(i), input_alias(c)))
        .chain(
            s.filters
                .iter()
                .map(|&(i, c)| (root.key("filters").index(i), c.alias())),
        )
        .chain(
            s.outputs
                .iter()
                .map(|&(i, c)| (root.key("outputs").index(i), output_alias(c))),
        );
    let mut seen: Vec<(KeyPath, &str)> = Vec::new();
    for (path, alias) in named {
        if let Some((first, _)) = seen.iter().find(|(_, a)| *a == alias) {
            issues.push(Issue::new(
                path.key("alias"),
                format!("alias `{alias}` is already used by {first}; aliases name metrics and must be unique"),
            ));
        } else {
            seen.push((path, alias));
        }
    }
}

/// Two sockets cannot be bound to the same port when the addresses are equal or one is a wildcard.
fn check_listeners(s: &Sections<'_>, issues: &mut Vec<Issue>) {
    let root = KeyPath::root();
    let mut tcp: Vec<(KeyPath, &str, u16)> = Vec::new();
    if let Some(svc) = s.service.filter(|svc| svc.http_server.0) {
        tcp.push((root.key("service"), svc.http_listen.as_str(), svc.http_port));
    }
    let mut unix: Vec<(KeyPath, &str)> = Vec::new();
    for &(i, input) in &s.inputs {
        let path = root.key("inputs").index(i);
        match input {
            InputConfig::Forward(c) => {
                if let Some((addr, port)) = resolve::forward_tcp_endpoint(c) {
                    tcp.push((path.clone(), addr, port));
                }
                if let Some(p) = c.unix_path.as_deref() {
                    unix.push((path, p));
                }
            }
            InputConfig::Tcp(c) => tcp.push((path, c.listen.as_str(), c.port)),
        }
    }
    for (n, (path, addr, port)) in tcp.iter().enumerate() {
        let clash = tcp[..n]
            .iter()
            .find(|(_, a, p)| p == port && addresses_overlap(a, addr));
        // The other listener's address is not repeated: it may come from a `${VAR}` of
        // another section of a Fluent Bit file, which messages about this one never show.
        if let Some((first, _, _)) = clash {
            issues.push(Issue::new(
                path.key("port"),
                format!("{addr}:{port} is already used by {first}"),
            ));
        }
    }
    for (n, (path, unix_path)) in unix.iter().enumerate() {
        if let Some((first, _)) = unix[..n].iter().find(|(_, p)| p == unix_path) {
            issues.push(Issue::new(
                path.key("unix_path"),
                format!("{unix_path} is already used by {first}"),
            ));
        }
    }
}

fn addresses_overlap(a: &str, b: &str) -> bool {
    let unspecified = |s: &str| s.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
    a == b || unspecified(a) || unspecified(b)
}

#[cfg(test)]
mod tests;
