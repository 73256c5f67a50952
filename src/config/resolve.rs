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
    cfg.plugin()
}

/// Plugin name of an output (`stdout`, `file`, `null`, ...).
pub fn output_plugin(cfg: &OutputConfig) -> &'static str {
    cfg.plugin()
}

/// The component name of an input: its alias, or its plugin name if aliases were not resolved.
pub fn input_alias(cfg: &InputConfig) -> &str {
    cfg.entry().common().alias.unwrap_or_else(|| cfg.plugin())
}

/// The component name of an output: its alias, or its plugin name if aliases were not resolved.
pub fn output_alias(cfg: &OutputConfig) -> &str {
    cfg.entry().common().alias.unwrap_or_else(|| cfg.plugin())
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

/// Gives every input, filter and output without an alias its default one. Idempotent.
pub fn resolve_aliases(cfg: &mut Config) {
    let mut inputs = AliasCounter::default();
    for input in &mut cfg.inputs {
        let entry = input.entry_mut();
        let default = inputs.next(entry.alias_stem());
        entry.alias_mut().get_or_insert(default);
    }
    super::filter::resolve_aliases(&mut cfg.filters);
    let mut outputs = AliasCounter::default();
    for output in &mut cfg.outputs {
        let entry = output.entry_mut();
        let default = outputs.next(entry.alias_stem());
        entry.alias_mut().get_or_insert(default);
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
