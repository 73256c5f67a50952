//! What CloudWatch Logs accepts as a log group or log stream name, applied to a rendered name.

/// CloudWatch Logs limit for log group and log stream names (the API counts characters; after
/// [`sanitize_group`] they are ASCII, and a stream name cut at 512 bytes is at most 512 chars).
pub const MAX_NAME_BYTES: usize = 512;

/// CloudWatch log group names: 1-512 chars of `[\.\-_/#A-Za-z0-9]`. Replaces each other char with '_'
/// (one '_' per char, not per byte), truncates to 512 bytes. Returns false if the result is empty.
pub fn sanitize_group(name: &mut String) -> bool {
    if !name.bytes().all(is_group_byte) {
        // Compact in place: every char becomes one byte, so the write index never passes the
        // read index. Continuation bytes (10xxxxxx) are skipped, lead bytes become '_'.
        let mut bytes = std::mem::take(name).into_bytes();
        let mut len = 0;
        for read in 0..bytes.len() {
            let byte = bytes[read];
            if byte & 0xc0 == 0x80 {
                continue;
            }
            bytes[len] = if is_group_byte(byte) { byte } else { b'_' };
            len += 1;
        }
        bytes.truncate(len);
        // Only ASCII is left, which is always valid UTF-8: the default is never used.
        *name = String::from_utf8(bytes).unwrap_or_default();
    }
    name.truncate(MAX_NAME_BYTES);
    !name.is_empty()
}

pub(crate) fn is_group_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'#')
}

/// Log stream names: 1-512 chars, no ':' or '*' (replaced with '_'), truncated to 512 bytes at a char boundary.
pub fn sanitize_stream(name: &mut String) -> bool {
    if name.len() > MAX_NAME_BYTES {
        let mut end = MAX_NAME_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    // Bounded by the truncation above; same-length ASCII swaps keep the String in place.
    while let Some(at) = name.find([':', '*']) {
        name.replace_range(at..at + 1, "_");
    }
    !name.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_group_replaces_one_underscore_per_char_and_truncates() {
        let mut name = "app:é/ü日本#ok.-_".to_owned();
        assert!(sanitize_group(&mut name));
        assert_eq!(name, "app__/___#ok.-_");
        let mut long = "é".repeat(600);
        assert!(sanitize_group(&mut long));
        assert_eq!(long, "_".repeat(512));
        let mut valid = "a".repeat(700);
        assert!(sanitize_group(&mut valid));
        assert_eq!(valid.len(), 512);
        assert!(!sanitize_group(&mut String::new()));
    }

    #[test]
    fn sanitize_stream_replaces_colon_and_star_and_cuts_at_a_char_boundary() {
        let mut name = "pod:web*1 é".to_owned();
        assert!(sanitize_stream(&mut name));
        assert_eq!(name, "pod_web_1 é");
        // 511 ASCII bytes then a 2-byte char: the char does not fit in 512 bytes.
        let mut long = format!("{}é", "a".repeat(511));
        assert!(sanitize_stream(&mut long));
        assert_eq!(long, "a".repeat(511));
        assert!(!sanitize_stream(&mut String::new()));
    }
}
