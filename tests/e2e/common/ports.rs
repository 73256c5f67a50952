//! Ports for servers a test starts later (firelane, moto, Fluent Bit).
//!
//! A port found by binding port 0 and releasing it comes from the kernel's ephemeral range, so
//! any outgoing connection (hundreds of them in the load tests running beside) may take it before
//! the server binds it: CI saw firelane fail with "Address already in use". Ports here come from
//! below the ephemeral range, which the kernel never hands out on its own, and each one is
//! reserved for the life of the test process by a file named after it, created exclusively and
//! holding the owner's pid. A file whose owner is gone is taken over.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// Lowest port handed out: above the well-known and registered services tests might meet.
const FIRST: u16 = 10_000;

/// The directory of reservation files, shared by every test process of this user.
fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join("firelane-test-ports");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The first port of the kernel's ephemeral range (32768 when it cannot be read).
fn ephemeral_start() -> u16 {
    fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Whether the process that wrote a reservation file is still running.
fn owner_alive(path: &std::path::Path) -> bool {
    match fs::read_to_string(path) {
        Ok(pid) if !pid.trim().is_empty() => {
            PathBuf::from(format!("/proc/{}", pid.trim())).exists()
        }
        // Being written right now, or unreadable: treat as taken.
        _ => true,
    }
}

/// Reserves the file for `port`, taking it over when its owner has exited.
fn claim(port: u16) -> bool {
    let path = dir().join(port.to_string());
    for _ in 0..2 {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                write!(file, "{}", std::process::id()).unwrap();
                return true;
            }
            Err(_) if !owner_alive(&path) => {
                // Another process may take it over first: then create_new fails next time.
                if let Err(e) = fs::remove_file(&path)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    panic!(
                        "cannot remove the stale port reservation {}: {e}",
                        path.display()
                    );
                }
            }
            Err(_) => return false,
        }
    }
    false
}

/// A port below the ephemeral range that is free now and reserved for this process.
pub fn reserve() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let end = ephemeral_start().max(FIRST + 1_000);
    let span = u32::from(end - FIRST);
    // Processes start at different places so they rarely contend for the same files.
    let start = std::process::id().wrapping_mul(7_919);
    for _ in 0..span {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = FIRST + (start.wrapping_add(step) % span) as u16;
        if claim(port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free test port between {FIRST} and {end}");
}
