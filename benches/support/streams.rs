//! The throughput harness's pre-encoded Forward streams: N Docker-shaped records (`container_id`,
//! `container_name`, `source`, `log` of ~200 bytes) in Message mode, PackedForward (1000 entries a
//! frame) or CompressedPackedForward (the same frames' entries gzip-compressed). Streams are built
//! once per run and shared by the scenarios (each is hundreds of MB).
//!
//! Invariant: a stream's `parts` split `bytes` only at frame boundaries, so each part can go down
//! its own connection.

use std::io::Write;
use std::sync::Arc;

pub struct Stream {
    pub name: &'static str,
    /// What goes on the wire.
    pub bytes: Arc<Vec<u8>>,
    /// Where the connections' shares of `bytes` end (the last is `bytes.len()`); one entry for one
    /// connection.
    pub parts: Vec<usize>,
    pub records: usize,
    /// The records' uncompressed bytes (the PackedForward encoding of the same entries for a
    /// compressed stream; `bytes.len()` otherwise): what MB/s counts.
    pub record_bytes: usize,
}

impl Stream {
    /// The byte ranges each connection sends.
    pub fn ranges(&self) -> Vec<std::ops::Range<usize>> {
        let mut start = 0;
        self.parts
            .iter()
            .map(|&end| {
                let r = start..end;
                start = end;
                r
            })
            .collect()
    }
}

/// A plain-text application line (~200 bytes).
fn text_log(i: usize) -> String {
    format!(
        "{i:>10} 2024-01-01T00:00:00.000Z INFO request handled method=GET path=/api/v1/items/{i} status=200 duration_ms=12 user_agent=\"Mozilla/5.0 (X11; Linux x86_64)\" trace=abcdef0123456789"
    )
}

/// The same line as a JSON object (~220 bytes), what a `parser json` filter expands.
fn json_log(i: usize) -> String {
    format!(
        r#"{{"n":{i},"ts":"2024-01-01T00:00:00.000Z","level":"info","msg":"request handled","method":"GET","path":"/api/v1/items/{i}","status":200,"duration_ms":12,"user_agent":"Mozilla/5.0 (X11; Linux x86_64)","trace":"abcdef0123456789"}}"#
    )
}

fn docker_record(out: &mut Vec<u8>, i: usize, log: fn(usize) -> String) {
    let log = log(i);
    rmp::encode::write_map_len(out, 4).unwrap();
    for (k, v) in [
        (
            "container_id",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
        ("container_name", "/ecs-app-web-1-app-9a8b7c6d5e4f"),
        ("source", "stdout"),
        ("log", &log),
    ] {
        rmp::encode::write_str(out, k).unwrap();
        rmp::encode::write_str(out, v).unwrap();
    }
}

/// Event times start an hour ago (CloudWatch refuses events older than 14 days) and advance 1 ms
/// per record.
fn event_time(out: &mut Vec<u8>, i: usize) {
    static BASE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        now.as_secs() as u32 - 3600
    });
    rmp::encode::write_ext_meta(out, 8, 0).unwrap();
    out.extend_from_slice(&(base + (i / 1000) as u32).to_be_bytes());
    out.extend_from_slice(&((i % 1000) as u32 * 1000).to_be_bytes());
}

const TAG: &str = "app-firelens-0123456789abcdef";

/// Message mode, one record a frame, split into `connections` parts of (nearly) equal record
/// counts.
fn message_mode(
    n: usize,
    name: &'static str,
    log: fn(usize) -> String,
    connections: usize,
) -> Stream {
    let mut out = Vec::with_capacity(n * 340);
    let mut parts = Vec::with_capacity(connections);
    for c in 0..connections {
        for i in c * n / connections..(c + 1) * n / connections {
            rmp::encode::write_array_len(&mut out, 4).unwrap();
            rmp::encode::write_str(&mut out, TAG).unwrap();
            event_time(&mut out, i);
            docker_record(&mut out, i, log);
            rmp::encode::write_map_len(&mut out, 0).unwrap();
        }
        parts.push(out.len());
    }
    Stream {
        name,
        record_bytes: out.len(),
        bytes: out.into(),
        parts,
        records: n,
    }
}

/// PackedForward, 1000 entries a frame; with `gzip`, each frame's entries are one gzip member and
/// the options say `"compressed": "gzip"` (Fluent Bit's CompressedPackedForward).
fn packed_forward(n: usize, gzip: bool) -> Stream {
    let mut out = Vec::with_capacity(if gzip { n * 40 } else { n * 340 });
    let mut entries = Vec::new();
    let mut record_bytes = 0;
    for start in (0..n).step_by(1000) {
        entries.clear();
        for i in start..(start + 1000).min(n) {
            rmp::encode::write_array_len(&mut entries, 2).unwrap();
            event_time(&mut entries, i);
            docker_record(&mut entries, i, text_log);
        }
        let frame_start = out.len();
        rmp::encode::write_array_len(&mut out, 3).unwrap();
        rmp::encode::write_str(&mut out, TAG).unwrap();
        if gzip {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&entries).unwrap();
            rmp::encode::write_bin(&mut out, &gz.finish().unwrap()).unwrap();
            rmp::encode::write_map_len(&mut out, 1).unwrap();
            rmp::encode::write_str(&mut out, "compressed").unwrap();
            rmp::encode::write_str(&mut out, "gzip").unwrap();
            // The same frame uncompressed: array header, tag, bin header and entries, empty map.
            let mut plain = Vec::new();
            rmp::encode::write_array_len(&mut plain, 3).unwrap();
            rmp::encode::write_str(&mut plain, TAG).unwrap();
            rmp::encode::write_bin_len(&mut plain, entries.len() as u32).unwrap();
            record_bytes += plain.len() + entries.len() + 1;
        } else {
            rmp::encode::write_bin(&mut out, &entries).unwrap();
            rmp::encode::write_map_len(&mut out, 0).unwrap();
            record_bytes += out.len() - frame_start;
        }
    }
    Stream {
        name: if gzip {
            "CompressedPackedForward"
        } else {
            "PackedForward"
        },
        parts: vec![out.len()],
        bytes: out.into(),
        records: n,
        record_bytes,
    }
}

/// Which pre-encoded stream a scenario sends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Input {
    /// Message mode, plain-text `log`, one connection.
    Message,
    /// PackedForward, 1000 entries a frame, plain-text `log`.
    PackedForward,
    /// The same frames with gzip-compressed entries.
    CompressedPackedForward,
    /// Message mode, `log` holding a JSON object.
    MessageJson,
    /// Message mode, plain-text `log`, the records split over this many connections.
    MessageConnections(usize),
}

/// Streams are encoded on first use and shared by the scenarios after.
pub struct Streams {
    records: usize,
    built: Vec<(Input, Arc<Stream>)>,
}

impl Streams {
    pub fn new(records: usize) -> Self {
        Self {
            records,
            built: Vec::new(),
        }
    }

    pub fn get(&mut self, input: Input) -> Arc<Stream> {
        if let Some((_, s)) = self.built.iter().find(|(i, _)| *i == input) {
            return s.clone();
        }
        let n = self.records;
        let stream = Arc::new(match input {
            Input::Message => message_mode(n, "Message", text_log, 1),
            Input::PackedForward => packed_forward(n, false),
            Input::CompressedPackedForward => packed_forward(n, true),
            Input::MessageJson => message_mode(n, "Message (JSON log)", json_log, 1),
            Input::MessageConnections(c) => message_mode(n, "Message, connections", text_log, c),
        });
        self.built.push((input, stream.clone()));
        stream
    }
}
