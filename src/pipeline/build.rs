//! Builds the running pipeline from a [`Config`] and drains it on shutdown.
//!
//! Start order: outputs (each a task reading its channel), the router over their senders, the
//! filter chain (and its timer when a filter holds records), then inputs (bind every listener; a
//! bind failure stops start-up). Shutdown order: inputs stop accepting and finish reading; the
//! filter timer emits what filters hold and ends; when the last holder of the router drops, each
//! output sees its channel close, flushes and returns. Nothing is cut short before `grace`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::model::{AckMode, Config, InputConfig, OutputConfig, ServiceConfig};
use crate::config::resolve::{
    forward_tcp_endpoint, input_alias, output_alias, parse_unix_perm, resolve_aliases,
};
use crate::config::tls::ServerTls;
use crate::ecs::TaskAtStart;
use crate::event::Batch;
use crate::health::{ComponentKind, Registry};
use crate::forward::codec::DecodeLimits;
use crate::input::forward::server::ForwardHandler;
use crate::net::listener::{BindError, ConnectionHandler, Listener, spawn_accept_loop};
use crate::input::tcp::TcpHandler;
use crate::net::tls::accept::TlsHandler;
use crate::output::cloudwatch::CloudWatchOutput;
use crate::output::forward::ForwardOutput;
use crate::output::s3::S3Output;
use crate::output::share::OutputMemory;
use crate::output::{file::FileOutput, null::NullOutput, stdout::StdoutOutput};
use crate::pipeline::disk;
use crate::pipeline::intake::Intake;
use crate::pipeline::router::{Route, Router};
pub use crate::pipeline::running::{DrainReport, Running};
use crate::pipeline::stage::StageRuntime;
use crate::event::tag_match::TagMatcher;
use crate::ratelimit::RateLimiter;

/// Batches queued per output before senders wait (memory is bounded by the inputs' byte budgets).
pub const OUTPUT_QUEUE_BATCHES: usize = 64;

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("input {component}: {source}")]
    Bind {
        component: String,
        source: BindError,
    },
    #[error("output {component}: {message}")]
    Output { component: String, message: String },
    #[error("filter {component}: {message}")]
    Filter { component: String, message: String },
    #[error("input {component}: {message}")]
    Tls { component: String, message: String },
    #[error("input {component}: disk buffer: {message}")]
    Storage { component: String, message: String },
    #[error("filters: cannot start the filter threads: {0}")]
    Stage(std::io::Error),
    #[error("{component}: match_regex: {source}")]
    Regex {
        component: String,
        source: crate::onigmo::RegexError,
    },
}

