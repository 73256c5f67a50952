//! The filter stage's own runtime: with filters configured, each Forward connection hands its
//! decoded batches to a task on these threads, so one connection's decoding and its filters run
//! on two cores at once.
//!
//! A task spawned on the main runtime would not do: a task woken by its neighbour waits in that
//! worker's LIFO slot, which the other workers cannot steal, so both halves kept sharing one
//! core (measured: ~1.05 cores either way). A wake-up that crosses runtimes goes through the
//! other runtime's shared queue and wakes one of its parked threads.
//!
//! Without filters the stage is not used: handing a batch over costs more than routing it.

use tokio::runtime::{Builder, Handle, Runtime};

/// Threads named like this run filters (the throughput harness measures their CPU by it).
pub const THREAD_NAME: &str = "firelane-filter";

/// Owns the stage's threads. Dropped once the inputs have finished; see [`StageRuntime::close`].
#[derive(Debug)]
pub struct StageRuntime {
    runtime: Option<Runtime>,
    handle: Handle,
}

impl StageRuntime {
    /// One thread fewer than cores (at least one): the main runtime's threads, one per core,
    /// read and decode, and the stage is the heavier half of the work only with a single
    /// connection, which one stage thread serves anyway. An idle thread adds ~30 KiB of RSS.
    pub fn new() -> std::io::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = cores.saturating_sub(1).max(1);
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name(THREAD_NAME)
            .enable_all()
            .build()?;
        Ok(Self {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        })
    }

    /// Where connections spawn their stage tasks.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Stops the threads. With `inputs_finished`, no stage task is left; otherwise some may still
    /// hold batches whose acks are not sent, and stopping them would drop those batches, which
    /// resolves their acks: the runtime is then left running for the few moments before the
    /// process exits.
    pub fn close(mut self, inputs_finished: bool) {
        if let Some(rt) = self.runtime.take() {
            if inputs_finished {
                // Does not wait: safe inside the main runtime.
                rt.shutdown_background();
            } else {
                std::mem::forget(rt);
            }
        }
    }
}

impl Drop for StageRuntime {
    /// Dropped without [`close`](Self::close) (a start that failed part-way): nothing was
    /// submitted yet.
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stage_tasks_run_on_the_stage_threads_and_close_inside_a_runtime() {
        let stage = StageRuntime::new().unwrap();
        let name = stage
            .handle()
            .spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some(THREAD_NAME));
        // Would panic if closing blocked inside the test's runtime.
        stage.close(true);
    }
}
