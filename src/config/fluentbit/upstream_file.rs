//! Fluent Bit's upstream file (the forward output's `Upstream`): its `[NODE]` sections become the
//! output's `upstreams` list.
//!
//! Format (classic): one `[UPSTREAM]` section with `name`, then `[NODE]` sections with `name`,
//! `host`, `port`; `#` comments. Invariants: every problem is reported with the upstream file's
//! line; a node key firelane would have to honour but cannot (TLS, shared key) is refused, not
//! dropped; nothing panics on any text.

use std::path::Path;
use std::sync::Arc;

use super::doc::{Files, Findings, Origin};
use super::translate::Translated;

/// Replaces `upstream = <path>` in every forward output of `t` with `upstreams = [...]` read from
/// that file.
pub fn expand(t: &mut Translated, files: &dyn Files, findings: &mut Findings) {
    let Some(toml::Value::Array(outputs)) = t.table.get_mut("outputs") else {
        return;
    };
    for (i, output) in outputs.iter_mut().enumerate() {
        let toml::Value::Table(table) = output else {
            continue;
        };
        if table.get("name").and_then(toml::Value::as_str) != Some("forward") {
            continue;
        }
        let Some(toml::Value::String(path)) = table.remove("upstream") else {
            continue;
        };
        let key_path = format!("outputs[{i}].upstream");
        let at = t.locations.get(&key_path).cloned();
        let text = match files.read(Path::new(&path)) {
            Ok(text) => text,
            Err(e) => {
                if let Some((origin, raw)) = &at {
                    findings.errors.push(
                        origin.problem(raw, format!("cannot read the upstream file {path}: {e}")),
                    );
                }
                continue;
            }
        };
        let shown: Arc<str> = path.as_str().into();
        let nodes = read_nodes(&text, &shown, findings);
        if nodes.is_empty() {
            if let Some((origin, raw)) = &at {
                findings.errors.push(origin.problem(
                    raw,
                    format!("the upstream file {path} has no [NODE] with a host"),
                ));
            }
            continue;
        }
        table.insert("upstreams".to_owned(), toml::Value::Array(nodes));
        if let Some(at) = at {
            t.locations.insert(format!("outputs[{i}].upstreams"), at);
        }
    }
}

/// The `[NODE]` sections of `text` as `{ host, port }` tables.
fn read_nodes(text: &str, file: &Arc<str>, findings: &mut Findings) -> Vec<toml::Value> {
    let mut nodes: Vec<(Origin, toml::Table)> = Vec::new();
    let mut in_node = false;
    for (n, line) in text.lines().enumerate() {
        let at = Origin::new(file, n + 1);
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(name) = content.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let name = name.trim();
            in_node = name.eq_ignore_ascii_case("node");
            if in_node {
                nodes.push((at, toml::Table::new()));
            } else if !name.eq_ignore_ascii_case("upstream") {
                findings.errors.push(at.problem(
                    "",
                    format!("unknown section [{name}] in an upstream file; known: UPSTREAM, NODE"),
                ));
            }
            continue;
        }
        let (key, value) = match content.split_once([' ', '\t']) {
            Some((k, v)) => (k.to_ascii_lowercase(), v.trim()),
            None => (content.to_ascii_lowercase(), ""),
        };
        let Some((_, node)) = nodes.last_mut().filter(|_| in_node) else {
            // `[UPSTREAM] name` names the set; nothing in it changes what is delivered.
            continue;
        };
        match key.as_str() {
            "host" => {
                node.insert("host".to_owned(), toml::Value::String(value.to_owned()));
            }
            "port" => match value.parse::<u16>() {
                Ok(port) => {
                    node.insert("port".to_owned(), toml::Value::Integer(i64::from(port)));
                }
                Err(_) => findings
                    .errors
                    .push(at.problem(&key, format!("`{value}` is not a port"))),
            },
            "name" => {}
            _ => findings.errors.push(at.problem(
                &key,
                format!("`{key}` is not supported yet in an upstream node (only host and port)"),
            )),
        }
    }
    nodes
        .into_iter()
        .filter_map(|(at, node)| {
            if node.contains_key("host") {
                Some(toml::Value::Table(node))
            } else {
                findings
                    .errors
                    .push(at.problem("", "[NODE] without `host`"));
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_become_host_port_tables_and_problems_have_lines() {
        let text = "[UPSTREAM]\n    name  agg\n\n[NODE]\n    name n1\n    host 10.0.0.1\n    port 24224\n\
                    # a comment\n[NODE]\n    host agg-2\n[NODE]\n    port 99999\n    tls on\n";
        let mut findings = Findings::default();
        let file: Arc<str> = "up.conf".into();
        let nodes = read_nodes(text, &file, &mut findings);
        let want: Vec<toml::Value> = vec![
            toml::Value::Table(
                "host = \"10.0.0.1\"\nport = 24224"
                    .parse::<toml::Table>()
                    .unwrap(),
            ),
            toml::Value::Table("host = \"agg-2\"".parse::<toml::Table>().unwrap()),
        ];
        assert_eq!(nodes, want);
        let errors: Vec<String> = findings
            .errors
            .iter()
            .map(|p| format!("{}:{}: {}", p.origin, p.line.unwrap_or(0), p.message))
            .collect();
        assert_eq!(
            errors,
            [
                "up.conf:12: `99999` is not a port",
                "up.conf:13: `tls` is not supported yet in an upstream node (only host and port)",
                "up.conf:11: [NODE] without `host`",
            ]
        );
    }
}
