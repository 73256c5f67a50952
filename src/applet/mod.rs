//! firelane as `curl` and `nc`: what FireLens health checks run, for an image with no curl or netcat.
//!
//! The image links `/usr/bin/curl` and `/usr/bin/nc` to the firelane binary; `main` looks at the
//! name it was started under (argv[0], busybox style) before anything else. Each applet does only
//! what health checks and the aws-for-fluent-bit configs ask of the real tool (one plain-HTTP GET;
//! one TCP exchange) and refuses any other option with a message naming the ones it has, so a
//! check written for the full tool fails loudly instead of passing for the wrong reason.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

pub mod curl;
pub mod nc;

/// Exit status for a command line the applet does not handle (curl's "unknown option" code).
pub const EXIT_USAGE: u8 = 2;

/// Runs the applet named by argv[0]'s file name (`curl`, `nc`), or `None` for any other name
/// (firelane itself).
pub fn dispatch(mut args: impl Iterator<Item = OsString>) -> Option<ExitCode> {
    let argv0 = args.next()?;
    let name = Path::new(&argv0).file_name()?.to_str()?.to_owned();
    let run: fn(&[String]) -> ExitCode = match name.as_str() {
        "curl" => curl::main,
        "nc" => nc::main,
        _ => return None,
    };
    let mut utf8 = Vec::new();
    for arg in args {
        match arg.into_string() {
            Ok(arg) => utf8.push(arg),
            Err(arg) => {
                eprintln!("{name}: argument {arg:?} is not UTF-8");
                return Some(ExitCode::from(EXIT_USAGE));
            }
        }
    }
    Some(run(&utf8))
}

/// `5`, `0.5` (seconds, as curl's `-m` and nc's `-w` take them); `0` means no limit.
fn seconds(option: &str, value: &str) -> Result<Option<Duration>, String> {
    match value.parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=1e9).contains(&secs) => {
            Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
        }
        _ => Err(format!("{option} takes a number of seconds, not `{value}`")),
    }
}

/// Splits a command line into options and operands the way getopt does: short options bundle
/// (`-fsS`), a value follows its option directly or as the next argument (`-m5`, `-m 5`), long
/// options take the next argument (`--max-time 5`), `--` ends the options.
fn getopt(args: &[String], takes_value: impl Fn(&str) -> bool) -> Result<CommandLine<'_>, String> {
    let mut options = Vec::new();
    let mut operands = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            operands.extend(it.by_ref().map(String::as_str));
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let name = format!("--{long}");
            let value = if takes_value(&name) {
                Some(it.next().ok_or(format!("{name} needs a value"))?.as_str())
            } else {
                None
            };
            options.push((name, value));
        } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (i, c) in shorts.char_indices() {
                let name = format!("-{c}");
                if takes_value(&name) {
                    let rest = &shorts[i + c.len_utf8()..];
                    let value = if rest.is_empty() {
                        it.next().ok_or(format!("{name} needs a value"))?.as_str()
                    } else {
                        rest
                    };
                    options.push((name, Some(value)));
                    break;
                }
                options.push((name, None));
            }
        } else {
            operands.push(arg.as_str());
        }
    }
    Ok(CommandLine { options, operands })
}

/// A command line split by [`getopt`].
struct CommandLine<'a> {
    /// `-x` or `--name`, with its value when it takes one, in order.
    options: Vec<(String, Option<&'a str>)>,
    operands: Vec<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn getopt_bundles_short_options_and_takes_values_attached_or_next() {
        let args = strings(&[
            "-fsSo",
            "/dev/null",
            "-m5",
            "--max-time",
            "2",
            "url",
            "--",
            "-x",
        ]);
        let line = getopt(&args, |o| ["-o", "-m", "--max-time"].contains(&o)).unwrap();
        let options: Vec<(&str, Option<&str>)> =
            line.options.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(
            options,
            [
                ("-f", None),
                ("-s", None),
                ("-S", None),
                ("-o", Some("/dev/null")),
                ("-m", Some("5")),
                ("--max-time", Some("2")),
            ]
        );
        assert_eq!(line.operands, ["url", "-x"]);
        assert!(getopt(&strings(&["-m"]), |o| o == "-m").is_err());
    }

    #[test]
    fn seconds_are_decimal_and_zero_is_no_limit() {
        assert_eq!(seconds("-m", "5").unwrap(), Some(Duration::from_secs(5)));
        assert_eq!(
            seconds("-m", "0.25").unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(seconds("-m", "0").unwrap(), None);
        assert!(seconds("-m", "-1").is_err());
        assert!(seconds("-m", "soon").is_err());
        assert!(seconds("-m", "inf").is_err());
    }

    #[test]
    fn only_curl_and_nc_are_applets() {
        let run = |argv0: &str| dispatch([OsString::from(argv0)].into_iter());
        assert!(run("/usr/local/bin/firelane").is_none());
        assert!(run("firelane").is_none());
        assert!(run("curly").is_none());
    }
}
