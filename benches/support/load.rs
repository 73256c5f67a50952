//! The throughput harness's generator and raw baseline: sends a stream's parts over their own
//! connections, and a bare socket that accepts as many connections concurrently, reads each into a
//! buffer and discards.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::streams::Stream;

/// Threads the generator spreads several connections over.
const SENDER_THREADS: usize = 4;
/// What one `write_all` sends (like a busy client).
const WRITE_BYTES: usize = 256 * 1024;

/// Sends every part of `stream` over its own connection to `port` and returns when all is
/// written. One part: one thread writing 256 KiB pieces. Several: the connections are opened
/// first, then `SENDER_THREADS` threads each write 64 KiB pieces round-robin over their share, so
/// all connections carry data at the same time.
pub fn send(port: u16, stream: &Stream) {
    let ranges = stream.ranges();
    if ranges.len() == 1 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        for piece in stream.bytes[ranges[0].clone()].chunks(WRITE_BYTES) {
            s.write_all(piece).unwrap();
        }
        return;
    }
    let conns: Vec<(TcpStream, std::ops::Range<usize>)> = ranges
        .into_iter()
        .map(|r| (TcpStream::connect(("127.0.0.1", port)).unwrap(), r))
        .collect();
    let mut shares: Vec<Vec<(TcpStream, std::ops::Range<usize>)>> =
        (0..SENDER_THREADS).map(|_| Vec::new()).collect();
    for (i, c) in conns.into_iter().enumerate() {
        shares[i % SENDER_THREADS].push(c);
    }
    std::thread::scope(|scope| {
        for mut share in shares {
            let bytes = &stream.bytes;
            scope.spawn(move || {
                let mut open = share.len();
                while open > 0 {
                    open = 0;
                    for (s, r) in &mut share {
                        if r.start == r.end {
                            continue;
                        }
                        let end = r.end.min(r.start + WRITE_BYTES / 4);
                        s.write_all(&bytes[r.start..end]).unwrap();
                        r.start = end;
                        open += 1;
                    }
                }
            });
        }
    });
}

/// Baseline: a bare socket that accepts as many connections as `stream` has parts, each read by
/// its own thread into a 1 MiB buffer and discarded; returns the time until every byte was read.
pub fn raw_drain(stream: &Stream) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sizes: Vec<usize> = stream.ranges().iter().map(|r| r.len()).collect();
    let drain = std::thread::spawn(move || {
        let readers: Vec<_> = sizes
            .into_iter()
            .map(|size| {
                let (mut c, _) = listener.accept().unwrap();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 1 << 20];
                    let mut got = 0;
                    while got < size {
                        let n = c.read(&mut buf).unwrap();
                        assert!(n > 0, "sender closed early");
                        got += n;
                    }
                    Instant::now()
                })
            })
            .collect();
        readers
            .into_iter()
            .map(|r| r.join().unwrap())
            .max()
            .unwrap()
    });
    let start = Instant::now();
    send(port, stream);
    drain.join().unwrap() - start
}
