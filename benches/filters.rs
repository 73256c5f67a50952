//! Filter throughput: each filter alone, and the FireLens-typical chain (parser json +
//! record_modifier + grep), run through `FilterChain::run` on batches of Docker-shaped records
//! (`container_id`, `container_name`, `source`, `log`), as an input's task runs them. Records/s.
//!
//! Stages are built the way firelane builds them: a TOML config through `config::load_str`, then
//! `app::filters::build_chain`. Every bench first checks, once, that its filter did what the
//! case claims (records kept, rewritten or re-tagged), so a config typo cannot bench a no-op.
//!
//! Run: `cargo bench --bench filters` (about a minute).
// Bench setup is test code: a failure should stop the run loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use firelane::app::filters::build_chain;
use firelane::event::ack::AckToken;
use firelane::event::{Event, EventTime};
use firelane::filter::chain::FilterChain;

/// Events per `FilterChain::run`, about what one read of a busy connection decodes.
const BATCH: usize = 256;
const TAG: &str = "app-firelens-0123456789abcdef";

/// A plain application line (~100 bytes).
fn text_line(i: usize) -> String {
    format!(
        "{i:06} 2024-05-01T12:00:00.000Z INFO request handled method=GET path=/api/v1/items status=200 ms=12"
    )
}

/// A JSON application line (~120 bytes), what `parser json` expands.
fn json_line(i: usize) -> String {
    format!(
        r#"{{"level":"info","ts":"2024-05-01T12:00:00.000Z","msg":"request handled","path":"/api/v1/items/{i:06}","status":200,"ms":12}}"#
    )
}

/// An Apache combined access-log line, what the `apache2` built-in parses.
fn access_line(i: usize) -> String {
    format!(
        r#"10.0.{}.{} - - [10/Oct/2000:13:55:36 -0700] "GET /api/v1/items/{i:06} HTTP/1.1" 200 2326 "-" "Mozilla/5.0 (X11; Linux x86_64)""#,
        i / 256 % 256,
        i % 256
    )
}