/// Starts every component of `cfg`; `task` is the ECS task metadata read at start.
pub async fn start(
    cfg: &Config,
    registry: &Registry,
    task: &TaskAtStart,
) -> Result<Running, StartError> {
    let mut cfg = cfg.clone();
    resolve_aliases(&mut cfg);
    let account = crate::memory::account_for(&cfg);
    let buffering = cfg.outputs.iter().filter(|oc| oc.buffers()).count();
    let output_memory = OutputMemory::new(&account, buffering);
    let mut routes = Vec::new();
    let mut outputs = Vec::new();
    for oc in &cfg.outputs {
        let (tx, rx) = mpsc::channel::<Arc<Batch>>(OUTPUT_QUEUE_BATCHES);
        let (name, handle) =
            spawn_output(oc, &cfg.service, registry, rx, task, &output_memory).await?;
        let (glob, regex) = oc.match_rules();
        let matcher = TagMatcher::new(glob, regex).map_err(|source| StartError::Regex {
            component: name.to_string(),
            source,
        })?;
        routes.push(Route::new(name.clone(), matcher, tx));
        outputs.push((name, handle));
    }
    let router = Arc::new(Router::new(routes));
    let chain = super::filters::build_chain(&cfg, task).await?;
    let chain = (!chain.is_empty()).then(|| Arc::new(chain));
    let stage = match &chain {
        Some(_) => Some(StageRuntime::new().map_err(StartError::Stage)?),
        None => None,
    };
    let stage_handle = stage.as_ref().map(StageRuntime::handle);
    let ticker_stop = CancellationToken::new();
    let ticker = chain
        .as_ref()
        .filter(|c| c.holds_records())
        .map(|c| super::filters::spawn_ticker(c.clone(), router.clone(), ticker_stop.clone()));

    let shutdown = CancellationToken::new();
    let inputs = TaskTracker::new();
    let mut input_health = Vec::new();
    let mut disks = Vec::new();
    let mut intakes = Vec::new();
    for ic in &cfg.inputs {
        let name: Arc<str> = input_alias(ic).into();
        match ic {
            InputConfig::Forward(c) => {
                let intake = Intake::new(
                    name.clone(),
                    c.mem_buf_limit.as_usize(),
                    c.overflow,
                    router.clone(),
                )
                .with_account(account.clone())
                .with_filters(chain.clone())
                .with_stage(stage_handle.clone())
                .with_block_timeout(c.overflow_timeout.map(|d| d.0));
                let durable = c.ack == AckMode::Durable;
                let (intake, disk) =
                    disk::attach(intake, &cfg.service, &name, &c.storage, durable).await?;
                intakes.push((name.clone(), intake.records_in_flight(), disk.is_some()));
                disks.extend(disk.map(|(b, t)| (name.clone(), b, t)));
                let handler = Arc::new(ForwardHandler {
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
                });
                let tls = server_tls(&name, &c.tls)?;
                // Who may send is the first thing to check when reviewing a deployment.
                tracing::info!(component = %name, tls = c.tls.enabled.0,
                    authentication = c.authentication(), "forward input security");
                let mut ls = Vec::new();
                if let Some(path) = &c.unix_path {
                    let perm = c.unix_perm.as_deref().and_then(|p| parse_unix_perm(p).ok());
                    ls.push(
                        Listener::unix(path, perm).map_err(|source| StartError::Bind {
                            component: name.to_string(),
                            source,
                        })?,
                    );
                }
                if let Some((host, port)) = forward_tcp_endpoint(c) {
                    let l = Listener::tcp(host, port)
                        .await
                        .map_err(|source| StartError::Bind {
                            component: name.to_string(),
                            source,
                        })?;
                    ls.push(l);
                }
                for l in ls {
                    let accept = Accept {
                        component: name.clone(),
                        max_connections: c.max_connections,
                        tls: tls.clone(),
                    };
                    accept.spawn(l, handler.clone(), &inputs, shutdown.clone());
                }
            }
            InputConfig::Tcp(c) => {
                let intake = Intake::new(
                    name.clone(),
                    c.mem_buf_limit.as_usize(),
                    c.overflow,
                    router.clone(),
                )
                .with_account(account.clone())
                .with_filters(chain.clone())
                .with_block_timeout(c.overflow_timeout.map(|d| d.0));
                let (intake, disk) =
                    disk::attach(intake, &cfg.service, &name, &c.storage, false).await?;
                intakes.push((name.clone(), intake.records_in_flight(), disk.is_some()));
                disks.extend(disk.map(|(b, t)| (name.clone(), b, t)));
                let tls = server_tls(&name, &c.tls)?;
                let handler = Arc::new(TcpHandler {
                    intake,
                    tag: c
                        .tag
                        .as_deref()
                        .map(Arc::from)
                        .unwrap_or_else(|| name.clone()),
                    format: c.format,
                    max_line_bytes: c.buffer_size.as_usize(),
                    frame_timeout: c.frame_timeout.0,
                    error_log: RateLimiter::default(),
                });
                let l =
                    Listener::tcp(&c.listen, c.port)
                        .await
                        .map_err(|source| StartError::Bind {
                            component: name.to_string(),
                            source,
                        })?;
                let accept = Accept {
                    component: name.clone(),
                    max_connections: c.max_connections,
                    tls,
                };
                accept.spawn(l, handler, &inputs, shutdown.clone());
            }
        }
        input_health.push(registry.register(ComponentKind::Input, name));
    }
    inputs.close();
    Ok(Running {
        shutdown,
        inputs,
        input_health,
        ticker: ticker.map(|t| (ticker_stop, t)),
        stage,
        disks,
        outputs,
        intakes,
    })
}

