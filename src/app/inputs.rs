//! Inputs from their options: each input's intake (budget, filters, disk buffer), its connection
//! handler, and its listeners with TLS and the connection cap. The one `match` over input kinds.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::StartError;
use crate::config::model::{
    AckMode, ForwardInputConfig, InputConfig, Overflow, ServiceConfig, TcpInputConfig,
};
use crate::config::resolve::{forward_tcp_endpoint, input_alias, parse_unix_perm};
use crate::config::storage::InputStorage;
use crate::config::tls::ServerTls;
use crate::config::units::{ByteSize, DurationValue};
use crate::event::budget::RecordsInFlight;
use crate::filter::chain::FilterChain;
use crate::input::forward::server::ForwardHandler;
use crate::input::tcp::TcpHandler;
use crate::memory::Account;
use crate::net::listener::{ConnectionHandler, Listener, spawn_accept_loop};
use crate::net::tls::accept::TlsHandler;
use crate::pipeline::disk;
use crate::pipeline::intake::Intake;
use crate::pipeline::router::Router;
use crate::storage::buffer::DiskBuffer;

/// What every input shares: where its batches go, the memory account, and the tasks and
/// cancellation of the connections.
pub(super) struct Shared<'a> {
    pub router: Arc<Router>,
    pub account: Account,
    pub chain: Option<Arc<FilterChain>>,
    pub stage: Option<tokio::runtime::Handle>,
    pub service: &'a ServiceConfig,
    pub tracker: &'a TaskTracker,
    pub shutdown: &'a CancellationToken,
}

/// A started input: its records in flight (and whether a disk buffer keeps them), and its disk
/// buffer with the replay task.
pub(super) struct Started {
    pub name: Arc<str>,
    pub in_flight: RecordsInFlight,
    pub disk: Option<(DiskBuffer, JoinHandle<()>)>,
}

/// Builds input `ic` and starts accepting on its listeners.
pub(super) async fn start(ic: &InputConfig, s: &Shared<'_>) -> Result<Started, StartError> {
    let name: Arc<str> = input_alias(ic).into();
    match ic {
        InputConfig::Forward(c) => forward(c, name, s).await,
        InputConfig::Tcp(c) => tcp(c, name, s).await,
    }
}

async fn forward(
    c: &ForwardInputConfig,
    name: Arc<str>,
    s: &Shared<'_>,
) -> Result<Started, StartError> {
    let budget = Budget {
        mem_buf_limit: c.mem_buf_limit,
        overflow: c.overflow,
        overflow_timeout: c.overflow_timeout,
        storage: &c.storage,
    };
    let durable = c.ack == AckMode::Durable;
    let (intake, started) = intake(&name, &budget, true, durable, s).await?;
    let handler = Arc::new(ForwardHandler::new(c, intake));
    let tls = server_tls(&name, &c.tls)?;
    // Who may send is the first thing to check when reviewing a deployment.
    tracing::info!(component = %name, tls = c.tls.enabled.0,
        authentication = c.authentication(), "forward input security");
    let bind_failed = |source| StartError::Bind {
        component: name.to_string(),
        source,
    };
    let mut ls = Vec::new();
    if let Some(path) = &c.unix_path {
        let perm = c.unix_perm.as_deref().and_then(|p| parse_unix_perm(p).ok());
        ls.push(Listener::unix(path, perm).map_err(bind_failed)?);
    }
    if let Some((host, port)) = forward_tcp_endpoint(c) {
        ls.push(Listener::tcp(host, port).await.map_err(bind_failed)?);
    }
    for l in ls {
        let accept = Accept {
            component: name.clone(),
            max_connections: c.max_connections,
            tls: tls.clone(),
        };
        accept.spawn(l, handler.clone(), s.tracker, s.shutdown.clone());
    }
    Ok(started)
}

async fn tcp(c: &TcpInputConfig, name: Arc<str>, s: &Shared<'_>) -> Result<Started, StartError> {
    let budget = Budget {
        mem_buf_limit: c.mem_buf_limit,
        overflow: c.overflow,
        overflow_timeout: c.overflow_timeout,
        storage: &c.storage,
    };
    let (intake, started) = intake(&name, &budget, false, false, s).await?;
    let tls = server_tls(&name, &c.tls)?;
    let handler = Arc::new(TcpHandler::new(c, intake));
    let l = (Listener::tcp(&c.listen, c.port).await).map_err(|source| StartError::Bind {
        component: name.to_string(),
        source,
    })?;
    let accept = Accept {
        component: name.clone(),
        max_connections: c.max_connections,
        tls,
    };
    accept.spawn(l, handler, s.tracker, s.shutdown.clone());
    Ok(started)
}

/// An input's memory and disk options.
struct Budget<'a> {
    mem_buf_limit: ByteSize,
    overflow: Overflow,
    overflow_timeout: Option<DurationValue>,
    storage: &'a InputStorage,
}

/// The intake of input `name`: its budget charged to the account, the filter chain (on the
/// filter stage's threads when `staged`), and its disk buffer when it has one.
async fn intake(
    name: &Arc<str>,
    b: &Budget<'_>,
    staged: bool,
    durable: bool,
    s: &Shared<'_>,
) -> Result<(Intake, Started), StartError> {
    let intake = Intake::new(
        name.clone(),
        b.mem_buf_limit.as_usize(),
        b.overflow,
        s.router.clone(),
    )
    .with_account(s.account.clone())
    .with_filters(s.chain.clone())
    .with_stage(s.stage.clone().filter(|_| staged))
    .with_block_timeout(b.overflow_timeout.map(|d| d.0));
    let (intake, disk) = disk::attach(intake, s.service, name, b.storage, durable)
        .await
        .map_err(|message| StartError::Storage {
            component: name.to_string(),
            message,
        })?;
    let started = Started {
        name: name.clone(),
        in_flight: intake.records_in_flight(),
        disk,
    };
    Ok((intake, started))
}

/// How an input's listeners accept: the TLS settings apply to TCP listeners only.
struct Accept {
    component: Arc<str>,
    max_connections: usize,
    tls: Option<(Arc<rustls::ServerConfig>, Duration)>,
}

impl Accept {
    fn spawn<H: ConnectionHandler>(
        self,
        l: Listener,
        handler: Arc<H>,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) {
        let (name, max) = (self.component, self.max_connections);
        match self.tls {
            Some((config, timeout)) if matches!(l, Listener::Tcp(_)) => {
                let tls = TlsHandler::new(handler, name.clone(), config, timeout);
                spawn_accept_loop(name, l, max, Arc::new(tls), tracker, shutdown);
            }
            _ => spawn_accept_loop(name, l, max, handler, tracker, shutdown),
        }
    }
}

/// The TLS config of an input with `tls.enabled` (the files were checked at load; this reads
/// them again, so a file removed since then stops the start).
fn server_tls(
    name: &str,
    c: &ServerTls,
) -> Result<Option<(Arc<rustls::ServerConfig>, Duration)>, StartError> {
    if !c.enabled.0 {
        return Ok(None);
    }
    let config =
        crate::net::tls::server_config(&c.settings()).map_err(|problems| StartError::Tls {
            component: name.to_owned(),
            message: problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        })?;
    Ok(Some((config, c.handshake_timeout.0)))
}
