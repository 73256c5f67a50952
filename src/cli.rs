//! Command-line interface: `run` (the default), `validate`, `health`.
//!
//! `health` is for container health checks in images without curl: a plain HTTP/1.1 GET over a
//! TCP stream, bounded by a timeout, exit 0 only on status 200.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where `firelane health` asks by default (the admin server's default address).
pub const DEFAULT_HEALTH_URL: &str = "http://127.0.0.1:2020/health";
/// Time `firelane health` allows for connecting and reading the status line.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// Exit status for an invalid configuration (EX_USAGE, as linkerd2-proxy).
pub const EXIT_BAD_CONFIG: u8 = 64;
/// The status line must arrive within this many bytes.
const MAX_STATUS_LINE_BYTES: usize = 8 * 1024;

const EXAMPLES: &str = "\
Examples:
  firelane                              run with the embedded default (Forward on 127.0.0.1:24224,
                                        and /var/run/fluent.sock when writable, to stdout)
  firelane run -c /etc/firelane.toml    run with a configuration file
  firelane validate -c firelane.toml    check a file; every problem is listed, exit 64 if any
  firelane health                       exit 0 if the configured /health answers 200
                                        (default http://127.0.0.1:2020/health)

The FIRELANE_CONFIG environment variable sets the default for -c/--config.";

/// firelane: a container log router. Fluent Forward in; stdout, files and more out.
#[derive(Debug, Parser)]
#[command(name = "firelane", version, about, after_help = EXAMPLES)]
pub struct Cli {
    /// Configuration file when no subcommand is given (same as `run -c FILE`).
    #[arg(short, long, env = "FIRELANE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Run the router (the default). Without a configuration file, the embedded default is used.
    Run {
        /// Configuration file: TOML, or Fluent Bit classic/YAML.
        #[arg(short, long, env = "FIRELANE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Check a configuration file: prints "ok: N inputs, F filters, M outputs" or every problem (exit 64).
    Validate {
        /// Configuration file: TOML, or Fluent Bit classic/YAML.
        #[arg(short, long, env = "FIRELANE_CONFIG", value_name = "FILE")]
        config: PathBuf,
    },
    /// Ask a running firelane whether it is healthy: exit 0 on HTTP 200, else 1. Without --url,
    /// asks the HTTP server the configuration sets (found as `run` finds it).
    Health {
        /// URL of the health endpoint (http only).
        #[arg(long)]
        url: Option<String>,
        /// Configuration file whose HTTP_Listen/HTTP_Port to ask.
        #[arg(short, long, env = "FIRELANE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

impl Cli {
    /// The command to carry out: `run` when none was given, with the top-level `-c` if any.
    pub fn into_command(self) -> Command {
        match self.command {
            Some(Command::Run { config }) => Command::Run {
                config: config.or(self.config),
            },
            Some(other) => other,
            None => Command::Run {
                config: self.config,
            },
        }
    }
}

/// `firelane validate`: as `run` would, reads the ECS task metadata and the init files (see
/// [`crate::init`]), prints what it took from them (`init: ...` lines), then "ok: N inputs, F filters,
/// M outputs" on stdout, then how many regexes run on which engine and each one the backtracking
/// engine runs, then the memory account's total and where it came from (exit 64 when the
/// container is too small for `auto`); or every problem on stderr and returns exit status 64.
pub async fn validate(path: &Path) -> ExitCode {
    let dir = crate::init::download_dir();
    let (started, regexes) = crate::onigmo::with_engines_listed_async(crate::init::start(
        Some(path),
        &crate::env::ProcessEnv,
        &dir,
    ))
    .await;
    // Downloaded init files were needed only to check them.
    let _ = std::fs::remove_dir_all(&dir);
    match started {
        Ok(started) => {
            for line in started.summary() {
                println!("init: {line}");
            }
            let loaded = started.loaded;
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            let cfg = &loaded.config;
            let budget = crate::memory::budget(cfg.service.memory_limit);
            println!(
                "ok: {} inputs, {} filters, {} outputs",
                cfg.inputs.len(),
                cfg.filters.len(),
                cfg.outputs.len()
            );
            for line in regex_engine_lines(&regexes) {
                println!("{line}");
            }
            let (allocator, allocator_warning) = crate::memory::allocator::describe();
            println!("memory account: {budget}; allocator: {allocator}");
            let mut resolved = cfg.clone();
            crate::config::resolve::resolve_aliases(&mut resolved);
            let oversubscribed = crate::app::memory::oversubscribed_inputs(&resolved, &budget);
            for w in (budget.warning.iter())
                .chain(&oversubscribed)
                .chain(&allocator_warning)
            {
                eprintln!("warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(EXIT_BAD_CONFIG)
        }
    }
}

/// What `validate` says about the regexes it compiled: a count per engine, then one line per
/// pattern that is not on the default (linear-time) engine.
fn regex_engine_lines(regexes: &[crate::onigmo::Listed]) -> Vec<String> {
    use crate::onigmo::Engine;
    if regexes.is_empty() {
        return Vec::new();
    }
    let slow: Vec<_> = (regexes.iter())
        .filter_map(|(p, e)| match e {
            Engine::Backtracking(why) => Some((p, why)),
            Engine::Regex => None,
        })
        .collect();
    let mut lines = vec![format!(
        "regexes: {} on the regex engine, {} on the backtracking engine",
        regexes.len() - slow.len(),
        slow.len()
    )];
    lines.extend(
        slow.iter()
            .map(|(p, why)| format!("  backtracking engine (for {why}): {p}")),
    );
    lines
}

/// The URL `firelane health` asks: `url` if given, else /health on the HTTP server of the
/// configuration `run` would load (`config`, else FireLens's file, else the embedded default).
pub fn health_url(url: Option<&str>, config: Option<&Path>) -> Result<String, String> {
    if let Some(url) = url {
        return Ok(url.to_owned());
    }
    let loaded = crate::config::discover::load(config)
        .map_err(|e| format!("cannot read the configuration:\n{e}"))?;
    let service = &loaded.config.service;
    if !service.http_server.0 {
        return Err(
            "the configuration turns the HTTP server off (http_server): there is no /health to ask"
                .to_owned(),
        );
    }
    let host = match service.http_listen.as_str() {
        "0.0.0.0" | "" => "127.0.0.1".to_owned(),
        "::" | "[::]" => "[::1]".to_owned(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_owned(),
    };
    Ok(format!("http://{host}:{}/health", service.http_port))
}

/// `firelane health`: exit 0 when `url` answers 200 within `HEALTH_TIMEOUT`, else 1 with the reason
/// on stderr.
pub async fn health(url: &str) -> ExitCode {
    match health_check(url, HEALTH_TIMEOUT).await {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("unhealthy: {url} answered HTTP {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HealthCheckError {
    #[error("`{0}` is not a URL this client handles (http://host[:port]/path)")]
    InvalidUrl(String),
    #[error("no answer from {url} within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("cannot reach {url}: {source}")]
    Io { url: String, source: io::Error },
    #[error("{url} did not answer with an HTTP status line")]
    BadResponse { url: String },
}

/// GETs `url` with `Connection: close` and returns the HTTP status code.
pub async fn health_check(url: &str, timeout: Duration) -> Result<u16, HealthCheckError> {
    let target =
        HttpTarget::parse(url).ok_or_else(|| HealthCheckError::InvalidUrl(url.to_owned()))?;
    let exchange = async {
        let mut stream = TcpStream::connect((target.host.as_str(), target.port)).await?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: firelane-health\r\nConnection: close\r\n\r\n",
            target.path, target.authority
        );
        stream.write_all(request.as_bytes()).await?;
        read_status_line(&mut stream).await
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Err(HealthCheckError::Timeout {
            url: url.to_owned(),
            timeout,
        }),
        Ok(Err(source)) => Err(HealthCheckError::Io {
            url: url.to_owned(),
            source,
        }),
        Ok(Ok(line)) => parse_status(&line).ok_or_else(|| HealthCheckError::BadResponse {
            url: url.to_owned(),
        }),
    }
}

/// Reads until the first CRLF (or EOF, or the size limit) and returns what came before it.
async fn read_status_line(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            buf.truncate(end);
            return Ok(buf);
        }
        if n == 0 || buf.len() > MAX_STATUS_LINE_BYTES {
            return Ok(buf);
        }
    }
}

/// `HTTP/1.1 200 OK` -> 200.
fn parse_status(line: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = parts.next()?;
    (code.len() == 3).then(|| code.parse().ok()).flatten()
}

/// An `http://host[:port]/path` URL, split for a plain HTTP/1.1 request (also the `curl` applet's).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HttpTarget {
    /// `host[:port]` as written, for the Host header.
    pub(crate) authority: String,
    /// Host without brackets, for connecting.
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path: String,
}

impl HttpTarget {
    pub(crate) fn parse(url: &str) -> Option<Self> {
        let rest = url.strip_prefix("http://")?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            match after.strip_prefix(':') {
                Some(port) => (host, port.parse().ok()?),
                None if after.is_empty() => (host, 80),
                None => return None,
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, port.parse().ok()?),
                None => (authority, 80),
            }
        };
        if host.is_empty() || path.contains(['\r', '\n', ' ']) {
            return None;
        }
        Some(Self {
            authority: authority.to_owned(),
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(args).unwrap().into_command()
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_is_the_default_and_takes_a_config() {
        // FIRELANE_CONFIG may be set in the environment running the tests.
        if std::env::var_os("FIRELANE_CONFIG").is_none() {
            assert_eq!(parse(&["firelane"]), Command::Run { config: None });
        }
        let file = Some(PathBuf::from("f.toml"));
        assert_eq!(
            parse(&["firelane", "-c", "f.toml"]),
            Command::Run {
                config: file.clone()
            }
        );
        assert_eq!(
            parse(&["firelane", "run", "--config", "f.toml"]),
            Command::Run { config: file }
        );
        assert_eq!(
            parse(&["firelane", "validate", "-c", "v.toml"]),
            Command::Validate {
                config: "v.toml".into()
            }
        );
        assert_eq!(
            parse(&[
                "firelane",
                "health",
                "--url",
                DEFAULT_HEALTH_URL,
                "-c",
                "h.conf"
            ]),
            Command::Health {
                url: Some(DEFAULT_HEALTH_URL.into()),
                config: Some("h.conf".into()),
            }
        );
    }

    #[test]
    fn health_asks_the_server_the_configuration_sets() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("fluent-bit.conf");
        let classic = "[SERVICE]\n    HTTP_Listen 0.0.0.0\n    HTTP_Port 2121\n[INPUT]\n    Name tcp\n[OUTPUT]\n    Name null\n    Match *\n";
        std::fs::write(&conf, classic).unwrap();
        assert_eq!(
            health_url(None, Some(&conf)).unwrap(),
            "http://127.0.0.1:2121/health"
        );
        assert_eq!(
            health_url(Some("http://x/h"), Some(&conf)).unwrap(),
            "http://x/h"
        );
        std::fs::write(&conf, classic.replace("0.0.0.0", "::1")).unwrap();
        assert_eq!(
            health_url(None, Some(&conf)).unwrap(),
            "http://[::1]:2121/health"
        );
        std::fs::write(
            &conf,
            classic.replace("HTTP_Listen 0.0.0.0", "HTTP_Server off"),
        )
        .unwrap();
        assert!(health_url(None, Some(&conf)).unwrap_err().contains("off"));
        std::fs::write(&conf, "[INPUT]\n    Nme tcp\n").unwrap();
        assert!(
            health_url(None, Some(&conf))
                .unwrap_err()
                .contains("cannot read")
        );
    }

    #[test]
    fn urls_are_split_into_host_port_and_path() {
        let t = HttpTarget::parse("http://127.0.0.1:2020/health").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("127.0.0.1", 2020, "/health")
        );
        let t = HttpTarget::parse("http://[::1]:9/api/v1/health?x=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.authority.as_str()),
            ("::1", 9, "[::1]:9")
        );
        let t = HttpTarget::parse("http://localhost").unwrap();
        assert_eq!((t.port, t.path.as_str()), (80, "/"));
        assert_eq!(HttpTarget::parse("https://x/health"), None);
        assert_eq!(HttpTarget::parse("http://x:99999/"), None);
        assert_eq!(HttpTarget::parse("http://:80/"), None);
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK"), Some(200));
        assert_eq!(
            parse_status(b"HTTP/1.0 500 Internal Server Error"),
            Some(500)
        );
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status(b"HTTP/1.1 20"), None);
    }

    #[tokio::test]
    async fn health_check_fails_fast_when_nothing_listens() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = health_check(&format!("http://{addr}/health"), HEALTH_TIMEOUT)
            .await
            .unwrap_err();
        assert!(matches!(err, HealthCheckError::Io { .. }), "{err}");
    }

    #[tokio::test]
    async fn health_check_times_out_on_a_silent_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let timeout = Duration::from_millis(100);
        let err = health_check(&format!("http://{addr}/health"), timeout)
            .await
            .unwrap_err();
        assert!(matches!(err, HealthCheckError::Timeout { .. }), "{err}");
        drop(listener);
    }
}
