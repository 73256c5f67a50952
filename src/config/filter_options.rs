//! Options of the `nest`, `parser`, `throttle`, `rewrite_tag` and `ecs` filters, and the
//! `[[parsers]]` definitions (see `filters.rs` for the others and for loading).

use std::time::Duration;

use serde::Deserialize;

use super::common::entry_options;
use super::filters::StringList;
use super::units::Flag;
use crate::filter::ecs::EcsRules;
use crate::filter::multiline::{MultilineConfig, MultilineFilter, ParserDef as MlParserDef};
use crate::filter::nest::Nest;
use crate::filter::parser::{ParserDef, ParserFilter, ParserSet};
use crate::filter::rewrite_tag::RewriteTag;
use crate::filter::throttle::{DEFAULT_INTERVAL, DEFAULT_WINDOW, Throttle, parse_interval};

entry_options! {
    /// `name = "nest"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct NestConfig ["nest"] {
        /// `nest` (move matching keys into a map) or `lift` (move a map's entries to the top).
        #[serde(default)]
        pub operation: String,
        /// nest: keys to move, `*` at the end matching any suffix.
        #[serde(default)]
        pub wildcard: StringList,
        /// nest: the key of the new map.
        pub nest_under: Option<String>,
        /// lift: the key of the map whose entries move up.
        pub nested_under: Option<String>,
        /// A prefix added to the moved keys.
        pub add_prefix: Option<String>,
        /// A prefix removed from the moved keys.
        pub remove_prefix: Option<String>,
    }
}

impl NestConfig {
    pub fn build(&self) -> Result<Nest, String> {
        Nest::new(
            &self.operation,
            &self.wildcard.0,
            self.nest_under.as_deref(),
            self.nested_under.as_deref(),
            self.add_prefix.as_deref(),
            self.remove_prefix.as_deref(),
        )
        .map_err(|e| e.to_string())
    }
}

entry_options! {
    /// `name = "parser"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ParserFilterConfig ["parser"] {
        /// The field whose text is parsed (e.g. `log`).
        #[serde(default)]
        pub key_name: String,
        /// Parser names (built-in, `[[parsers]]` or a parsers file), tried in order; the first that
        /// matches wins. No match leaves the record as it was.
        #[serde(default)]
        pub parser: StringList,
        /// Keep the record's other fields (default false: the record becomes the parsed fields).
        #[serde(default)]
        pub reserve_data: Flag,
        /// Keep the parsed field itself (default false).
        #[serde(default)]
        pub preserve_key: Flag,
    }
}

impl ParserFilterConfig {
    pub fn build(&self, set: &ParserSet) -> Result<ParserFilter, String> {
        ParserFilter::new(
            &self.key_name,
            &self.parser.0,
            self.reserve_data.0,
            self.preserve_key.0,
            set,
        )
        .map_err(|e| e.to_string())
    }
}

/// One `[[parsers]]` definition (Fluent Bit's `[PARSER]` section).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParserConfig {
    /// The name `parser` filters use.
    #[serde(default)]
    pub name: String,
    /// `json`, `regex` or `logfmt`.
    #[serde(default)]
    pub format: String,
    /// regex: the pattern with named groups, `(?<name>...)`.
    pub regex: Option<String>,
    /// The field holding the time (default `time` when `time_format` is set).
    pub time_key: Option<String>,
    /// strptime-like format of the time field (`%Y-%m-%dT%H:%M:%S.%L%z`).
    pub time_format: Option<String>,
    /// A fixed UTC offset for times without a zone (`+0200`).
    pub time_offset: Option<String>,
    /// Keep the time field in the record (default false).
    #[serde(default)]
    pub time_keep: Flag,
    /// Conversions, `name:integer name2:float name3:bool`.
    pub types: Option<String>,
    /// regex: leave out empty captures (default true).
    pub skip_empty_values: Option<Flag>,
}

impl ParserConfig {
    pub fn def(&self) -> ParserDef {
        let mut d = ParserDef::new(self.name.clone(), self.format.clone());
        d.regex = self.regex.clone();
        d.time_key = self.time_key.clone();
        d.time_format = self.time_format.clone();
        d.time_offset = self.time_offset.clone();
        d.time_keep = self.time_keep.0;
        d.types = self.types.clone();
        if let Some(skip) = self.skip_empty_values {
            d.skip_empty_values = skip.0;
        }
        d
    }
}

