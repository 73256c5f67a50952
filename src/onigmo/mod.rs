//! Fluent Bit's regular expressions: the one compile function and pattern type behind every
//! option that takes a Fluent Bit regex (parser `Regex`, grep `Regex`/`Exclude`, rewrite_tag
//! `Rule`, modify's `Remove_regex` and conditions, multiline `rule`s, `Match_Regex`).
//!
//! Fluent Bit compiles them with Onigmo in Ruby syntax (`src/flb_regex.c`: `ONIG_SYNTAX_RUBY`,
//! UTF-8, `/pattern/imx` delimiters and flags). Here a pattern is read with Onigmo's own rules
//! (`syntax.rs`, `group.rs`, `escape.rs`, `bracket.rs`, `class.rs`) and written for one of two
//! engines (`emit.rs`):
//! - the `regex` crate, for every pattern it can run with the same result (almost all: named
//!   groups, classes, `{`, `\h`, line anchors, laziness...). It never backtracks, so the hot path
//!   stays linear in the text;
//! - `fancy-regex`, a backtracking engine in pure Rust that hands every part without
//!   look-around to the `regex` crate, for what needs backtracking: look-ahead and look-behind
//!   (`container_firstline`), atomic groups, possessive quantifiers, back-references, `\K`, `\Z`,
//!   `\R`, a `^` after the start. We chose it over the `onig` crate (bindings to Oniguruma in C):
//!   no C library to build for every image target, no `unsafe` boundary, and Oniguruma is not
//!   Onigmo either (its `\d` and POSIX defaults differ), so the syntax would need translating
//!   anyway. Its step limit (1,000,000 backtracking steps) turns a runaway pattern into "no
//!   match" where Onigmo would spin.
//! [`Pattern::engine`] says which one a pattern got (`firelane validate` prints it).
//!
//! Text that is not UTF-8: both engines read the bytes of a valid text as they are. In a text
//! with invalid UTF-8, each invalid sequence is read as one U+FFFD character (it matches `.`,
//! `\S`, `[^ ]`, but not a letter or `\w`), and what a group captures is the original bytes, so
//! a Latin-1 byte in a log line neither stops a parser from matching nor is changed in its
//! fields. Onigmo reads such bytes as characters too, though not always with the same length.
//!
//! Known differences from Onigmo (patterns Fluent Bit accepts and firelane refuses, with a
//! message): the absent operator `(?~...)`, conditionals `(?(1)...)`, subexpression calls
//! `\g<name>`, `\X`, back-references with a nest level or to a name several groups share, and
//! escaped bytes that are not UTF-8. Look-behind bodies of varying length are accepted (Onigmo
//! refuses some).
//!
//! Invariants: groups are numbered and named as Onigmo numbers them, whichever engine runs the
//! pattern; `is_match` agrees with `captures` (property-tested), including its shortcuts (`^`
//! plus plain text is a prefix test; a pattern every match of which starts with `^` runs as
//! `\A` on a text with no line break before its last byte, where the two mean the same).

mod bracket;
mod class;
mod emit;
mod escape;
mod group;
mod syntax;
mod text;

use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;

use emit::{Emitted, Target};
pub use syntax::SyntaxError;
use syntax::{Node, Options};

/// Which engine runs a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The `regex` crate: linear time, the default.
    Regex,
    /// `fancy-regex`, because the pattern uses the construct named.
    Backtracking(&'static str),
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Regex => f.write_str("regex"),
            Engine::Backtracking(why) => write!(f, "backtracking (for {why})"),
        }
    }
}

/// A pattern that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regex `{pattern}`: {reason}")]
pub struct RegexError {
    /// The pattern as written.
    pub pattern: String,
    /// Why, on one line.
    pub reason: String,
}

