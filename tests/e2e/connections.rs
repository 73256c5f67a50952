//! Fault test 6: a thousand Forward connections send at once, then all close: every record is
//! delivered, and no descriptor or task outlives its connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;

const CONNECTIONS: usize = 1000;
const THREADS: usize = 20;

#[test]
fn a_thousand_connections_at_once_leave_no_fds_or_tasks_behind() {
    let port = free_port();
    let fl = Firelane::start(&format!(
        r#"
[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = {port}

[[outputs]]
name = "null"
match = "*"
"#
    ));
    let fds = || fl.metric("process_open_fds", "");
    let tasks = || fl.metric("firelane_runtime_alive_tasks", "");
    let active = || fl.metric("firelane_input_connections_active", "forward.0");
    // Let start-up settle (the admin connection of these reads comes and goes).
    std::thread::sleep(Duration::from_millis(300));
    let (fds_idle, tasks_idle) = (fds(), tasks());
    assert!(fds_idle > 0.0 && tasks_idle > 0.0, "gauges are exported");

    let start = Arc::new(Barrier::new(THREADS + 1));
    let opened = Arc::new(Barrier::new(THREADS + 1));
    let close = Arc::new(Barrier::new(THREADS + 1));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (start, opened, close) = (start.clone(), opened.clone(), close.clone());
            std::thread::spawn(move || {
                let mut conns: Vec<TcpStream> = (0..CONNECTIONS / THREADS)
                    .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
                    .collect();
                start.wait();
                for (i, c) in conns.iter_mut().enumerate() {
                    let chunk = format!("c{t}-{i}");
                    c.write_all(&message_frame("many", 1_700_000_000, &chunk, Some(&chunk)))
                        .unwrap();
                }
                for (i, c) in conns.iter_mut().enumerate() {
                    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    assert_eq!(read_ack(c), format!("c{t}-{i}"));
                }
                opened.wait();
                close.wait();
                drop(conns);
            })
        })
        .collect();
    start.wait();
    opened.wait();
    // Every connection is open and acked.
    assert_eq!(active(), CONNECTIONS as f64);
    let fds_busy = fds();
    assert!(
        fds_busy >= fds_idle + CONNECTIONS as f64,
        "one descriptor per connection: {fds_busy} vs idle {fds_idle}"
    );
    assert!(tasks() >= tasks_idle + CONNECTIONS as f64);
    fl.wait_for("every record delivered", Duration::from_secs(20), || {
        fl.metric("firelane_output_records_total", "null.0") == CONNECTIONS as f64
    });
    close.wait();
    for w in workers {
        w.join().unwrap();
    }
    fl.wait_for("every connection closed", Duration::from_secs(20), || {
        active() == 0.0
    });
    fl.wait_for(
        "descriptors and tasks back to idle",
        Duration::from_secs(20),
        || fds() <= fds_idle + 2.0 && tasks() <= tasks_idle + 2.0,
    );
    eprintln!(
        "fds: idle {fds_idle}, busy {fds_busy}, after {}; tasks: idle {tasks_idle}, after {}",
        fds(),
        tasks()
    );
    assert_eq!(
        fl.metric("firelane_input_connections_total", "forward.0"),
        CONNECTIONS as f64
    );
}

