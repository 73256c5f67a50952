//! Multiline parser definitions: user regex rules as in Fluent Bit's `[MULTILINE_PARSER]`
//! (`rule "<from states>" "/<regex>/" "<next state>"`, first state `start_state`), and the
//! built-ins `java`, `python`, `go` (stack traces), `docker` and `cri` (container log pieces).
//!
//! `docker` and `cri` in Fluent Bit parse container log *files*. Over Forward the log line is
//! already a map, so here they work on its keys: `docker` joins `log` values until one ends with
//! `\n` (Docker's JSON-file format cuts long lines into pieces without it); `cri` joins `log`
//! values while the CRI partial flag `_p` is `P`, ending on `F`. Both group per `stream`.
//!
//! Invariant: a compiled parser always has at least one `start_state` rule.

use crate::onigmo::{self, Pattern};
use thiserror::Error;

/// The state every regex parser starts in (Fluent Bit's name).
pub const START_STATE: &str = "start_state";

/// One regex rule: in any of `from` states, a line matching `regex` moves to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDef {
    /// State names the rule applies in (Fluent Bit allows a comma-separated list).
    pub from: Vec<String>,
    /// The pattern, a Fluent Bit regex (usually written `/.../`, see [`crate::onigmo`]).
    pub regex: String,
    /// The state after a match.
    pub to: String,
}

impl RuleDef {
    /// A rule from Fluent Bit's three strings; `from` may list states separated by commas.
    pub fn new(from: &str, regex: &str, to: &str) -> Self {
        Self {
            from: from.split(',').map(|s| s.trim().to_owned()).collect(),
            regex: regex.to_owned(),
            to: to.trim().to_owned(),
        }
    }

    /// Parses a `rule` value as written in a `[MULTILINE_PARSER]`: three double-quoted strings
    /// (from states, regex, next state). A quoted string ends at a `"` followed by a space or
    /// the end, so a regex may itself contain quotes. `None` if it is not three such strings.
    pub fn parse(line: &str) -> Option<Self> {
        let mut rest = line.trim();
        let mut parts = Vec::with_capacity(3);
        while !rest.is_empty() {
            let body = rest.strip_prefix('"')?;
            let bytes = body.as_bytes();
            let end = (0..bytes.len()).find(|&i| {
                bytes[i] == b'"' && bytes.get(i + 1).is_none_or(|c| c.is_ascii_whitespace())
            })?;
            parts.push(&body[..end]);
            rest = body[end + 1..].trim_start();
        }
        match parts[..] {
            [from, regex, to] if !from.trim().is_empty() && !to.trim().is_empty() => {
                Some(Self::new(from, regex, to))
            }
            _ => None,
        }
    }
}

/// How a parser decides that a line continues the open group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParserKind {
    /// A state machine of regex rules (`type regex`).
    Regex(Vec<RuleDef>),
    /// Join until the content ends with `suffix` (Fluent Bit's `endswith`; `docker`).
    EndsWith { suffix: Vec<u8> },
    /// Join while the string key `flag_key` differs from `final_value` (Fluent Bit's `equal`;
    /// `cri`). `flag_key` is removed from joined records.
    Flag {
        flag_key: String,
        final_value: Vec<u8>,
    },
}

/// One multiline parser, built in or user defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserDef {
    /// The name `multiline.parser` refers to.
    pub name: String,
    /// How it decides that lines belong together.
    pub kind: ParserKind,
    /// Records with different values of this key never join (`stream` for docker and cri).
    pub key_group: Option<String>,
    /// `flush_timeout` of a `[MULTILINE_PARSER]`: a group this parser opened is emitted after
    /// this long instead of the filter's `flush_ms` (`None`: use `flush_ms`).
    pub flush_timeout_ms: Option<u64>,
}

