//! ECS task metadata on every record, like Fluent Bit's `ecs` filter, but read once from the task
//! metadata endpoint v4 (`$ECS_CONTAINER_METADATA_URI_V4/task`, see [`crate::ecs`]) so it works on
//! Fargate as well as EC2.
//!
//! `ADD KEY VALUE` rules (repeatable) name a record key and a value template in which
//! `$ClusterName`, `$TaskID`, `$TaskARN`, `$TaskDefinitionFamily` and `$TaskDefinitionVersion`
//! (Fluent Bit's names) and our `$TaskDefinition` (`family:revision`), `$LaunchType`,
//! `$AvailabilityZone` and `$ServiceName` are replaced; any other text is kept as written. Without
//! rules the keys are `ecs_cluster`, `ecs_task_arn`, `ecs_task_id`, `ecs_task_definition`,
//! `ecs_launch_type` and `ecs_availability_zone`. Fluent Bit's per-container and per-instance
//! variables (`$ECSContainerName`, `$ContainerID`, `$ContainerInstanceArn`, ...) come from the EC2
//! agent's introspection API, which a task cannot read: they are refused at configuration time.
//!
//! Invariants: rules are checked before any metadata is fetched ([`EcsRules::parse`]); values are
//! rendered and msgpack-encoded once ([`EcsRules::render`]), so a record costs one scan of its
//! keys and one copy. A rule whose template uses a value the endpoint did not report (the
//! availability zone on older platforms, for instance) adds nothing. A key the record already has
//! is not added again (the record's own value is kept); a record that is not a map, or has every
//! key already, is left unchanged.

/// The filter's template variables.
pub mod metadata;

use thiserror::Error;

use super::RecordOutcome;
use crate::msgpack::reader::{MapEntries, key_eq};
use crate::msgpack::writer::{write_map_len, write_str};

use crate::ecs::task::TaskMetadata;
use metadata::{UNSUPPORTED, Variable};

/// Most `ADD` rules one filter takes (present keys are tracked in a 64-bit mask).
pub const MAX_ADD_RULES: usize = 64;

/// Why the `ecs` configuration cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EcsError {
    #[error("`{0}`: an ADD rule needs a key and a value separated by a space")]
    AddWithoutValue(String),
    #[error("ADD rule `{rule}`: unknown variable `${var}`")]
    UnknownVariable { rule: String, var: String },
    #[error(
        "ADD rule `{rule}`: `${var}` comes from the EC2 agent introspection API, which firelane does not read (only task-level metadata is available)"
    )]
    UnsupportedVariable { rule: String, var: String },
    #[error("ADD key `{0}` is given twice")]
    DuplicateKey(String),
    #[error("at most {MAX_ADD_RULES} ADD rules are supported")]
    TooManyRules,
}

/// A piece of a value template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Variable),
}

/// Checked `ADD` rules, waiting for the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsRules {
    rules: Vec<(String, Vec<Piece>)>,
}

/// The keys added when no `ADD` rule is configured.
const DEFAULT_RULES: &[&str] = &[
    "ecs_cluster $ClusterName",
    "ecs_task_arn $TaskARN",
    "ecs_task_id $TaskID",
    "ecs_task_definition $TaskDefinition",
    "ecs_launch_type $LaunchType",
    "ecs_availability_zone $AvailabilityZone",
];

impl EcsRules {
    /// `add` holds Fluent Bit `ADD` values, `KEY VALUE` (split at the first space); an empty list
    /// means the default keys.
    pub fn parse(add: &[String]) -> Result<Self, EcsError> {
        if add.len() > MAX_ADD_RULES {
            return Err(EcsError::TooManyRules);
        }
        let defaults: Vec<String>;
        let add = if add.is_empty() {
            defaults = DEFAULT_RULES.iter().map(|r| (*r).to_owned()).collect();
            &defaults
        } else {
            add
        };
        let mut rules: Vec<(String, Vec<Piece>)> = Vec::with_capacity(add.len());
        for rule in add {
            let (key, value) = rule
                .trim()
                .split_once(char::is_whitespace)
                .ok_or_else(|| EcsError::AddWithoutValue(rule.clone()))?;
            if rules.iter().any(|(k, _)| k == key) {
                return Err(EcsError::DuplicateKey(key.to_owned()));
            }
            rules.push((key.to_owned(), parse_template(rule, value.trim_start())?));
        }
        Ok(Self { rules })
    }

