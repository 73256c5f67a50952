//! Derived values of the model that several modules need to agree on: component names (aliases)
//! and where a Forward input listens.
//!
//! Default aliases follow Fluent Bit's `<plugin>.<n>` where `n` counts entries of the same plugin
//! in file order (`forward.0`, `forward.1`, `stdout.0`). The loader resolves them, so after
//! `load_*` every `alias` is `Some`.

use super::model::{Config, ForwardInputConfig, InputConfig, OutputConfig};

/// Forward's default TCP port.
pub const FORWARD_DEFAULT_PORT: u16 = 24224;
/// Listen address used when a listener has none.
pub const ANY_ADDR: &str = "0.0.0.0";

/// Plugin name of an input (`forward`, `tcp`), as written in `name`.
pub fn input_plugin(cfg: &InputConfig) -> &'static str {
    match cfg {
        InputConfig::Forward(_) => "forward",
        InputConfig::Tcp(_) => "tcp",
    }
}

/// Plugin name of an output (`stdout`, `file`, `null`).
pub fn output_plugin(cfg: &OutputConfig) -> &'static str {
    match cfg {
        OutputConfig::Stdout(_) => "stdout",
        OutputConfig::File(_) => "file",
        OutputConfig::Null(_) => "null",
        OutputConfig::CloudwatchLogs(_) => "cloudwatch_logs",
        OutputConfig::S3(_) => "s3",
        OutputConfig::Forward(_) => "forward",
    }
}

fn input_alias_slot(cfg: &mut InputConfig) -> &mut Option<String> {
    match cfg {
        InputConfig::Forward(c) => &mut c.alias,
        InputConfig::Tcp(c) => &mut c.alias,
    }
}

fn output_alias_slot(cfg: &mut OutputConfig) -> &mut Option<String> {
    match cfg {
        OutputConfig::Stdout(c) => &mut c.alias,
        OutputConfig::File(c) => &mut c.alias,
        OutputConfig::Null(c) => &mut c.alias,
        OutputConfig::CloudwatchLogs(c) => &mut c.alias,
        OutputConfig::S3(c) => &mut c.alias,
        OutputConfig::Forward(c) => &mut c.alias,
    }
}

/// The component name of an input: its alias, or its plugin name if aliases were not resolved.
pub fn input_alias(cfg: &InputConfig) -> &str {
    let alias = match cfg {
        InputConfig::Forward(c) => c.alias.as_deref(),
        InputConfig::Tcp(c) => c.alias.as_deref(),
    };
    alias.unwrap_or_else(|| input_plugin(cfg))
}

/// The component name of an output: its alias, or its plugin name if aliases were not resolved.
pub fn output_alias(cfg: &OutputConfig) -> &str {
    let alias = match cfg {
        OutputConfig::Stdout(c) => c.alias.as_deref(),
        OutputConfig::File(c) => c.alias.as_deref(),
        OutputConfig::Null(c) => c.alias.as_deref(),
        OutputConfig::CloudwatchLogs(c) => c.alias.as_deref(),
        OutputConfig::S3(c) => c.alias.as_deref(),
        OutputConfig::Forward(c) => c.alias.as_deref(),
    };
    alias.unwrap_or_else(|| output_plugin(cfg))
}

/// Counts entries per plugin to hand out `<plugin>.<n>` names.
#[derive(Debug, Default)]
pub(crate) struct AliasCounter(Vec<(&'static str, usize)>);

impl AliasCounter {
    /// The default alias of the next entry of `plugin`.
    pub(crate) fn next(&mut self, plugin: &'static str) -> String {
        let n = match self.0.iter_mut().find(|(p, _)| *p == plugin) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.0.push((plugin, 0));
                0
            }
        };
        format!("{plugin}.{n}")
    }
}

/// What an output's default alias starts with: its plugin name, except `forward_out` for the
/// forward output, whose `forward.<n>` would clash with the forward input's.
pub(crate) fn output_alias_stem(plugin: &'static str) -> &'static str {
    if plugin == "forward" {
        "forward_out"
    } else {
        plugin
    }
}

/// Gives every input, filter and output without an alias its default one. Idempotent.
pub fn resolve_aliases(cfg: &mut Config) {
    let mut inputs = AliasCounter::default();
    for input in &mut cfg.inputs {
        let default = inputs.next(input_plugin(input));
        input_alias_slot(input).get_or_insert(default);
    }
    super::filters::resolve_aliases(&mut cfg.filters);
    let mut outputs = AliasCounter::default();
    for output in &mut cfg.outputs {
        let default = outputs.next(output_alias_stem(output_plugin(output)));
        output_alias_slot(output).get_or_insert(default);
    }
}

/// The TCP address a Forward input listens on, if any: a TCP listener is opened when `port` or
/// `listen` is set, or when there is no `unix_path`.
pub fn forward_tcp_endpoint(cfg: &ForwardInputConfig) -> Option<(&str, u16)> {
    if cfg.port.is_none() && cfg.listen.is_none() && cfg.unix_path.is_some() {
        return None;
    }
    Some((
        cfg.listen.as_deref().unwrap_or(ANY_ADDR),
        cfg.port.unwrap_or(FORWARD_DEFAULT_PORT),
    ))
}

/// Parses a Unix permission string such as "0666" or "660" (octal, at most 0o7777).
pub fn parse_unix_perm(s: &str) -> Result<u32, String> {
    let digits = s.trim();
    let digits = digits.strip_prefix("0o").unwrap_or(digits);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o7777 && !digits.is_empty() => Ok(mode),
        _ => Err(format!(
            "`{s}` is not an octal permission such as \"0666\" or \"0660\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_aliases_count_per_plugin() {
        let mut c = AliasCounter::default();
        assert_eq!(c.next("forward"), "forward.0");
        assert_eq!(c.next("tcp"), "tcp.0");
        assert_eq!(c.next("forward"), "forward.1");
    }

    #[test]
    fn unix_perm_is_octal() {
        assert_eq!(parse_unix_perm("0666"), Ok(0o666));
        assert_eq!(parse_unix_perm("660"), Ok(0o660));
        assert!(parse_unix_perm("0999").is_err());
        assert!(parse_unix_perm("rw-rw-rw-").is_err());
        assert!(parse_unix_perm("17777").is_err());
        assert!(parse_unix_perm("").is_err());
    }
}