impl ParserDef {
    /// A user `[MULTILINE_PARSER]` of `type regex`: `rules` are the `rule` values as written,
    /// `"<from states>" "/<regex>/" "<next state>"`. Regexes are checked when the filter is built.
    pub fn regex(
        name: &str,
        rules: &[String],
        flush_timeout_ms: Option<u64>,
    ) -> Result<Self, RulesError> {
        let rules = rules
            .iter()
            .enumerate()
            .map(|(index, line)| {
                RuleDef::parse(line).ok_or_else(|| RulesError::BadRule {
                    parser: name.to_owned(),
                    index: index + 1,
                    line: line.clone(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if rules.is_empty() {
            return Err(RulesError::NoStartRule(name.to_owned()));
        }
        Ok(Self {
            name: name.to_owned(),
            kind: ParserKind::Regex(rules),
            key_group: None,
            flush_timeout_ms,
        })
    }
}

/// A `multiline.parser` name that is not built in.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown built-in multiline parser {0:?} (known: java, python, go, docker, cri)")]
pub struct BuiltinError(pub String);

/// A regex parser that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RulesError {
    /// A rule's regex does not compile (`index` counts rules from 1).
    #[error("multiline parser {parser:?}: rule {index} regex: {message}")]
    Regex {
        parser: String,
        index: usize,
        message: String,
    },
    /// No rule applies in `start_state`, so no group could ever start.
    #[error("multiline parser {0:?} has no rule from start_state")]
    NoStartRule(String),
    /// A `rule` value that is not three quoted strings (`index` counts rules from 1).
    #[error(
        "multiline parser {parser:?}: rule {index} `{line}` is not three quoted strings \"state\" \"/regex/\" \"next_state\""
    )]
    BadRule {
        parser: String,
        index: usize,
        line: String,
    },
}

/// The built-in parser `name`.
pub fn builtin(name: &str) -> Result<ParserDef, BuiltinError> {
    let (kind, key_group) = match name {
        "java" => (ParserKind::Regex(java_rules()), None),
        "python" => (ParserKind::Regex(python_rules()), None),
        "go" => (ParserKind::Regex(go_rules()), None),
        "docker" => (
            ParserKind::EndsWith {
                suffix: b"\n".to_vec(),
            },
            Some("stream".to_owned()),
        ),
        "cri" => (
            ParserKind::Flag {
                flag_key: "_p".to_owned(),
                final_value: b"F".to_vec(),
            },
            Some("stream".to_owned()),
        ),
        other => return Err(BuiltinError(other.to_owned())),
    };
    Ok(ParserDef {
        name: name.to_owned(),
        kind,
        key_group,
        flush_timeout_ms: None,
    })
}

// The stack-trace rule sets follow the patterns of Google's fluent-plugin-detect-exceptions,
// which Fluent Bit's built-ins also use.
fn java_rules() -> Vec<RuleDef> {
    let any = "java_after_exception, java";
    vec![
        RuleDef::new(
            "start_state, java_start_exception",
            r"(.)(?:Exception|Error|Throwable|V8 errors stack trace)[:\r\n]",
            "java_after_exception",
        ),
        RuleDef::new(
            "java_after_exception",
            r"^[\t ]*nested exception is:[\t ]*",
            "java_start_exception",
        ),
        RuleDef::new("java_after_exception", r"^[\r\n]*$", "java_after_exception"),
        RuleDef::new(any, r"^[\t ]+(?:eval )?at ", "java"),
        RuleDef::new(
            any,
            r"^[\t ]+--- End of inner exception stack trace ---$",
            "java",
        ),
        RuleDef::new(
            any,
            r"^--- End of stack trace from previous location where exception was thrown ---$",
            "java",
        ),
        RuleDef::new(
            any,
            r"^[\t ]*(?:Caused by|Suppressed):",
            "java_after_exception",
        ),
        RuleDef::new(
            any,
            r"^[\t ]*... \d+ (?:more|common frames omitted)",
            "java",
        ),
    ]
}

fn python_rules() -> Vec<RuleDef> {
    vec![
        RuleDef::new(
            START_STATE,
            r"^Traceback \(most recent call last\):$",
            "python",
        ),
        RuleDef::new("python", r"^[\t ]+File ", "python_code"),
        RuleDef::new("python_code", r"[^\t ]", "python"),
        RuleDef::new("python", r"^(?:[^\s.():]+\.)*[^\s.():]+:", START_STATE),
    ]
}

fn go_rules() -> Vec<RuleDef> {
    vec![
        RuleDef::new(START_STATE, r"\bpanic: ", "go_after_panic"),
        RuleDef::new(START_STATE, r"http: panic serving", "go_goroutine"),
        RuleDef::new(
            "go_after_panic, go_after_signal, go_frame_1",
            r"^$",
            "go_goroutine",
        ),
        RuleDef::new("go_after_panic", r"^\[signal ", "go_after_signal"),
        RuleDef::new("go_goroutine", r"^goroutine \d+ \[[^\]]+\]:$", "go_frame_1"),
        RuleDef::new(
            "go_frame_1",
            r"^(?:[^\s.:]+\.)*[^\s.():]+\(|^created by ",
            "go_frame_2",
        ),
        RuleDef::new("go_frame_2", r"^\s", "go_frame_1"),
    ]
}

/// A state index; 0 is `start_state`.
pub(crate) type StateId = usize;

/// A compiled regex rule.
#[derive(Debug)]
pub(crate) struct Rule {
    from: Vec<StateId>,
    regex: Pattern,
    to: StateId,
}

/// Compiled regex rules of one parser.
#[derive(Debug)]
pub(crate) struct RuleMachine {
    rules: Vec<Rule>,
}

impl RuleMachine {
    /// Compiles `defs`; state names are interned in order of appearance after `start_state`.
    pub fn compile(parser: &str, defs: &[RuleDef]) -> Result<Self, RulesError> {
        let mut names: Vec<String> = vec![START_STATE.to_owned()];
        let mut rules = Vec::with_capacity(defs.len());
        for (index, def) in defs.iter().enumerate() {
            let regex = onigmo::compile(&def.regex).map_err(|e| RulesError::Regex {
                parser: parser.to_owned(),
                index: index + 1,
                message: e.reason,
            })?;
            let from = def.from.iter().map(|s| intern(&mut names, s)).collect();
            let to = intern(&mut names, &def.to);
            rules.push(Rule { from, regex, to });
        }
        if !rules.iter().any(|r| r.from.contains(&0)) {
            return Err(RulesError::NoStartRule(parser.to_owned()));
        }
        Ok(Self { rules })
    }

    /// The next state if a rule from `state` matches `line`, the first matching rule winning.
    /// The line is matched as it is, trailing `\n` included, as Fluent Bit does (`$` matches
    /// before a `\n`).
    pub fn step(&self, state: StateId, line: &[u8]) -> Option<StateId> {
        self.rules
            .iter()
            .find(|r| r.from.contains(&state) && r.regex.is_match(line))
            .map(|r| r.to)
    }
}

fn intern(names: &mut Vec<String>, name: &str) -> StateId {
    let name = name.trim();
    if let Some(i) = names.iter().position(|n| n == name) {
        return i;
    }
    names.push(name.to_owned());
    names.len() - 1
}
