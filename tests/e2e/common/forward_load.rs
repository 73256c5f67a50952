//! Many Forward clients at once, each sending frames with a `chunk` and waiting for its ack as
//! fluent-logger and Fluent Bit do: a frame that was not acked (the connection was reset or
//! refused, or no ack came in time) is resent, the same chunk and records, after a reconnect.
//! Every acked record goes in a [`Ledger`]; the report says how often the clients were refused or
//! reset (the router dropped them) and how often a frame's round trip was long (the router held
//! them back, which is what it should do when its memory is full).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::ledger::Ledger;

/// Where the clients connect.
#[derive(Debug, Clone)]
pub enum Target {
    Tcp(u16),
    Unix(PathBuf),
}

/// The Forward mode of the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `[tag, [[time, record], ...], {chunk}]`.
    Forward,
    /// `[tag, bin(entries), {chunk}]`.
    Packed,
    /// CompressedPackedForward, gzip.
    Gzip,
    /// CompressedPackedForward, zstd.
    Zstd,
}

/// What the clients send.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub target: Target,
    pub connections: usize,
    /// Frames each connection sends (each acked before the next).
    pub frames: usize,
    pub records_per_frame: usize,
    /// Bytes of padding in each record's `log` after its id.
    pub pad: usize,
    /// `log` is JSON text `{"id": <id>, "msg": <pad>}` (for a json parser filter) instead of
    /// `<id> <pad>`.
    pub json_log: bool,
    pub mode: Mode,
    pub tag: String,
    /// A pause after each acked frame (pacing).
    pub pause: Duration,
    /// How long a client waits for an ack before it gives the connection up and resends.
    pub ack_timeout: Duration,
    /// A round trip (write and ack) longer than this counts as held back.
    pub held_after: Duration,
    /// The clients give up (counted in `gave_up`) after this long.
    pub deadline: Duration,
}

/// What the clients saw.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub ledger: Ledger,
    /// Connects that failed.
    pub refused: usize,
    /// Connections that failed after connecting (write error, reset, closed, no ack in time).
    pub resets: usize,
    /// Frames sent again after a failure.
    pub resent_frames: usize,
    /// Frames whose round trip took longer than `held_after`.
    pub held_back: usize,
    /// The longest round trip.
    pub max_round_trip: Duration,
    /// Connections that stopped at the deadline before sending all their frames.
    pub gave_up: usize,
}

impl LoadReport {
    pub fn print(&self, name: &str) {
        eprintln!(
            "load [{name}]: sent {} acked {} refused {} resets {} resent frames {} held back {} max round trip {:?} gave up {}",
            self.ledger.sent,
            self.ledger.acked.len(),
            self.refused,
            self.resets,
            self.resent_frames,
            self.held_back,
            self.max_round_trip,
            self.gave_up
        );
    }
}

/// Running clients; [`Load::join`] waits for them.
pub struct Load {
    threads: Vec<std::thread::JoinHandle<LoadReport>>,
    /// Records acked so far, all clients.
    pub acked: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

enum Conn {
    Tcp(std::net::TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn open(target: &Target, ack_timeout: Duration) -> std::io::Result<Conn> {
        let c = match target {
            Target::Tcp(port) => {
                let s = std::net::TcpStream::connect(("127.0.0.1", *port))?;
                s.set_read_timeout(Some(ack_timeout))?;
                Conn::Tcp(s)
            }
            Target::Unix(path) => {
                let s = UnixStream::connect(path)?;
                s.set_read_timeout(Some(ack_timeout))?;
                Conn::Unix(s)
            }
        };
        Ok(c)
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Record `i` of connection `c`: its id (`c<c>-<i>`), the first word of its `log` (or its `id`
/// with `json_log`).
pub fn record_id(c: usize, i: usize) -> String {
    format!("c{c}-{i}")
}

/// One frame of `logs` at `secs` in `mode`, with `chunk`.
pub fn frame(mode: Mode, tag: &str, logs: &[String], chunk: &str, secs: u64) -> Vec<u8> {
    let mut entries = Vec::new();
    for l in logs {
        rmp::encode::write_array_len(&mut entries, 2).unwrap();
        match mode {
            Mode::Forward => rmp::encode::write_uint(&mut entries, secs)
                .map(|_| ())
                .unwrap(),
            _ => super::event_time(&mut entries, secs as u32, 0),
        }
        super::docker_record(&mut entries, l);
    }
    let (payload, compressed) = match mode {
        Mode::Forward | Mode::Packed => (entries, None),
        Mode::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&entries).unwrap();
            (enc.finish().unwrap(), Some("gzip"))
        }
        Mode::Zstd => (zstd::encode_all(&entries[..], 1).unwrap(), Some("zstd")),
    };
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 3).unwrap();
    rmp::encode::write_str(&mut out, tag).unwrap();
    if mode == Mode::Forward {
        rmp::encode::write_array_len(&mut out, logs.len() as u32).unwrap();
        out.extend_from_slice(&payload);
    } else {
        rmp::encode::write_bin(&mut out, &payload).unwrap();
    }
    rmp::encode::write_map_len(&mut out, 1 + compressed.is_some() as u32).unwrap();
    rmp::encode::write_str(&mut out, "chunk").unwrap();
    rmp::encode::write_str(&mut out, chunk).unwrap();
    if let Some(c) = compressed {
        rmp::encode::write_str(&mut out, "compressed").unwrap();
        rmp::encode::write_str(&mut out, c).unwrap();
    }
    out
}

impl Load {
    /// Starts `spec.connections` clients, each in its own thread.
    pub fn start(spec: &LoadSpec) -> Load {
        let acked = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let threads = (0..spec.connections)
            .map(|c| {
                let spec = spec.clone();
                let (acked, stop) = (acked.clone(), stop.clone());
                std::thread::Builder::new()
                    .stack_size(2 * 1024 * 1024)
                    .spawn(move || client(c, &spec, started, &acked, &stop))
                    .unwrap()
            })
            .collect();
        Load {
            threads,
            acked,
            stop,
        }
    }