/// Issue "acked means kept", case 4: clients that trickle a byte at a time and never complete a
/// frame take every slot (`max_connections`); a client sending logs still gets in, because a
/// new connection closes the one longest without a complete frame once that is 5 s old.
#[test]
fn trickling_clients_cannot_lock_out_a_client_that_sends_logs() {
    const SLOTS: usize = 20;
    let port = free_port();
    let fl = Firelane::start(&forward_to_file(
        port,
        &format!("max_connections = {SLOTS}\nack = \"accepted\""),
    ));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let frame = message_frame("trickle", 1_700_000_000, "never finished", Some("t"));
    let tricklers: Vec<_> = (0..SLOTS + 5)
        .map(|_| {
            let (stop, frame) = (stop.clone(), frame.clone());
            std::thread::spawn(move || {
                let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                    return;
                };
                // One byte every 300 ms: never the whole frame within the test.
                for b in &frame[..frame.len() - 1] {
                    if stop.load(std::sync::atomic::Ordering::Relaxed)
                        || s.write_all(&[*b]).is_err()
                    {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(300));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let started = std::time::Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&message_frame(
        "app",
        1_700_000_000,
        "gets through",
        Some("ok"),
    ))
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let ack = try_read_ack(&mut s);
    let waited = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(ack.as_deref(), Some("ok"), "acked\n{}", fl.log());
    assert!(
        waited < Duration::from_secs(10),
        "within the 5 s eviction rule, took {waited:?}"
    );
    assert!(fl.metric("firelane_input_connections_closed_total", "evicted") >= 1.0);
    for t in tricklers {
        t.join().unwrap();
    }
    fl.wait_for("the record written", Duration::from_secs(5), || {
        std::fs::read_to_string(fl.path("out.log")).is_ok_and(|t| t.contains("gets through"))
    });
}

/// A frame begun must complete within `frame_timeout` (time waited on the client): a client that
/// trickles one forever is closed and counted, while a client that pauses between whole frames
/// is not; a tcp line left unfinished that long ends the connection and is taken as its last line.
#[test]
fn a_frame_trickled_past_frame_timeout_closes_its_connection() {
    let port = free_port();
    let tcp_port = free_port();
    let fl = Firelane::start(&format!(
        "{}\n[[inputs]]\nname = \"tcp\"\nport = {tcp_port}\nlisten = \"127.0.0.1\"\nformat = \"none\"\ntag = \"line\"\nframe_timeout = \"1s\"\n",
        forward_to_file(port, "frame_timeout = \"1s\"\nack = \"accepted\"")
    ));
    // A whole frame, a pause longer than the timeout, another whole frame: both acked.
    let mut patient = TcpStream::connect(("127.0.0.1", port)).unwrap();
    patient
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for (i, log) in ["before the pause", "after the pause"].iter().enumerate() {
        let id = i.to_string();
        patient
            .write_all(&message_frame("app", 1_700_000_000, log, Some(&id)))
            .unwrap();
        assert_eq!(try_read_ack(&mut patient).as_deref(), Some(id.as_str()));
        std::thread::sleep(Duration::from_millis(1500));
    }
    // One byte every 200 ms: the frame is not whole after 1 s.
    let frame = message_frame("trickle", 1_700_000_000, "never finished", Some("t"));
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let started = std::time::Instant::now();
    for b in &frame[..frame.len() - 1] {
        if slow.write_all(&[*b]).is_err() || started.elapsed() > Duration::from_secs(5) {
            break; // closed by firelane (or long past the timeout)
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    fl.wait_for(
        "the trickled frame's connection closed",
        Duration::from_secs(5),
        || fl.metric("firelane_input_connections_closed_total", "frame_timeout") >= 1.0,
    );
    // tcp: a line without its newline for longer than the timeout is the connection's last.
    let mut line = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    line.write_all(b"whole line\nhalf a li").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let _ = line.write_all(b"ne\n");
    fl.wait_for("both tcp lines written", Duration::from_secs(5), || {
        std::fs::read_to_string(fl.path("out.log"))
            .is_ok_and(|t| t.contains("whole line") && t.contains("half a li"))
    });
    let out = std::fs::read_to_string(fl.path("out.log")).unwrap();
    assert!(
        !out.contains("half a line"),
        "the rest came after the close"
    );
    assert!(out.contains("after the pause"), "{out}");
    assert!(!out.contains("never finished"));
    assert_eq!(
        fl.metric("firelane_input_connections_closed_total", "frame_timeout"),
        2.0,
        "one forward, one tcp connection\n{}",
        fl.log()
    );
}