    /// Renders every rule with `meta` into the filter (rules whose values are missing are dropped).
    pub fn render(&self, meta: &TaskMetadata) -> EcsFilter {
        let mut encoded = Vec::new();
        let mut pairs = Vec::new();
        'rules: for (key, pieces) in &self.rules {
            let mut value = String::new();
            for piece in pieces {
                match piece {
                    Piece::Text(t) => value.push_str(t),
                    Piece::Var(v) => match v.value(meta) {
                        Some(s) => value.push_str(&s),
                        None => continue 'rules,
                    },
                }
            }
            let start = encoded.len();
            write_str(&mut encoded, key.as_bytes());
            write_str(&mut encoded, value.as_bytes());
            pairs.push(Pair {
                key: key.as_bytes().into(),
                encoded: start..encoded.len(),
            });
        }
        EcsFilter {
            pairs,
            encoded,
            variables: metadata::variables(meta),
        }
    }
}

/// Splits a template into text and variables; `$` not followed by a name is plain text.
fn parse_template(rule: &str, value: &str) -> Result<Vec<Piece>, EcsError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        if name.is_empty() {
            text.push('$');
        } else {
            let var = Variable::ALL.iter().find(|v| v.name() == name);
            let Some(&var) = var else {
                let (rule, var) = (rule.to_owned(), name.to_owned());
                return Err(if UNSUPPORTED.contains(&name) {
                    EcsError::UnsupportedVariable { rule, var }
                } else {
                    EcsError::UnknownVariable { rule, var }
                });
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Var(var));
        }
        rest = &after[name_len..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// One rendered key/value pair.
#[derive(Debug, Clone)]
struct Pair {
    key: Box<[u8]>,
    /// Range of the msgpack key and value in `EcsFilter::encoded`.
    encoded: std::ops::Range<usize>,
}

/// The `ecs` filter with its values rendered.
#[derive(Debug, Clone)]
pub struct EcsFilter {
    pairs: Vec<Pair>,
    encoded: Vec<u8>,
    variables: Vec<(String, String)>,
}

impl EcsFilter {
    /// Appends the keys `record` lacks; a replacement goes to `out` (cleared first).
    pub fn apply(&self, record: &[u8], out: &mut Vec<u8>) -> RecordOutcome {
        let Some(entries) = MapEntries::new(record) else {
            return RecordOutcome::Unchanged;
        };
        let (n, body) = (entries.len(), entries.pos());
        let mut present: u64 = 0;
        let mut p = body;
        for entry in entries {
            let Ok(e) = entry else {
                return RecordOutcome::Unchanged;
            };
            if let Some(k) = e.key {
                for (i, pair) in self.pairs.iter().enumerate() {
                    present |= u64::from(key_eq(&pair.key, k)) << i;
                }
            }
            p = e.end;
        }
        let all = if self.pairs.len() == 64 {
            u64::MAX
        } else {
            (1u64 << self.pairs.len()) - 1
        };
        let missing = all & !present;
        if missing == 0 {
            return RecordOutcome::Unchanged;
        }
        out.clear();
        write_map_len(out, n + missing.count_ones());
        out.extend_from_slice(&record[body..p]);
        for (i, pair) in self.pairs.iter().enumerate() {
            if missing & (1 << i) != 0 {
                out.extend_from_slice(&self.encoded[pair.encoded.clone()]);
            }
        }
        RecordOutcome::Replaced
    }

    /// Every template variable with a value (name without `$`, value).
    pub fn variables(&self) -> &[(String, String)] {
        &self.variables
    }
}

#[cfg(test)]
mod tests;
