//! The message of one record, as the outputs with Fluent Bit's `log_key` send it: the record as
//! JSON, or the value of `log_key` (strings as raw text, anything else as JSON). CloudWatch sends
//! it as each event's message, S3 as each line, and the request-body form ([`Message`], escaped
//! for a JSON string) is there for any JSON body.
//!
//! Invariants: the message is always valid UTF-8 (invalid sequences become U+FFFD and are counted);
//! it is never longer than the encoder's `max_bytes` (a longer one is cut at a character boundary
//! and ends with [`TRUNCATED_SUFFIX`], so the cut is visible in CloudWatch); a record that cannot be
//! transcoded is an error and leaves `out` empty. JSON comes from [`crate::msgpack::json`], the one
//! encoder of the crate. A [`Message`] holds the text already escaped for the request body (escaped
//! once, straight from msgpack) and the length of the text itself, which is what CloudWatch counts;
//! its escaped bytes are exactly what escaping [`MessageEncoder::encode`]'s text would give.

use crate::msgpack::json::{
    TranscodeError, TranscodeStats, write_str_content, write_str_content_valid, write_value,
    write_value_escaped,
};
use crate::msgpack::reader::{Token, map_get, read_token};

/// Appended to a message cut at the size limit, so readers see that the end is missing.
pub const TRUNCATED_SUFFIX: &str = "[Truncated...]";

/// U+FFFD REPLACEMENT CHARACTER in UTF-8.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// What happened while encoding one message (the caller turns it into metrics).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MessageInfo {
    /// The message was cut to the size limit and ends with [`TRUNCATED_SUFFIX`].
    pub truncated: bool,
    /// Invalid UTF-8 sequences replaced by U+FFFD.
    pub invalid_utf8: u64,
    /// `log_key` was configured but absent from the record: the whole record was sent as JSON.
    pub log_key_missing: bool,
}

/// One encoded message, ready for the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The text escaped as the content of a JSON string (valid UTF-8, no enclosing quotes).
    escaped: Box<[u8]>,
    /// UTF-8 bytes of the text itself, before escaping.
    raw_len: usize,
}

impl Message {
    /// The message whose text is `text` (escapes it; for callers that hold plain text).
    pub fn from_text(text: &str) -> Self {
        let mut escaped = Vec::with_capacity(text.len());
        write_str_content_valid(text, &mut escaped);
        Self {
            escaped: escaped.into_boxed_slice(),
            raw_len: text.len(),
        }
    }

    /// The text escaped as the content of a JSON string: what goes between the quotes.
    pub fn escaped(&self) -> &[u8] {
        &self.escaped
    }

    /// Length of the text itself in bytes: what CloudWatch counts against its limits.
    pub fn raw_len(&self) -> usize {
        self.raw_len
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.raw_len == 0
    }
}

/// One encoded message, borrowed: what the batcher copies into a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRef<'a> {
    escaped: &'a [u8],
    raw_len: usize,
}

impl<'a> MessageRef<'a> {
    /// The text escaped as the content of a JSON string: what goes between the quotes.
    pub fn escaped(&self) -> &'a [u8] {
        self.escaped
    }

    /// Length of the text itself in bytes: what CloudWatch counts against its limits.
    pub fn raw_len(&self) -> usize {
        self.raw_len
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.raw_len == 0
    }
}

impl Message {
    /// This message, borrowed.
    pub fn view(&self) -> MessageRef<'_> {
        MessageRef {
            escaped: &self.escaped,
            raw_len: self.raw_len,
        }
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Self::from_text(text)
    }
}

