//! How a text is read: as it is when it is valid UTF-8, else through a copy in which each
//! invalid sequence is one U+FFFD, with the way back from the copy's positions to the text's.
//!
//! Invariant: [`Replaced::original`] maps every position at a character boundary of the copy
//! to the position of the same character (or the end) in the text.

/// A text, ready for the engines.
pub(super) enum Read {
    /// Valid UTF-8: match the text itself.
    Utf8,
    /// Match this copy instead.
    Replaced(Replaced),
}

/// A copy with U+FFFD for each invalid sequence.
pub(super) struct Replaced {
    pub text: String,
    /// (position in the copy, position in the text) after each replacement.
    marks: Vec<(usize, usize)>,
}

impl Replaced {
    /// The text's position for the copy's position `at` (a character boundary of the copy).
    pub fn original(&self, at: usize) -> usize {
        let i = self.marks.partition_point(|(copy, _)| *copy <= at);
        match i.checked_sub(1).map(|i| self.marks[i]) {
            Some((copy, text)) => text + (at - copy),
            None => at,
        }
    }
}

pub(super) fn read(text: &[u8]) -> Read {
    if std::str::from_utf8(text).is_ok() {
        return Read::Utf8;
    }
    let mut copy = String::with_capacity(text.len() + 8);
    let mut marks = Vec::new();
    let mut consumed = 0;
    for chunk in text.utf8_chunks() {
        copy.push_str(chunk.valid());
        consumed += chunk.valid().len();
        if !chunk.invalid().is_empty() {
            copy.push(char::REPLACEMENT_CHARACTER);
            consumed += chunk.invalid().len();
            marks.push((copy.len(), consumed));
        }
    }
    Read::Replaced(Replaced { text: copy, marks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_map_back_across_invalid_sequences() {
        let text = b"ab\xffcd\xe2\x82xy\xc3\xa9";
        let Read::Replaced(copy) = read(text) else {
            panic!("invalid UTF-8 must be replaced");
        };
        assert_eq!(copy.text, "ab\u{FFFD}cd\u{FFFD}xy\u{e9}");
        // Each character of the copy maps to where it is in the text.
        let pairs: Vec<(usize, usize)> = copy
            .text
            .char_indices()
            .map(|(i, _)| (i, copy.original(i)))
            .chain([(copy.text.len(), copy.original(copy.text.len()))])
            .collect();
        assert_eq!(
            pairs,
            [
                (0, 0),
                (1, 1),
                (2, 2),
                (5, 3),
                (6, 4),
                (7, 5),
                (10, 7),
                (11, 8),
                (12, 9),
                (14, 11)
            ]
        );
        assert!(matches!(read("é ok".as_bytes()), Read::Utf8));
    }
}
