//! TLS in front of an input's connection handler: the handshake runs in the connection's own task
//! (never in the accept loop, so a silent client cannot stall accepts), bounded by
//! `tls.handshake_timeout`; the handler then reads the decrypted stream as it would a plain one.
//!
//! A failed handshake closes only its connection, is counted in
//! `firelane_input_tls_handshake_failures_total{reason}` and logged (rate-limited).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::net::listener::{BoxConn, ConnectionHandler};
use crate::net::slots::Slot;
use crate::ratelimit::RateLimiter;

/// Wraps `inner`: every connection is a TLS server handshake first.
pub struct TlsHandler<H> {
    inner: Arc<H>,
    component: Arc<str>,
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
    error_log: RateLimiter,
}

impl<H> std::fmt::Debug for TlsHandler<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsHandler")
            .field("component", &self.component)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl<H> TlsHandler<H> {
    pub fn new(
        inner: Arc<H>,
        component: Arc<str>,
        config: Arc<rustls::ServerConfig>,
        handshake_timeout: Duration,
    ) -> Self {
        Self {
            inner,
            component,
            acceptor: TlsAcceptor::from(config),
            handshake_timeout,
            error_log: RateLimiter::default(),
        }
    }
}

impl<H: ConnectionHandler> ConnectionHandler for TlsHandler<H> {
    async fn handle(&self, conn: BoxConn, peer: String, shutdown: CancellationToken, slot: Slot) {
        let handshake = tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(conn));
        let outcome = tokio::select! {
            r = handshake => r,
            // Nothing was received yet: nothing to drain.
            () = shutdown.cancelled() => return,
        };
        let reason = match outcome {
            Ok(Ok(tls)) => return self.inner.handle(Box::new(tls), peer, shutdown, slot).await,
            Ok(Err(e)) => failure_reason(&e),
            Err(_elapsed) => "timeout",
        };
        metrics::counter!(
            crate::telemetry::INPUT_TLS_HANDSHAKE_FAILURES,
            "component" => self.component.to_string(),
            "reason" => reason,
        )
        .increment(1);
        if let Some(suppressed) = self.error_log.allow() {
            tracing::warn!(component = %self.component, peer, reason, suppressed, "TLS handshake failed; closing this connection");
        }
    }
}

/// A low-cardinality name for why a handshake failed.
fn failure_reason(e: &io::Error) -> &'static str {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return "eof";
    }
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return "io";
    };
    match tls {
        // The first bytes were not a TLS record: a plain-text client on a TLS port.
        rustls::Error::InvalidMessage(_) => "not_tls",
        rustls::Error::NoCertificatesPresented => "no_client_certificate",
        rustls::Error::InvalidCertificate(_) => "bad_certificate",
        rustls::Error::PeerIncompatible(_) => "incompatible",
        _ => "protocol",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_few_and_named() {
        let wrap = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        let cases = [
            (
                wrap(rustls::Error::InvalidMessage(
                    rustls::InvalidMessage::InvalidContentType,
                )),
                "not_tls",
            ),
            (
                wrap(rustls::Error::NoCertificatesPresented),
                "no_client_certificate",
            ),
            (
                wrap(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer,
                )),
                "bad_certificate",
            ),
            (wrap(rustls::Error::HandshakeNotComplete), "protocol"),
            (io::Error::from(io::ErrorKind::UnexpectedEof), "eof"),
            (io::Error::from(io::ErrorKind::ConnectionReset), "io"),
        ];
        for (e, want) in cases {
            assert_eq!(failure_reason(&e), want, "{e}");
        }
    }
}