entry_options! {
    /// `name = "throttle"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ThrottleConfig ["throttle"] {
        /// Records allowed per interval, averaged over the window.
        #[serde(default)]
        pub rate: u64,
        /// Intervals in the sliding window (default 5).
        pub window: Option<u32>,
        /// Length of one interval: `1s` (default), `500ms`, `1m`, `1h`.
        pub interval: Option<String>,
        /// Log the current rate every interval (default false).
        #[serde(default)]
        pub print_status: Flag,
    }
}

impl ThrottleConfig {
    pub fn build(&self) -> Result<Throttle, String> {
        let interval = match &self.interval {
            Some(i) => parse_interval(i).map_err(|e| e.to_string())?,
            None => DEFAULT_INTERVAL,
        };
        Throttle::new(self.rate, self.window.unwrap_or(DEFAULT_WINDOW), interval)
            .map_err(|e| e.to_string())
    }
}

entry_options! {
    /// `name = "rewrite_tag"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RewriteTagConfig ["rewrite_tag"] {
        /// `KEY REGEX NEW_TAG KEEP`: a record whose KEY matches REGEX is re-emitted under NEW_TAG
        /// (`$1`, `$TAG`, `$TAG[n]`, `${field}`), and kept under its old tag if KEEP is true.
        #[serde(default)]
        pub rule: StringList,
        /// Fluent Bit's emitter name: accepted, not needed (re-emitted records go through the chain).
        pub emitter_name: Option<String>,
    }
}

impl RewriteTagConfig {
    pub fn build(&self) -> Result<RewriteTag, String> {
        RewriteTag::new(&self.rule.0).map_err(|e| e.to_string())
    }
}

entry_options! {
    /// `name = "ecs"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct EcsConfig ["ecs"] {
        /// `KEY $Variable` rules (`$ClusterName`, `$TaskID`, `$TaskARN`, `$TaskDefinitionFamily`,
        /// `$TaskDefinitionVersion`, `$TaskDefinition`, `$LaunchType`, `$AvailabilityZone`,
        /// `$ServiceName`). Default: ecs_cluster, ecs_task_arn, ecs_task_id, ecs_task_definition,
        /// ecs_launch_type, ecs_availability_zone.
        #[serde(default)]
        pub add: StringList,
        /// Task metadata endpoint (default: `$ECS_CONTAINER_METADATA_URI_V4`, read once at start for
        /// the whole process, 5 attempts 1s apart; unset disables the filter).
        pub metadata_uri: Option<String>,
        /// Attempts to read `metadata_uri` at start (default 5).
        pub retries: Option<u32>,
        /// Wait between attempts on `metadata_uri` (default 1s).
        pub retry_interval: Option<super::units::DurationValue>,
    }
}

impl EcsConfig {
    pub fn rules(&self) -> Result<EcsRules, String> {
        EcsRules::parse(&self.add.0).map_err(|e| e.to_string())
    }

    pub fn attempts(&self) -> u32 {
        self.retries.unwrap_or(5).max(1)
    }

    pub fn retry_delay(&self) -> Duration {
        self.retry_interval.map_or(Duration::from_secs(1), |d| d.0)
    }
}

entry_options! {
    /// `name = "multiline"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct MultilineFilterConfig ["multiline"] {
        /// `parser` (default: join lines with `multiline_parser`) or `partial_message` (reassemble
        /// Docker's 16 KiB pieces).
        pub mode: Option<String>,
        /// Fluent Bit's `multiline.parser`: comma-separated names, built-in (`java`, `python`, `go`,
        /// `docker`, `cri`) or `[[multiline_parsers]]` / `[MULTILINE_PARSER]`.
        pub multiline_parser: Option<String>,
        /// Fluent Bit's `multiline.key_content`: the field holding the text (default `log`).
        pub key_content: Option<String>,
        /// An unfinished group is emitted after this many milliseconds (default 2000).
        pub flush_ms: Option<u64>,
        /// Largest text of one joined record; more is emitted as a record of its own (default 2MiB).
        pub max_group_bytes: Option<super::units::ByteSize>,
        /// Most bytes held in unfinished groups; past it the oldest are emitted (default 16MiB).
        pub max_total_bytes: Option<super::units::ByteSize>,
    }
}