    /// Tells every client to stop (each counts the frame it was on as given up).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Whether every client is done.
    pub fn finished(&self) -> bool {
        self.threads.iter().all(|t| t.is_finished())
    }

    /// Waits for every client; the reports merged.
    pub fn join(mut self) -> LoadReport {
        let mut all = LoadReport::default();
        for t in std::mem::take(&mut self.threads) {
            let r = t.join().unwrap();
            all.ledger.sent += r.ledger.sent;
            all.ledger.acked.extend(r.ledger.acked);
            all.refused += r.refused;
            all.resets += r.resets;
            all.resent_frames += r.resent_frames;
            all.held_back += r.held_back;
            all.max_round_trip = all.max_round_trip.max(r.max_round_trip);
            all.gave_up += r.gave_up;
        }
        all
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Client `c`: sends its frames one after the other, each until acked.
fn client(
    c: usize,
    spec: &LoadSpec,
    started: Instant,
    acked: &AtomicUsize,
    stop: &AtomicBool,
) -> LoadReport {
    let mut r = LoadReport::default();
    let pad = "p".repeat(spec.pad);
    let secs = super::recent_secs();
    let mut conn: Option<Conn> = None;
    let retry_pause = Duration::from_millis(250);
    // Spread the connects (a few hundred at once would all hit the listen backlog together).
    std::thread::sleep(Duration::from_millis((c % 100) as u64 * 5));
    'frames: for f in 0..spec.frames {
        let ids: Vec<String> = (f * spec.records_per_frame..(f + 1) * spec.records_per_frame)
            .map(|i| record_id(c, i))
            .collect();
        let logs: Vec<String> = ids
            .iter()
            .map(|id| match spec.json_log {
                true => format!(r#"{{"id":"{id}","msg":"{pad}"}}"#),
                false => format!("{id} {pad}"),
            })
            .collect();
        let chunk = format!("{c}-{f}");
        let bytes = frame(spec.mode, &spec.tag, &logs, &chunk, secs);
        r.ledger.sent += ids.len();
        let mut attempt = 0;
        loop {
            if stop.load(Ordering::SeqCst) || started.elapsed() > spec.deadline {
                r.gave_up += 1;
                break 'frames;
            }
            if attempt > 0 {
                r.resent_frames += 1;
                std::thread::sleep(retry_pause);
            }
            attempt += 1;
            if conn.is_none() {
                match Conn::open(&spec.target, spec.ack_timeout) {
                    Ok(s) => conn = Some(s),
                    Err(_) => {
                        r.refused += 1;
                        continue;
                    }
                }
            }
            let s = conn.as_mut().unwrap();
            let t = Instant::now();
            let answer = s
                .write_all(&bytes)
                .ok()
                .and_then(|()| super::try_read_ack(s));
            if answer.as_deref() != Some(chunk.as_str()) {
                r.resets += 1;
                conn = None;
                continue;
            }
            let rtt = t.elapsed();
            r.max_round_trip = r.max_round_trip.max(rtt);
            if rtt > spec.held_after {
                r.held_back += 1;
            }
            acked.fetch_add(ids.len(), Ordering::SeqCst);
            r.ledger.acked.extend(ids);
            break;
        }
        if !spec.pause.is_zero() {
            std::thread::sleep(spec.pause);
        }
    }
    r
}

/// The id of a delivered record (a JSON object): its `id` key (parsed from a JSON `log`), else
/// the first word of its `log`.
pub fn delivered_id(record: &serde_json::Value) -> Option<String> {
    if let Some(id) = record["id"].as_str() {
        return Some(id.to_owned());
    }
    record["log"]
        .as_str()
        .map(|l| l.split(' ').next().unwrap_or(l).to_owned())
}
