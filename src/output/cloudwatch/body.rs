//! The PutLogEvents request body, written by us: the SDK's own serializer escapes one character at
//! a time and cost two thirds of the output's CPU. The body is the awsJson1.1 document
//! `{"logGroupName":..,"logStreamName":..,"logEvents":[{"timestamp":..,"message":..}..]}`.
//!
//! A stream's body is written as its events arrive ([`begin`], [`append`]), so each message is
//! copied once, from the encoder's scratch space into the body, and no event owns an allocation.
//! Events arriving in timestamp order (the usual case) need only [`finish`]; otherwise the body is
//! written again in sorted order ([`resorted`]). Messages arrive already escaped
//! ([`super::message::MessageRef`]), so they are copied, never escaped again. The body is shared
//! (`Bytes`) by every attempt of a request.

use std::ops::Range;

use crate::msgpack::json::{write_int, write_str_valid};

/// Body bytes of one event besides its escaped message: `{"timestamp":` + 20 digits +
/// `,"message":"` + `"}` + `,`.
pub const EVENT_JSON_BYTES: usize = 13 + 20 + 12 + 2 + 1;

/// Where one event's escaped message lies in its body.
pub type Span = Range<u32>;

/// Starts a body for this group and stream, with room for about `capacity` bytes of events.
pub fn begin(group: &str, stream: &str, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 * (group.len() + stream.len()) + 48 + capacity);
    out.extend_from_slice(b"{\"logGroupName\":");
    write_str_valid(group, &mut out);
    out.extend_from_slice(b",\"logStreamName\":");
    write_str_valid(stream, &mut out);
    out.extend_from_slice(b",\"logEvents\":[");
    out
}

/// Appends one event (`first`: no comma before it); returns where its message lies.
pub fn append(body: &mut Vec<u8>, first: bool, timestamp_ms: i64, escaped: &[u8]) -> Span {
    if !first {
        body.push(b',');
    }
    body.extend_from_slice(b"{\"timestamp\":");
    write_int(timestamp_ms, body);
    body.extend_from_slice(b",\"message\":\"");
    let start = body.len();
    body.extend_from_slice(escaped);
    let end = body.len();
    body.extend_from_slice(b"\"}");
    span(start, end)
}

/// Closes a body whose events were appended in the order they are to be sent.
pub fn finish(body: &mut Vec<u8>) {
    body.extend_from_slice(b"]}");
}

/// A closed body holding the events of `old` (written by [`begin`] and [`append`], `prefix_len`
/// bytes before the first event) in the order of `order`, each given as (timestamp, message span
/// in `old`); each span is replaced by the message's place in the new body.
pub fn resorted<'e>(
    old: &[u8],
    prefix_len: usize,
    order: impl ExactSizeIterator<Item = (i64, &'e mut Span)>,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(old.len() + 2);
    body.extend_from_slice(&old[..prefix_len]);
    for (i, (timestamp_ms, message)) in order.enumerate() {
        let escaped = &old[message.start as usize..message.end as usize];
        *message = append(&mut body, i == 0, timestamp_ms, escaped);
    }
    finish(&mut body);
    body
}

