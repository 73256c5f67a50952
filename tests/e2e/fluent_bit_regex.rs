//! firelane's parsers against Fluent Bit's own results (tests/data/regex/README.md): every
//! parsers file under tests/data/regex/parsers/ (Fluent Bit's, aws-for-fluent-bit's, the FireLens
//! examples', and ours that pin Onigmo's semantics) is loaded through firelane's parsers-file
//! reader, each sample line is parsed, and the record and time are compared field by field with
//! what Fluent Bit 5.1.1's parser filter made of the same line (golden/*.jsonl). Lines a sample
//! file marks `# no match` must be left alone by both. The image's parsers.conf
//! (config/image/parsers/parsers.conf) is held to the goldens of Fluent Bit's conf/parsers.conf.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use firelane::event::EventTime;
use firelane::filter::parser::ParserSet;
use firelane::msgpack::json::{TranscodeStats, write_value};
use firelane::msgpack::reader::{MapEntries, Token, read_token};
use serde_json::Value;

/// The event time the goldens were recorded with (2026-12-07T00:00:00Z).
const EVENT_TIME: EventTime = EventTime::new(1_796_601_600, 0);

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/regex")
}

/// A sample line and whether its file says it must not match.
struct Sample {
    text: String,
    no_match: bool,
}

fn samples(parser: &str) -> Vec<Sample> {
    let path = data().join("lines").join(format!("{parser}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut no_match = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("# no match") {
            no_match = true;
        } else if !line.is_empty() && !line.starts_with('#') {
            let text: String =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            out.push(Sample { text, no_match });
        }
    }
    out
}

/// One golden row: what Fluent Bit emitted for line `line` of `parser`'s samples.
struct Row {
    parser: String,
    line: usize,
    date: String,
    record: Vec<(String, Value)>,
}

fn golden(file: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Row {
                parser: v["parser"].as_str().unwrap().to_owned(),
                line: v["line"].as_u64().unwrap() as usize,
                date: v["date"].as_str().unwrap().to_owned(),
                record: (v["record"].as_array().unwrap().iter())
                    .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].clone()))
                    .collect(),
            }
        })
        .collect()
}

/// Fluent Bit's `iso8601` date: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn iso8601(t: EventTime) -> String {
    let days = t.secs.div_euclid(86_400);
    let secs = t.secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        t.nanos / 1000
    )
}

/// The top-level entries of a msgpack map, values as JSON.
fn entries(map: &[u8]) -> Vec<(String, Value)> {
    let Ok((Token::Map(n), body)) = read_token(map, 0) else {
        panic!("not a map");
    };
    MapEntries::at(map, body, n)
        .map(|e| {
            let e = e.unwrap();
            let mut json = Vec::new();
            write_value(
                &map[e.value..e.end],
                &mut json,
                &mut TranscodeStats::default(),
            )
            .unwrap();
            let key = String::from_utf8(e.key.unwrap().to_vec()).unwrap();
            (key, serde_json::from_slice(&json).unwrap())
        })
        .collect()
}

fn sorted(mut pairs: Vec<(String, Value)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs.drain(..).map(|(k, v)| (k, v.to_string())).collect();
    out.sort();
    out
}

/// firelane's one documented difference in parsed records (docs/guide/filters.md, "Where we
/// differ from Fluent Bit"): a time
/// field whose text the parser's `Time_Format` does not read stays a field (Fluent Bit logs
/// "invalid time format ... for '<text>'" and drops the field, losing the text).
fn kept_unparsed_time(
    firelane: &[(String, Value)],
    fluent_bit: &[(String, Value)],
    log: &str,
) -> bool {
    let extra: Vec<&(String, Value)> = (firelane.iter())
        .filter(|pair| !fluent_bit.contains(pair))
        .collect();
    let [(_, Value::String(text))] = extra[..] else {
        return false;
    };
    firelane.len() == fluent_bit.len() + 1
        && log
            .lines()
            .any(|l| l.contains("invalid time format") && l.ends_with(&format!("for '{text}'")))
}

