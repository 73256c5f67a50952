//! HTTP admin server: /health and /metrics, with Fluent Bit's /api/v1 aliases, http/1 only.
//!
//! Not on the hot path: bodies are built with serde_json per request. Limits: at most
//! `MAX_ADMIN_CONNECTIONS` connections at once, and request headers (also the next request's on
//! a keep-alive connection) must arrive within `HEADER_READ_TIMEOUT`. A connection accepted when
//! all are taken closes, gracefully, the one that has gone longest without a request (the input's
//! slots with no wait, [`crate::net::slots`]; counted in
//! `firelane_admin_connections_evicted_total`): a request is answered within microseconds, so
//! idle clients cannot lock out a health check (ECS replaces a task whose check fails). On
//! shutdown the accept loop stops, open connections finish their request and close, bounded by
//! `SHUTDOWN_DRAIN`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::health::{ComponentStatus, Registry};
use crate::net::slots::{Slot, Slots};

pub const MAX_ADMIN_CONNECTIONS: usize = 64;
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long shutdown waits for open admin connections.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(1);
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";
const JSON_CONTENT_TYPE: &str = "application/json";

/// What the admin endpoints read.
#[derive(Debug, Clone)]
pub struct AdminState {
    pub registry: Registry,
    pub prometheus: PrometheusHandle,
    pub started: Instant,
}

/// Binds `addr` now (so a busy port fails at start with a clear error), then serves until
/// `shutdown` is cancelled. The task ends once open connections are done (or `SHUTDOWN_DRAIN`).
pub async fn serve(
    addr: SocketAddr,
    state: AdminState,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, std::io::Error> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot listen on {addr} for the HTTP server (service.http_listen, http_port): {e}"
            ),
        )
    })?;
    Ok(serve_listener(listener, state, shutdown))
}

/// Serves on a listener bound by the caller; tests bind 127.0.0.1:0 and read `local_addr` first.
pub fn serve_listener(
    listener: TcpListener,
    state: AdminState,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(accept_loop(listener, Arc::new(state), shutdown))
}

async fn accept_loop(listener: TcpListener, state: Arc<AdminState>, shutdown: CancellationToken) {
    let slots = Arc::new(Slots::new(MAX_ADMIN_CONNECTIONS, Duration::ZERO));
    let evicted = metrics::counter!(crate::telemetry::ADMIN_CONNECTIONS_EVICTED);
    let connections = TaskTracker::new();
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "admin server cannot accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let taken = slots.take(&shutdown, || {
            evicted.increment(1);
            tracing::debug!("admin server: all connections taken; closing the longest idle");
        });
        let Some(taken) = taken.await else { break };
        let (state, slots) = (state.clone(), slots.clone());
        connections.spawn(async move {
            // `close` is a child of shutdown, also cancelled when this connection is evicted.
            serve_connection(stream, state, taken.close, taken.slot).await;
            slots.release(taken.id);
        });
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(SHUTDOWN_DRAIN, connections.wait())
        .await
        .is_err()
    {
        tracing::debug!(
            open = connections.len(),
            "admin connections still open at shutdown"
        );
    }
}

async fn serve_connection(
    stream: TcpStream,
    state: Arc<AdminState>,
    shutdown: CancellationToken,
    slot: Slot,
) {
    let service = service_fn(move |req: Request<Incoming>| {
        slot.progress();
        let response = route(req.method(), req.uri().path(), &state, Instant::now());
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "admin connection ended with an error");
    }
}

