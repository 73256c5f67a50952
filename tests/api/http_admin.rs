//! The HTTP admin server over a real socket: every route, status codes and content types.
#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use firelane::cli::health_check;
use firelane::health::{ComponentKind, Registry};
use firelane::http::{AdminState, serve, serve_listener};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// The recorder is process-wide: install it once for all tests of this file.
fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| firelane::telemetry::install_metrics().unwrap())
        .clone()
}

async fn start(registry: Registry) -> (SocketAddr, CancellationToken, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AdminState {
        registry,
        prometheus: prometheus(),
        started: Instant::now() - Duration::from_secs(61),
    };
    let shutdown = CancellationToken::new();
    let task = serve_listener(listener, state, shutdown.clone());
    (addr, shutdown, task)
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

async fn request(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    Reply {
        status: head[9..12].parse().unwrap(),
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

#[tokio::test]
async fn every_route_answers_as_documented() {
    let registry = Registry::new(0, Duration::from_secs(60));
    let _input = registry.register(ComponentKind::Input, "forward.0".into());
    let output = registry.register(ComponentKind::Output, "stdout.0".into());
    let (addr, shutdown, task) = start(registry).await;

    for path in ["/health", "/api/v1/health"] {
        let r = request(addr, "GET", path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.head.contains("content-type: application/json"));
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["components"][0]["name"], "forward.0");
    }
    assert_eq!(
        health_check(&format!("http://{addr}/health"), Duration::from_secs(2))
            .await
            .unwrap(),
        200
    );

    output.record_error(Instant::now(), "connection refused");
    let r = request(addr, "GET", "/health").await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains(r#""status":"error""#), "{}", r.body);
    assert_eq!(
        health_check(&format!("http://{addr}/health"), Duration::from_secs(2))
            .await
            .unwrap(),
        500
    );

    for path in ["/metrics", "/api/v1/metrics/prometheus"] {
        let r = request(addr, "GET", path).await;
        assert_eq!(r.status, 200);
        assert!(
            r.head.contains("content-type: text/plain; version=0.0.4"),
            "{}",
            r.head
        );
        assert!(
            r.body.contains("# HELP firelane_uptime_seconds"),
            "{}",
            r.body
        );
        let uptime_line = r
            .body
            .lines()
            .find(|l| l.starts_with("firelane_uptime_seconds "))
            .unwrap();
        let uptime: f64 = uptime_line.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(uptime >= 61.0, "{uptime_line}");
    }

    let r = request(addr, "GET", "/api/v1/uptime").await;
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(body["uptime_sec"].as_u64().unwrap() >= 61);
    assert!(
        body["uptime_hr"]
            .as_str()
            .unwrap()
            .starts_with("firelane has been running: 0 days, 0 hours, 1 minute")
    );

    let r = request(addr, "GET", "/").await;
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["name"], "firelane");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));

    assert_eq!(request(addr, "GET", "/nope").await.status, 404);
    let r = request(addr, "POST", "/health").await;
    assert_eq!(r.status, 405);
    assert!(r.head.contains("allow: get"));

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(3), task)
        .await
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener closed after shutdown"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_does_not_hold_up_shutdown() {
    let (addr, shutdown, task) = start(Registry::new(5, Duration::from_secs(60))).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    shutdown.cancel();
    tokio::time::timeout(Duration::from_millis(900), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_busy_port_fails_at_start_with_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let state = AdminState {
        registry: Registry::new(5, Duration::from_secs(60)),
        prometheus: prometheus(),
        started: Instant::now(),
    };
    let err = serve(addr, state, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

/// 70 idle clients (more than `MAX_ADMIN_CONNECTIONS`) do not lock out a health check: each new
/// connection closes the oldest, so every check is answered at once.
#[tokio::test]
async fn idle_connections_cannot_lock_out_a_health_check() {
    let (addr, shutdown, task) = start(Registry::new(5, Duration::from_secs(60))).await;
    let mut idle = Vec::new();
    for _ in 0..70 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    for _ in 0..15 {
        let reply = tokio::time::timeout(Duration::from_secs(1), request(addr, "GET", "/health"))
            .await
            .expect("answered within a second, not after the idle clients' header timeout");
        assert_eq!(reply.status, 200);
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // The oldest idle clients were closed: reading gives end of file at once.
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(1), idle[0].read(&mut buf))
        .await
        .expect("closed, not waiting for the header timeout")
        .unwrap_or(0);
    assert_eq!(n, 0);
    shutdown.cancel();
    task.await.unwrap();
}
