//! The CloudWatch message of one record: the record as JSON, or the value of one `log_key`.
//!
//! Invariants: the message is always valid UTF-8 (invalid sequences become U+FFFD and are counted);
//! it is never longer than the encoder's `max_bytes` (a longer one is cut at a character boundary
//! and ends with [`TRUNCATED_SUFFIX`], so the cut is visible in CloudWatch); a record that cannot be
//! transcoded is an error and leaves `out` empty. JSON comes from [`crate::msgpack::json`], the one
//! encoder of the crate.

use crate::msgpack::json::{TranscodeError, TranscodeStats, write_value};
use crate::msgpack::reader::{Token, map_get, read_token};

/// Largest message of one event: CloudWatch counts message bytes + 26 against its 1 MiB event and
/// batch limits, so this is the most a single event can carry.
pub const MAX_EVENT_BYTES: usize = 1_048_576 - 26;

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

/// Turns records into CloudWatch messages; shared read-only by the output task.
#[derive(Debug, Clone)]
pub struct MessageEncoder {
    /// Top-level key whose value alone is the message (Fluent Bit's `log_key`).
    log_key: Option<Box<[u8]>>,
    max_bytes: usize,
}

impl MessageEncoder {
    /// An encoder with the CloudWatch limit [`MAX_EVENT_BYTES`].
    pub fn new(log_key: Option<&str>) -> Self {
        Self {
            log_key: log_key.map(|k| Box::from(k.as_bytes())),
            max_bytes: MAX_EVENT_BYTES,
        }
    }

    /// Sets a smaller size limit (tests). A limit below the suffix length cuts without a suffix.
    pub fn with_max_bytes(self, max_bytes: usize) -> Self {
        Self { max_bytes, ..self }
    }

    /// Writes the message for `record` (one msgpack map) into `out` (cleared first).
    ///
    /// Without `log_key`: the record as JSON. With `log_key`: the value of that top-level key, a
    /// str/bin value as raw text, anything else as JSON; when the key is missing, the whole record
    /// as JSON with [`MessageInfo::log_key_missing`] set. An empty message is returned empty.
    pub fn encode(&self, record: &[u8], out: &mut Vec<u8>) -> Result<MessageInfo, TranscodeError> {
        out.clear();
        let mut stats = TranscodeStats::default();
        let mut info = MessageInfo::default();
        let key_value = self.log_key.as_deref().map(|key| map_get(record, key));
        let result = match key_value {
            None => write_value(record, out, &mut stats).map(drop),
            Some(None) => {
                info.log_key_missing = true;
                write_value(record, out, &mut stats).map(drop)
            }
            Some(Some(value)) => match read_token(value, 0) {
                Ok((Token::Str(raw) | Token::Bin(raw), _)) => {
                    write_lossy_utf8(raw, out, &mut stats);
                    Ok(())
                }
                _ => write_value(value, out, &mut stats).map(drop),
            },
        };
        if let Err(err) = result {
            out.clear();
            return Err(err);
        }
        info.invalid_utf8 = stats.invalid_utf8_sequences;
        info.truncated = truncate(out, self.max_bytes);
        Ok(info)
    }
}