/// A compiled Fluent Bit regex.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: Box<str>,
    compiled: Compiled,
    /// `^literal`: tested without a regex (see [`Pattern::is_match`]).
    prefix: Option<Prefix>,
    /// Named groups in the order Fluent Bit reports them: by name in order of first
    /// appearance, a name's groups together (index, name).
    names: Box<[(usize, Box<str>)]>,
    /// Capture groups, not counting the whole match.
    groups: usize,
}

#[derive(Debug, Clone)]
enum Compiled {
    Fast {
        /// The pattern; with `^` as `\A` when every match starts with a `^` (then
        /// `multiline` is set).
        re: regex::bytes::Regex,
        /// With `^` as a line start, for texts with a line break before their last byte;
        /// compiled on first need.
        multiline: Option<Box<Variant>>,
        /// Set when the pattern has a `^`: the same pattern with `^` never matching, compiled
        /// on first need, for an empty match at the end of a text ending in `\n`.
        no_caret: Option<Box<Variant>>,
    },
    Backtracking {
        re: Box<fancy_regex::Regex>,
        why: &'static str,
    },
}

/// Another writing of a pattern, compiled when first needed (it compiles when the main one
/// did: it differs only in how `^` is written).
#[derive(Debug, Clone)]
struct Variant {
    pattern: String,
    re: OnceLock<Option<regex::bytes::Regex>>,
}

impl Variant {
    fn new(tree: &syntax::Tree, target: Target) -> Result<Box<Self>, &'static str> {
        Ok(Box::new(Self {
            pattern: emit::emit(tree, target)?.pattern,
            re: OnceLock::new(),
        }))
    }

    fn regex(&self) -> Option<&regex::bytes::Regex> {
        self.re
            .get_or_init(|| regex::bytes::Regex::new(&self.pattern).ok())
            .as_ref()
    }
}

#[derive(Debug, Clone)]
struct Prefix {
    /// The literal after `^`.
    text: Box<[u8]>,
}

/// A pattern as written and the engine it got.
pub type Listed = (Box<str>, Engine);

thread_local! {
    /// Patterns compiled on this thread while [`with_engines_listed`] runs.
    static LISTED: RefCell<Option<Vec<Listed>>> = const { RefCell::new(None) };
}

/// Runs `f` and returns, with its result, every pattern compiled meanwhile on this thread and
/// the engine it got, once each in order (`firelane validate` prints them).
pub fn with_engines_listed<T>(f: impl FnOnce() -> T) -> (T, Vec<Listed>) {
    let outer = begin_listing();
    let result = f();
    (result, end_listing(outer))
}

/// [`with_engines_listed`] for a future. Only what is compiled while it is polled on this thread
/// is listed: `Runtime::block_on` polls it here (tasks it spawns run elsewhere).
pub async fn with_engines_listed_async<T>(
    f: impl std::future::Future<Output = T>,
) -> (T, Vec<Listed>) {
    let outer = begin_listing();
    let result = f.await;
    (result, end_listing(outer))
}

fn begin_listing() -> Option<Vec<Listed>> {
    LISTED.with(|l| l.borrow_mut().replace(Vec::new()))
}

fn end_listing(outer: Option<Vec<Listed>>) -> Vec<Listed> {
    let listed = LISTED.with(|l| std::mem::replace(&mut *l.borrow_mut(), outer));
    let mut unique: Vec<Listed> = Vec::new();
    for (pattern, engine) in listed.unwrap_or_default() {
        if !unique.iter().any(|(p, _)| *p == pattern) {
            unique.push((pattern, engine));
        }
    }
    unique
}

/// Compiles a Fluent Bit regex (Onigmo, Ruby syntax; optionally `/pattern/` with `i`, `m`, `x`
/// flags after the last `/`, exactly as Fluent Bit reads them).
pub fn compile(pattern: &str) -> Result<Pattern, RegexError> {
    let compiled = compile_pattern(pattern)?;
    LISTED.with(|l| {
        if let Some(listed) = l.borrow_mut().as_mut() {
            listed.push((pattern.into(), compiled.engine()));
        }
    });
    Ok(compiled)
}

