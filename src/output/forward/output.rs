//! The output task: takes a round of batches, encodes it once, and sends the same frames until
//! an upstream has taken them all (acked, or written when acks are off) or `retry_limit` is spent.
//!
//! Invariants:
//! - The round's batches are held until then, so their acks resolve and their memory budget is
//!   freed only after delivery (or a counted drop).
//! - No new round is taken while one is held: when every upstream is down the channel fills and
//!   the inputs block (backpressure).
//! - After a failure the connection is dropped, the upstream rests (backoff) and the frames not
//!   yet acked are resent, the same bytes, to the next upstream: duplicates are possible, losses
//!   are not.
//! - Connections are reused across rounds and reopened lazily.
//! - Memory beyond the inputs' budgets: the frames of one round (about [`MAX_ROUND_BYTES`], less
//!   with gzip), since records are copied once into frames that are resent as they are. That is
//!   the output's share of the memory account (`crate::output::share`): in a small account the
//!   rounds shrink to fit it (one batch at least).
//!
//! Shutdown: when the channel closes, the held round is finished and the task returns; the
//! pipeline's drain waits for that up to its grace.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::Receiver;

use super::connect::{ConnectError, Connector, TlsClient};
use super::upstreams::{DOWN_BACKOFF, Pick, Upstreams};
use crate::config::output::forward::{Compress, ForwardOutputConfig, UpstreamAddr};
use crate::config::units::RetryLimit;
use crate::event::Batch;
use crate::forward::ack::{AckError, AckReader};
use crate::forward::encode::{EncodeOptions, Frame, encode_round};
use crate::health::ComponentHealth;
use crate::memory::Charge;
use crate::net::listener::BoxConn;
use crate::output::share::OutputMemory;
use crate::output::{MAX_ROUND_BYTES, Reporter, recv_round};
use crate::ratelimit::RateLimiter;
use crate::rng::Rng;
use crate::telemetry::OUTPUT_RETRIES;

/// Why one attempt to hand frames to an upstream failed (all retryable elsewhere).
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("write failed: {0}")]
    Write(io::Error),
    #[error("read failed: {0}")]
    Read(io::Error),
    #[error("no progress within {0:?}")]
    Timeout(Duration),
    #[error("connection closed by the upstream")]
    Closed,
    #[error("bad reply: {0}")]
    Ack(#[from] AckError),
}

impl AttemptError {
    fn reason(&self) -> &'static str {
        match self {
            AttemptError::Connect(e) => e.reason(),
            AttemptError::Write(_) => "write_error",
            AttemptError::Read(_) => "read_error",
            AttemptError::Timeout(_) => "timeout",
            AttemptError::Closed => "closed",
            AttemptError::Ack(e) => e.reason(),
        }
    }
}

/// A configured forward output, ready to run.
pub struct ForwardOutput {
    reporter: Reporter,
    connector: Connector,
    addrs: Vec<UpstreamAddr>,
    upstreams: Upstreams,
    /// Open connection per upstream, reused across rounds.
    conns: Vec<Option<BoxConn>>,
    encode: EncodeOptions,
    require_ack: bool,
    io_timeout: Duration,
    retry_limit: RetryLimit,
    rng: Rng,
    log: RateLimiter,
    /// A round's msgpack bytes stop growing here: [`MAX_ROUND_BYTES`], or the share's size.
    round_bytes: usize,
    /// This output's share of the memory account, held while it runs.
    _share: Charge,
}

