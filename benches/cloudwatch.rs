//! The CloudWatch Logs output's own work, in MB/s of msgpack records: encoding each record into its
//! message, choosing its stream, batching into request bodies (`build`), and sending the bodies as
//! PutLogEvents HTTP requests through the real SDK (`serialize`: signing and HTTP; an in-process
//! HTTP client answers `{}` at once, so no network time is counted). `output` is both, the whole
//! cost per record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firelane::config::output::cloudwatch::{CloudWatchOutputConfig, LogFormat};
use firelane::output::cloudwatch::batcher::{Batcher, Limits, Request};
use firelane::output::cloudwatch::client::CwClient;
use firelane::output::cloudwatch::message::{self, MessageEncoder};
use firelane::output::cloudwatch::naming::Naming;

const RECORDS: usize = 20_000;

/// Docker-shaped records with a ~200-byte `log` line.
fn records() -> Vec<Vec<u8>> {
    (0..RECORDS)
        .map(|i| {
            let log = format!(
                "{i:>10} 2024-01-01T00:00:00.000Z INFO request handled method=GET path=/api/v1/items/{i} status=200 duration_ms=12 user_agent=\"Mozilla/5.0 (X11; Linux x86_64)\" trace=abcdef0123456789"
            );
            let mut out = Vec::new();
            rmp::encode::write_map_len(&mut out, 4).unwrap();
            for (k, v) in [
                ("container_id", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
                ("container_name", "/ecs-app-web-1-app-9a8b7c6d5e4f"),
                ("source", "stdout"),
                ("log", log.as_str()),
            ] {
                rmp::encode::write_str(&mut out, k).unwrap();
                rmp::encode::write_str(&mut out, v).unwrap();
            }
            out
        })
        .collect()
}

#[derive(Debug, Clone)]
struct InstantOk;

impl HttpConnector for InstantOk {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Ok(Response::new(
            200.try_into().unwrap(),
            SdkBody::from("{}"),
        )))
    }
}

impl HttpClient for InstantOk {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn client() -> CwClient {
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .http_client(InstantOk)
        .build();
    CwClient::from_client(
        aws_sdk_cloudwatchlogs::Client::from_conf(conf),
        LogFormat::Json,
    )
}

struct Builder {
    naming: Naming,
    encoder: MessageEncoder,
    batcher: Batcher<Arc<()>>,
    scratch: Vec<u8>,
    holder: Arc<()>,
    tag: Arc<str>,
}

impl Builder {
    fn new() -> Self {
        let cfg: CloudWatchOutputConfig = toml::from_str(
            "match = \"*\"\nlog_group_name = \"/ecs/bench\"\nlog_stream_prefix = \"app/\"",
        )
        .unwrap();
        Self {
            naming: Naming::new(&cfg).unwrap(),
            encoder: message::encoder(None),
            batcher: Batcher::new(Limits::default()),
            scratch: Vec::new(),
            holder: Arc::new(()),
            tag: Arc::from("app-firelens-0123456789abcdef"),
        }
    }

    /// What the output does per record, then flushes; returns the requests.
    fn build(&mut self, records: &[Vec<u8>], ready: &mut Vec<Request<Arc<()>>>) {
        let now = Instant::now();
        for (i, rec) in records.iter().enumerate() {
            let (message, _) = self.encoder.encode_message(rec, &mut self.scratch).unwrap();
            let key = self.naming.key(&self.tag, rec);
            let ts = 1_800_000_000_000 + i as i64;
            self.batcher
                .push(&key, ts, message, &self.holder, now, ready);
        }
        self.batcher.flush_all(ready);
    }
}

fn bench(c: &mut Criterion) {
    let recs = records();
    let bytes: usize = recs.iter().map(Vec::len).sum();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = client();
    let mut g = c.benchmark_group("cloudwatch");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("build", |b| {
        let mut builder = Builder::new();
        let mut ready = Vec::new();
        b.iter(|| {
            ready.clear();
            builder.build(&recs, &mut ready);
            black_box(ready.len())
        })
    });
    let mut builder = Builder::new();
    let mut prepared = Vec::new();
    builder.build(&recs, &mut prepared);
    g.bench_function("serialize", |b| {
        b.iter(|| {
            rt.block_on(async {
                for req in &prepared {
                    client
                        .put_log_events(&req.key.group, &req.key.stream, req.body.clone())
                        .await
                        .unwrap();
                }
            })
        })
    });
    g.bench_function("output", |b| {
        let mut builder = Builder::new();
        let mut ready = Vec::new();
        b.iter(|| {
            ready.clear();
            builder.build(&recs, &mut ready);
            rt.block_on(async {
                for req in &ready {
                    client
                        .put_log_events(&req.key.group, &req.key.stream, req.body.clone())
                        .await
                        .unwrap();
                }
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
