//! The assembly: the only module that names every component. Builds the running pipeline from a
//! [`Config`] ([`start`]) and drains it on shutdown ([`Running::drain`]).
//!
//! Start order: outputs (each a task reading its channel), the router over their senders, the
//! filter chain (and its timer when a filter holds records), then inputs (bind every listener; a
//! bind failure stops start-up). Shutdown order: inputs stop accepting and finish reading; the
//! filter timer emits what filters hold and ends; when the last holder of the router drops, each
//! output sees its channel close, flushes and returns. Nothing is cut short before `grace`.

/// A started pipeline and its shutdown.
pub mod drain;
/// Why start-up failed.
pub mod error;
/// The filter chain from the config, and the timer flushing what filters hold.
pub mod filters;
/// Inputs from their options: intake, handler, listeners.
mod inputs;
/// The memory account of a configuration.
pub mod memory;
/// Outputs from their options: one generic start over `output::Output`.
pub mod outputs;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::drain::{DrainReport, Running};
pub use self::error::StartError;
use crate::config::model::Config;
use crate::config::resolve::{output_alias, resolve_aliases};
use crate::ecs::TaskAtStart;
use crate::event::Batch;
use crate::event::tag_match::TagMatcher;
use crate::health::{ComponentKind, Registry};
use crate::output::Context;
use crate::output::share::OutputMemory;
use crate::pipeline::router::{Route, Router};
use crate::pipeline::stage::StageRuntime;

/// Batches queued per output before senders wait (memory is bounded by the inputs' byte budgets).
pub const OUTPUT_QUEUE_BATCHES: usize = 64;

/// Starts every component of `cfg`; `task` is the ECS task metadata read at start.
pub async fn start(
    cfg: &Config,
    registry: &Registry,
    task: &TaskAtStart,
) -> Result<Running, StartError> {
    let mut cfg = cfg.clone();
    resolve_aliases(&mut cfg);
    let account = memory::account_for(&cfg);
    let plans: Vec<_> = cfg.outputs.iter().map(outputs::plan).collect();
    let buffering = plans.iter().filter(|p| p.buffers()).count();
    let output_memory = OutputMemory::new(&account, buffering);
    let mut routes = Vec::new();
    let mut outputs = Vec::new();
    for (oc, plan) in cfg.outputs.iter().zip(plans) {
        let (tx, rx) = mpsc::channel::<Arc<Batch>>(OUTPUT_QUEUE_BATCHES);
        let name: Arc<str> = output_alias(oc).into();
        let ctx = Context {
            name: name.clone(),
            health: registry.register(ComponentKind::Output, name.clone()),
            flush: cfg.service.flush.0,
            memory: &output_memory,
            ecs_task: task,
        };
        let handle = (plan.start(ctx, rx).await).map_err(|message| StartError::Output {
            component: name.to_string(),
            message,
        })?;
        let (glob, regex) = oc.match_rules();
        let matcher = TagMatcher::new(glob, regex).map_err(|source| StartError::Regex {
            component: name.to_string(),
            source,
        })?;
        routes.push(Route::new(name.clone(), matcher, tx));
        outputs.push((name, handle));
    }
    let router = Arc::new(Router::new(routes));
    let chain = filters::build_chain(&cfg, task).await?;
    let chain = (!chain.is_empty()).then(|| Arc::new(chain));
    let stage = match &chain {
        Some(_) => Some(StageRuntime::new().map_err(StartError::Stage)?),
        None => None,
    };
    let ticker_stop = CancellationToken::new();
    let ticker = chain
        .as_ref()
        .filter(|c| c.holds_records())
        .map(|c| filters::spawn_ticker(c.clone(), router.clone(), ticker_stop.clone()));

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let shared = inputs::Shared {
        router,
        account,
        chain,
        stage: stage.as_ref().map(StageRuntime::handle),
        service: &cfg.service,
        tracker: &tracker,
        shutdown: &shutdown,
    };
    let mut input_health = Vec::new();
    let mut disks = Vec::new();
    let mut intakes = Vec::new();
    for ic in &cfg.inputs {
        let started = inputs::start(ic, &shared).await?;
        let name = started.name;
        intakes.push((name.clone(), started.in_flight, started.disk.is_some()));
        disks.extend(started.disk.map(|(b, t)| (name.clone(), b, t)));
        input_health.push(registry.register(ComponentKind::Input, name));
    }
    drop(shared);
    tracker.close();
    Ok(Running {
        shutdown,
        inputs: tracker,
        input_health,
        ticker: ticker.map(|t| (ticker_stop, t)),
        stage,
        disks,
        outputs,
        intakes,
    })
}