/// Compares `set`'s parsers with the rows of `golden_file`; returns one line per difference.
fn compare(set: &ParserSet, golden_file: &Path) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut cache: HashMap<String, Vec<Sample>> = HashMap::new();
    let rows = golden(golden_file);
    let log = std::fs::read_to_string(golden_file.with_extension("log")).unwrap_or_default();
    for row in &rows {
        let lines = cache
            .entry(row.parser.clone())
            .or_insert_with(|| samples(&row.parser));
        let sample = &lines[row.line - 1];
        let at = format!(
            "{}: {} line {} {:?}",
            golden_file.display(),
            row.parser,
            row.line,
            sample.text
        );
        let unchanged = vec![("log".to_owned(), Value::String(sample.text.clone()))];
        if sample.no_match && (sorted(row.record.clone()) != sorted(unchanged.clone())) {
            problems.push(format!("{at}: marked `no match` but Fluent Bit parsed it"));
        }
        let Some(parser) = set.get(&row.parser) else {
            problems.push(format!("{at}: no parser `{}` in firelane", row.parser));
            continue;
        };
        let mut out = Vec::new();
        let (record, time) = match parser.parse(sample.text.as_bytes(), EVENT_TIME, &mut out) {
            Some(parsed) => (entries(&out), parsed.time.unwrap_or(EVENT_TIME)),
            None => (unchanged, EVENT_TIME),
        };
        if sorted(record.clone()) != sorted(row.record.clone())
            && !kept_unparsed_time(&record, &row.record, &log)
        {
            problems.push(format!(
                "{at}:\n    fluent-bit: {:?}\n    firelane:   {:?}",
                row.record, record
            ));
        }
        if iso8601(time) != row.date {
            problems.push(format!(
                "{at}: time: fluent-bit {} firelane {}",
                row.date,
                iso8601(time)
            ));
        }
    }
    (rows.len(), problems)
}

/// The parsers file a golden file was recorded from.
fn parsers_file(golden_file: &Path) -> PathBuf {
    let name = golden_file.file_name().unwrap().to_str().unwrap();
    let rel = name.strip_suffix(".jsonl").unwrap().replace("__", "/");
    data().join("parsers").join(rel)
}

