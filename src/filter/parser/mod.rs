//! Parsers for the `parser` filter (Fluent Bit's `[PARSER]` formats `json`, `regex`, `logfmt`):
//! text in, one msgpack map out; plus the registry of named parsers ([`ParserSet`]: built-ins,
//! user definitions, Fluent Bit parsers files) and the filter itself ([`ParserFilter`]).
//!
//! Invariants: pure (the reference time for year-less time formats is an argument); a parser that
//! does not match leaves `out` exactly as it found it; on a match it appends one map with a map32
//! header (so the filter can add entries and patch the count in place). A time field that parses
//! is taken out of the fields (unless `time_keep`); one that does not parse stays an ordinary
//! field and the event keeps its time (as Fluent Bit's json parser does; its regex parser drops
//! the field and its logfmt parser fails the line, both of which lose the text). JSON text
//! becomes msgpack in one pass (serde's visitor writes msgpack as it parses; no
//! `serde_json::Value`); integers keep their exact value up to the u64/i64 range, larger ones
//! become floats; invalid JSON (including a lone UTF-16 surrogate escape) does not match.

mod builtin;
mod fields;
mod file;
mod filter;
mod logfmt;
mod set;
/// `Time_Format`: the strptime subset parsers read record times with.
pub mod time;

pub use builtin::{STANDARD_PARSERS_FILE, builtin, builtin_names};
pub use file::{FileProblem, MultilineParserDef, MultilineRule, ParsersFile, parse_parsers_file};
pub use filter::{ParserFilter, ParserFilterError};
pub use set::{ParserSet, ParsersFileError};

use crate::event::EventTime;
use crate::msgpack::index::MapIndex;
use crate::msgpack::json_in::json_object_to_msgpack_indexed;
use crate::msgpack::reader::{MapEntries, Token, key_eq, read_token};
use crate::onigmo::{self, Pattern};
use fields::{Fields, Value};
use time::{TimeFormat, TimeFormatError};

/// How a parser reads its text (Fluent Bit's `Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON object; its top-level entries become the fields. Anything else does not match.
    Json,
    /// A regular expression; its named groups become string fields.
    Regex,
    /// `key=value key2="quoted value" flag` pairs.
    Logfmt,
}

impl Format {
    /// Reads a `Format` value (any case); `None` for formats we do not have (e.g. `ltsv`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "regex" => Some(Self::Regex),
            "logfmt" => Some(Self::Logfmt),
            _ => None,
        }
    }
}

/// A `Types` conversion for a regex or logfmt field (values are strings otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A signed 64-bit integer.
    Integer,
    /// A 64-bit float.
    Float,
    /// `true` / `false` (any case).
    Bool,
    /// Kept as a string (the default).
    String,
    /// Hexadecimal digits (optional `0x`) to an unsigned integer.
    Hex,
}

/// One parser definition as users write it (our TOML, a Fluent Bit parsers file, a built-in):
/// strings are checked by [`Parser::compile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserDef {
    /// The name filters refer to (`Parser` option).
    pub name: String,
    /// `json`, `regex` or `logfmt` (any case).
    pub format: String,
    /// The pattern, for `regex`: Fluent Bit's (Onigmo, Ruby syntax), `(?<name>...)` groups,
    /// optionally as `/pattern/` with `i`, `m`, `x` flags (see [`crate::onigmo`]).
    pub regex: Option<String>,
    /// The field holding the record time (default `time` when `time_format` is set).
    pub time_key: Option<String>,
    /// How to read the time field (see [`TimeFormat::compile`]); without it there is no time
    /// handling and the field is ordinary.
    pub time_format: Option<String>,
    /// A fixed UTC offset (`+0200`, `-06:00`) for times whose text has no zone.
    pub time_offset: Option<String>,
    /// Keep the time field among the parsed fields.
    pub time_keep: bool,
    /// `Types` conversions for regex and logfmt fields: `name:type` separated by spaces, type one
    /// of `integer`, `float`, `bool`, `string`, `hex`.
    pub types: Option<String>,
    /// regex: leave out fields whose captured text is empty (Fluent Bit's default: true).
    pub skip_empty_values: bool,
    /// logfmt: a key without `=value` makes the line not match (instead of `key: true`).
    pub logfmt_no_bare_keys: bool,
}

impl ParserDef {
    /// A definition with Fluent Bit's defaults: no regex, time handling or types.
    pub fn new(name: impl Into<String>, format: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            format: format.into(),
            regex: None,
            time_key: None,
            time_format: None,
            time_offset: None,
            time_keep: false,
            types: None,
            skip_empty_values: true,
            logfmt_no_bare_keys: false,
        }
    }
}

