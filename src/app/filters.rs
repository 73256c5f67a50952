//! Builds the filter chain from the `[[filters]]` config, and runs the timer that flushes what
//! holding filters (multiline) keep. The chain itself runs where a batch is submitted (see
//! `intake`): for a Forward connection, in its task on the filter stage (`stage`), beside the
//! connection's decoding; for the other inputs, in the input's task.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::StartError;
use crate::config::filter::FilterConfig;
use crate::config::filter::{EcsConfig, parser_set};
use crate::config::model::Config;
use crate::config::validate::MAX_FILTERS;
use crate::ecs::fetch::fetch_task_metadata;
use crate::ecs::{ECS_METADATA_ENV, TaskAtStart};
use crate::event::Batch;
use crate::event::ack::AckToken;
use crate::event::tag_match::TagMatcher;
use crate::filter::chain::{ChainOutput, FilterChain, Stage, StageMetrics};
use crate::filter::held::{MultilineStage, ThrottleStage};
use crate::filter::stage::StageKind;
use crate::pipeline::router::Router;

/// How often held records are checked against their flush timeout.
pub const TICK: Duration = Duration::from_millis(100);

/// Builds every configured filter, in config order; `task` is the task metadata read at start.
/// Configs passed the loader's checks, so an error here means a config built in code skipped them.
pub async fn build_chain(cfg: &Config, task: &TaskAtStart) -> Result<FilterChain, StartError> {
    let parsers: Vec<_> = cfg.parsers.iter().enumerate().collect();
    let multiline: Vec<_> = cfg.multiline_parsers.iter().enumerate().collect();
    let (parsers, problems) = parser_set(&parsers, &multiline, &cfg.service.parsers_file.0);
    if let Some((_, message)) = problems.into_iter().next() {
        return Err(StartError::Filter {
            component: "parsers".to_owned(),
            message,
        });
    }
    if cfg.filters.len() > MAX_FILTERS {
        return Err(StartError::Filter {
            component: "filters".to_owned(),
            message: format!("at most {MAX_FILTERS} filters are supported"),
        });
    }
    let mut stages = Vec::with_capacity(cfg.filters.len());
    for fc in &cfg.filters {
        let name: Arc<str> = fc.alias().into();
        let invalid = |message: String| StartError::Filter {
            component: name.to_string(),
            message,
        };
        let (glob, regex) = fc.match_rules();
        let matcher = TagMatcher::new(glob, regex).map_err(|e| invalid(e.to_string()))?;
        let kind = match fc {
            FilterConfig::Grep(c) => StageKind::Grep(c.build().map_err(invalid)?),
            FilterConfig::Modify(c) => StageKind::Modify(c.build().map_err(invalid)?),
            FilterConfig::RecordModifier(c) => {
                StageKind::RecordModifier(c.build().map_err(invalid)?)
            }
            FilterConfig::Nest(c) => StageKind::Nest(c.build().map_err(invalid)?),
            FilterConfig::Parser(c) => StageKind::Parser(c.build(&parsers.set).map_err(invalid)?),
            FilterConfig::Throttle(c) => StageKind::Throttle(ThrottleStage::new(
                c.build().map_err(invalid)?,
                c.print_status.0,
            )),
            FilterConfig::RewriteTag(c) => StageKind::RewriteTag(c.build().map_err(invalid)?),
            FilterConfig::Multiline(c) => StageKind::Multiline(Box::new(MultilineStage::new(
                c.build(&parsers.multiline).map_err(invalid)?,
            ))),
            FilterConfig::Ecs(c) => match ecs_stage(&name, c, task).await? {
                Some(kind) => kind,
                None => continue,
            },
        };
        stages.push(Stage {
            metrics: StageMetrics::new(&name),
            name,
            matcher,
            kind,
        });
    }
    Ok(FilterChain::new(stages))
}

/// The task metadata read at start, or, with its own `metadata_uri`, read from there once. Without
/// an endpoint (not on ECS) or when it cannot be read, the filter is left out with a logged reason,
/// so records still flow.
async fn ecs_stage(
    name: &str,
    c: &EcsConfig,
    task: &TaskAtStart,
) -> Result<Option<StageKind>, StartError> {
    let rules = c.rules().map_err(|message| StartError::Filter {
        component: name.to_owned(),
        message,
    })?;
    let meta = match (&c.metadata_uri, task) {
        (Some(uri), _) => fetch_task_metadata(uri, c.attempts(), c.retry_delay())
            .await
            .map(std::sync::Arc::new)
            .map_err(|e| e.to_string()),
        (None, TaskAtStart::Read { task, .. }) => Ok(task.clone()),
        (None, TaskAtStart::Unavailable { error, .. }) => Err(error.clone()),
        (None, TaskAtStart::NotOnEcs) => {
            tracing::warn!(
                filter = name,
                "{ECS_METADATA_ENV} is not set (not running on ECS?): the ecs filter is disabled"
            );
            return Ok(None);
        }
    };
    match meta {
        Ok(meta) => Ok(Some(StageKind::Ecs(rules.render(&meta)))),
        Err(e) => {
            tracing::error!(filter = name, error = %e, "the ecs filter is disabled: records pass without task metadata");
            Ok(None)
        }
    }
}

/// Flushes held records every [`TICK`] and routes them; at `stop`, flushes everything held and
/// ends (the pipeline stops it after the inputs finished, before the outputs drain).
pub fn spawn_ticker(
    chain: Arc<FilterChain>,
    router: Arc<Router>,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let all = tokio::select! {
                _ = interval.tick() => false,
                _ = stop.cancelled() => true,
            };
            for out in chain.tick(Instant::now(), all) {
                route(&router, out).await;
            }
            if all {
                return;
            }
        }
    })
}

async fn route(router: &Router, out: ChainOutput) {
    if out.events.is_empty() {
        return;
    }
    // Memory of held records is bounded by the filter's own caps, not an input budget.
    let batch = Batch::new(
        out.events,
        out.written_bytes,
        AckToken::merge(out.acks),
        None,
    );
    router.route(batch).await;
}