/// `BATCH` Docker fluentd-driver records sliced from one buffer, as a decoded frame's are.
fn events(log: fn(usize) -> String) -> Vec<Event> {
    let tag: Arc<str> = TAG.into();
    let mut buf = Vec::new();
    let mut spans = Vec::with_capacity(BATCH);
    for i in 0..BATCH {
        let start = buf.len();
        let line = log(i);
        rmp::encode::write_map_len(&mut buf, 4).unwrap();
        for (k, v) in [
            (
                "container_id",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
            ("container_name", "/ecs-app-web-1-app-9a8b7c6d5e4f"),
            ("source", "stdout"),
            ("log", &line),
        ] {
            rmp::encode::write_str(&mut buf, k).unwrap();
            rmp::encode::write_str(&mut buf, v).unwrap();
        }
        spans.push(start..buf.len());
    }
    let buf = Bytes::from(buf);
    spans
        .into_iter()
        .enumerate()
        .map(|(i, span)| Event {
            tag: tag.clone(),
            time: EventTime::new(1_714_564_800 + i as i64, 0),
            record: buf.slice(span),
        })
        .collect()
}

/// The chain of `filters` (TOML `[[filters]]` tables), built as firelane builds it.
fn chain(filters: &str) -> FilterChain {
    let text = format!(
        "[[inputs]]\nname = \"forward\"\n\n[[outputs]]\nname = \"null\"\nmatch = \"*\"\n\n{filters}"
    );
    let cfg = firelane::config::load_str(&text, "bench").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(build_chain(&cfg, &firelane::ecs::TaskAtStart::NotOnEcs))
        .unwrap()
}

/// What a case's filter must do to every record of the batch.
#[derive(Clone, Copy)]
enum Expect {
    /// Kept as it was (the pass-through path).
    Unchanged,
    /// Kept, record rewritten.
    Rewritten,
    /// Kept, re-emitted under another tag.
    Retagged,
}

struct Case {
    name: &'static str,
    filters: &'static str,
    log: fn(usize) -> String,
    expect: Expect,
}

const FIRELENS_CHAIN: &str = r#"
[[filters]]
name = "parser"
match = "*"
key_name = "log"
parser = "json"
reserve_data = true

[[filters]]
name = "record_modifier"
match = "*"
record = ["ecs_cluster prod", "ecs_task_arn arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef", "region us-east-1"]

[[filters]]
name = "grep"
match = "*"
exclude = "path ^/health"
"#;

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "grep_exclude",
            filters: "[[filters]]\nname = \"grep\"\nmatch = \"*\"\nexclude = \"log healthcheck\"\n",
            log: text_line,
            expect: Expect::Unchanged,
        },
        Case {
            name: "modify_rename_add",
            filters: "[[filters]]\nname = \"modify\"\nmatch = \"*\"\nrules = [\"Rename source stream\", \"Add cluster prod\"]\n",
            log: text_line,
            expect: Expect::Rewritten,
        },
        Case {
            name: "record_modifier_3_keys",
            filters: "[[filters]]\nname = \"record_modifier\"\nmatch = \"*\"\n\
                      record = [\"ecs_cluster prod\", \"ecs_task_arn arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef\", \"region us-east-1\"]\n",
            log: text_line,
            expect: Expect::Rewritten,
        },
        Case {
            name: "nest_container_keys",
            filters: "[[filters]]\nname = \"nest\"\nmatch = \"*\"\noperation = \"nest\"\n\
                      wildcard = \"container_*\"\nnest_under = \"docker\"\n",
            log: text_line,
            expect: Expect::Rewritten,
        },
        Case {
            name: "parser_json_reserve_data",
            filters: "[[filters]]\nname = \"parser\"\nmatch = \"*\"\nkey_name = \"log\"\n\
                      parser = \"json\"\nreserve_data = true\n",
            log: json_line,
            expect: Expect::Rewritten,
        },
        Case {
            name: "parser_regex_apache2",
            filters: "[[filters]]\nname = \"parser\"\nmatch = \"*\"\nkey_name = \"log\"\n\
                      parser = \"apache2\"\nreserve_data = true\n",
            log: access_line,
            expect: Expect::Rewritten,
        },
        Case {
            name: "rewrite_tag_no_match",
            filters: "[[filters]]\nname = \"rewrite_tag\"\nmatch = \"*\"\n\
                      rule = '$log ^(ERROR|FATAL) alerts.$TAG false'\n",
            log: text_line,
            expect: Expect::Unchanged,
        },
        Case {
            name: "rewrite_tag_match",
            filters: "[[filters]]\nname = \"rewrite_tag\"\nmatch = \"*\"\n\
                      rule = '$log \\sINFO\\s info.$TAG false'\n",
            log: text_line,
            expect: Expect::Retagged,
        },
        Case {
            name: "throttle_admits_all",
            filters: "[[filters]]\nname = \"throttle\"\nmatch = \"*\"\nrate = 1000000000\n\
                      window = 5\ninterval = \"1s\"\n",
            log: text_line,
            expect: Expect::Unchanged,
        },
        Case {
            name: "multiline_partial_pass_through",
            filters: "[[filters]]\nname = \"multiline\"\nmatch = \"*\"\nmode = \"partial_message\"\n",
            log: text_line,
            expect: Expect::Unchanged,
        },
        Case {
            name: "firelens_chain_parser_record_modifier_grep",
            filters: FIRELENS_CHAIN,
            log: json_line,
            expect: Expect::Rewritten,
        },
    ]
}

/// Panics unless one run of `chain` over `input` did what `expect` says to every record.
fn check(name: &str, chain: &FilterChain, input: &[Event], expect: Expect) {
    let out = chain.run(input.to_vec(), &AckToken::none()).events;
    assert_eq!(out.len(), input.len(), "{name}: records lost or added");
    for (before, after) in input.iter().zip(&out) {
        let ok = match expect {
            Expect::Unchanged => after == before,
            Expect::Rewritten => after.tag == before.tag && after.record != before.record,
            Expect::Retagged => after.tag != before.tag && after.record == before.record,
        };
        assert!(ok, "{name}: a record was not handled as the case expects");
    }
}

fn filters(c: &mut Criterion) {
    let mut group = c.benchmark_group("filters");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let ack = AckToken::none();
    for case in cases() {
        let input = events(case.log);
        let chain = chain(case.filters);
        check(case.name, &chain, &input, case.expect);
        group.bench_function(case.name, |b| {
            b.iter_batched(
                || input.to_vec(),
                |batch| chain.run(batch, &ack),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, filters);
criterion_main!(benches);