impl ForwardOutput {
    /// Fails only when the TLS files cannot be loaded (they were checked at config load, but may
    /// have changed since).
    pub fn new(
        cfg: &ForwardOutputConfig,
        name: Arc<str>,
        health: ComponentHealth,
        memory: &OutputMemory,
    ) -> Result<Self, String> {
        let addrs = cfg.upstream_addrs();
        let require_ack = cfg.require_ack_response.0;
        let tls = if cfg.tls.enabled.0 {
            let config =
                crate::net::tls::client_config(&name, &cfg.tls.settings()).map_err(|problems| {
                    let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    all.join("; ")
                })?;
            Some(TlsClient {
                config,
                vhost: cfg.tls.vhost.clone(),
            })
        } else {
            None
        };
        let (plan, share) = memory.take(MAX_ROUND_BYTES, 0, 0);
        Ok(Self {
            reporter: Reporter::new(name, health),
            connector: Connector::new(
                cfg.connect_timeout.0,
                tls,
                cfg.client_auth(&this_hostname()),
            ),
            upstreams: Upstreams::new(addrs.len(), cfg.balance, DOWN_BACKOFF),
            conns: addrs.iter().map(|_| None).collect(),
            addrs,
            encode: EncodeOptions {
                time_as_integer: cfg.time_as_integer.0,
                gzip: cfg.compress == Compress::Gzip,
                tag: cfg.tag.as_deref().map(Arc::from),
                max_payload_bytes: cfg.max_frame_size.as_usize(),
                with_chunk: require_ack,
            },
            require_ack,
            io_timeout: cfg.ack_response_timeout.0,
            retry_limit: cfg.retry_limit,
            rng: Rng::from_entropy(),
            log: RateLimiter::default(),
            round_bytes: plan.buffers,
            _share: share,
        })
    }

    /// Runs until the channel is closed and the last round is delivered or given up on.
    pub async fn run(mut self, mut rx: Receiver<Arc<Batch>>) {
        let mut round = Vec::new();
        while recv_round(&mut rx, &mut round, self.round_bytes).await {
            let encoded = encode_round(&round, &self.encode, &mut self.rng);
            if !encoded.too_large.is_empty() {
                self.too_large(&round, &encoded.too_large);
            }
            if !encoded.frames.is_empty() {
                self.deliver(&round, &encoded.frames).await;
            }
            // Releasing the batches resolves their acks and frees the inputs' memory.
            round.clear();
        }
    }

    /// Sends `frames` until an upstream has them all, or gives up after `retry_limit` retries.
    async fn deliver(&mut self, round: &[Arc<Batch>], frames: &[Frame]) {
        let mut done = vec![false; frames.len()];
        let mut retries = 0u32;
        loop {
            let i = match self.upstreams.pick(Instant::now()) {
                Pick::Node(i) => i,
                Pick::AllDown { retry_at } => {
                    tokio::time::sleep_until(retry_at.into()).await;
                    continue;
                }
            };
            let err = match self.attempt(i, frames, &mut done).await {
                Ok(()) => {
                    if self.upstreams.succeeded(i) {
                        tracing::info!(component = %self.reporter.name, upstream = %self.addrs[i],
                            "upstream is taking events again");
                    }
                    let records: usize = frames.iter().map(|f| f.records).sum();
                    let bytes: usize = frames.iter().map(|f| f.bytes.len()).sum();
                    self.reporter.delivered(records as u64, bytes as u64);
                    return;
                }
                Err(e) => e,
            };
            self.conns[i] = None;
            let now = Instant::now();
            let rest_until = self.upstreams.failed(i, now, &mut self.rng);
            let addr = &self.addrs[i];
            self.reporter.metrics.errors.increment(1);
            self.reporter
                .health
                .record_error(now, format!("upstream {addr}: {err}"));
            if !self.retry_limit.allows(retries) {
                self.give_up(round, frames, &done, &err);
                return;
            }
            retries += 1;
            metrics::counter!(OUTPUT_RETRIES, "component" => self.reporter.name.to_string(),
                "reason" => err.reason())
            .increment(1);
            if let Some(suppressed) = self.log.allow() {
                let rest_ms = rest_until.saturating_duration_since(now).as_millis() as u64;
                let pending = done.iter().filter(|d| !**d).count();
                tracing::warn!(component = %self.reporter.name, upstream = %addr, error = %err,
                    retries, rest_ms, pending_frames = pending, suppressed,
                    "forward to upstream failed; resending to the next one");
            }
        }
    }

    /// One try on upstream `i`: (re)connect if needed, write the frames not `done`, and with
    /// acks wait for each. Marks frames done as they are acked, so a retry sends only the rest.
    async fn attempt(
        &mut self,
        i: usize,
        frames: &[Frame],
        done: &mut [bool],
    ) -> Result<(), AttemptError> {
        let kept = match self.conns[i].take() {
            Some(mut c) => still_open(&mut c).await.then_some(c),
            None => None,
        };
        let mut conn = match kept {
            Some(c) => c,
            None => self.connector.connect(&self.addrs[i]).await?,
        };
        let t = self.io_timeout;
        for (frame, _) in frames.iter().zip(done.iter()).filter(|(_, d)| !**d) {
            with_timeout(t, conn.write_all(&frame.bytes))
                .await?
                .map_err(AttemptError::Write)?;
        }
        with_timeout(t, conn.flush())
            .await?
            .map_err(AttemptError::Write)?;
        if self.require_ack {
            wait_acks(&mut conn, frames, done, t).await?;
        } else {
            done.iter_mut().for_each(|d| *d = true);
        }
        self.conns[i] = Some(conn);
        Ok(())
    }

