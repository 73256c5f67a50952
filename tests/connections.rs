//! Fault test 6: a thousand Forward connections send at once, then all close: every record is
//! delivered, and no descriptor or task outlives its connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

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
