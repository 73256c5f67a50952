//! Listening sockets shared by the inputs: TCP and Unix, a cap on concurrent connections (with
//! eviction of the stalest when all are taken, see [`super::slots`]), and shutdown (stop
//! accepting at once; connection handlers decide how to finish).
//!
//! Invariants: at most `max_connections` handlers hold a slot per listener (a new client waits,
//! accepted, until one is free or evictable; evicted ones are closing); a Unix socket file is
//! created fresh (a stale socket is replaced, any other file is an error) and removed when the
//! accept loop ends.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::slots::{EVICTABLE_AFTER, Slot, Slots};

/// A connected byte stream, TCP or Unix.
pub trait Conn: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Conn for T {}

pub type BoxConn = Box<dyn Conn>;

/// Handles one accepted connection until it ends. `shutdown` fires when the process is stopping
/// or the connection is evicted (then it ends as at shutdown); `slot` takes its progress reports.
pub trait ConnectionHandler: Send + Sync + 'static {
    fn handle(
        &self,
        conn: BoxConn,
        peer: String,
        shutdown: CancellationToken,
        slot: Slot,
    ) -> impl Future<Output = ()> + Send;
}

/// A bound listening socket.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, UnixSocketFile),
}

/// Removes the socket file when dropped.
#[derive(Debug)]
pub struct UnixSocketFile(PathBuf);

impl Drop for UnixSocketFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.0.display(), error = %e, "could not remove unix socket file");
        }
    }
}

/// Why a listener could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("cannot listen on {addr}: {source}")]
    Tcp { addr: String, source: io::Error },
    #[error("cannot listen on unix socket {path}: {source}")]
    Unix { path: String, source: io::Error },
    #[error("{path} exists and is not a socket: refusing to replace it")]
    NotASocket { path: String },
}

impl Listener {
    /// Binds a TCP listener on `host:port`.
    pub async fn tcp(host: &str, port: u16) -> Result<Self, BindError> {
        let addr = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        TcpListener::bind(&addr)
            .await
            .map(Listener::Tcp)
            .map_err(|source| BindError::Tcp { addr, source })
    }

    /// Binds a Unix socket at `path`, replacing a stale socket file, and applies the mode `perm`.
    pub fn unix(path: &str, mode: Option<u32>) -> Result<Self, BindError> {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let unix_err = |source| BindError::Unix {
            path: path.to_owned(),
            source,
        };
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => {
                std::fs::remove_file(path).map_err(unix_err)?
            }
            Ok(_) => {
                return Err(BindError::NotASocket {
                    path: path.to_owned(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(unix_err(e)),
        }
        let listener = UnixListener::bind(path).map_err(unix_err)?;
        let guard = UnixSocketFile(PathBuf::from(path));
        if let Some(mode) = mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(unix_err)?;
        }
        Ok(Listener::Unix(listener, guard))
    }

    /// Where this listener listens, for logs.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| format!("tcp://{a}"))
                .unwrap_or_else(|_| "tcp://?".to_owned()),
            Listener::Unix(_, f) => format!("unix://{}", f.0.display()),
        }
    }

    async fn accept(&self) -> io::Result<(BoxConn, String)> {
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                // Acks are small and latency-sensitive; records arrive in bulk anyway.
                let _ = s.set_nodelay(true);
                Ok((Box::new(s), peer.to_string()))
            }
            Listener::Unix(l, f) => {
                let (s, _) = l.accept().await?;
                Ok((Box::new(s), display(&f.0)))
            }
        }
    }
}

fn display(p: &Path) -> String {
    format!("unix:{}", p.display())
}

/// Accepts connections until `shutdown`, running `handler` for each in `tracker`.
pub fn spawn_accept_loop<H: ConnectionHandler>(
    component: Arc<str>,
    listener: Listener,
    max_connections: usize,
    handler: Arc<H>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Slots::new(max_connections, EVICTABLE_AFTER));
    let conn_tracker = tracker.clone();
    tracker.spawn(async move {
        let where_ = listener.describe();
        tracing::info!(component = %component, listen = %where_, "listening");
        let evicted = metrics::counter!(crate::telemetry::INPUT_CONNECTIONS_CLOSED,
            "component" => component.to_string(), "reason" => "evicted");
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = shutdown.cancelled() => break,
            };
            match accepted {
                Ok((conn, peer)) => {
                    let taken = slots.take(&shutdown, || {
                        evicted.increment(1);
                        tracing::info!(component = %component, "all connections taken: closing the one longest without a complete frame or line");
                    });
                    let Some(taken) = taken.await else { break };
                    let (handler, slots) = (handler.clone(), slots.clone());
                    conn_tracker.spawn(async move {
                        handler.handle(conn, peer, taken.close, taken.slot).await;
                        slots.release(taken.id);
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off briefly rather than spinning.
                    tracing::warn!(component = %component, error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
        tracing::info!(component = %component, listen = %where_, "stopped accepting");
        drop(listener);
    });
}