/// Why a parser definition cannot be used (shown to users as a config error).
#[derive(Debug, thiserror::Error)]
pub enum ParserError {
    #[error("a parser needs a name")]
    NoName,
    #[error("parser `{parser}`: unknown format `{format}` (expected json, regex or logfmt)")]
    UnknownFormat { parser: String, format: String },
    #[error("parser `{parser}`: format regex needs a regex")]
    MissingRegex { parser: String },
    #[error("parser `{parser}`: invalid regex: {reason}")]
    BadRegex { parser: String, reason: String },
    #[error("parser `{parser}`: invalid time format: {source}")]
    BadTimeFormat {
        parser: String,
        #[source]
        source: TimeFormatError,
    },
    #[error("parser `{parser}`: invalid time offset `{offset}` (expected e.g. +0200 or -06:00)")]
    BadTimeOffset { parser: String, offset: String },
    #[error(
        "parser `{parser}`: invalid Types entry `{entry}` (expected name:integer|float|bool|string|hex)"
    )]
    BadType { parser: String, entry: String },
    #[error("parser `{parser}` is defined twice (first in {first})")]
    Duplicate { parser: String, first: String },
}

/// Reads Fluent Bit's `Types` value (`name:type` separated by spaces); `Err` holds the bad entry.
pub fn parse_types(spec: &str) -> Result<Vec<(String, FieldType)>, String> {
    spec.split_whitespace()
        .map(|entry| {
            let (name, ty) = entry.rsplit_once(':').ok_or_else(|| entry.to_owned())?;
            let ty = match ty.to_ascii_lowercase().as_str() {
                "integer" => FieldType::Integer,
                "float" => FieldType::Float,
                "bool" => FieldType::Bool,
                "string" => FieldType::String,
                "hex" => FieldType::Hex,
                _ => return Err(entry.to_owned()),
            };
            if name.is_empty() {
                return Err(entry.to_owned());
            }
            Ok((name.to_owned(), ty))
        })
        .collect()
}

/// What a matching parser produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// Key/value pairs in the map appended to `out`.
    pub entries: u32,
    /// The record time read from the time field, if there was one and it parsed.
    pub time: Option<EventTime>,
}

#[derive(Debug)]
enum Kind {
    Json,
    /// The regex and its named groups (index, name) in Fluent Bit's order.
    Regex(Pattern, Vec<(usize, Box<[u8]>)>),
    Logfmt {
        no_bare_keys: bool,
    },
}

/// A compiled parser.
#[derive(Debug)]
pub struct Parser {
    name: String,
    kind: Kind,
    /// The time field and its format (both set, or no time handling).
    time: Option<(Box<[u8]>, TimeFormat)>,
    time_keep: bool,
    types: Vec<(Box<[u8]>, FieldType)>,
    skip_empty: bool,
}

impl Parser {
    /// Compiles a definition, checking every option.
    pub fn compile(def: &ParserDef) -> Result<Self, ParserError> {
        let parser = def.name.trim().to_owned();
        if parser.is_empty() {
            return Err(ParserError::NoName);
        }
        let format = Format::parse(&def.format).ok_or_else(|| ParserError::UnknownFormat {
            parser: parser.clone(),
            format: def.format.clone(),
        })?;
        let kind = match format {
            Format::Json => Kind::Json,
            Format::Logfmt => Kind::Logfmt {
                no_bare_keys: def.logfmt_no_bare_keys,
            },
            Format::Regex => {
                let pattern = def
                    .regex
                    .as_deref()
                    .ok_or_else(|| ParserError::MissingRegex {
                        parser: parser.clone(),
                    })?;
                let re = onigmo::compile(pattern).map_err(|e| ParserError::BadRegex {
                    parser: parser.clone(),
                    reason: e.reason,
                })?;
                let names = (re.named_groups().iter())
                    .map(|(i, name)| (*i, name.as_bytes().into()))
                    .collect();
                Kind::Regex(re, names)
            }
        };
        let time = match &def.time_format {
            Some(fmt) => {
                let mut fmt =
                    TimeFormat::compile(fmt).map_err(|source| ParserError::BadTimeFormat {
                        parser: parser.clone(),
                        source,
                    })?;
                if let Some(off) = &def.time_offset {
                    let secs =
                        time::parse_offset(off).ok_or_else(|| ParserError::BadTimeOffset {
                            parser: parser.clone(),
                            offset: off.clone(),
                        })?;
                    fmt = fmt.with_default_offset(secs);
                }
                let key = def.time_key.as_deref().unwrap_or("time");
                Some((key.as_bytes().into(), fmt))
            }
            None => None,
        };
        let types = parse_types(def.types.as_deref().unwrap_or(""))
            .map_err(|entry| ParserError::BadType {
                parser: parser.clone(),
                entry,
            })?
            .into_iter()
            .map(|(name, ty)| (name.into_bytes().into_boxed_slice(), ty))
            .collect();
        Ok(Self {
            name: parser,
            kind,
            time,
            time_keep: def.time_keep,
            types,
            skip_empty: def.skip_empty_values,
        })
    }