    fn give_up(&self, round: &[Arc<Batch>], frames: &[Frame], done: &[bool], err: &AttemptError) {
        let lost: usize = frames
            .iter()
            .zip(done)
            .filter(|(_, d)| !**d)
            .map(|(f, _)| f.records)
            .sum();
        self.reporter
            .metrics
            .dropped("retries_exhausted")
            .increment(lost as u64);
        for batch in round {
            batch.ack.dropped();
        }
        tracing::error!(component = %self.reporter.name, records = lost, error = %err,
            "giving up on events after retry_limit retries; they are dropped");
    }

    fn too_large(&self, round: &[Arc<Batch>], batches: &[usize]) {
        self.reporter
            .metrics
            .dropped("too_large")
            .increment(batches.len() as u64);
        for &b in batches {
            round[b].ack.dropped();
        }
        if let Some(suppressed) = self.log.allow() {
            tracing::warn!(component = %self.reporter.name, events = batches.len(), suppressed,
                "dropping events larger than max_frame_size: aggregators would refuse them");
        }
    }
}

impl std::fmt::Debug for ForwardOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardOutput")
            .field("name", &self.reporter.name)
            .field("upstreams", &self.addrs)
            .finish_non_exhaustive()
    }
}

/// Reads replies until every frame not `done` is acked, each wait at most `t`.
async fn wait_acks(
    conn: &mut BoxConn,
    frames: &[Frame],
    done: &mut [bool],
    t: Duration,
) -> Result<(), AttemptError> {
    let mut reader = AckReader::default();
    let mut buf = [0u8; 512];
    let mut pending = done.iter().filter(|d| !**d).count();
    while pending > 0 {
        let n = with_timeout(t, conn.read(&mut buf))
            .await?
            .map_err(AttemptError::Read)?;
        if n == 0 {
            return Err(AttemptError::Closed);
        }
        reader.push(&buf[..n]);
        while let Some(chunk) = reader.next_ack()? {
            // An ack of an unknown chunk (a frame acked twice) changes nothing.
            let hit = frames
                .iter()
                .zip(done.iter_mut())
                .find(|(f, d)| !**d && f.chunk.as_deref().map(str::as_bytes) == Some(&chunk[..]));
            if let Some((_, d)) = hit {
                *d = true;
                pending -= 1;
            }
        }
    }
    Ok(())
}

/// Whether a kept connection still looks usable: nothing to read and no close from the peer.
/// Polls the socket once without waiting (a reused connection the upstream closed while idle
/// would otherwise swallow the first frame written to it when acks are off).
async fn still_open(conn: &mut BoxConn) -> bool {
    let mut probe = [0u8; 1];
    // Ready at once means EOF, an error, or bytes nobody asked for: start afresh.
    tokio::time::timeout(Duration::ZERO, conn.read(&mut probe))
        .await
        .is_err()
}

async fn with_timeout<T>(
    t: Duration,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, AttemptError> {
    tokio::time::timeout(t, fut)
        .await
        .map_err(|_| AttemptError::Timeout(t))
}

/// This machine's hostname (the handshake's default `self_hostname`, as fluentd's), or
/// `firelane` when the system does not say.
fn this_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "firelane".to_owned())
}

impl crate::output::Output for ForwardOutput {
    const BUFFERS: bool = true;
    type Options = crate::config::output::forward::ForwardOutputConfig;

    async fn build(
        options: &Self::Options,
        ctx: crate::output::Context<'_>,
    ) -> Result<Self, String> {
        Self::new(options, ctx.name, ctx.health, ctx.memory)
    }

    fn run(self, rx: Receiver<Arc<Batch>>) -> impl std::future::Future<Output = ()> + Send {
        ForwardOutput::run(self, rx)
    }
}