impl MultilineFilterConfig {
    pub fn build(&self, user: &[MlParserDef]) -> Result<MultilineFilter, String> {
        let mut config = MultilineConfig::default();
        if let Some(k) = &self.key_content {
            config.key_content = k.clone();
        }
        if let Some(ms) = self.flush_ms {
            config.flush_ms = ms;
        }
        if let Some(b) = self.max_group_bytes {
            config.max_group_bytes = b.as_usize();
        }
        if let Some(b) = self.max_total_bytes {
            config.max_total_bytes = b.as_usize();
        }
        MultilineFilter::new(
            self.mode.as_deref(),
            self.multiline_parser.as_deref(),
            user,
            config,
        )
        .map_err(|e| e.to_string())
    }
}

/// One `[[multiline_parsers]]` definition (Fluent Bit's `[MULTILINE_PARSER]`, type regex).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilineParserConfig {
    /// The name `multiline_parser` refers to.
    #[serde(default)]
    pub name: String,
    /// `regex` (the only type).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Milliseconds an unfinished group waits (default: the filter's `flush_ms`).
    pub flush_timeout: Option<u64>,
    /// Rules as Fluent Bit writes them: `"start_state" "/regex/" "cont"`.
    #[serde(default)]
    pub rule: StringList,
}

/// Where a problem with the parser definitions is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParserProblemAt {
    /// `[[parsers]]` entry `i`.
    Entry(usize),
    /// `[[multiline_parsers]]` entry `i`.
    Multiline(usize),
    /// `service.parsers_file` entry `i`.
    File(usize),
}

/// Every parser a config can refer to.
#[derive(Debug, Clone)]
pub struct Parsers {
    /// For the `parser` filter: built-ins plus the user's.
    pub set: ParserSet,
    /// User multiline parsers (the built-ins are looked up by the filter).
    pub multiline: Vec<MlParserDef>,
}

/// The built-in parsers plus the user's: `[[parsers]]` / `[[multiline_parsers]]` entries, then
/// parsers files (relative paths are taken from the working directory). Every problem is
/// returned.
pub fn parser_set(
    parsers: &[(usize, &ParserConfig)],
    multiline: &[(usize, &MultilineParserConfig)],
    files: &[String],
) -> (Parsers, Vec<(ParserProblemAt, String)>) {
    let mut set = ParserSet::with_builtins();
    let mut ml = Vec::new();
    let mut problems = Vec::new();
    for &(i, p) in parsers {
        if let Err(e) = set.add(&p.def()) {
            problems.push((ParserProblemAt::Entry(i), e.to_string()));
        }
    }
    for &(i, p) in multiline {
        let kind = p.kind.as_deref().unwrap_or("regex");
        let def = if kind.eq_ignore_ascii_case("regex") {
            MlParserDef::regex(&p.name, &p.rule.0, p.flush_timeout).map_err(|e| e.to_string())
        } else {
            Err(format!("type `{kind}` is not supported (only regex)"))
        };
        match def {
            Ok(d) => ml.push(d),
            Err(e) => problems.push((ParserProblemAt::Multiline(i), e)),
        }
    }
    for (i, f) in files.iter().enumerate() {
        match set.load_file(std::path::Path::new(f)) {
            Ok(defs) => {
                for d in defs {
                    let rules: Vec<String> = d
                        .rules
                        .iter()
                        .map(|r| format!("\"{}\" \"{}\" \"{}\"", r.state, r.regex, r.next_state))
                        .collect();
                    match MlParserDef::regex(&d.name, &rules, d.flush_timeout_ms) {
                        Ok(def) => ml.push(def),
                        Err(e) => problems.push((
                            ParserProblemAt::File(i),
                            format!("{}:{}: {e}", d.file, d.line),
                        )),
                    }
                }
            }
            Err(e) => problems.push((ParserProblemAt::File(i), e.to_string())),
        }
    }
    (Parsers { set, multiline: ml }, problems)
}
