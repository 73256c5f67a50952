//! The account every fault test reports: records sent, acked, delivered, duplicated and lost
//! (lost counts acked records only: what was never acked may be resent by a real client).

use std::collections::{HashMap, HashSet};

#[derive(Debug, Default)]
pub struct Ledger {
    pub sent: usize,
    pub acked: HashSet<String>,
    pub delivered: HashMap<String, usize>,
}

/// The figures of a [`Ledger`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub acked: usize,
    pub delivered: usize,
    pub duplicated: usize,
    pub lost: usize,
}

impl Ledger {
    pub fn deliver<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids {
            *self.delivered.entry(id.to_owned()).or_default() += 1;
        }
    }

    /// The figures, printed as one line for the test log under `name`.
    pub fn report(&self, name: &str) -> Report {
        let r = Report {
            sent: self.sent,
            acked: self.acked.len(),
            delivered: self.delivered.len(),
            duplicated: self.delivered.values().map(|n| n - 1).sum(),
            lost: self
                .acked
                .iter()
                .filter(|id| !self.delivered.contains_key(*id))
                .count(),
        };
        eprintln!(
            "fault report [{name}]: sent {} acked {} delivered {} duplicated {} lost {}",
            r.sent, r.acked, r.delivered, r.duplicated, r.lost
        );
        r
    }
}

/// What [`stream_acked`] sends: Forward-mode frames of `per_frame` records tagged `tag`, each
/// record's `log` being `"<id> <pad>"` (the id alone when `pad` is empty), one chunk ack per frame.
pub struct StreamSpec {
    pub tag: &'static str,
    pub per_frame: usize,
    pub pad: usize,
    /// A pause after each frame (to pace the sender).
    pub pause: std::time::Duration,
}

/// The `log` value of record `i`.
pub fn record_log(i: usize, pad: &str) -> String {
    if pad.is_empty() {
        format!("r{i}")
    } else {
        format!("r{i} {pad}")
    }
}

/// Sends frames to 127.0.0.1:`port` until `stop()` holds or the connection fails (a refused
/// write or a missing ack ends the stream); records the sent and acked ids. Ids are the part of
/// `log` before the first space (see [`id_of`]).
pub fn stream_acked(port: u16, spec: &StreamSpec, stop: impl Fn() -> bool) -> Ledger {
    use std::io::Write;
    let mut ledger = Ledger::default();
    let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return ledger;
    };
    conn.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let pad = "p".repeat(spec.pad);
    let secs = super::recent_secs();
    let mut f = 0usize;
    while !stop() {
        let logs: Vec<String> = (f * spec.per_frame..(f + 1) * spec.per_frame)
            .map(|i| record_log(i, &pad))
            .collect();
        let chunk = format!("c{f}");
        ledger.sent += logs.len();
        let frame = super::forward_frame_at(spec.tag, &logs, Some(&chunk), secs);
        if conn.write_all(&frame).is_err() {
            break;
        }
        match super::try_read_ack(&mut conn) {
            Some(a) if a == chunk => ledger
                .acked
                .extend(logs.iter().map(|l| id_of(l).to_owned())),
            _ => break,
        }
        f += 1;
        if !spec.pause.is_zero() {
            std::thread::sleep(spec.pause);
        }
    }
    ledger
}

/// The id of a record's `log` (its first word).
pub fn id_of(log: &str) -> &str {
    log.split(' ').next().unwrap_or(log)
}

/// The record ids (`log` fields) in a JSON-lines file, in order; a line torn by a SIGKILL is
/// skipped.
pub fn delivered_ids(path: &std::path::Path) -> Vec<String> {
    use std::io::BufRead;
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter_map(|v| v["log"].as_str().map(|s| id_of(s).to_owned()))
        .collect()
}

/// Streams acked frames of 50 records to the sidecar on `port` while the aggregator writing
/// `file` is SIGKILLed once 2,000 records arrived there and started again with `restart`; then
/// waits until every record the sidecar acked is in `file` and reports (under `name`). Returns the
/// report and the restarted aggregator.
pub fn stream_across_an_aggregator_kill(
    port: u16,
    file: &std::path::Path,
    aggregator: &mut super::Firelane,
    restart: impl FnOnce() -> super::Firelane,
    name: &str,
) -> (Report, super::Firelane) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let until = |what: &str, secs: u64, cond: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let spec = StreamSpec {
                tag: "app",
                per_frame: 50,
                pad: 0,
                pause: Duration::from_millis(2),
            };
            stream_acked(port, &spec, || stop.load(Ordering::SeqCst))
        })
    };
    until("the aggregator to receive records", 30, &|| {
        delivered_ids(file).len() >= 2000
    });
    aggregator.child.kill().unwrap();
    aggregator.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let restarted = restart();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    let mut ledger = sender.join().unwrap();
    until(
        "every acked record to be in the aggregator's file",
        60,
        &|| {
            let got: HashSet<String> = delivered_ids(file).into_iter().collect();
            ledger.acked.iter().all(|id| got.contains(id))
        },
    );
    ledger.deliver(delivered_ids(file).iter().map(String::as_str));
    (ledger.report(name), restarted)
}