/// The response to `method path`.
fn route(method: &Method, path: &str, state: &AdminState, now: Instant) -> Response<Full<Bytes>> {
    let known = matches!(
        path,
        "/" | "/health"
            | "/api/v1/health"
            | "/metrics"
            | "/api/v1/metrics/prometheus"
            | "/api/v1/uptime"
    );
    if !known {
        return respond(
            StatusCode::NOT_FOUND,
            JSON_CONTENT_TYPE,
            json!({"error": "not found"}).to_string(),
        );
    }
    if method != Method::GET {
        let mut response = respond(
            StatusCode::METHOD_NOT_ALLOWED,
            JSON_CONTENT_TYPE,
            json!({"error": "method not allowed"}).to_string(),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    let uptime_secs = now.saturating_duration_since(state.started).as_secs();
    match path {
        "/health" | "/api/v1/health" => {
            let (status, body) = health_body(&state.registry.snapshot(now));
            respond(status, JSON_CONTENT_TYPE, body)
        }
        "/metrics" | "/api/v1/metrics/prometheus" => {
            metrics::gauge!(crate::telemetry::UPTIME).set(uptime_secs as f64);
            crate::telemetry::sample_process_gauges();
            crate::memory::allocator::sample_gauges();
            state.prometheus.run_upkeep();
            respond(
                StatusCode::OK,
                PROMETHEUS_CONTENT_TYPE,
                state.prometheus.render(),
            )
        }
        "/api/v1/uptime" => respond(StatusCode::OK, JSON_CONTENT_TYPE, uptime_body(uptime_secs)),
        _ => respond(
            StatusCode::OK,
            JSON_CONTENT_TYPE,
            json!({"name": "firelane", "version": env!("CARGO_PKG_VERSION")}).to_string(),
        ),
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[derive(Serialize)]
struct HealthBody<'a> {
    status: &'static str,
    components: Vec<ComponentBody<'a>>,
}

#[derive(Serialize)]
struct ComponentBody<'a> {
    kind: &'static str,
    name: &'a str,
    running: bool,
    recent_errors: usize,
    last_error: Option<&'a str>,
    healthy: bool,
}

/// 200 `{"status":"ok","components":[...]}` when every component is healthy, else 500 with
/// status "error".
pub fn health_body(components: &[ComponentStatus]) -> (StatusCode, String) {
    let healthy = components.iter().all(|c| c.healthy);
    let body = HealthBody {
        status: if healthy { "ok" } else { "error" },
        components: components
            .iter()
            .map(|c| ComponentBody {
                kind: c.kind.as_str(),
                name: &c.name,
                running: c.running,
                recent_errors: c.recent_errors,
                last_error: c.last_error.as_deref(),
                healthy: c.healthy,
            })
            .collect(),
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    (status, to_json(&body))
}

/// Serializing these plain structs cannot fail; the fallback keeps the endpoint answering anyway.
fn to_json<T: Serialize>(body: &T) -> String {
    serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned())
}

/// Fluent Bit's /api/v1/uptime body, with firelane's name in the phrase.
pub fn uptime_body(uptime_secs: u64) -> String {
    #[derive(Serialize)]
    struct Uptime {
        uptime_sec: u64,
        uptime_hr: String,
    }
    to_json(&Uptime {
        uptime_sec: uptime_secs,
        uptime_hr: uptime_phrase(uptime_secs),
    })
}

fn uptime_phrase(secs: u64) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    format!(
        "firelane has been running: {}, {}, {} and {}",
        plural(secs / 86_400, "day"),
        plural(secs % 86_400 / 3600, "hour"),
        plural(secs % 3600 / 60, "minute"),
        plural(secs % 60, "second"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::ComponentKind;

    #[test]
    fn uptime_reads_like_fluent_bits() {
        assert_eq!(
            uptime_phrase(90_061),
            "firelane has been running: 1 day, 1 hour, 1 minute and 1 second"
        );
        let body: serde_json::Value = serde_json::from_str(&uptime_body(125)).unwrap();
        assert_eq!(body["uptime_sec"], 125);
        assert_eq!(
            body["uptime_hr"],
            "firelane has been running: 0 days, 0 hours, 2 minutes and 5 seconds"
        );
    }

    #[test]
    fn one_unhealthy_component_makes_health_500() {
        let reg = Registry::new(0, Duration::from_secs(60));
        let _input = reg.register(ComponentKind::Input, "forward.0".into());
        let out = reg.register(ComponentKind::Output, "stdout.0".into());
        let now = Instant::now();
        let (status, body) = health_body(&reg.snapshot(now));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            concat!(
                r#"{"status":"ok","components":["#,
                r#"{"kind":"input","name":"forward.0","running":true,"recent_errors":0,"last_error":null,"healthy":true},"#,
                r#"{"kind":"output","name":"stdout.0","running":true,"recent_errors":0,"last_error":null,"healthy":true}"#,
                "]}"
            )
        );
        out.record_error(now, "broken pipe");
        let (status, body) = health_body(&reg.snapshot(now));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["status"], "error");
        assert_eq!(body["components"][1]["last_error"], "broken pipe");
    }
}
