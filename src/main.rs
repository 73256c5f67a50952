//! firelane binary: parse the command line, load the config (exit 64 on a bad one), start, wait
//! for SIGTERM/SIGINT, drain under the grace period, and say what did not finish. A second
//! SIGTERM/SIGINT cuts the drain short; SIGHUP is logged and ignored (it would otherwise kill
//! the process, and Fluent Bit reads it as a reload request, which firelane does not do yet).
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use tokio_util::sync::CancellationToken;

use firelane::app;
use firelane::cli::{self, Cli, Command};
use firelane::ecs::TaskAtStart;
use firelane::env::ProcessEnv;
use firelane::health::Registry;
use firelane::http::{self, AdminState};
use firelane::init::{self, Started};
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
    // Before anything runs: from here on SIGHUP cannot kill the process.
    let mut signals = Signals::install();
    let prometheus = telemetry::install_metrics().context("installing the metrics recorder")?;
    let registry = Registry::new(cfg.service.hc_errors_count, cfg.service.hc_period.0);
    // Inputs listen before /health answers, so "healthy" means "accepting logs".
    let running = app::start(&cfg, &registry, &task).await?;
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

    let signal = signals.next().await;
    tracing::info!(
        signal,
        grace_s = cfg.service.grace().as_secs_f64(),
        "shutting down: draining inputs and flushing outputs (a second SIGTERM or SIGINT stops at once)"
    );
    let cut = CancellationToken::new();
    let second = tokio::spawn({
        let cut = cut.clone();
        async move {
            let signal = signals.next().await;
            tracing::warn!(
                signal,
                "second signal: stopping without waiting for the rest of the drain"
            );
            cut.cancel();
        }
    });
    let report = running.drain(cfg.service.grace(), cut).await;
    second.abort();
    admin_stop.cancel();
    if let Some(h) = admin {
        let _ = h.await;
    }
    for (input, records, on_disk) in &report.undelivered {
        if *on_disk {
            tracing::warn!(component = %input, records,
                "records not delivered before exit; kept in the disk buffer for the next start");
        } else {
            tracing::error!(component = %input, records,
                "records accepted but not delivered before exit are lost (with ack = \"accepted\" their clients were acked and will not resend them)");
        }
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

/// The signals that stop firelane, and SIGHUP, caught so that it does not.
struct Signals {
    /// `None` when the handlers could not be installed: then only Ctrl-C is waited for.
    streams: Option<[tokio::signal::unix::Signal; 3]>,
}

impl Signals {
    fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(term), Ok(int), Ok(hup)) => Some([term, int, hup]),
            _ => {
                tracing::warn!("cannot install signal handlers; stopping only on Ctrl-C");
                None
            }
        };
        Self { streams }
    }

    /// Waits for SIGTERM or SIGINT and names it; a SIGHUP meanwhile is logged and ignored.
    async fn next(&mut self) -> &'static str {
        let Some([term, int, hup]) = &mut self.streams else {
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        };
        loop {
            tokio::select! {
                _ = term.recv() => return "SIGTERM",
                _ = int.recv() => return "SIGINT",
                _ = hup.recv() => tracing::warn!(
                    "SIGHUP received and ignored: firelane does not reload its configuration \
                     (Fluent Bit reloads on SIGHUP only with Hot_Reload on); restart it to apply changes"
                ),
            }
        }
    }
}
