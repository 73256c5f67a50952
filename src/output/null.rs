//! Null output: discards every batch at once, counting records and (msgpack) bytes as delivered.

use std::sync::Arc;

use tokio::sync::mpsc::Receiver;

use super::OutputMetrics;
use crate::event::Batch;
use crate::health::ComponentHealth;

pub struct NullOutput {
    metrics: OutputMetrics,
    /// Kept so the component stays registered like any other output; nothing here can fail.
    _health: ComponentHealth,
}

impl NullOutput {
    pub fn new(name: Arc<str>, health: ComponentHealth) -> Self {
        Self {
            metrics: OutputMetrics::new(&name),
            _health: health,
        }
    }

    /// Drops batches as they come until the channel is closed.
    pub async fn run(self, mut rx: Receiver<Arc<Batch>>) {
        while let Some(batch) = rx.recv().await {
            self.metrics.records.increment(batch.len() as u64);
            self.metrics.bytes.increment(batch.bytes as u64);
        }
    }
}

impl crate::output::Output for NullOutput {
    type Options = crate::config::model::NullOutputConfig;

    async fn build(_: &Self::Options, ctx: crate::output::Context<'_>) -> Result<Self, String> {
        Ok(Self::new(ctx.name, ctx.health))
    }

    fn run(self, rx: Receiver<Arc<Batch>>) -> impl std::future::Future<Output = ()> + Send {
        NullOutput::run(self, rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ack::{AckOutcome, AckToken};
    use crate::health::{ComponentKind, Registry};

    #[tokio::test]
    async fn acks_resolve_as_delivered() {
        let health = Registry::new(5, std::time::Duration::from_secs(60))
            .register(ComponentKind::Output, "null".into());
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let task = tokio::spawn(NullOutput::new("null".into(), health).run(rx));
        let (token, waiter) = AckToken::new();
        tx.send(Arc::new(Batch::new(Vec::new(), 0, token, None)))
            .await
            .unwrap();
        assert_eq!(waiter.wait().await, AckOutcome::Delivered);
        drop(tx);
        task.await.unwrap();
    }
}
