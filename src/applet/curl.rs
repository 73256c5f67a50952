//! `curl` for health checks: one plain-HTTP GET, curl's options and exit codes for that use.
//!
//! Handles `-f/--fail`, `-s/--silent`, `-S/--show-error`, `-o/--output FILE`, `-m/--max-time SECS`
//! and `--connect-timeout SECS`, one `http://` URL (or a URL without a scheme, which curl reads as
//! http). The body goes to stdout or the `-o` file; with `-f`, a status of 400 or more exits 22 and
//! writes no body. Exit codes are curl's: 6 cannot resolve, 7 cannot connect, 22 HTTP error with
//! `-f`, 23 cannot write the output, 28 timed out, 52 empty reply, 56 receive failure, 1 a scheme
//! other than http, 2 an option this curl does not have.

use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::{EXIT_USAGE, getopt, seconds};
use crate::cli::HttpTarget;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurlOptions {
    pub url: String,
    /// `-f`: a status of 400 or more is an error (exit 22), and its body is not written.
    pub fail: bool,
    /// `-s`: no error messages (unless `-S`).
    pub silent: bool,
    /// `-S`: error messages even with `-s`.
    pub show_error: bool,
    /// `-o FILE`: where the body goes; `None` or `-` is stdout.
    pub output: Option<String>,
    /// `-m SECS`: limit on the whole transfer.
    pub max_time: Option<Duration>,
    /// `--connect-timeout SECS`: limit on connecting.
    pub connect_timeout: Option<Duration>,
}

const SUPPORTED: &str = "-f/--fail, -s/--silent, -S/--show-error, -o/--output FILE, -m/--max-time SECS, \
     --connect-timeout SECS and one http:// URL";

/// Reads curl's command line (without argv[0]).
pub fn parse(args: &[String]) -> Result<CurlOptions, String> {
    let takes_value = |o: &str| {
        matches!(
            o,
            "-o" | "--output" | "-m" | "--max-time" | "--connect-timeout"
        )
    };
    let line = getopt(args, takes_value)?;
    let (options, operands) = (line.options, line.operands);
    let mut opts = CurlOptions {
        url: String::new(),
        fail: false,
        silent: false,
        show_error: false,
        output: None,
        max_time: None,
        connect_timeout: None,
    };
    for (name, value) in options {
        let value = value.unwrap_or_default();
        match name.as_str() {
            "-f" | "--fail" => opts.fail = true,
            "-s" | "--silent" => opts.silent = true,
            "-S" | "--show-error" => opts.show_error = true,
            "-o" | "--output" => opts.output = Some(value.to_owned()),
            "-m" | "--max-time" => opts.max_time = seconds(&name, value)?,
            "--connect-timeout" => opts.connect_timeout = seconds(&name, value)?,
            _ => {
                return Err(format!(
                    "option {name} is not supported: firelane's curl has only {SUPPORTED}"
                ));
            }
        }
    }
    match operands.as_slice() {
        [url] => opts.url = (*url).to_owned(),
        [] => return Err(format!("no URL given; firelane's curl takes {SUPPORTED}")),
        _ => return Err(format!("firelane's curl takes one URL, not {operands:?}")),
    }
    Ok(opts)
}

/// Why a transfer failed, with curl's exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurlError {
    pub code: u8,
    pub message: String,
}

impl CurlError {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// `curl ARGS`: prints `curl: (CODE) message` on failure (unless silenced) and exits with CODE.
pub fn main(args: &[String]) -> ExitCode {
    let opts = match parse(args) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("curl: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("curl: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(transfer(&opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !opts.silent || opts.show_error {
                eprintln!("curl: ({}) {}", e.code, e.message);
            }
            ExitCode::from(e.code)
        }
    }
}

/// The URL as an HTTP target: `http://` is assumed when there is no scheme, as curl does.
fn target(url: &str) -> Result<HttpTarget, CurlError> {
    let full = match url.split_once("://") {
        Some((scheme, _)) if !scheme.eq_ignore_ascii_case("http") => {
            return Err(CurlError::new(
                1,
                format!(
                    "protocol \"{scheme}\" not supported: firelane's curl speaks plain http only"
                ),
            ));
        }
        Some((_, rest)) => format!("http://{rest}"),
        None => format!("http://{url}"),
    };
    HttpTarget::parse(&full).ok_or_else(|| CurlError::new(3, format!("URL malformed: {url}")))
}

/// Runs the GET under `-m`.
pub async fn transfer(opts: &CurlOptions) -> Result<(), CurlError> {
    let target = target(&opts.url)?;
    let started = Instant::now();
    let exchange = exchange(&target, opts);
    match opts.max_time {
        None => exchange.await,
        Some(limit) => match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(CurlError::new(
                28,
                format!(
                    "Operation timed out after {} milliseconds",
                    started.elapsed().as_millis()
                ),
            )),
        },
    }
}

async fn connect(target: &HttpTarget, limit: Option<Duration>) -> Result<TcpStream, CurlError> {
    let host = target.host.as_str();
    let addrs: Vec<_> = tokio::net::lookup_host((host, target.port))
        .await
        .map_err(|_| CurlError::new(6, format!("Could not resolve host: {host}")))?
        .collect();
    let connect = async {
        let mut last = None;
        for addr in &addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.map_or("no address".to_owned(), |e| e.to_string()))
    };
    let failed = |why: String| {
        CurlError::new(
            7,
            format!("Failed to connect to {host} port {}: {why}", target.port),
        )
    };
    match limit {
        None => connect.await.map_err(failed),
        Some(limit) => match tokio::time::timeout(limit, connect).await {
            Ok(result) => result.map_err(failed),
            Err(_) => Err(CurlError::new(
                28,
                format!(
                    "Connection timed out after {} milliseconds",
                    limit.as_millis()
                ),
            )),
        },
    }
}

