//! The Forward input's connection handling: read large chunks, decode every complete frame, hand
//! one batch per read to the pipeline, and send `chunk` acks.
//!
//! With authentication, a connection first passes the handshake ([`server_handshake`]); nothing
//! it sent before its PING was accepted is read as records.
//!
//! Invariants: the read buffer never holds more than `buffer_max_size` of an incomplete frame plus
//! one read; a malformed frame closes only its own connection, after the valid frames before it
//! were submitted; acks are sent only for frames whose events were accepted (`ack = accepted`) or
//! delivered by every output (`ack = delivered`), never for dropped ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use bytes::BytesMut;
use metrics::Gauge;
use tokio::io::{AsyncWriteExt, WriteHalf};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::model::{AckMode, ForwardInputConfig};
use crate::forward::codec::{self, DecodeLimits, FrameScanner, TagCache};
use crate::forward::handshake::{HandshakeError, ServerAuth, ServerFailure, server_handshake};
use crate::input::forward::buffer::{FRAME_STALL, ReadBuffer, ReadWait};
use crate::input::forward::decode::{Decoding, Stop, max_piece_events};
use crate::input::forward::read_size;
use crate::input::forward::submit::{Submission, Submitter};
use crate::net::drain::DrainingReader;
use crate::net::frame_clock::FrameClock;
use crate::net::listener::{BoxConn, ConnectionHandler};
use crate::net::slots::Slot;
use crate::pipeline::intake::Intake;
use crate::ratelimit::RateLimiter;

/// Pending ack writes per connection before the reader waits.
const ACK_QUEUE: usize = 64;

/// Settings shared by every connection of one Forward input.
#[derive(Debug)]
pub struct ForwardHandler {
    pub intake: Intake,
    pub limits: DecodeLimits,
    pub read_chunk_bytes: usize,
    pub ack_mode: AckMode,
    pub tag_override: Option<Arc<str>>,
    pub tag_prefix: Option<Arc<str>>,
    pub error_log: RateLimiter,
    /// The handshake every connection must pass first, when the input requires one.
    pub auth: Option<ServerAuth>,
    pub handshake_timeout: Duration,
    /// Close a connection that sends nothing for this long.
    pub idle_timeout: Option<Duration>,
    /// A frame that has begun must be complete after this long waiting for the peer.
    pub frame_timeout: Duration,
    /// Refused handshakes get their own budget of warnings.
    pub auth_log: RateLimiter,
    /// Connections being served (they share the budget's room for reads; see `read_size`).
    pub active_connections: AtomicUsize,
}

impl ForwardHandler {
    /// The handler of a forward input with options `c`, submitting to `intake`.
    pub fn new(c: &ForwardInputConfig, intake: Intake) -> Self {
        Self {
            intake,
            limits: DecodeLimits {
                max_frame_bytes: c.buffer_max_size.as_usize(),
                max_decompressed_bytes: c.max_decompressed_size.as_usize(),
            },
            read_chunk_bytes: c.buffer_chunk_size.as_usize(),
            ack_mode: c.ack,
            tag_override: c.tag.as_deref().map(Arc::from),
            tag_prefix: c.tag_prefix.as_deref().map(Arc::from),
            error_log: RateLimiter::default(),
            auth: c.server_auth(),
            handshake_timeout: c.handshake_timeout.0,
            idle_timeout: c.idle_timeout.map(|d| d.0),
            frame_timeout: c.frame_timeout.0,
            auth_log: RateLimiter::default(),
            active_connections: Default::default(),
        }
    }
}

impl ConnectionHandler for ForwardHandler {
    async fn handle(&self, conn: BoxConn, peer: String, shutdown: CancellationToken, slot: Slot) {
        let m = self.intake.metrics();
        m.connections.increment(1);
        let _counted = Counted::new(&self.active_connections, &m.connections_active);
        self.serve(conn, &peer, shutdown, slot).await;
    }
}

/// One connection in `active_connections` and the `connections_active` gauge, until dropped (also
/// when its task is cancelled).
struct Counted<'a> {
    count: &'a AtomicUsize,
    gauge: &'a Gauge,
}

impl<'a> Counted<'a> {
    fn new(count: &'a AtomicUsize, gauge: &'a Gauge) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        gauge.increment(1.0);
        Self { count, gauge }
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
        self.gauge.decrement(1.0);
    }
}

/// Why a connection ended.
enum End {
    Eof,
    EofMidFrame(usize),
    IdleTimeout(Duration),
    /// A frame begun `frame_timeout` ago (time waited on the peer) is still not complete.
    FrameTimeout {
        timeout: Duration,
        held_bytes: usize,
    },
    Io(std::io::Error),
    Malformed(codec::FrameError),
    /// Part of a frame held in an admitted block (`held_bytes`) with nothing received for
    /// `FRAME_STALL`, or a payload past its announced size with no memory for it in time.
    NoMemory {
        held_bytes: usize,
    },
}