fn compile_pattern(pattern: &str) -> Result<Pattern, RegexError> {
    let error = |reason: String| RegexError {
        pattern: pattern.to_owned(),
        reason,
    };
    let (body, options) = delimiters(pattern);
    let tree = syntax::parse(body, options).map_err(|e| error(e.to_string()))?;
    let prefix = literal_prefix(&tree.root);
    let (compiled, emitted) = match emit::emit(&tree, Target::Fast) {
        Ok(emitted) => {
            let variant_error =
                |why| error(format!("cannot be written for the regex engine: {why}"));
            let anchored = emit::starts_with_caret(&tree.root);
            let main = if anchored {
                emit::emit(&tree, Target::FastAnchored).map_err(variant_error)?
            } else {
                emitted
            };
            let re =
                regex::bytes::Regex::new(&main.pattern).map_err(|e| error(regex_reason(&e)))?;
            let variant = |target| Variant::new(&tree, target).map_err(variant_error);
            let multiline = anchored.then(|| variant(Target::Fast)).transpose()?;
            let no_caret = (main.has_caret)
                .then(|| variant(Target::FastNoCaret))
                .transpose()?;
            (
                Compiled::Fast {
                    re,
                    multiline,
                    no_caret,
                },
                main,
            )
        }
        Err(why) => {
            let emitted = emit::emit(&tree, Target::Backtracking).map_err(|why| {
                error(format!(
                    "cannot be written for the backtracking engine: {why}"
                ))
            })?;
            let re = fancy_regex::RegexBuilder::new(&emitted.pattern)
                .bytes_mode(fancy_regex::BytesMode::UnicodeBytes)
                .build()
                .map_err(|e| error(one_line(&e.to_string())))?;
            (
                Compiled::Backtracking {
                    re: Box::new(re),
                    why,
                },
                emitted,
            )
        }
    };
    Ok(Pattern {
        source: pattern.into(),
        compiled,
        prefix,
        names: fluent_bit_name_order(&emitted),
        groups: emitted.groups.len(),
    })
}

/// Fluent Bit's `check_option` and `str_to_regex`: `/body/` loses its slashes; `/body/flags`
/// with only `i`, `m`, `x`, `o` after the last `/` (and at least one that is not `o`) loses
/// them and sets the flags; anything else is the pattern as written.
fn delimiters(pattern: &str) -> (&str, Options) {
    let default = Options::ruby(false, false, false);
    let Some((body, flags)) = pattern
        .strip_prefix('/')
        .and_then(|rest| rest.rsplit_once('/'))
    else {
        return (pattern, default);
    };
    if flags.is_empty() {
        return (body, default);
    }
    if flags.chars().all(|c| "imxo".contains(c)) && flags.chars().any(|c| c != 'o') {
        let has = |f| flags.contains(f);
        return (body, Options::ruby(has('i'), has('m'), has('x')));
    }
    (pattern, default)
}

/// `^` followed by plain characters only, as bytes.
fn literal_prefix(root: &Node) -> Option<Prefix> {
    let Node::Concat(items) = root else {
        return None;
    };
    let (Node::LineStart, rest) = items.split_first()? else {
        return None;
    };
    let mut text = String::new();
    for item in rest {
        let Node::Char(c) = item else { return None };
        if *c == '\u{FFFD}' {
            return None;
        }
        text.push(*c);
    }
    if text.is_empty() {
        return None;
    }
    Some(Prefix {
        text: text.into_bytes().into_boxed_slice(),
    })
}

fn fluent_bit_name_order(emitted: &Emitted) -> Box<[(usize, Box<str>)]> {
    let mut order: Vec<&str> = Vec::new();
    for name in emitted.groups.iter().flatten() {
        if !order.contains(&name.as_str()) {
            order.push(name);
        }
    }
    order
        .iter()
        .flat_map(|name| {
            (emitted.groups.iter().enumerate())
                .filter(move |(_, g)| g.as_deref() == Some(*name))
                .map(|(i, _)| (i + 1, Box::from(*name)))
        })
        .collect()
}