/// How an input's listeners accept: the TLS settings apply to TCP listeners only.
struct Accept {
    component: Arc<str>,
    max_connections: usize,
    tls: Option<(Arc<rustls::ServerConfig>, Duration)>,
}

impl Accept {
    fn spawn<H: ConnectionHandler>(
        self,
        l: Listener,
        handler: Arc<H>,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) {
        let (name, max) = (self.component, self.max_connections);
        match self.tls {
            Some((config, timeout)) if matches!(l, Listener::Tcp(_)) => {
                let tls = TlsHandler::new(handler, name.clone(), config, timeout);
                spawn_accept_loop(name, l, max, Arc::new(tls), tracker, shutdown);
            }
            _ => spawn_accept_loop(name, l, max, handler, tracker, shutdown),
        }
    }
}

/// The TLS config of an input with `tls.enabled` (the files were checked at load; this reads
/// them again, so a file removed since then stops the start).
fn server_tls(
    name: &str,
    c: &ServerTls,
) -> Result<Option<(Arc<rustls::ServerConfig>, Duration)>, StartError> {
    if !c.enabled.0 {
        return Ok(None);
    }
    let config = crate::net::tls::server_config(&c.settings()).map_err(|problems| StartError::Tls {
        component: name.to_owned(),
        message: problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    Ok(Some((config, c.handshake_timeout.0)))
}

async fn spawn_output(
    oc: &OutputConfig,
    service: &ServiceConfig,
    registry: &Registry,
    rx: mpsc::Receiver<Arc<Batch>>,
    ecs_task: &TaskAtStart,
    memory: &OutputMemory,
) -> Result<(Arc<str>, JoinHandle<()>), StartError> {
    let name: Arc<str> = output_alias(oc).into();
    let health = registry.register(ComponentKind::Output, name.clone());
    let h = health.clone();
    let task = match oc {
        OutputConfig::Stdout(c) => {
            let out = StdoutOutput::new(c, name.clone(), health);
            tokio::spawn(async move {
                out.run(rx).await;
                h.set_running(false)
            })
        }
        OutputConfig::File(c) => {
            let out = FileOutput::new(c, name.clone(), health).map_err(|e| StartError::Output {
                component: name.to_string(),
                message: e.to_string(),
            })?;
            tokio::spawn(async move {
                out.run(rx).await;
                h.set_running(false)
            })
        }
        OutputConfig::Null(_) => {
            let out = NullOutput::new(name.clone(), health);
            tokio::spawn(async move {
                out.run(rx).await;
                h.set_running(false)
            })
        }
        OutputConfig::CloudwatchLogs(c) => {
            let out = CloudWatchOutput::new(c, name.clone(), health, service.flush.0, memory)
                .await
                .map_err(|message| StartError::Output {
                    component: name.to_string(),
                    message,
                })?;
            tokio::spawn(async move {
                out.run(rx).await;
                h.set_running(false)
            })
        }
        OutputConfig::Forward(c) => {
            let out = ForwardOutput::new(c, name.clone(), health, memory).map_err(|message| {
                StartError::Output {
                    component: name.to_string(),
                    message,
                }
            })?;
            tokio::spawn(async move {
                out.run(rx).await;
                h.set_running(false)
            })
        }
        OutputConfig::S3(c) => {
            let out = S3Output::new(c, name.clone(), health, ecs_task)
                .await
                .map_err(|message| StartError::Output {
                    component: name.to_string(),
                    message,
                })?;
            tokio::spawn(async move {
                out.run(rx).await;
                h.set_running(false)
            })
        }
    };
    Ok((name, task))
}
