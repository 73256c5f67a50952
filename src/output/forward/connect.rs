//! The connector seam: "give me a connected stream to upstream U within `connect_timeout`".
//!
//! Everything that turns an address into a usable Forward connection lives here, as steps run
//! in order under one deadline, so the output task never knows how a connection was made:
//! 1. TCP connect (no Nagle: acks and small frames are latency-sensitive).
//! 2. TLS, when configured: the TCP stream wrapped by the TLS client, verifying the server name
//!    `tls.vhost` or else the upstream's host.
//! 3. The Forward handshake, when a shared key is configured: HELO, PING, PONG on the stream
//!    before the first frame (the aggregator's PONG digest is checked too).
//!
//! Each step's failure is a [`ConnectError`] variant; all are retryable (the upstream rests and
//! the frames go to the next one).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::config::output::forward::UpstreamAddr;
use crate::forward::handshake::{ClientAuth, HandshakeError, client_handshake};
use crate::net::listener::BoxConn;

/// The TLS client settings of one output.
#[derive(Debug, Clone)]
pub struct TlsClient {
    pub config: Arc<rustls::ClientConfig>,
    /// Name verified instead of each upstream's host (`tls.vhost`).
    pub vhost: Option<String>,
}

/// Why no connection could be made (retryable).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connect failed: {0}")]
    Tcp(io::Error),
    #[error("not connected within {0:?}")]
    Timeout(Duration),
    #[error("TLS handshake failed: {0}")]
    Tls(io::Error),
    #[error("Forward handshake failed: {0}")]
    Handshake(HandshakeError),
}

impl ConnectError {
    /// Short stable name for the `reason` metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            ConnectError::Tcp(_) => "connect_error",
            ConnectError::Timeout(_) => "connect_timeout",
            ConnectError::Tls(_) => "tls_error",
            ConnectError::Handshake(e) => e.reason(),
        }
    }
}

/// Opens connections to upstreams. Holds what every connection needs (later: the TLS client
/// configuration and the shared key).
#[derive(Debug, Clone)]
pub struct Connector {
    connect_timeout: Duration,
    tls: Option<TlsClient>,
    auth: Option<Arc<ClientAuth>>,
}

impl Connector {
    pub fn new(
        connect_timeout: Duration,
        tls: Option<TlsClient>,
        auth: Option<ClientAuth>,
    ) -> Self {
        Self {
            connect_timeout,
            tls,
            auth: auth.map(Arc::new),
        }
    }

    /// A connection to `addr`, ready for frames, or the reason there is none, within
    /// `connect_timeout` for all steps together.
    pub async fn connect(&self, addr: &UpstreamAddr) -> Result<BoxConn, ConnectError> {
        tokio::time::timeout(self.connect_timeout, self.steps(addr))
            .await
            .unwrap_or(Err(ConnectError::Timeout(self.connect_timeout)))
    }

    async fn steps(&self, addr: &UpstreamAddr) -> Result<BoxConn, ConnectError> {
        let tcp = TcpStream::connect((addr.host.as_str(), addr.port))
            .await
            .map_err(ConnectError::Tcp)?;
        let _ = tcp.set_nodelay(true);
        let mut conn: BoxConn = match &self.tls {
            Some(tls) => {
                let name = tls.vhost.as_deref().unwrap_or(&addr.host);
                crate::net::tls::connect_tls(tcp, &tls.config, name)
                    .await
                    .map_err(ConnectError::Tls)?
            }
            None => Box::new(tcp),
        };
        if let Some(auth) = &self.auth {
            // The outer deadline bounds the whole connect; this one only has to be no shorter.
            client_handshake(&mut conn, auth, self.connect_timeout)
                .await
                .map_err(ConnectError::Handshake)?;
        }
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connects_and_reports_refused_ports() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let c = Connector::new(Duration::from_secs(5), None, None);
        let addr = UpstreamAddr {
            host: "127.0.0.1".to_owned(),
            port,
        };
        assert!(c.connect(&addr).await.is_ok());
        drop(listener);
        let err = c.connect(&addr).await.err().unwrap();
        assert_eq!(err.reason(), "connect_error");
    }
}
