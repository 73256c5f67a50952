//! The JSON -> msgpack transcoder (parser json, tcp input) on arbitrary bytes: never panics, and
//! what it accepts is exactly one well-formed msgpack value.
#![no_main]

use firelane::msgpack::reader::skip_value;
use firelane::msgpack::writer::json_object_to_msgpack;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = vec![0xc0];
    if json_object_to_msgpack(data, &mut out).is_ok() {
        assert_eq!(skip_value(&out, 1), Ok(out.len()), "one whole msgpack value");
    } else {
        assert_eq!(out, [0xc0], "a refused input leaves the buffer as it was");
    }
});
