//! The PutLogEvents request body, written by us: the SDK's own serializer escapes one character at
//! a time and cost two thirds of the output's CPU. The body is the awsJson1.1 document
//! `{"logGroupName":..,"logStreamName":..,"logEvents":[{"timestamp":..,"message":..}..]}`, built
//! once per request and shared (`Bytes`) by every attempt of it. Messages arrive already escaped
//! ([`super::message::Message`]), so each is copied, not escaped again.

use bytes::Bytes;

use super::batcher::Request;
use crate::msgpack::json::{write_int, write_str_valid};

/// Bytes of one event besides its escaped message: `{"timestamp":` + 20 digits + `,"message":""}` + `,`.
const EVENT_JSON_BYTES: usize = 13 + 20 + 14 + 1;

/// The JSON body of `req` (events already in timestamp order).
pub fn request_body<H>(req: &Request<H>) -> Bytes {
    let escaped_bytes: usize = req.events.iter().map(|e| e.message.escaped().len()).sum();
    let names = 2 * (req.key.group.len() + req.key.stream.len());
    let capacity = escaped_bytes + req.events.len() * EVENT_JSON_BYTES + names + 64;
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(b"{\"logGroupName\":");
    write_str_valid(&req.key.group, &mut out);
    out.extend_from_slice(b",\"logStreamName\":");
    write_str_valid(&req.key.stream, &mut out);
    out.extend_from_slice(b",\"logEvents\":[");
    for (i, event) in req.events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"timestamp\":");
        write_int(event.timestamp_ms, &mut out);
        // Messages are escaped once, when encoded.
        out.extend_from_slice(b",\"message\":\"");
        out.extend_from_slice(event.message.escaped());
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::output::cloudwatch::batcher::{PendingEvent, StreamKey};
    use crate::output::cloudwatch::message::Message;

    fn request(group: &str, stream: &str, messages: &[(i64, &str)]) -> Request<Arc<()>> {
        let events: Vec<PendingEvent> = messages
            .iter()
            .map(|(ts, m)| PendingEvent {
                timestamp_ms: *ts,
                message: Message::from_text(m),
                holder: 0,
            })
            .collect();
        Request {
            key: StreamKey {
                group: Arc::from(group),
                stream: Arc::from(stream),
            },
            bytes: events.iter().map(|e| e.message.raw_len() + 26).sum(),
            events,
            holders: vec![Arc::new(())],
        }
    }

    #[test]
    fn the_body_is_the_documented_json_with_every_message_intact() {
        let tricky = [
            (1_700_000_000_000, r#"{"log":"say \"hi\"\n","n":1}"#),
            (1_700_000_000_001, "tab\there\\back\u{1}\u{1f}"),
            (-5, "unicode é ✓ \u{2028} 😀"),
        ];
        let req = request("/ecs/a\"b", "app/x\\y", &tricky);
        let body = request_body(&req);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["logGroupName"], "/ecs/a\"b");
        assert_eq!(v["logStreamName"], "app/x\\y");
        let events = v["logEvents"].as_array().unwrap();
        assert_eq!(events.len(), 3);
        for (e, (ts, m)) in events.iter().zip(tricky) {
            assert_eq!(e["timestamp"], ts);
            assert_eq!(e["message"], m);
        }
    }

    #[test]
    fn an_empty_request_is_still_valid_json() {
        let body = request_body(&request("g", "s", &[]));
        assert_eq!(
            &body[..],
            br#"{"logGroupName":"g","logStreamName":"s","logEvents":[]}"#
        );
    }

    /// The body as it was written before messages came escaped: escaping each message here.
    fn body_escaping_each_message(req: &Request<Arc<()>>, texts: &[&str]) -> Vec<u8> {
        let mut out = b"{\"logGroupName\":".to_vec();
        write_str_valid(&req.key.group, &mut out);
        out.extend_from_slice(b",\"logStreamName\":");
        write_str_valid(&req.key.stream, &mut out);
        out.extend_from_slice(b",\"logEvents\":[");
        for (i, (event, text)) in req.events.iter().zip(texts).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"timestamp\":");
            write_int(event.timestamp_ms, &mut out);
            out.extend_from_slice(b",\"message\":");
            write_str_valid(text, &mut out);
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        out
    }

    proptest::proptest! {
        #[test]
        fn any_message_round_trips(messages in proptest::collection::vec(".*", 0..20)) {
            let pairs: Vec<(i64, &str)> =
                messages.iter().enumerate().map(|(i, m)| (i as i64 - 3, m.as_str())).collect();
            let req = request("g\"\n", "s", &pairs);
            let body = request_body(&req);
            let texts: Vec<&str> = messages.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(&body[..], &body_escaping_each_message(&req, &texts)[..]);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let got: Vec<&str> = v["logEvents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["message"].as_str().unwrap())
                .collect();
            let want: Vec<&str> = messages.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
