//! Reading a connection with shutdown in mind: before shutdown, wait for bytes as long as it takes;
//! after it, keep reading only while the peer still has bytes in flight (idle for `DRAIN_IDLE`
//! ends it) and never longer than `DRAIN_MAX`, so what clients already sent is not lost and a
//! chatty client cannot hold the process past its grace period.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub const DRAIN_IDLE: Duration = Duration::from_millis(200);
pub const DRAIN_MAX: Duration = Duration::from_secs(2);

/// Per-connection read state.
#[derive(Debug, Default)]
pub struct DrainingReader {
    deadline: Option<Instant>,
}

impl DrainingReader {
    /// Reads into `buf`. `None` means: stop, shutdown draining is over for this connection.
    pub async fn read<R: AsyncRead + Unpin>(
        &mut self,
        rd: &mut R,
        buf: &mut BytesMut,
        shutdown: &CancellationToken,
    ) -> Option<io::Result<usize>> {
        loop {
            if let Some(deadline) = self.deadline {
                let wait = DRAIN_IDLE.min(deadline.saturating_duration_since(Instant::now()));
                return tokio::time::timeout(wait, rd.read_buf(buf)).await.ok();
            }
            tokio::select! {
                r = rd.read_buf(buf) => return Some(r),
                () = shutdown.cancelled() => self.deadline = Some(Instant::now() + DRAIN_MAX),
            }
        }
    }
}
