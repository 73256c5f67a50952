//! docs/reference/config.md against the config structs: every key serde accepts is listed under
//! its component's heading, and every key listed there is one serde accepts. A key added to a
//! struct without its line in the reference, or a line left for a key that is gone, fails here.

use serde::de::DeserializeOwned;

use super::filter::{
    EcsConfig, MultilineFilterConfig, MultilineParserConfig, NestConfig, ParserConfig,
    ParserFilterConfig, RewriteTagConfig, ThrottleConfig,
};
use super::filter::{FILTER_PLUGINS, GrepConfig, ModifyConfig, RecordModifierConfig};
use super::forward_auth::ForwardSecurity;
use super::load::{INPUT_PLUGINS, OUTPUT_PLUGINS};
use super::model::{
    Config, FileOutputConfig, ForwardInputConfig, NullOutputConfig, ServiceConfig,
    StdoutOutputConfig, TcpInputConfig,
};
use super::output::cloudwatch::CloudWatchOutputConfig;
use super::output::forward::{ForwardOutputConfig, UpstreamConfig};
use super::output::s3::S3OutputConfig;
use super::section::struct_fields;
use super::storage::{InputStorage, ServiceStorage};
use super::tls::{ClientTls, ServerTls};

const REFERENCE: &str = "docs/reference/config.md";

fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    struct_fields::<T>().expect("a struct with named fields")
}

/// A component's keys as the reference writes them: a field holding a table (`storage`, `tls`,
/// `security`) becomes its dotted keys (`storage.type`), a field holding a list of tables
/// (`upstreams`) is listed itself and followed by `upstreams[].host`.
fn keys(own: &[&str], tables: &[(&str, &[&str])], lists: &[(&str, &[&str])]) -> Vec<String> {
    let mut out = Vec::new();
    for field in own {
        if let Some((_, sub)) = tables.iter().find(|(t, _)| t == field) {
            out.extend(sub.iter().map(|s| format!("{field}.{s}")));
        } else {
            out.push((*field).to_owned());
            if let Some((_, sub)) = lists.iter().find(|(l, _)| l == field) {
                out.extend(sub.iter().map(|s| format!("{field}[].{s}")));
            }
        }
    }
    out
}

/// The text under a chain of headings: `["## [[inputs]]", "### tcp"]` is the `tcp` section inside
/// the inputs section, up to the next heading of the same or a higher level.
fn section<'a>(doc: &'a str, path: &[&str]) -> Option<&'a str> {
    let mut text = doc;
    for heading in path {
        let level = heading.chars().take_while(|c| *c == '#').count();
        let start = text
            .match_indices(heading)
            .find(|(i, m)| {
                (*i == 0 || text.as_bytes()[i - 1] == b'\n')
                    && text[i + m.len()..].starts_with('\n')
            })?
            .0
            + heading.len();
        let rest = &text[start..];
        let end = rest
            .match_indices("\n#")
            .map(|(i, _)| i)
            .find(|&i| {
                let hashes = rest[i + 1..].chars().take_while(|c| *c == '#').count();
                hashes <= level && rest[i + 1 + hashes..].starts_with(' ')
            })
            .unwrap_or(rest.len());
        text = &rest[..end];
    }
    Some(text)
}

/// The keys a section's table rows name: the first cell of every `| \`key\` | ...` row.
fn listed(section: &str) -> Vec<&str> {
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(key, _)| key))
        .collect()
}

struct Component {
    path: Vec<String>,
    keys: Vec<String>,
}

fn component(path: &[&str], keys: Vec<String>) -> Component {
    Component {
        path: path.iter().map(|s| (*s).to_owned()).collect(),
        keys,
    }
}

fn plain(own: &[&str]) -> Vec<String> {
    keys(own, &[], &[])
}