impl From<Stop> for End {
    fn from(s: Stop) -> Self {
        match s {
            Stop::Malformed(e) => End::Malformed(e),
            Stop::NoMemory { held_bytes } => End::NoMemory { held_bytes },
        }
    }
}

impl ForwardHandler {
    async fn serve(&self, mut conn: BoxConn, peer: &str, shutdown: CancellationToken, slot: Slot) {
        let account = self.intake.account().clone();
        let mut leftover = BytesMut::new();
        if let Some(auth) = &self.auth {
            let outcome = tokio::select! {
                r = server_handshake(&mut conn, auth, self.handshake_timeout) => r,
                // Nothing was accepted from this client yet: closing loses nothing.
                () = shutdown.cancelled() => return,
            };
            match outcome {
                Ok(client) => {
                    tracing::debug!(component = %self.intake.name(), peer, client_hostname = ?client.client_hostname, username = ?client.username, "handshake passed");
                    leftover = client.leftover;
                }
                Err(failure) => return self.log_handshake_failure(failure, peer),
            }
        }
        let (mut rd, wr) = tokio::io::split(conn);
        let (ack_tx, ack_rx) = mpsc::channel::<Acks>(ACK_QUEUE);
        let writer = tokio::spawn(write_acks(wr, ack_rx, self.intake.clone()));
        let submitter = Submitter::new(self.intake.clone(), self.ack_mode);
        let mut submission = Submission::start(submitter, ack_tx);
        let mut state = Decoding {
            scanner: FrameScanner::new(),
            tags: TagCache::new(self.tag_override.clone(), self.tag_prefix.clone()),
            events_hint: 0,
            max_events: max_piece_events(self.intake.limit_bytes()),
        };
        let mut rb = if leftover.is_empty() {
            ReadBuffer::new(account)
        } else {
            ReadBuffer::with_bytes(account, leftover).await
        };
        let mut reader = DrainingReader::default();
        let mut last_data = Instant::now();
        let mut frame = FrameClock::new(self.frame_timeout);
        let end = 'conn: {
            // Requests the client sent right behind its PING are served before waiting for more.
            if !rb.bytes().is_empty()
                && let Err(e) = self.process(&mut rb, &mut state, &mut submission).await
            {
                break 'conn e.into();
            }
            frame.processed(!rb.bytes().is_empty(), false);
            loop {
                let chunk = read_size::chunk_bytes(
                    self.read_chunk_bytes,
                    submission.is_staged(),
                    self.intake.limit_bytes(),
                    self.active_connections.load(Ordering::Relaxed),
                );
                let known = state.scanner.known_len(rb.bytes());
                rb.make_room(chunk, known, self.limits.max_frame_bytes)
                    .await;
                let wait = rb.read_wait();
                let limit = match wait {
                    ReadWait::Unbounded => None,
                    ReadWait::Release(d) | ReadWait::Stall(d) => Some(Instant::now() + d),
                };
                let idle_at = self.idle_timeout.map(|d| last_data + d);
                let started = Instant::now();
                let deadline = [limit, idle_at, frame.deadline(started)]
                    .into_iter()
                    .flatten()
                    .min();
                let read = reader.read(&mut rd, rb.bytes_mut(), &shutdown);
                let read = match deadline {
                    Some(at) => tokio::time::timeout_at(at, read).await.ok(),
                    None => Some(read.await),
                };
                frame.read_waited(started.elapsed());
                let Some(read) = read else {
                    // Timed out: whichever deadline passed.
                    if frame.expired() {
                        break End::FrameTimeout {
                            timeout: frame.timeout(),
                            held_bytes: rb.bytes().len(),
                        };
                    }
                    match (self.idle_timeout, wait) {
                        (Some(idle), _) if idle_at.is_some_and(|i| i <= Instant::now()) => {
                            break End::IdleTimeout(idle);
                        }
                        (_, ReadWait::Stall(_)) => {
                            break End::NoMemory {
                                held_bytes: rb.bytes().len(),
                            };
                        }
                        _ => {
                            rb.release();
                            continue;
                        }
                    }
                };
                last_data = Instant::now();
                let Some(read) = read else {
                    break End::Eof;
                };
                match read {
                    Ok(0) if rb.bytes().is_empty() => break End::Eof,
                    Ok(0) => break End::EofMidFrame(rb.bytes().len()),
                    Ok(_) => {}
                    Err(e) => break End::Io(e),
                }
                let before = rb.bytes().len();
                if let Err(e) = self.process(&mut rb, &mut state, &mut submission).await {
                    break e.into();
                }
                let completed = rb.bytes().len() < before;
                if completed {
                    slot.progress(); // at least one frame was complete
                }
                frame.processed(!rb.bytes().is_empty(), completed);
            }
        };
        self.log_end(end, peer);
        // Batches already decoded are still submitted, then their acks written, before closing.
        if let Err(e) = submission.finish().await {
            tracing::error!(component = %self.intake.name(), peer, error = %e, "submitter failed");
        }
        if let Err(e) = writer.await {
            tracing::error!(component = %self.intake.name(), peer, error = %e, "ack writer failed");
        }
    }

    fn log_end(&self, end: End, peer: &str) {
        let m = self.intake.metrics();
        let name = self.intake.name();
        match end {
            End::Eof => tracing::debug!(component = %name, peer, "connection closed"),
            End::EofMidFrame(n) => {
                m.decode_error("eof_mid_frame");
                if let Some(suppressed) = self.error_log.allow() {
                    tracing::warn!(component = %name, peer, pending_bytes = n, suppressed, "connection closed in the middle of a frame; partial frame discarded");
                }
            }
            End::Io(e) => tracing::debug!(component = %name, peer, error = %e, "connection error"),
            End::IdleTimeout(idle) => {
                m.connection_closed("idle_timeout");
                tracing::debug!(component = %name, peer, idle_timeout = ?idle, "nothing received for idle_timeout; connection closed");
            }
            End::FrameTimeout {
                timeout,
                held_bytes,
            } => {
                m.connection_closed("frame_timeout");
                if let Some(suppressed) = self.error_log.allow() {
                    tracing::warn!(component = %name, peer, frame_timeout = ?timeout, pending_bytes = held_bytes, suppressed, "a frame was not complete within frame_timeout; connection closed, the partial frame discarded (the peer resends what was not acked)");
                }
            }
            End::NoMemory { held_bytes } => {
                m.connection_closed("memory");
                if let Some(suppressed) = self.error_log.allow() {
                    tracing::warn!(component = %name, peer, pending_bytes = held_bytes, frame_stall = ?FRAME_STALL, suppressed, "a frame admitted to memory made no progress in time (the peer stopped halfway, or a payload grew past the size it announced); connection closed, the peer resends what was not acked");
                }
            }
            End::Malformed(e) => {
                m.decode_error(e.reason());
                if let Some(suppressed) = self.error_log.allow() {
                    tracing::warn!(component = %name, peer, reason = e.reason(), suppressed, error = %e, "malformed input; closing this connection");
                }
            }
        }
    }

    /// Counts and logs a handshake that did not pass; never a key, password or digest.
    fn log_handshake_failure(&self, f: ServerFailure, peer: &str) {
        let m = self.intake.metrics();
        let name = self.intake.name();
        match &f.error {
            HandshakeError::Timeout(t) => {
                m.connection_closed("handshake_timeout");
                tracing::debug!(component = %name, peer, handshake_timeout = ?t, "handshake not finished in time; connection closed");
            }
            HandshakeError::Closed | HandshakeError::Io(_) => {
                tracing::debug!(component = %name, peer, error = %f.error, "connection ended during the handshake");
            }
            e => {
                m.auth_failure(e.reason());
                if let Some(suppressed) = self.auth_log.allow() {
                    tracing::warn!(component = %name, peer, reason = e.reason(), client_hostname = ?f.client_hostname, username = ?f.username, suppressed, error = %e, "handshake refused; connection closed");
                }
            }
        }
    }
}