    /// The parser's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `text`, appending one msgpack map (map32 header) to `out`. `reference` gives the
    /// year to time formats without one (pass the event's time). `None`: no match, `out` as it was.
    pub fn parse(&self, text: &[u8], reference: EventTime, out: &mut Vec<u8>) -> Option<Parsed> {
        self.parse_indexed(text, reference, out, &mut MapIndex::new())
    }

    /// [`Self::parse`] that may also describe the map's entries in `index` (positions from the
    /// map's first byte); otherwise `index` is left not read. On `None` it holds nothing useful.
    pub fn parse_indexed(
        &self,
        text: &[u8],
        reference: EventTime,
        out: &mut Vec<u8>,
        index: &mut MapIndex,
    ) -> Option<Parsed> {
        let start = out.len();
        index.clear();
        let res = match &self.kind {
            Kind::Json => self.parse_json(text, reference, out, index),
            Kind::Regex(re, names) => {
                // Fluent Bit's parser needs a capture group (`flb_regex_do` counts them) and
                // writes named ones only.
                if names.is_empty() {
                    return None;
                }
                let caps = re.captures(text)?;
                // Nor does Fluent Bit take a match in which no named group took part
                // (`flb_regex_parse` returns -1): `(?<a>x)?` does not match `y`.
                if names.iter().all(|(i, _)| caps.span(*i).is_none()) {
                    return None;
                }
                out.extend_from_slice(&[0xdf, 0, 0, 0, 0]);
                let mut acc = Fields::new(self, reference);
                for (i, name) in names {
                    // A group that took no part is an empty value to Fluent Bit: left out, like
                    // any empty one, unless `skip_empty_values` is off.
                    let value = caps.get(*i).unwrap_or_default();
                    if !(self.skip_empty && value.is_empty()) {
                        acc.push(name, Value::Text(value), out);
                    }
                }
                Some(acc.done())
            }
            Kind::Logfmt { no_bare_keys } => {
                out.extend_from_slice(&[0xdf, 0, 0, 0, 0]);
                logfmt::parse(text, *no_bare_keys, Fields::new(self, reference), out)
            }
        };
        match res {
            Some(parsed) => {
                out[start + 1..start + 5].copy_from_slice(&parsed.entries.to_be_bytes());
                Some(parsed)
            }
            None => {
                out.truncate(start);
                None
            }
        }
    }

    fn parse_json(
        &self,
        text: &[u8],
        reference: EventTime,
        out: &mut Vec<u8>,
        index: &mut MapIndex,
    ) -> Option<Parsed> {
        let start = out.len();
        json_object_to_msgpack_indexed(text, out, index).ok()?;
        // The transcoder writes every map with a map32 header (patched at its end).
        let (Token::Map(mut entries), body) = read_token(out, start).ok()? else {
            return None;
        };
        if out[start] != 0xdf {
            return None;
        }
        let mut time = None;
        if let Some((key, fmt)) = &self.time {
            // The first `key` entry whose value is a str the format reads.
            let read = |value: usize| match read_token(out, value) {
                Ok((Token::Str(v), _)) => fmt.parse(v, reference),
                _ => None,
            };
            let mut time_entry = None;
            let may_have = index.may_have_key_len(key.len());
            match index.entries(&out[start..]) {
                // The transcoder described the map: no walk, and mostly no key to compare.
                Some(slots) => {
                    let map = &out[start..];
                    for slot in slots.iter().filter(|s| may_have && s.key_is(map, key)) {
                        if let Some(t) = read(start + slot.value as usize) {
                            time = Some(t);
                            time_entry =
                                Some(start + slot.start as usize..start + slot.end as usize);
                            break;
                        }
                    }
                }
                None => {
                    for pair in MapEntries::at(out, body, entries) {
                        let e = pair.ok()?;
                        if e.key.is_some_and(|k| key_eq(k, key))
                            && let Some(t) = read(e.value)
                        {
                            time = Some(t);
                            time_entry = Some(e.start..e.end);
                            break;
                        }
                    }
                }
            }
            if let Some(range) = time_entry
                && !self.time_keep
            {
                out.drain(range);
                entries -= 1;
                index.clear();
            }
        }
        Some(Parsed { entries, time })
    }
}

#[cfg(test)]
mod tests;
