//! Outputs from their options: the one `match` over output kinds, and one generic spawn over
//! [`Output`]. Adding an output is its options, its folder under `output/`, one arm here, and
//! its docs page.

use std::sync::Arc;

use tokio::sync::mpsc::Receiver;
use tokio::task::JoinHandle;

use crate::config::model::OutputConfig;
use crate::event::Batch;
use crate::output::cloudwatch::CloudWatchOutput;
use crate::output::forward::ForwardOutput;
use crate::output::s3::S3Output;
use crate::output::{Context, Output, file::FileOutput, null::NullOutput, stdout::StdoutOutput};

/// Builds the output `oc` and starts its task on `rx`; the error says what is wrong with it.
pub async fn spawn(
    oc: &OutputConfig,
    ctx: Context<'_>,
    rx: Receiver<Arc<Batch>>,
) -> Result<JoinHandle<()>, String> {
    match oc {
        OutputConfig::Stdout(c) => spawn_one::<StdoutOutput>(c, ctx, rx).await,
        OutputConfig::File(c) => spawn_one::<FileOutput>(c, ctx, rx).await,
        OutputConfig::Null(c) => spawn_one::<NullOutput>(c, ctx, rx).await,
        OutputConfig::CloudwatchLogs(c) => spawn_one::<CloudWatchOutput>(c, ctx, rx).await,
        OutputConfig::S3(c) => spawn_one::<S3Output>(c, ctx, rx).await,
        OutputConfig::Forward(c) => spawn_one::<ForwardOutput>(c, ctx, rx).await,
    }
}

/// Builds `O` and runs it on its own task; its health says "not running" once it returns.
async fn spawn_one<O: Output>(
    options: &O::Options,
    ctx: Context<'_>,
    rx: Receiver<Arc<Batch>>,
) -> Result<JoinHandle<()>, String> {
    let health = ctx.health.clone();
    let out = O::build(options, ctx).await?;
    Ok(tokio::spawn(async move {
        out.run(rx).await;
        health.set_running(false)
    }))
}