/// Where the message of a record comes from.
enum Source<'r> {
    /// A msgpack value, written as JSON.
    Json(&'r [u8]),
    /// Raw str/bin bytes, written as text.
    Text(&'r [u8]),
}

/// Turns records into messages; shared read-only by an output task.
#[derive(Debug, Clone)]
pub struct MessageEncoder {
    /// Top-level key whose value alone is the message (Fluent Bit's `log_key`).
    log_key: Option<Box<[u8]>>,
    max_bytes: usize,
}

impl MessageEncoder {
    /// An encoder without a size limit.
    pub fn new(log_key: Option<&str>) -> Self {
        Self {
            log_key: log_key.map(|k| Box::from(k.as_bytes())),
            max_bytes: usize::MAX,
        }
    }

    /// Sets the size limit of a message's text (an output's per-event limit): a longer one is
    /// cut at a character boundary and ends with [`TRUNCATED_SUFFIX`]. A limit below the
    /// suffix's length cuts without a suffix.
    pub fn with_max_bytes(self, max_bytes: usize) -> Self {
        Self { max_bytes, ..self }
    }

    /// Writes the message for `record` (one msgpack map) as plain text into `out` (cleared first).
    ///
    /// Without `log_key`: the record as JSON. With `log_key`: the value of that top-level key, a
    /// str/bin value as raw text, anything else as JSON; when the key is missing, the whole record
    /// as JSON with [`MessageInfo::log_key_missing`] set. An empty message is returned empty.
    pub fn encode(&self, record: &[u8], out: &mut Vec<u8>) -> Result<MessageInfo, TranscodeError> {
        out.clear();
        let mut stats = TranscodeStats::default();
        let mut info = MessageInfo::default();
        let result = match self.source(record, &mut info) {
            Source::Json(value) => write_value(value, out, &mut stats).map(drop),
            Source::Text(raw) => {
                write_lossy_utf8(raw, out, &mut stats);
                Ok(())
            }
        };
        if let Err(err) = result {
            out.clear();
            return Err(err);
        }
        info.invalid_utf8 = stats.invalid_utf8_sequences;
        info.truncated = truncate(out, self.max_bytes);
        Ok(info)
    }

    /// The message for `record`, as [`encode`](Self::encode) describes, escaped for the request
    /// body in the same pass, written into `scratch` (its contents are replaced) and borrowed from
    /// it: no allocation per message.
    pub fn encode_message<'s>(
        &self,
        record: &[u8],
        scratch: &'s mut Vec<u8>,
    ) -> Result<(MessageRef<'s>, MessageInfo), TranscodeError> {
        scratch.clear();
        let mut stats = TranscodeStats::default();
        let mut info = MessageInfo::default();
        let raw_len = match self.source(record, &mut info) {
            Source::Json(value) => write_value_escaped(value, scratch, &mut stats)?.plain_len,
            Source::Text(raw) => write_str_content(raw, scratch, &mut stats),
        };
        if raw_len > self.max_bytes {
            // Rare: cut the plain text exactly as `encode` does, then escape what is left.
            let mut plain = Vec::new();
            let info = self.encode(record, &mut plain)?;
            // `encode` writes valid UTF-8, so this borrows and never replaces anything.
            let text = String::from_utf8_lossy(&plain);
            scratch.clear();
            write_str_content_valid(&text, scratch);
            let message = MessageRef {
                escaped: scratch,
                raw_len: text.len(),
            };
            return Ok((message, info));
        }
        info.invalid_utf8 = stats.invalid_utf8_sequences;
        let message = MessageRef {
            escaped: scratch,
            raw_len,
        };
        Ok((message, info))
    }

    /// Where the message of `record` comes from; notes a missing `log_key` in `info`.
    fn source<'r>(&self, record: &'r [u8], info: &mut MessageInfo) -> Source<'r> {
        let Some(key) = self.log_key.as_deref() else {
            return Source::Json(record);
        };
        let Some(value) = map_get(record, key) else {
            info.log_key_missing = true;
            return Source::Json(record);
        };
        match read_token(value, 0) {
            Ok((Token::Str(raw) | Token::Bin(raw), _)) => Source::Text(raw),
            _ => Source::Json(value),
        }
    }
}

/// Appends `bytes` as text, each invalid UTF-8 sequence replaced by one U+FFFD and counted (the
/// same rule as `String::from_utf8_lossy` and the JSON string writer).
fn write_lossy_utf8(bytes: &[u8], out: &mut Vec<u8>, stats: &mut TranscodeStats) {
    out.reserve(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.extend_from_slice(valid.as_bytes());
                return;
            }
            Err(err) => {
                let (valid, after) = rest.split_at(err.valid_up_to());
                out.extend_from_slice(valid);
                out.extend_from_slice(REPLACEMENT);
                stats.invalid_utf8_sequences += 1;
                match err.error_len() {
                    Some(bad_len) => rest = &after[bad_len..],
                    // A sequence cut short by the end of the value: one replacement for all of it.
                    None => return,
                }
            }
        }
    }
}

/// Cuts valid UTF-8 `text` longer than `max_bytes` at a character boundary and appends the
/// suffix, so the result is at most `max_bytes`. Returns whether it cut.
fn truncate(text: &mut Vec<u8>, max_bytes: usize) -> bool {
    if text.len() <= max_bytes {
        return false;
    }
    let suffix = TRUNCATED_SUFFIX.as_bytes();
    let (keep_bytes, suffix) = match max_bytes.checked_sub(suffix.len()) {
        Some(keep) => (keep, suffix),
        None => (max_bytes, &[][..]),
    };
    let mut cut = keep_bytes;
    // `text` is valid UTF-8, so stepping back over continuation bytes (10xxxxxx) reaches the
    // first byte of the character the cut falls in, at most 3 steps.
    while cut > 0 && text[cut] & 0xc0 == 0x80 {
        cut -= 1;
    }
    text.truncate(cut);
    text.extend_from_slice(suffix);
    true
}

#[cfg(test)]
mod tests;