/// A span of a body; bodies stay far below 4 GiB (a request carries 1 MiB of text, at most 7 bytes
/// written per byte of it).
fn span(start: usize, end: usize) -> Span {
    let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    at(start)..at(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgpack::json::write_str_content_valid;

    fn escaped(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write_str_content_valid(text, &mut out);
        out
    }

    /// A body of `messages` appended in order, closed; with each message's span.
    fn written(group: &str, stream: &str, messages: &[(i64, &str)]) -> (Vec<u8>, Vec<Span>) {
        let mut body = begin(group, stream, 0);
        let spans = messages
            .iter()
            .enumerate()
            .map(|(i, (ts, m))| append(&mut body, i == 0, *ts, &escaped(m)))
            .collect();
        finish(&mut body);
        (body, spans)
    }

    /// The body parsed: (group, stream, [(timestamp, message)]).
    fn parsed(body: &[u8]) -> (String, String, Vec<(i64, String)>) {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        let events = v["logEvents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let ts = e["timestamp"].as_i64().unwrap();
                (ts, e["message"].as_str().unwrap().to_owned())
            })
            .collect();
        let name = |k: &str| v[k].as_str().unwrap().to_owned();
        (name("logGroupName"), name("logStreamName"), events)
    }

    #[test]
    fn the_body_is_the_documented_json_with_every_message_intact() {
        let tricky = [
            (1_700_000_000_000, r#"{"log":"say \"hi\"\n","n":1}"#),
            (1_700_000_000_001, "tab\there\\back\u{1}\u{1f}"),
            (-5, "unicode é ✓ \u{2028} 😀"),
        ];
        let (body, spans) = written("/ecs/a\"b", "app/x\\y", &tricky);
        let (group, stream, events) = parsed(&body);
        assert_eq!((group.as_str(), stream.as_str()), ("/ecs/a\"b", "app/x\\y"));
        let want: Vec<(i64, String)> = tricky.iter().map(|(t, m)| (*t, m.to_string())).collect();
        assert_eq!(events, want);
        for (span, (_, m)) in spans.iter().zip(tricky) {
            assert_eq!(
                &body[span.start as usize..span.end as usize],
                &escaped(m)[..]
            );
        }
    }

    #[test]
    fn an_empty_body_is_still_valid_json() {
        let (body, _) = written("g", "s", &[]);
        assert_eq!(
            &body[..],
            br#"{"logGroupName":"g","logStreamName":"s","logEvents":[]}"#
        );
    }

    #[test]
    fn resorting_writes_the_events_in_the_given_order_and_moves_the_spans() {
        let mut body = begin("g", "s", 0);
        let prefix_len = body.len();
        let input = [(30, "c\n"), (10, "a\""), (20, "b")];
        let mut events: Vec<(i64, Span)> = input
            .iter()
            .enumerate()
            .map(|(i, (ts, m))| (*ts, append(&mut body, i == 0, *ts, &escaped(m))))
            .collect();
        events.sort_by_key(|(ts, _)| *ts);
        let sorted = resorted(&body, prefix_len, events.iter_mut().map(|(t, s)| (*t, s)));
        let (_, _, got) = parsed(&sorted);
        assert_eq!(
            got,
            vec![(10, "a\"".into()), (20, "b".into()), (30, "c\n".into())]
        );
        let at = |s: &Span| &sorted[s.start as usize..s.end as usize];
        let texts: Vec<&[u8]> = events.iter().map(|(_, s)| at(s)).collect();
        assert_eq!(texts, vec![&br#"a\""#[..], b"b", br"c\n"]);
    }

    proptest::proptest! {
        #[test]
        fn any_messages_round_trip_in_order_and_resorted(
            messages in proptest::collection::vec((-3i64..3, ".*"), 0..20),
        ) {
            let pairs: Vec<(i64, &str)> = messages.iter().map(|(t, m)| (*t, m.as_str())).collect();
            let (body, mut spans) = written("g\"\n", "s", &pairs);
            let (group, _, events) = parsed(&body);
            proptest::prop_assert_eq!(group, "g\"\n");
            let want: Vec<(i64, String)> = messages.clone();
            proptest::prop_assert_eq!(&events, &want);

            // Reversed, from the in-order body's spans (its prefix is begin()'s length).
            let prefix_len = begin("g\"\n", "s", 0).len();
            let mut order: Vec<(i64, &mut Span)> =
                pairs.iter().map(|(t, _)| *t).zip(spans.iter_mut()).collect();
            order.reverse();
            let reversed = resorted(&body[..body.len() - 2], prefix_len, order.into_iter());
            let (_, _, got) = parsed(&reversed);
            let mut want_reversed = want;
            want_reversed.reverse();
            proptest::prop_assert_eq!(got, want_reversed);
        }
    }
}