/// Encoded `{"ack": ...}` replies of one batch.
#[derive(Debug, Default)]
pub(super) struct Acks {
    bytes: Vec<u8>,
    pub(super) count: u64,
}

impl Acks {
    pub(super) fn push(&mut self, chunk: &[u8]) {
        codec::encode_ack(chunk, &mut self.bytes);
        self.count += 1;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }
}

async fn write_acks(mut wr: WriteHalf<BoxConn>, mut rx: mpsc::Receiver<Acks>, intake: Intake) {
    let mut out = Vec::new();
    while let Some(first) = rx.recv().await {
        out.clear();
        out.extend_from_slice(&first.bytes);
        let mut count = first.count;
        // Coalesce acks that are already waiting into one write.
        while let Ok(more) = rx.try_recv() {
            out.extend_from_slice(&more.bytes);
            count += more.count;
        }
        if wr.write_all(&out).await.is_err() {
            // The peer is gone; it will resend what it did not see acked.
            return;
        }
        intake.metrics().acks_sent.increment(count);
    }
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_is_counted_until_its_task_ends_or_is_cancelled() {
        let count = Arc::new(AtomicUsize::new(0));
        let (held, release) = tokio::sync::oneshot::channel::<()>();
        let c = count.clone();
        let task = tokio::spawn(async move {
            let gauge = Gauge::noop();
            let _counted = Counted::new(&c, &gauge);
            let _ = release.await;
        });
        while count.load(Ordering::Relaxed) == 0 {
            tokio::task::yield_now().await;
        }
        let c = count.clone();
        let ended = tokio::spawn(async move {
            let gauge = Gauge::noop();
            let _counted = Counted::new(&c, &gauge);
        });
        ended.await.unwrap();
        assert_eq!(count.load(Ordering::Relaxed), 1);
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        drop(held);
        assert_eq!(count.load(Ordering::Relaxed), 0);
    }
}
