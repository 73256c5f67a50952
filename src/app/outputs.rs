//! Outputs from their options: the one `match` over output kinds ([`plan`]), and one generic
//! start over [`Output`]. Adding an output is its options (one line in
//! `config::model::OutputConfig`), its folder under `output/`, one arm here, and its docs page.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc::Receiver;
use tokio::task::JoinHandle;

use crate::config::model::OutputConfig;
use crate::event::Batch;
use crate::output::cloudwatch::CloudWatchOutput;
use crate::output::forward::ForwardOutput;
use crate::output::s3::S3Output;
use crate::output::{Context, Output, file::FileOutput, null::NullOutput, stdout::StdoutOutput};

/// A started output's task, or what is wrong with it.
pub type Started<'a> = Pin<Box<dyn Future<Output = Result<JoinHandle<()>, String>> + 'a>>;

/// One output's options with the type that runs them: what start-up asks before and while
/// starting it.
pub trait Planned<'a> {
    /// Whether it takes a share of the memory account ([`Output::BUFFERS`]).
    fn buffers(&self) -> bool;
    /// Builds it and starts its task on `rx`; its health says "not running" once it returns.
    fn start(self: Box<Self>, ctx: Context<'a>, rx: Receiver<Arc<Batch>>) -> Started<'a>;
}

/// The output `oc` configures.
pub fn plan(oc: &OutputConfig) -> Box<dyn Planned<'_> + '_> {
    match oc {
        OutputConfig::Stdout(c) => Typed::<StdoutOutput>::boxed(c),
        OutputConfig::File(c) => Typed::<FileOutput>::boxed(c),
        OutputConfig::Null(c) => Typed::<NullOutput>::boxed(c),
        OutputConfig::CloudwatchLogs(c) => Typed::<CloudWatchOutput>::boxed(c),
        OutputConfig::S3(c) => Typed::<S3Output>::boxed(c),
        OutputConfig::Forward(c) => Typed::<ForwardOutput>::boxed(c),
    }
}

struct Typed<'a, O: Output>(&'a O::Options, PhantomData<O>);

impl<'a, O: Output> Typed<'a, O> {
    fn boxed(options: &'a O::Options) -> Box<dyn Planned<'a> + 'a> {
        Box::new(Self(options, PhantomData))
    }
}

impl<'a, O: Output> Planned<'a> for Typed<'a, O> {
    fn buffers(&self) -> bool {
        O::BUFFERS
    }

    fn start(self: Box<Self>, ctx: Context<'a>, rx: Receiver<Arc<Batch>>) -> Started<'a> {
        Box::pin(async move {
            let health = ctx.health.clone();
            let out = O::build(self.0, ctx).await?;
            Ok(tokio::spawn(async move {
                out.run(rx).await;
                health.set_running(false)
            }))
        })
    }
}
