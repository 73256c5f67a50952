//! The throughput harness's lines after its table: the filter chain's share of the same records
//! without filters, over several alternated runs, and start-up and idle memory.

use std::path::Path;
use std::time::Duration;

use super::streams::{Input, Streams};
use super::{
    CHAIN_TARGET_OF_JSON_NULL, FIRELENS_FILTERS, IDLE_RSS_TARGET_MIB, NULL_OUTPUT,
    STARTUP_TARGET_MS, Sink, env_usize, firelane_proc, firelane_run, pass,
};

/// Scenario 4 as a share of 4a: one run of each says little on a shared machine (4a alone moves
/// by a fifth between runs of the same binary), so CHAIN_ROUNDS (default 3) pairs of runs,
/// alternated, the table's first, are compared and the median share decides. Also printed: the
/// filter threads' CPU per record in scenario 4 (the chain's own cost, steadier than a rate).
/// `first` is (4a's rate, 4's rate, 4's filter CPU seconds per record).
pub fn chain_share(bin: &Path, streams: &mut Streams, first: (f64, f64, f64)) {
    let rounds = env_usize("CHAIN_ROUNDS", 3).max(1);
    let stream = streams.get(Input::MessageJson);
    let records = stream.records as f64;
    let run = |filters| firelane_run(bin, &stream, filters, Sink::Null);
    let mut pairs = vec![first];
    while pairs.len() < rounds {
        let without = run("");
        let chain = run(FIRELENS_FILTERS);
        pairs.push((
            records / without.elapsed.as_secs_f64(),
            records / chain.elapsed.as_secs_f64(),
            chain.filter_cpu_s / records,
        ));
    }
    let listed = pairs
        .iter()
        .map(|(without, chain, _)| {
            format!(
                "{:.2} / {:.2} M = {:.1} %",
                chain / 1e6,
                without / 1e6,
                100.0 * chain / without
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let share = median(
        pairs
            .iter()
            .map(|(without, chain, _)| chain / without)
            .collect(),
    );
    let filter_us = median(pairs.iter().map(|p| p.2 * 1e6).collect());
    println!();
    println!(
        "Filter chain (scenario 4 / 4a, the same records without filters, {rounds} alternated pairs of runs: {listed}): median {:.1} % (the filters issue's target: >= {:.0} %): {}",
        100.0 * share,
        100.0 * CHAIN_TARGET_OF_JSON_NULL,
        pass(share >= CHAIN_TARGET_OF_JSON_NULL)
    );
    println!(
        "Filter threads' CPU in scenario 4: median {filter_us:.3} us per record (each run: {})",
        pairs
            .iter()
            .map(|p| format!("{:.3}", p.2 * 1e6))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Prints start-up to listening (median of STARTS) and idle RSS (VmRSS 1 s after the forward port
/// accepted, no other connection), against their targets.
pub fn start_and_idle(bin: &Path) {
    let starts = env_usize("STARTS", 5).max(1);
    let dir = tempfile::tempdir().unwrap();
    let mut samples_ms: Vec<f64> = (0..starts)
        .map(|_| {
            firelane_proc::startup_to_listening(bin, dir.path(), NULL_OUTPUT).as_secs_f64() * 1e3
        })
        .collect();
    let listed = samples_ms
        .iter()
        .map(|ms| format!("{ms:.1}"))
        .collect::<Vec<_>>()
        .join(", ");
    samples_ms.sort_by(f64::total_cmp);
    let median_ms = samples_ms[samples_ms.len() / 2];

    // Not `start`: its metrics polling would be traffic.
    let p = firelane_proc::spawn_listening(bin, dir.path(), NULL_OUTPUT);
    std::thread::sleep(Duration::from_secs(1));
    let idle_mib = firelane_proc::vm_mib(p.child.id(), "VmRSS");
    // VmRSS = heap and stacks (RssAnon) + mapped pages of the binary and libraries (RssFile).
    let anon_mib = firelane_proc::vm_mib(p.child.id(), "RssAnon");
    let file_mib = firelane_proc::vm_mib(p.child.id(), "RssFile");
    drop(p);

    println!();
    println!("| measure | value | target | PASS/MISS |");
    println!("|---|---|---|---|");
    println!(
        "| start-up to listening (median of {starts}: {listed} ms) | {median_ms:.1} ms | < {STARTUP_TARGET_MS:.0} ms | {} |",
        pass(median_ms < STARTUP_TARGET_MS)
    );
    println!(
        "| idle RSS (forward -> null, 1 s after start, no traffic; RssAnon {anon_mib:.1} + RssFile {file_mib:.1} MiB) | {idle_mib:.1} MiB | < {IDLE_RSS_TARGET_MIB:.0} MiB | {} |",
        pass(idle_mib < IDLE_RSS_TARGET_MIB)
    );
}
