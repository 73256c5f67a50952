//! `nc` for health checks: connect, send stdin, print what comes back, as nmap's ncat does.
//!
//! `nc [-v] [-z] [-N] [-w SECS] HOST PORT`. Stdin goes to the socket; at its end the socket's
//! sending side is shut down (so a server that reads to the end, as Fluent Bit's and firelane's
//! `tcp` inputs do, closes), and what the server sends is copied to stdout until it closes: exit 0.
//! `-z` only connects. `-w` bounds connecting and every later wait for the server (exit 1 when it
//! runs out: a server that accepts but never answers is not healthy). `-N` (shut down at the end
//! of stdin) is what this nc always does. Any failure exits 1 with the reason on stderr.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use super::{EXIT_USAGE, getopt, seconds};

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NcOptions {
    pub host: String,
    pub port: u16,
    /// `-z`: connect and close, send nothing.
    pub zero_io: bool,
    /// `-v`: say on stderr that the connection succeeded.
    pub verbose: bool,
    /// `-w SECS`: limit on connecting and on each later wait.
    pub timeout: Option<Duration>,
}

const SUPPORTED: &str = "-v, -z, -N, -w SECS, then HOST PORT";

/// Reads nc's command line (without argv[0]).
pub fn parse(args: &[String]) -> Result<NcOptions, String> {
    let line = getopt(args, |o| o == "-w")?;
    let (options, operands) = (line.options, line.operands);
    let mut opts = NcOptions {
        host: String::new(),
        port: 0,
        zero_io: false,
        verbose: false,
        timeout: None,
    };
    for (name, value) in options {
        match name.as_str() {
            "-z" => opts.zero_io = true,
            "-v" => opts.verbose = true,
            "-N" => {}
            "-w" => opts.timeout = seconds(&name, value.unwrap_or_default())?,
            _ => {
                return Err(format!(
                    "option {name} is not supported: firelane's nc takes only {SUPPORTED}"
                ));
            }
        }
    }
    let [host, port] = operands.as_slice() else {
        return Err(format!(
            "firelane's nc takes HOST PORT, not {operands:?} (options: {SUPPORTED})"
        ));
    };
    opts.host = (*host).to_owned();
    opts.port = port
        .parse()
        .map_err(|_| format!("port `{port}` is not a number from 0 to 65535"))?;
    Ok(opts)
}

/// `nc ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    let opts = match parse(args) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("nc: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(&opts, io::stdin(), &mut io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nc: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Connects, then (unless `-z`) copies `input` to the server and the server's bytes to `output`
/// until the server closes.
pub fn run(
    opts: &NcOptions,
    mut input: impl Read + Send + 'static,
    output: &mut impl Write,
) -> Result<(), String> {
    let (host, port) = (opts.host.as_str(), opts.port);
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for addr in &addrs {
        let attempt = match opts.timeout {
            Some(limit) => TcpStream::connect_timeout(addr, limit),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut stream = stream.ok_or_else(|| {
        let why = last.map_or("no address".to_owned(), |e| e.to_string());
        format!("cannot connect to {host} port {port}: {why}")
    })?;
    if opts.verbose {
        eprintln!("nc: connected to {host} port {port}");
    }
    if opts.zero_io {
        return Ok(());
    }
    let waited = |e: io::Error| {
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            let secs = opts.timeout.unwrap_or_default().as_secs_f64();
            format!("{host} port {port}: no progress within {secs} s (-w)")
        } else {
            format!("{host} port {port}: {e}")
        }
    };
    stream.set_read_timeout(opts.timeout).map_err(waited)?;
    stream.set_write_timeout(opts.timeout).map_err(waited)?;
    let mut sending = stream.try_clone().map_err(waited)?;
    let sender = std::thread::spawn(move || -> io::Result<()> {
        io::copy(&mut input, &mut sending)?;
        sending.shutdown(Shutdown::Write)
    });
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).map_err(waited)?;
        if n == 0 {
            break;
        }
        output
            .write_all(&buf[..n])
            .and_then(|()| output.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    // The server closed. If stdin is still open (an interactive session) that is the end, as with
    // ncat; if sending failed, what stdin held did not all arrive.
    if sender.is_finished() {
        match sender.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(waited(e)),
            Err(_) => return Err("the sending thread failed".to_owned()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<NcOptions, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_documented_health_check_and_common_variants_parse() {
        let o = parse_args(&["127.0.0.1", "8877"]).unwrap();
        assert_eq!((o.host.as_str(), o.port), ("127.0.0.1", 8877));
        assert!(!o.zero_io && !o.verbose && o.timeout.is_none());
        let o = parse_args(&["-zv", "-w", "2", "localhost", "24224"]).unwrap();
        assert!(o.zero_io && o.verbose);
        assert_eq!(o.timeout, Some(Duration::from_secs(2)));
        let o = parse_args(&["-N", "-w1", "127.0.0.1", "8877"]).unwrap();
        assert_eq!(o.timeout, Some(Duration::from_secs(1)));
    }

    #[test]
    fn other_options_and_operands_are_refused() {
        for (args, word) in [
            (&["-l", "-p", "8877"][..], "-l"),
            (&["-u", "127.0.0.1", "8877"][..], "-u"),
            (&["-q", "1", "127.0.0.1", "8877"][..], "-q"),
        ] {
            let e = parse_args(args).unwrap_err();
            assert!(e.contains(word) && e.contains("-w SECS"), "{e}");
        }
        assert!(
            parse_args(&["127.0.0.1"])
                .unwrap_err()
                .contains("HOST PORT")
        );
        assert!(
            parse_args(&["-z", "h", "20-30"])
                .unwrap_err()
                .contains("port")
        );
    }
}