fn components() -> Vec<Component> {
    let server_tables: &[(&str, &[&str])] = &[
        ("storage", fields::<InputStorage>()),
        ("tls", fields::<ServerTls>()),
        ("security", fields::<ForwardSecurity>()),
    ];
    let input = |plugin| vec!["## [[inputs]]".to_owned(), format!("### {plugin}")];
    let filter = |plugin| vec!["## [[filters]]".to_owned(), format!("### {plugin}")];
    let output = |plugin| vec!["## [[outputs]]".to_owned(), format!("### {plugin}")];
    let at = |p: Vec<String>, keys| Component { path: p, keys };
    vec![
        component(&["## Top level"], {
            // `filters` is read by the loader itself (each entry by its plugin's struct).
            let mut k = plain(fields::<Config>());
            k.push("filters".to_owned());
            k
        }),
        component(
            &["## [service]"],
            keys(
                fields::<ServiceConfig>(),
                &[("storage", fields::<ServiceStorage>())],
                &[],
            ),
        ),
        at(
            input("forward"),
            keys(fields::<ForwardInputConfig>(), server_tables, &[]),
        ),
        at(
            input("tcp"),
            keys(fields::<TcpInputConfig>(), server_tables, &[]),
        ),
        at(filter("grep"), plain(fields::<GrepConfig>())),
        at(filter("modify"), plain(fields::<ModifyConfig>())),
        at(
            filter("record_modifier"),
            plain(fields::<RecordModifierConfig>()),
        ),
        at(filter("nest"), plain(fields::<NestConfig>())),
        at(filter("parser"), plain(fields::<ParserFilterConfig>())),
        at(filter("throttle"), plain(fields::<ThrottleConfig>())),
        at(filter("rewrite_tag"), plain(fields::<RewriteTagConfig>())),
        at(filter("ecs"), plain(fields::<EcsConfig>())),
        at(
            filter("multiline"),
            plain(fields::<MultilineFilterConfig>()),
        ),
        component(&["## [[parsers]]"], plain(fields::<ParserConfig>())),
        component(
            &["## [[multiline_parsers]]"],
            plain(fields::<MultilineParserConfig>()),
        ),
        at(output("stdout"), plain(fields::<StdoutOutputConfig>())),
        at(output("file"), plain(fields::<FileOutputConfig>())),
        at(output("null"), plain(fields::<NullOutputConfig>())),
        at(
            output("cloudwatch_logs"),
            plain(fields::<CloudWatchOutputConfig>()),
        ),
        at(output("s3"), plain(fields::<S3OutputConfig>())),
        at(
            output("forward"),
            keys(
                fields::<ForwardOutputConfig>(),
                &[("tls", fields::<ClientTls>())],
                &[("upstreams", fields::<UpstreamConfig>())],
            ),
        ),
    ]
}

fn reference() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(REFERENCE);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_key_is_in_the_reference_under_its_component_and_nothing_else_is() {
    let doc = reference();
    let mut problems = Vec::new();
    for c in components() {
        let path: Vec<&str> = c.path.iter().map(String::as_str).collect();
        let Some(text) = section(&doc, &path) else {
            problems.push(format!("{REFERENCE}: no section {path:?}"));
            continue;
        };
        let rows = listed(text);
        for key in &c.keys {
            if !rows.contains(&key.as_str()) {
                problems.push(format!("{path:?}: `{key}` is not listed"));
            }
        }
        for row in rows {
            if !c.keys.iter().any(|k| k == row) {
                problems.push(format!("{path:?}: `{row}` is listed but is not a key"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_plugin_has_its_section_in_the_reference() {
    let names: Vec<Vec<String>> = components().into_iter().map(|c| c.path).collect();
    let has = |section: &str, plugin: &str| {
        names
            .iter()
            .any(|p| p.len() == 2 && p[0] == section && p[1] == format!("### {plugin}"))
    };
    for &plugin in INPUT_PLUGINS {
        assert!(has("## [[inputs]]", plugin), "input {plugin}: add it here");
    }
    for &plugin in FILTER_PLUGINS {
        assert!(
            has("## [[filters]]", plugin),
            "filter {plugin}: add it here"
        );
    }
    for &plugin in OUTPUT_PLUGINS {
        // `cloudwatch` is another name of `cloudwatch_logs`.
        let plugin = if plugin == "cloudwatch" {
            "cloudwatch_logs"
        } else {
            plugin
        };
        assert!(
            has("## [[outputs]]", plugin),
            "output {plugin}: add it here"
        );
    }
}

#[test]
fn sections_end_at_the_next_heading_of_their_level() {
    let doc = "# T\n## a\nx\n### b\n| `k` | 1 |\n### c\n| `j` | 2 |\n## d\n| `m` |\n";
    assert_eq!(section(doc, &["## a", "### b"]), Some("\n| `k` | 1 |"));
    assert_eq!(listed(section(doc, &["## a", "### c"]).unwrap()), ["j"]);
    assert_eq!(section(doc, &["## a", "### d"]), None);
    assert_eq!(listed(section(doc, &["## d"]).unwrap()), ["m"]);
}
