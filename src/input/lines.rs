//! Newline framing with a maximum line length, resumable (bytes already scanned are not rescanned).
//!
//! Outcome at the limit: a line longer than `max_line_bytes` is cut to that size and returned as
//! [`Line::Truncated`]; the rest of it, up to and including its newline, is discarded. A trailing
//! `\r` is removed (CRLF senders).

use bytes::{Bytes, BytesMut};

/// One framed line, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Complete(Bytes),
    Truncated(Bytes),
}

#[derive(Debug)]
pub struct LineSplitter {
    max_line_bytes: usize,
    /// Bytes at the start of the buffer already known to hold no newline.
    scanned: usize,
    /// Inside the tail of a truncated line: drop bytes until the next newline.
    discarding: bool,
}

impl LineSplitter {
    pub fn new(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes: max_line_bytes.max(1),
            scanned: 0,
            discarding: false,
        }
    }

    /// Takes the next line out of `buf`, or None when more bytes are needed.
    pub fn next_line(&mut self, buf: &mut BytesMut) -> Option<Line> {
        loop {
            let found = buf[self.scanned..].iter().position(|&b| b == b'\n');
            if self.discarding {
                match found {
                    Some(i) => {
                        let _ = buf.split_to(self.scanned + i + 1);
                        self.scanned = 0;
                        self.discarding = false;
                        continue;
                    }
                    None => {
                        buf.clear();
                        self.scanned = 0;
                        return None;
                    }
                }
            }
            return match found {
                Some(i) => {
                    let mut line = buf.split_to(self.scanned + i + 1);
                    self.scanned = 0;
                    line.truncate(line.len() - 1);
                    if line.last() == Some(&b'\r') {
                        line.truncate(line.len() - 1);
                    }
                    if line.len() > self.max_line_bytes {
                        line.truncate(self.max_line_bytes);
                        Some(Line::Truncated(line.freeze()))
                    } else {
                        Some(Line::Complete(line.freeze()))
                    }
                }
                None if buf.len() > self.max_line_bytes => {
                    let line = buf.split_to(self.max_line_bytes).freeze();
                    self.scanned = 0;
                    self.discarding = true;
                    Some(Line::Truncated(line))
                }
                None => {
                    self.scanned = buf.len();
                    None
                }
            };
        }
    }

    /// At end of stream: the unterminated last line, if any.
    pub fn finish(&mut self, buf: &mut BytesMut) -> Option<Line> {
        if self.discarding || buf.is_empty() {
            buf.clear();
            return None;
        }
        self.scanned = 0;
        let mut line = buf.split();
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        Some(Line::Complete(line.freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], max: usize, split_at: usize) -> Vec<Line> {
        let mut s = LineSplitter::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for part in [&input[..split_at], &input[split_at..]] {
            buf.extend_from_slice(part);
            while let Some(l) = s.next_line(&mut buf) {
                out.push(l);
            }
        }
        out.extend(s.finish(&mut buf));
        out
    }

    fn c(s: &str) -> Line {
        Line::Complete(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn splits_at_every_offset_the_same_way() {
        let input = b"a\r\nbb\n\nccc";
        for cut in 0..=input.len() {
            assert_eq!(
                all(input, 100, cut),
                vec![c("a"), c("bb"), c(""), c("ccc")],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn long_lines_are_truncated_and_their_tail_discarded() {
        let input = b"0123456789\nok\n";
        for cut in 0..=input.len() {
            assert_eq!(
                all(input, 4, cut),
                vec![Line::Truncated(Bytes::from_static(b"0123")), c("ok")],
                "cut {cut}"
            );
        }
    }
}
