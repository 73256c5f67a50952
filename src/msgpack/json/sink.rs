//! Where the transcoder's JSON goes: as plain JSON text, or escaped as the content of a JSON
//! string (for a document that carries the record as a string, like a CloudWatch message).
//!
//! Invariant: an [`Escaped`] sink holds exactly the plain JSON text escaped once as string content,
//! and [`Escaped::added`] is how many bytes longer that is than the plain text.

use super::TranscodeStats;
use super::escape::{escape_valid, write_base64, write_str, write_str_escaped};

/// One way of writing the transcoder's output.
pub(super) trait Sink {
    /// The buffer, for text that reads the same plain and escaped (digits, `null`, `[`, `,`, ...:
    /// no quote, backslash or control character).
    fn out(&mut self) -> &mut Vec<u8>;

    /// The buffer when the sink writes plain JSON (so it can be edited in place).
    fn plain(&mut self) -> Option<&mut Vec<u8>>;

    /// A structural `"`.
    fn quote(&mut self);

    /// The JSON string literal of raw bytes, quotes included; invalid UTF-8 replaced and counted.
    fn str(&mut self, bytes: &[u8], stats: &mut TranscodeStats);

    /// Plain JSON text (valid UTF-8) made elsewhere.
    fn json(&mut self, text: &[u8]);

    /// A quoted base64 string.
    fn base64(&mut self, data: &[u8]) {
        self.quote();
        write_base64(data, self.out());
        self.quote();
    }
}

/// Plain JSON text.
pub(super) struct Plain<'o>(pub(super) &'o mut Vec<u8>);

impl Sink for Plain<'_> {
    #[inline]
    fn out(&mut self) -> &mut Vec<u8> {
        self.0
    }

    fn plain(&mut self) -> Option<&mut Vec<u8>> {
        Some(self.0)
    }

    #[inline]
    fn quote(&mut self) {
        self.0.push(b'"');
    }

    #[inline]
    fn str(&mut self, bytes: &[u8], stats: &mut TranscodeStats) {
        write_str(bytes, self.0, stats);
    }

    fn json(&mut self, text: &[u8]) {
        self.0.extend_from_slice(text);
    }
}

/// JSON text escaped as the content of a JSON string, in one pass.
pub(super) struct Escaped<'o> {
    pub(super) out: &'o mut Vec<u8>,
    /// Bytes the escaping added so far.
    pub(super) added: usize,
}

impl Sink for Escaped<'_> {
    #[inline]
    fn out(&mut self) -> &mut Vec<u8> {
        self.out
    }

    fn plain(&mut self) -> Option<&mut Vec<u8>> {
        None
    }

    #[inline]
    fn quote(&mut self) {
        self.out.extend_from_slice(b"\\\"");
        self.added += 1;
    }

    #[inline]
    fn str(&mut self, bytes: &[u8], stats: &mut TranscodeStats) {
        self.added += write_str_escaped(bytes, self.out, stats);
    }

    fn json(&mut self, text: &[u8]) {
        self.added += escape_valid::<false>(text, self.out);
    }
}