/// The regex crate's syntax errors span several lines (pattern, caret, `error: reason`).
fn regex_reason(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error:"))
            .map_or_else(|| one_line(text), |r| r.trim().to_owned()),
        other => one_line(&other.to_string()),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a match captured.
#[derive(Debug)]
pub struct Captures<'t> {
    text: &'t [u8],
    spans: Spans<'t>,
}

#[derive(Debug)]
enum Spans<'t> {
    Fast(regex::bytes::Captures<'t>),
    Backtracking(fancy_regex::Captures<'t, [u8]>),
    /// Byte ranges in the text (a text read through its U+FFFD copy).
    Owned(Vec<Option<(usize, usize)>>),
}

impl<'t> Captures<'t> {
    /// Group `i`'s text (0: the whole match); `None` if the group took no part.
    pub fn get(&self, i: usize) -> Option<&'t [u8]> {
        match &self.spans {
            Spans::Fast(c) => c.get(i).map(|m| m.as_bytes()),
            Spans::Backtracking(c) => c.get(i).map(|m| m.as_bytes()),
            Spans::Owned(v) => v.get(i).copied().flatten().map(|(s, e)| &self.text[s..e]),
        }
    }

    /// Group `i`'s byte range in the text.
    pub fn span(&self, i: usize) -> Option<(usize, usize)> {
        match &self.spans {
            Spans::Fast(c) => c.get(i).map(|m| (m.start(), m.end())),
            Spans::Backtracking(c) => c.get(i).map(|m| (m.start(), m.end())),
            Spans::Owned(v) => v.get(i).copied().flatten(),
        }
    }
}

impl Pattern {
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The engine that runs it.
    pub fn engine(&self) -> Engine {
        match &self.compiled {
            Compiled::Fast { .. } => Engine::Regex,
            Compiled::Backtracking { why, .. } => Engine::Backtracking(why),
        }
    }

    /// Named groups (capture index, name) in the order Fluent Bit reports them.
    pub fn named_groups(&self) -> &[(usize, Box<str>)] {
        &self.names
    }

    /// How many capture groups there are (Onigmo's count: only named ones when there is one).
    pub fn group_count(&self) -> usize {
        self.groups
    }

    /// Whether the pattern matches somewhere in `text` (Fluent Bit's `flb_regex_match`).
    pub fn is_match(&self, text: &[u8]) -> bool {
        if let Some(prefix) = &self.prefix {
            // Onigmo's `^` is a line start: at 0, or after a `\n` (not at the end, which a
            // non-empty literal rules out). Invalid UTF-8 cannot change a literal's bytes.
            return text.starts_with(&prefix.text)
                || memchr::memchr_iter(b'\n', text)
                    .any(|at| text[at + 1..].starts_with(&prefix.text));
        }
        match text::read(text) {
            text::Read::Utf8 => self.is_match_utf8(text),
            text::Read::Replaced(copy) => self.is_match_utf8(copy.text.as_bytes()),
        }
    }

    fn is_match_utf8(&self, text: &[u8]) -> bool {
        match &self.compiled {
            // No `^`, or `^` written `\A`: nothing to recheck, and `is_match` may stop early.
            Compiled::Fast {
                re,
                multiline,
                no_caret,
            } if no_caret.is_none() || !needs_multiline(multiline, text) => re.is_match(text),
            _ => self.find_utf8(text).is_some(),
        }
    }

    /// Whether the pattern matches at the start of `text` (Fluent Bit's `onig_match`, used
    /// for `Match_Regex` on tags).
    pub fn is_match_at_start(&self, text: &[u8]) -> bool {
        match text::read(text) {
            text::Read::Utf8 => self.find_utf8(text).is_some_and(|(s, _)| s == 0),
            text::Read::Replaced(copy) => {
                (self.find_utf8(copy.text.as_bytes())).is_some_and(|(s, _)| s == 0)
            }
        }
    }

