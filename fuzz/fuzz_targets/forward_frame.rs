//! The Forward decoder on arbitrary bytes: never panics, the incremental frame scanner agrees with
//! the one-shot check, and a decoded frame reports exactly the events it appended.
#![no_main]

use bytes::Bytes;
use firelane::forward::codec::{
    DecodeLimits, DecodeStats, FrameScanner, TagCache, check_frame, decode_frame,
};
use libfuzzer_sys::fuzz_target;

const LIMITS: DecodeLimits = DecodeLimits {
    max_frame_bytes: 64 * 1024,
    max_decompressed_bytes: 256 * 1024,
};

fuzz_target!(|data: &[u8]| {
    // The server feeds the scanner what it has read so far: half, then all.
    let mut scanner = FrameScanner::new();
    let _ = scanner.check(&data[..data.len() / 2], &LIMITS);
    let incremental = scanner.check(data, &LIMITS);
    let one_shot = check_frame(data, &LIMITS);
    if let (Ok(a), Ok(b)) = (&incremental, &one_shot) {
        assert_eq!(a, b, "incremental and one-shot frame checks disagree");
    }
    let mut buf = Bytes::copy_from_slice(data);
    let mut tags = TagCache::new(None, None);
    while let Ok(Some(len)) = check_frame(&buf, &LIMITS) {
        let frame = buf.split_to(len);
        let mut out = Vec::new();
        match decode_frame(frame, &LIMITS, &mut tags, &mut out, &mut DecodeStats::default()) {
            Ok(info) => assert_eq!(info.events, out.len()),
            Err(_) => assert!(out.is_empty(), "a failed decode leaves no events"),
        }
    }
    // decode_frame is also safe on bytes check_frame did not vouch for.
    let _ = decode_frame(
        Bytes::copy_from_slice(data),
        &LIMITS,
        &mut TagCache::new(None, None),
        &mut Vec::new(),
        &mut DecodeStats::default(),
    );
});
