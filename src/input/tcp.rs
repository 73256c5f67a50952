//! The `tcp` input: newline-delimited JSON objects (`format = "json"`) or text lines
//! (`format = "none"`, each becomes `{"log": "<line>"}`), one batch per read.
//!
//! Outcomes, all counted: a line longer than `buffer_size` is cut (`truncated`); a JSON line that
//! does not parse as an object is dropped (`invalid_json`); empty lines are skipped. FireLens's
//! health check connects here and sends nothing, which is fine.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::model::{TcpFormat, TcpInputConfig};
use crate::event::ack::AckToken;
use crate::event::{Event, EventTime};
use crate::input::lines::{Line, LineSplitter};
use crate::msgpack::writer;
use crate::net::drain::DrainingReader;
use crate::net::frame_clock::FrameClock;
use crate::net::listener::{BoxConn, ConnectionHandler};
use crate::net::slots::Slot;
use crate::pipeline::intake::Intake;
use crate::ratelimit::RateLimiter;

const READ_BYTES: usize = 64 * 1024;

#[derive(Debug)]
pub struct TcpHandler {
    pub intake: Intake,
    pub tag: Arc<str>,
    pub format: TcpFormat,
    pub max_line_bytes: usize,
    /// A line that has begun must be complete after this long waiting for the peer.
    pub frame_timeout: Duration,
    pub error_log: RateLimiter,
}

impl TcpHandler {
    /// The handler of a tcp input with options `c`, submitting to `intake` (whose name is the
    /// tag when `c` sets none).
    pub fn new(c: &TcpInputConfig, intake: Intake) -> Self {
        let tag = c.tag.as_deref().map(Arc::from);
        Self {
            tag: tag.unwrap_or_else(|| intake.name().clone()),
            intake,
            format: c.format,
            max_line_bytes: c.buffer_size.as_usize(),
            frame_timeout: c.frame_timeout.0,
            error_log: RateLimiter::default(),
        }
    }
}

impl ConnectionHandler for TcpHandler {
    async fn handle(
        &self,
        mut conn: BoxConn,
        peer: String,
        shutdown: CancellationToken,
        slot: Slot,
    ) {
        let m = self.intake.metrics();
        m.connections.increment(1);
        m.connections_active.increment(1.0);
        let mut buf = BytesMut::with_capacity(READ_BYTES);
        let mut lines = LineSplitter::new(self.max_line_bytes);
        let mut reader = DrainingReader::default();
        let mut line_clock = FrameClock::new(self.frame_timeout);
        loop {
            if buf.capacity() - buf.len() < READ_BYTES / 4 {
                buf.reserve(READ_BYTES);
            }
            let started = Instant::now();
            let read = reader.read(&mut conn, &mut buf, &shutdown);
            let read = match line_clock.deadline(started) {
                Some(at) => tokio::time::timeout_at(at, read).await.ok(),
                None => Some(read.await),
            };
            line_clock.read_waited(started.elapsed());
            let mut batch = Vec::new();
            let Some(read) = read else {
                // The line in progress ran out of time: it is the connection's last.
                m.connection_closed("frame_timeout");
                tracing::debug!(component = %self.intake.name(), peer, frame_timeout = ?self.frame_timeout,
                    "a line was not complete within frame_timeout; connection closed");
                batch.extend(lines.finish(&mut buf));
                self.submit(batch).await;
                break;
            };
            let Some(read) = read else {
                break;
            };
            match read {
                Ok(0) => {
                    batch.extend(lines.finish(&mut buf));
                    self.submit(batch).await;
                    break;
                }
                Ok(_) => {
                    while let Some(line) = lines.next_line(&mut buf) {
                        batch.push(line);
                    }
                    if !batch.is_empty() {
                        slot.progress();
                    }
                    line_clock.processed(!buf.is_empty(), !batch.is_empty());
                    self.submit(batch).await;
                }
                Err(e) => {
                    tracing::debug!(component = %self.intake.name(), peer, error = %e, "connection error");
                    break;
                }
            }
        }
        m.connections_active.decrement(1.0);
    }
}

impl TcpHandler {
    /// Encodes the lines of one read into a single buffer and submits them as one batch.
    async fn submit(&self, lines: Vec<Line>) {
        if lines.is_empty() {
            return;
        }
        let time = EventTime::now();
        let mut buf = Vec::with_capacity(lines.iter().map(|l| line_bytes(l).len() + 8).sum());
        let mut ends = Vec::with_capacity(lines.len());
        let (mut truncated, mut invalid) = (0u64, 0u64);
        for line in &lines {
            if matches!(line, Line::Truncated(_)) {
                truncated += 1;
            }
            let text = line_bytes(line);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match self.format {
                TcpFormat::None => {
                    writer::write_map_len(&mut buf, 1);
                    writer::write_str(&mut buf, b"log");
                    writer::write_str(&mut buf, text);
                }
                TcpFormat::Json => {
                    if let Err(e) = writer::json_object_to_msgpack(text, &mut buf) {
                        invalid += 1;
                        if let Some(suppressed) = self.error_log.allow() {
                            tracing::warn!(component = %self.intake.name(), error = %e, suppressed, "dropping a line that is not a JSON object");
                        }
                        continue;
                    }
                }
            }
            ends.push(buf.len());
        }
        let m = self.intake.metrics();
        if truncated > 0 {
            metrics::counter!(crate::telemetry::INPUT_TRUNCATED, "component" => self.intake.name().to_string())
                .increment(truncated);
        }
        if invalid > 0 {
            m.dropped("invalid_json", invalid);
        }
        let all = Bytes::from(buf);
        let mut start = 0;
        let events: Vec<Event> = ends
            .iter()
            .map(|&end| {
                let record = all.slice(start..end);
                start = end;
                Event {
                    tag: self.tag.clone(),
                    time,
                    record,
                }
            })
            .collect();
        self.intake
            .submit(events, all.len(), AckToken::none())
            .await;
    }
}

fn line_bytes(line: &Line) -> &[u8] {
    match line {
        Line::Complete(b) | Line::Truncated(b) => b,
    }
}
