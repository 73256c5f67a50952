//! firelane binary: parse the command line, load the config (exit 64 on a bad one), start, wait
//! for SIGTERM/SIGINT, drain under the grace period, and say what did not finish.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use tokio_util::sync::CancellationToken;

use firelane::cli::{self, Cli, Command};
use firelane::config::env::ProcessEnv;
use firelane::ecs::TaskAtStart;
use firelane::health::Registry;
use firelane::http::{self, AdminState};
use firelane::init::{self, Started};
use firelane::pipeline::build;
use firelane::telemetry;

fn main() -> ExitCode {
    // Started as `curl` or `nc` through the image's links: a health-check tool, not the router.
    if let Some(code) = firelane::applet::dispatch(std::env::args_os()) {
        return code;
    }
    let command = Cli::parse().into_command();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("firelane: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Run { config } => {
            let dir = init::download_dir();
            let started = match rt.block_on(init::start(config.as_deref(), &ProcessEnv, &dir)) {
                Ok(started) => started,
                Err(errors) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    eprintln!("{errors}");
                    return ExitCode::from(cli::EXIT_BAD_CONFIG);
                }
            };
            match rt.block_on(run(started)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("firelane: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Validate { config } => rt.block_on(cli::validate(&config)),
        Command::Health { url, config } => {
            match cli::health_url(url.as_deref(), config.as_deref()) {
                Ok(url) => rt.block_on(cli::health(&url)),
                Err(e) => {
                    eprintln!("unhealthy: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn run(started: Started) -> anyhow::Result<()> {
    let Started {
        loaded,
        task,
        report,
    } = started;
    let cfg = loaded.config;
    telemetry::init_logging(&cfg.service.log_level, cfg.service.log_format);
    match &loaded.source {
        Some(path) => {
            tracing::info!(file = %path.display(), format = ?loaded.format, "configuration loaded")
        }
        None => tracing::info!("no configuration file: running the embedded default"),
    }
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    match &task {
        TaskAtStart::NotOnEcs => {}
        TaskAtStart::Read { .. } => tracing::info!("{}", task.describe()),
        TaskAtStart::Unavailable { .. } => tracing::warn!("{}", task.describe()),
    }
    for line in &report {
        tracing::info!("init: {line}");
    }
    let prometheus = telemetry::install_metrics().context("installing the metrics recorder")?;
    let registry = Registry::new(cfg.service.hc_errors_count, cfg.service.hc_period.0);
    // Inputs listen before /health answers, so "healthy" means "accepting logs".
    let running = build::start(&cfg, &registry, &task).await?;
    // Init files downloaded from S3 have been read (parsers files too, by the filters).
    let _ = std::fs::remove_dir_all(init::download_dir());
    let admin_stop = CancellationToken::new();
    let admin = if cfg.service.http_server.0 {
        let addr = format!("{}:{}", cfg.service.http_listen, cfg.service.http_port);
        let addr = tokio::net::lookup_host(&addr)
            .await
            .with_context(|| format!("resolving http_listen {addr}"))?
            .next()
            .with_context(|| format!("http_listen {addr} resolves to nothing"))?;
        let state = AdminState {
            registry: registry.clone(),
            prometheus,
            started: Instant::now(),
        };
        Some(
            http::serve(addr, state, admin_stop.clone())
                .await
                .with_context(|| format!("starting the HTTP server on {addr}"))?,
        )
    } else {
        None
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "firelane started");

    let signal = wait_for_signal().await;
    tracing::info!(
        signal,
        grace_s = cfg.service.grace().as_secs_f64(),
        "shutting down: draining inputs and flushing outputs"
    );
    let report = running.drain(cfg.service.grace()).await;
    admin_stop.cancel();
    if let Some(h) = admin {
        let _ = h.await;
    }
    if report.unfinished.is_empty() {
        tracing::info!("shutdown complete");
        Ok(())
    } else {
        for what in &report.unfinished {
            tracing::error!(component = %what, "did not finish within the grace period");
        }
        anyhow::bail!(
            "{} component(s) did not finish within the grace period",
            report.unfinished.len()
        )
    }
}

async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers; stopping only on Ctrl-C");
        let _ = tokio::signal::ctrl_c().await;
        return "SIGINT";
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
