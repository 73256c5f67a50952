//! The CloudWatch message of one record: the shared message encoder
//! ([`crate::output::format::message`]) with CloudWatch's per-event limit.

pub use crate::output::format::message::{
    Message, MessageEncoder, MessageInfo, MessageRef, TRUNCATED_SUFFIX,
};

/// Largest message of one event: CloudWatch counts message bytes + 26 against its 1 MiB event and
/// batch limits, so this is the most a single event can carry.
pub const MAX_EVENT_BYTES: usize = 1_048_576 - 26;

/// The encoder of CloudWatch messages: `log_key`'s value or the record as JSON, cut at
/// [`MAX_EVENT_BYTES`].
pub fn encoder(log_key: Option<&str>) -> MessageEncoder {
    MessageEncoder::new(log_key).with_max_bytes(MAX_EVENT_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgpack::writer::{write_map_len, write_str};

    fn record(log: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_map_len(&mut out, 1);
        write_str(&mut out, b"log");
        write_str(&mut out, log);
        out
    }

    fn encode(enc: &MessageEncoder, rec: &[u8]) -> (String, MessageInfo) {
        let mut out = Vec::new();
        let info = enc.encode(rec, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), info)
    }

    #[test]
    fn default_limit_keeps_message_plus_overhead_within_one_mebibyte() {
        let rec = record(&vec![b'z'; 1 << 20]);
        let (msg, info) = encode(&encoder(Some("log")), &rec);
        assert!(info.truncated);
        assert_eq!(msg.len(), MAX_EVENT_BYTES);
        assert_eq!(msg.len() + 26, 1 << 20);
        assert!(msg.ends_with(TRUNCATED_SUFFIX));
    }
}
