//! One GET of `$ECS_CONTAINER_METADATA_URI_V4/task` over plain HTTP/1.1 (the endpoint is a
//! link-local address served by the ECS agent), retried a fixed number of times.
//!
//! Limits: each attempt (connect, request, whole body) is bounded by [`ATTEMPT_TIMEOUT`], the body
//! by [`MAX_METADATA_BYTES`]. No task is spawned: the connection is driven in the same future.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, Uri, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::MetadataError;
use super::task::TaskMetadata;

/// Longest one attempt may take, connect to last body byte.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest `/task` response accepted (a task has at most 10 containers; real bodies are a few KiB).
pub const MAX_METADATA_BYTES: usize = 1 << 20;

/// Gets and parses the task metadata. `metadata_uri` is the value of
/// `ECS_CONTAINER_METADATA_URI_V4` (`/task` is appended). Makes up to `attempts` attempts (at
/// least one), sleeping `delay` between them; any failure (connection, non-2xx status, timeout,
/// oversized or unparsable body) is retried, and the last one is reported.
pub async fn fetch_task_metadata(
    metadata_uri: &str,
    attempts: u32,
    delay: Duration,
) -> Result<TaskMetadata, MetadataError> {
    let target = Target::parse(metadata_uri)?;
    let attempts = attempts.max(1);
    let mut last = String::new();
    for attempt in 0..attempts {
        if attempt > 0 {
            tokio::time::sleep(delay).await;
        }
        let result = match tokio::time::timeout(ATTEMPT_TIMEOUT, target.get()).await {
            Ok(Ok(body)) => TaskMetadata::from_json(&body).map_err(|e| e.to_string()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!("no full response within {ATTEMPT_TIMEOUT:?}")),
        };
        match result {
            Ok(meta) => return Ok(meta),
            Err(e) => {
                tracing::warn!(attempt = attempt + 1, attempts, error = %e, "ECS task metadata request failed");
                last = e;
            }
        }
    }
    Err(MetadataError::Fetch {
        uri: target.display,
        attempts,
        last,
    })
}

/// Where to connect and what to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    authority: String,
    path: String,
    /// The full `/task` URI, for messages.
    display: String,
}

impl Target {
    fn parse(metadata_uri: &str) -> Result<Self, MetadataError> {
        let bad = || MetadataError::BadUri(metadata_uri.to_owned());
        let uri: Uri = metadata_uri.trim().parse().map_err(|_| bad())?;
        if uri.scheme_str() != Some("http") {
            return Err(bad());
        }
        let authority = uri.authority().ok_or_else(bad)?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(bad());
        }
        let path = format!("{}/task", uri.path().trim_end_matches('/'));
        Ok(Self {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_owned(),
            display: format!("http://{}{path}", authority.as_str()),
            path,
        })
    }

    /// One GET; the body of a 2xx response, or why there is none.
    async fn get(&self) -> Result<Bytes, String> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        let request = Request::get(self.path.as_str())
            .header(header::HOST, self.authority.as_str())
            .header(header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("request: {e}"))?;
        let exchange = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| format!("request: {e}"))?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("HTTP status {status}"));
            }
            let body = Limited::new(response.into_body(), MAX_METADATA_BYTES)
                .collect()
                .await
                .map_err(|e| format!("response body: {e}"))?;
            Ok(body.to_bytes())
        };
        tokio::pin!(exchange);
        // The connection future does the socket I/O; it may finish (server closed after the
        // response) before the exchange has taken the buffered body, so finish that afterwards.
        tokio::select! {
            result = &mut exchange => result,
            closed = conn => {
                closed.map_err(|e| format!("connection: {e}"))?;
                exchange.await
            }
        }
    }
}

#[cfg(test)]
mod tests;