async fn exchange(target: &HttpTarget, opts: &CurlOptions) -> Result<(), CurlError> {
    let stream = connect(target, opts.connect_timeout).await?;
    let receive = |e: hyper::Error| {
        if e.is_incomplete_message() {
            CurlError::new(52, "Empty reply from server")
        } else {
            CurlError::new(
                56,
                format!("Failure when receiving data from the peer: {e}"),
            )
        }
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(receive)?;
    let request = Request::get(target.path.as_str())
        .header(header::HOST, target.authority.as_str())
        .header(
            header::USER_AGENT,
            concat!("firelane-curl/", env!("CARGO_PKG_VERSION")),
        )
        .header(header::ACCEPT, "*/*")
        .body(Empty::<Bytes>::new())
        .map_err(|e| CurlError::new(3, format!("URL malformed: {e}")))?;
    let exchange = async {
        let response = sender.send_request(request).await.map_err(receive)?;
        let status = response.status().as_u16();
        if opts.fail && status >= 400 {
            return Err(CurlError::new(
                22,
                format!("The requested URL returned error: {status}"),
            ));
        }
        let mut out = Output::open(opts.output.as_deref())?;
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(receive)?;
            if let Some(data) = frame.data_ref() {
                out.write(data)?;
            }
        }
        out.finish()
    };
    tokio::pin!(exchange);
    // The connection future does the socket I/O. Its error says why a response did not come
    // (the exchange then only sees "canceled"), so it is looked at first; if it ends cleanly
    // first (the server closed after the response), the exchange still takes the buffered body.
    tokio::select! {
        biased;
        closed = conn => {
            closed.map_err(receive)?;
            exchange.await
        }
        result = &mut exchange => result,
    }
}

/// Where the body goes: stdout, or a file created when the response arrives (as curl does).
enum Output {
    Stdout(io::Stdout),
    File(File),
}

impl Output {
    fn open(path: Option<&str>) -> Result<Self, CurlError> {
        match path {
            None | Some("-") => Ok(Self::Stdout(io::stdout())),
            Some(path) => File::create(path)
                .map(Self::File)
                .map_err(|e| CurlError::new(23, format!("Failed to open the file {path}: {e}"))),
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<(), CurlError> {
        let result = match self {
            Self::Stdout(out) => out.write_all(data),
            Self::File(file) => file.write_all(data),
        };
        result
            .map_err(|e| CurlError::new(23, format!("Failure writing output to destination: {e}")))
    }

    fn finish(&mut self) -> Result<(), CurlError> {
        let result = match self {
            Self::Stdout(out) => out.flush(),
            Self::File(file) => file.flush(),
        };
        result
            .map_err(|e| CurlError::new(23, format!("Failure writing output to destination: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<CurlOptions, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_documented_health_checks_parse() {
        let o = parse_args(&["-f", "http://127.0.0.1:2020/api/v1/health"]).unwrap();
        assert!(o.fail && !o.silent && o.output.is_none() && o.max_time.is_none());
        assert_eq!(o.url, "http://127.0.0.1:2020/api/v1/health");
        let o = parse_args(&["-s", "http://127.0.0.1:2020/api/v1/metrics/prometheus"]).unwrap();
        assert!(o.silent && !o.fail);
    }

    #[test]
    fn common_variants_parse() {
        let o = parse_args(&[
            "-fsS",
            "-o",
            "/dev/null",
            "-m",
            "3",
            "--connect-timeout",
            "0.5",
            "127.0.0.1:2020/api/v1/uptime",
        ])
        .unwrap();
        assert!(o.fail && o.silent && o.show_error);
        assert_eq!(o.output.as_deref(), Some("/dev/null"));
        assert_eq!(o.max_time, Some(Duration::from_secs(3)));
        assert_eq!(o.connect_timeout, Some(Duration::from_millis(500)));
        let o = parse_args(&[
            "--fail",
            "--silent",
            "--show-error",
            "--max-time",
            "2",
            "--output",
            "-",
            "http://x/",
        ])
        .unwrap();
        assert!(o.fail && o.silent && o.show_error);
        assert_eq!(o.output.as_deref(), Some("-"));
    }

    #[test]
    fn other_options_are_refused_by_name() {
        for (args, word) in [
            (&["-L", "http://x/"][..], "-L"),
            (&["-fsL", "http://x/"][..], "-L"),
            (&["-X", "POST", "http://x/"][..], "-X"),
            (&["--retry", "3", "http://x/"][..], "--retry"),
        ] {
            let e = parse_args(args).unwrap_err();
            assert!(e.contains(word) && e.contains("-f/--fail"), "{e}");
        }
        assert!(parse_args(&["-f"]).unwrap_err().contains("no URL"));
        assert!(parse_args(&["http://a/", "http://b/"]).is_err());
        assert!(parse_args(&["-m", "x", "http://a/"]).is_err());
    }

    #[test]
    fn urls_without_scheme_are_http_and_others_are_refused() {
        let t = target("127.0.0.1:2020/api/v1/health").unwrap();
        assert_eq!((t.port, t.path.as_str()), (2020, "/api/v1/health"));
        let t = target("HTTP://localhost").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("localhost", 80));
        assert_eq!(target("https://x/").unwrap_err().code, 1);
        assert_eq!(target("http://x:bad/").unwrap_err().code, 3);
    }
}