/// Copies an encoded message out of the encoder's buffer into an exactly sized `String` (the
/// buffer keeps its capacity for the next record). The encoder's output is valid UTF-8, so this
/// is one validation pass and one copy; the lossy path never runs.
pub fn message_string(buf: &[u8]) -> String {
    match std::str::from_utf8(buf) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(buf).into_owned(),
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
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::msgpack::writer::{write_map_len, write_str};

    /// A msgpack map of string keys to already-encoded msgpack values.
    fn record(pairs: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        write_map_len(&mut out, pairs.len() as u32);
        for (k, v) in pairs {
            write_str(&mut out, k.as_bytes());
            out.extend_from_slice(v);
        }
        out
    }

    fn mp_str(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_str(&mut out, s);
        out
    }

    fn encode(enc: &MessageEncoder, rec: &[u8]) -> (String, MessageInfo) {
        let mut out = b"left over".to_vec();
        let info = enc.encode(rec, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), info)
    }

    #[test]
    fn without_log_key_the_record_is_json() {
        let rec = record(&[("log", &mp_str(b"hi \"x\"")), ("n", &[0x07])]);
        let (msg, info) = encode(&MessageEncoder::new(None), &rec);
        assert_eq!(msg, r#"{"log":"hi \"x\"","n":7}"#);
        assert_eq!(info, MessageInfo::default());
    }

    #[test]
    fn log_key_string_value_is_sent_raw() {
        let rec = record(&[
            ("source", &mp_str(b"stdout")),
            ("log", &mp_str(b"a \"q\"\n")),
        ]);
        let (msg, info) = encode(&MessageEncoder::new(Some("log")), &rec);
        assert_eq!(msg, "a \"q\"\n");
        assert_eq!(info, MessageInfo::default());
    }

    #[test]
    fn log_key_bin_value_is_sent_raw() {
        let rec = record(&[("log", &[0xc4, 0x03, b'a', b'b', b'c'])]);
        assert_eq!(encode(&MessageEncoder::new(Some("log")), &rec).0, "abc");
    }

    #[test]
    fn log_key_non_string_value_is_json() {
        let inner = record(&[("level", &mp_str(b"info"))]);
        let rec = record(&[("log", &inner), ("n", &[0x01])]);
        let enc = MessageEncoder::new(Some("log"));
        assert_eq!(encode(&enc, &rec).0, r#"{"level":"info"}"#);
        let rec = record(&[("log", &[0xcd, 0x01, 0x00])]);
        assert_eq!(encode(&enc, &rec).0, "256");
        let rec = record(&[("log", &[0xc0])]);
        assert_eq!(encode(&enc, &rec).0, "null");
    }

    #[test]
    fn missing_log_key_falls_back_to_the_whole_record() {
        let rec = record(&[("message", &mp_str(b"hi"))]);
        let (msg, info) = encode(&MessageEncoder::new(Some("log")), &rec);
        assert_eq!(msg, r#"{"message":"hi"}"#);
        assert!(info.log_key_missing);
        assert!(!info.truncated);
    }

    #[test]
    fn empty_log_value_is_an_empty_message() {
        let rec = record(&[("log", &mp_str(b""))]);
        let (msg, info) = encode(&MessageEncoder::new(Some("log")), &rec);
        assert_eq!(msg, "");
        assert_eq!(info, MessageInfo::default());
    }

    #[test]
    fn invalid_utf8_is_replaced_and_counted_raw_and_json() {
        let rec = record(&[("log", &mp_str(b"a\xffb\xe2\x82"))]);
        let (msg, info) = encode(&MessageEncoder::new(Some("log")), &rec);
        assert_eq!(msg, "a\u{FFFD}b\u{FFFD}");
        assert_eq!(info.invalid_utf8, 2);
        let (msg, info) = encode(&MessageEncoder::new(None), &rec);
        assert_eq!(msg, "{\"log\":\"a\u{FFFD}b\u{FFFD}\"}");
        assert_eq!(info.invalid_utf8, 2);
    }

    #[test]
    fn long_message_is_cut_with_the_suffix_to_exactly_the_limit() {
        let rec = record(&[("log", &mp_str(&[b'x'; 100]))]);
        let enc = MessageEncoder::new(Some("log")).with_max_bytes(50);
        let (msg, info) = encode(&enc, &rec);
        assert!(info.truncated);
        assert_eq!(msg.len(), 50);
        assert_eq!(msg, format!("{}{TRUNCATED_SUFFIX}", "x".repeat(36)));
    }

    #[test]
    fn message_at_the_limit_is_not_cut() {
        let rec = record(&[("log", &mp_str(&[b'x'; 50]))]);
        let enc = MessageEncoder::new(Some("log")).with_max_bytes(50);
        let (msg, info) = encode(&enc, &rec);
        assert!(!info.truncated);
        assert_eq!(msg.len(), 50);
    }

    #[test]
    fn cut_never_splits_a_character() {
        // 'é' is 2 bytes; after the leading 'x' the 36-byte cut point falls inside the 18th 'é'.
        let text = format!("x{}", "é".repeat(50));
        let rec = record(&[("log", &mp_str(text.as_bytes()))]);
        let enc = MessageEncoder::new(Some("log")).with_max_bytes(50);
        let (msg, info) = encode(&enc, &rec);
        assert!(info.truncated);
        assert_eq!(msg, format!("x{}{TRUNCATED_SUFFIX}", "é".repeat(17)));
        assert_eq!(msg.len(), 49);
    }

    #[test]
    fn json_record_over_the_limit_is_cut_too() {
        let rec = record(&[("log", &mp_str(&[b'y'; 200]))]);
        let (msg, info) = encode(&MessageEncoder::new(None).with_max_bytes(64), &rec);
        assert!(info.truncated);
        assert_eq!(
            msg,
            format!("{{\"log\":\"{}{TRUNCATED_SUFFIX}", "y".repeat(42))
        );
    }

    #[test]
    fn default_limit_keeps_message_plus_overhead_within_one_mebibyte() {
        let rec = record(&[("log", &mp_str(&vec![b'z'; 1 << 20]))]);
        let (msg, info) = encode(&MessageEncoder::new(Some("log")), &rec);
        assert!(info.truncated);
        assert_eq!(msg.len(), MAX_EVENT_BYTES);
        assert_eq!(msg.len() + 26, 1 << 20);
        assert!(msg.ends_with(TRUNCATED_SUFFIX));
    }

    #[test]
    fn corrupt_record_is_an_error_and_leaves_nothing() {
        let mut rec = record(&[("log", &mp_str(b"hello"))]);
        rec.truncate(rec.len() - 2);
        for enc in [MessageEncoder::new(None), MessageEncoder::new(Some("log"))] {
            let mut out = b"old".to_vec();
            assert!(enc.encode(&rec, &mut out).is_err());
            assert!(out.is_empty());
        }
    }

    proptest! {
        #[test]
        fn any_value_gives_valid_utf8_within_the_limit(
            raw in proptest::collection::vec(any::<u8>(), 0..300),
            max_bytes in 0usize..120,
            use_key in any::<bool>(),
        ) {
            let rec = record(&[("log", &mp_str(&raw))]);
            let enc = MessageEncoder::new(use_key.then_some("log")).with_max_bytes(max_bytes);
            let mut out = Vec::new();
            let info = enc.encode(&rec, &mut out).unwrap();
            let msg = String::from_utf8(out).unwrap();
            prop_assert!(msg.len() <= max_bytes);
            let full = if use_key {
                String::from_utf8_lossy(&raw).into_owned()
            } else {
                let mut json = Vec::new();
                let mut stats = TranscodeStats::default();
                write_value(&rec, &mut json, &mut stats).unwrap();
                String::from_utf8(json).unwrap()
            };
            prop_assert_eq!(info.truncated, full.len() > max_bytes);
            if info.truncated {
                let kept = msg.strip_suffix(TRUNCATED_SUFFIX).unwrap_or(&msg);
                prop_assert!(full.starts_with(kept));
                prop_assert!(kept.len() + 4 > max_bytes.saturating_sub(TRUNCATED_SUFFIX.len()));
            } else {
                prop_assert_eq!(msg, full);
            }
        }
    }
}