    /// The first match and its groups (Fluent Bit's `flb_regex_do`).
    pub fn captures<'t>(&self, text: &'t [u8]) -> Option<Captures<'t>> {
        match text::read(text) {
            text::Read::Utf8 => self.captures_utf8(text),
            text::Read::Replaced(copy) => {
                let caps = self.captures_utf8(copy.text.as_bytes())?;
                let spans = (0..=self.groups)
                    .map(|i| {
                        caps.span(i)
                            .map(|(s, e)| (copy.original(s), copy.original(e)))
                    })
                    .collect();
                Some(Captures {
                    text,
                    spans: Spans::Owned(spans),
                })
            }
        }
    }

    /// The leftmost match's range in a valid UTF-8 `text`.
    fn find_utf8(&self, text: &[u8]) -> Option<(usize, usize)> {
        match &self.compiled {
            Compiled::Fast {
                re,
                multiline,
                no_caret,
            } => {
                let re = fast_regex(re, multiline, text)?;
                let m = re.find(text)?;
                if m.start() == text.len()
                    && text.last() == Some(&b'\n')
                    && let Some(no_caret) = no_caret
                {
                    return no_caret.find_at_end(text);
                }
                Some((m.start(), m.end()))
            }
            Compiled::Backtracking { re, .. } => {
                let m = re.find(text).map_err(|e| self.gave_up(&e)).ok()??;
                Some((m.start(), m.end()))
            }
        }
    }

    fn captures_utf8<'t>(&self, text: &'t [u8]) -> Option<Captures<'t>> {
        let spans = match &self.compiled {
            Compiled::Fast {
                re,
                multiline,
                no_caret,
            } => {
                let caps = fast_regex(re, multiline, text)?.captures(text)?;
                let at_end = caps.get(0).is_some_and(|m| m.start() == text.len());
                match no_caret {
                    Some(no_caret) if at_end && text.last() == Some(&b'\n') => {
                        Spans::Fast(no_caret.regex()?.captures_at(text, text.len())?)
                    }
                    _ => Spans::Fast(caps),
                }
            }
            Compiled::Backtracking { re, .. } => {
                Spans::Backtracking(re.captures(text).map_err(|e| self.gave_up(&e)).ok()??)
            }
        };
        Some(Captures { text, spans })
    }
}

impl Pattern {
    /// The backtracking engine stopped (its step limit): no match, logged at most once a second.
    fn gave_up(&self, e: &fancy_regex::Error) {
        static LOG: std::sync::LazyLock<crate::ratelimit::RateLimiter> =
            std::sync::LazyLock::new(crate::ratelimit::RateLimiter::default);
        if let Some(held_back) = LOG.allow() {
            tracing::warn!(
                pattern = &*self.source,
                error = %e,
                held_back,
                "regex: the backtracking engine gave up on a value, taken as no match"
            );
        }
    }
}

/// The regex for `text`: the main one, unless its `^` is written `\A` and `text` has a line
/// break before its last byte (where a line may start after it).
fn fast_regex<'r>(
    main: &'r regex::bytes::Regex,
    multiline: &'r Option<Box<Variant>>,
    text: &[u8],
) -> Option<&'r regex::bytes::Regex> {
    match multiline {
        Some(variant) if needs_multiline(multiline, text) => variant.regex(),
        _ => Some(main),
    }
}

/// Whether the main regex has `^` written `\A` and `text` has a line break before its last byte.
fn needs_multiline(multiline: &Option<Box<Variant>>, text: &[u8]) -> bool {
    multiline.is_some() && memchr::memchr(b'\n', &text[..text.len().saturating_sub(1)]).is_some()
}

impl Variant {
    /// Onigmo's empty match at the very end of a text ending in `\n`, where its `^` fails.
    fn find_at_end(&self, text: &[u8]) -> Option<(usize, usize)> {
        let m = self.regex()?.find_at(text, text.len())?;
        Some((m.start(), m.end()))
    }
}

#[cfg(test)]
mod tests;
