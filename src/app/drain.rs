//! A started pipeline and its shutdown: stop accepting, let inputs finish, flush what filters
//! hold, replay disk buffers, let outputs flush, all within the grace period (or until a second
//! signal cuts it short), and name what did not finish.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::event::budget::RecordsInFlight;
use crate::health::ComponentHealth;
use crate::pipeline::stage::StageRuntime;
use crate::storage::buffer::DiskBuffer;

/// A started pipeline.
#[derive(Debug)]
pub struct Running {
    pub(super) shutdown: CancellationToken,
    pub(super) inputs: TaskTracker,
    pub(super) input_health: Vec<ComponentHealth>,
    /// The timer flushing records held by filters, and how to stop it.
    pub(super) ticker: Option<(CancellationToken, JoinHandle<()>)>,
    /// The filter stage's threads, with filters configured.
    pub(super) stage: Option<StageRuntime>,
    /// Disk buffers of inputs and their replay tasks.
    pub(super) disks: Vec<(Arc<str>, DiskBuffer, JoinHandle<()>)>,
    pub(super) outputs: Vec<(Arc<str>, JoinHandle<()>)>,
    /// Each input's records in flight, and whether it has a disk buffer (what it holds is kept
    /// there). Not the intakes: they hold the router, whose senders must drop for outputs to end.
    pub(super) intakes: Vec<(Arc<str>, RecordsInFlight, bool)>,
}

/// What did not finish within the grace period.
#[derive(Debug, Default)]
pub struct DrainReport {
    pub unfinished: Vec<String>,
    /// Inputs whose accepted records were not all delivered, with how many, and whether the
    /// input's disk buffer keeps them for the next start.
    pub undelivered: Vec<(Arc<str>, u64, bool)>,
}

impl Running {
    /// Stops accepting connections; connections finish reading what their peers already sent.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits for every component to finish, at most `grace` or until `cut` is cancelled; names
    /// those that did not.
    pub async fn drain(self, grace: Duration, cut: CancellationToken) -> DrainReport {
        self.begin_shutdown();
        let deadline = tokio::time::Instant::now() + grace;
        let mut report = DrainReport::default();
        let inputs_finished = finish_by(deadline, &cut, self.inputs.wait())
            .await
            .is_some();
        if let Some(stage) = self.stage {
            stage.close(inputs_finished);
        }
        if !inputs_finished {
            report.unfinished.push(format!(
                "inputs: {} connection or listener task(s) still running",
                self.inputs.len()
            ));
        }
        for h in &self.input_health {
            h.set_running(false);
        }
        // Inputs are done: what filters still hold is emitted now, while outputs still run.
        if let Some((stop, task)) = self.ticker {
            stop.cancel();
            if finish_by(deadline, &cut, task).await.is_none() {
                report
                    .unfinished
                    .push("filters: held records not flushed".to_owned());
            }
        }
        // Inputs are done: what their disk buffers hold is read back out; what the outputs do
        // not deliver before the deadline stays on disk for the next start.
        for (name, buffer, mut task) in self.disks {
            buffer.close().await;
            if finish_by(deadline, &cut, &mut task).await.is_none() {
                report.unfinished.push(format!(
                    "input {name}: disk buffer not fully replayed (kept on disk for the next start)"
                ));
            }
        }
        for (name, mut task) in self.outputs {
            match finish_by(deadline, &cut, &mut task).await {
                Some(Ok(())) => {}
                Some(Err(e)) => report
                    .unfinished
                    .push(format!("output {name}: task failed: {e}")),
                None => {
                    // Not aborted: dropping its batches would resolve their ack handles as
                    // delivered while connection tasks can still send acks. The process exits
                    // right after this report and the runtime drops every task unpolled.
                    report
                        .unfinished
                        .push(format!("output {name}: still flushing"));
                }
            }
        }
        for (name, in_flight, on_disk) in &self.intakes {
            let n = in_flight.get();
            if n > 0 {
                report.undelivered.push((name.clone(), n, *on_disk));
            }
        }
        report
    }
}

/// `fut`'s output if it finishes before `deadline` and before `cut` is cancelled.
async fn finish_by<F: std::future::Future>(
    deadline: tokio::time::Instant,
    cut: &CancellationToken,
    fut: F,
) -> Option<F::Output> {
    tokio::select! {
        done = tokio::time::timeout_at(deadline, fut) => done.ok(),
        () = cut.cancelled() => None,
    }
}