#[test]
fn every_pattern_parses_its_samples_as_fluent_bit_does() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data().join("golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "golden files: {files:?}");
    let mut problems = Vec::new();
    let mut rows = 0;
    for golden_file in &files {
        let mut set = ParserSet::with_builtins();
        let parsers = parsers_file(golden_file);
        if let Err(e) = set.load_file(&parsers) {
            problems.push(format!("{}: {e}", parsers.display()));
            continue;
        }
        let (n, p) = compare(&set, golden_file);
        rows += n;
        problems.extend(p);
    }
    assert!(rows >= 400, "only {rows} golden rows");
    assert!(
        problems.is_empty(),
        "{} differences from Fluent Bit:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_aws_metrics_line_parses_as_in_fluent_bit() {
    let mut set = ParserSet::with_builtins();
    set.load_file(&data().join("parsers/aws-for-fluent-bit/plugin-metrics-parser.conf"))
        .unwrap();
    let parser = set.get("fluentbit_prom_metrics_to_json").unwrap();
    let mut out = Vec::new();
    let line = br#"fluentbit_input_records_total{name="forward.0"} 123 1700000000000"#;
    parser
        .parse(line, EVENT_TIME, &mut out)
        .expect("the metrics parser matches");
    let fields: Vec<(String, String)> = (entries(&out).into_iter())
        .map(|(k, v)| (k, v.as_str().unwrap().to_owned()))
        .collect();
    let want = [
        ("metric", "fluentbit_input_records_total"),
        ("plugin", "forward.0"),
        ("value", "123"),
        ("time", "1700000000000"),
    ];
    assert_eq!(fields, want.map(|(k, v)| (k.to_owned(), v.to_owned())));
}

/// Fluent Bit's conf/parsers.conf goldens, held against `set` (every parser name of that file
/// must be in `set`).
fn standard_parsers_problems(set: &ParserSet) -> Vec<String> {
    let golden_file = data().join("golden/fluent-bit-5.1.1__parsers.conf.jsonl");
    let (rows, problems) = compare(set, &golden_file);
    assert!(rows >= 80, "only {rows} golden rows");
    problems
}

#[test]
fn the_built_in_parsers_parse_as_fluent_bit_s_parsers_conf() {
    let problems = standard_parsers_problems(&ParserSet::with_builtins());
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_nginx_built_in_reads_nginx_s_default_docker_line() {
    let set = ParserSet::with_builtins();
    let mut out = Vec::new();
    let line = br#"172.17.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0" "-""#;
    let parsed = (set.get("nginx").unwrap())
        .parse(line, EVENT_TIME, &mut out)
        .expect("nginx's default log line matches");
    assert_eq!(iso8601(parsed.time.unwrap()), "2026-12-07T10:00:00.000000Z");
    let fields: Vec<(String, String)> = (entries(&out).into_iter())
        .map(|(k, v)| (k, v.as_str().unwrap().to_owned()))
        .collect();
    let want = [
        ("remote", "172.17.0.1"),
        ("host", "-"),
        ("user", "-"),
        ("method", "GET"),
        ("path", "/"),
        ("code", "200"),
        ("size", "615"),
        ("referer", "-"),
        ("agent", "curl/8.5.0"),
    ];
    assert_eq!(fields, want.map(|(k, v)| (k.to_owned(), v.to_owned())));
}

#[test]
fn the_image_parsers_file_parses_as_fluent_bit_s_parsers_conf() {
    // Loaded through the parsers-file reader, as `Parsers_File /fluent-bit/parsers/parsers.conf`
    // loads it; the built-ins are replaced by its parsers.
    let mut set = ParserSet::with_builtins();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/image/parsers/parsers.conf");
    assert!(
        set.load_file(&path).unwrap().is_empty(),
        "no multiline parsers"
    );
    let problems = standard_parsers_problems(&set);
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn firelane_parses_the_aws_metrics_and_nginx_docker_lines_from_a_fluent_bit_config() {
    // As a process: a Fluent Bit config naming aws-for-fluent-bit's metrics parsers file (its
    // `{` is a literal to Onigmo: refused before) and the nginx built-in.
    let port = common::free_port();
    let parsers = data().join("parsers/aws-for-fluent-bit/plugin-metrics-parser.conf");
    let config = format!(
        "[SERVICE]\n    HTTP_Port {{http_port}}\n    Flush 0.2\n    Parsers_File {}\n\n\
         [INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port {port}\n\n\
         [FILTER]\n    Name parser\n    Match metrics\n    Key_Name log\n    Parser fluentbit_prom_metrics_to_json\n\n\
         [FILTER]\n    Name parser\n    Match nginx\n    Key_Name log\n    Parser nginx\n\n\
         [OUTPUT]\n    Name file\n    Match *\n    Path {{dir}}\n    File out.log\n    Format json_lines\n",
        parsers.display()
    );
    let fl = common::Firelane::start_file("fluent-bit.conf", &config, &[]);
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    for (tag, log) in [
        (
            "metrics",
            r#"fluentbit_input_records_total{name="forward.0"} 123 1700000000000"#,
        ),
        (
            "metrics",
            "# HELP fluentbit_input_records_total Number of input records.",
        ),
        (
            "nginx",
            r#"172.17.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0" "-""#,
        ),
    ] {
        sock.write_all(&common::message_frame(tag, 1_796_601_600, log, None))
            .unwrap();
    }
    let path = fl.path("out.log");
    fl.wait_for("3 records", Duration::from_secs(15), || {
        common::read_json_lines(&path).len() >= 3
    });
    let got = common::read_json_lines(&path);
    assert_eq!(got[0]["metric"], "fluentbit_input_records_total", "{got:?}");
    assert_eq!(got[0]["plugin"], "forward.0");
    assert_eq!(got[0]["value"], "123");
    assert_eq!(got[0]["time"], "1700000000000");
    assert_eq!(
        got[1]["log"],
        "# HELP fluentbit_input_records_total Number of input records."
    );
    assert_eq!(got[2]["remote"], "172.17.0.1", "{got:?}");
    assert_eq!(got[2]["agent"], "curl/8.5.0");
    assert_eq!(got[2]["code"], "200");
}

#[test]
fn validate_says_which_engine_each_regex_got() {
    let dir = tempfile::tempdir().unwrap();
    let parsers = data().join("parsers/aws-for-fluent-bit/k8s-metadata-parsers.conf");
    let config = dir.path().join("fluent-bit.conf");
    std::fs::write(
        &config,
        format!(
            "[SERVICE]\n    Parsers_File {}\n\n\
             [INPUT]\n    Name forward\n    Port 24224\n\n\
             [FILTER]\n    Name parser\n    Match app*\n    Key_Name log\n    Parser container_firstline\n\n\
             [FILTER]\n    Name grep\n    Match *\n    Exclude log ^/health\n\n\
             [OUTPUT]\n    Name null\n    Match *\n",
            parsers.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firelane"))
        .args(["validate", "-c"])
        .arg(&config)
        .env_remove("FIRELANE_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The file's three regex parsers and grep's pattern; two parsers need look-behind.
    assert!(
        stdout.contains("regexes: 2 on the regex engine, 2 on the backtracking engine"),
        "{stdout}"
    );
    let container_firstline = r#"(?<log>(?<="log":")\S(?!\.).*?)(?<!\\)".*"#;
    assert!(
        stdout.lines().any(
            |l| l.starts_with("  backtracking engine (for a look-behind): ")
                && l.contains(container_firstline)
        ),
        "{stdout}"
    );
}
