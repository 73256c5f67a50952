#!/usr/bin/env bash
# Benchmarks: criterion micro-benchmarks (decode, transcode, cloudwatch, s3, filters) and the end-to-end
# throughput harness (benches/throughput.rs). Usage: scripts/bench.sh [throughput|criterion|all]
# (default all), or save-baseline.
#
# `scripts/bench.sh criterion` runs the criterion benches, then compares each with the committed
# baseline (benches/baseline.json) and marks a rate more than 20 % below it as REGRESSION (exit 1).
# `scripts/bench.sh save-baseline` runs them and writes their rates as the new baseline (commit it
# with a note of the machine: rates are only comparable on the same machine).
#
# `scripts/bench.sh throughput` prints the performance issue's table: start-up to listening, idle RSS,
# then seven scenarios (Message / PackedForward / CompressedPackedForward -> null, the FireLens filter
# chain (and its records without filters, row 4a), cloudwatch_logs and s3 against local endpoints, 100
# concurrent connections), each against a raw read-and-discard socket measured in the same run, with
# the targets and PASS/MISS. Env knobs:
#   RECORDS=N          records per scenario (default 2000000)
#   SCENARIOS=word     only the scenarios whose name contains it (case-insensitive), e.g. s3, gzip
#   CONNECTIONS=N      connections of the concurrent scenario (default 100)
#   STARTS=N           start-up samples, the median is printed (default 5)
#   CHAIN_ROUNDS=N     alternated pairs of 4a and 4 runs whose median share of 4 in 4a is checked (default 3)
#   INPUT_OPTIONS=...  extra TOML lines for the forward input, e.g. 'mem_buf_limit = "8MiB"'
#   FIRELANE_BIN=path  the binary to measure (default $CARGO_TARGET_DIR/release/firelane)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
target_dir=${CARGO_TARGET_DIR:-target}
criterion() {
    rm -rf "$target_dir/criterion"
    cargo bench --locked --bench decode --bench transcode --bench cloudwatch --bench s3 --bench filters
}
if [ "$what" = save-baseline ]; then
    criterion
    python3 scripts/bench_baseline.py save "$target_dir/criterion" benches/baseline.json \
        --note "$(date -u +%Y-%m-%d), $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    exit 0
fi
cargo build --locked --release --bin firelane
regressed=0
if [ "$what" = all ] || [ "$what" = criterion ]; then
    criterion
    python3 scripts/bench_baseline.py compare "$target_dir/criterion" benches/baseline.json || regressed=1
fi
if [ "$what" = all ] || [ "$what" = throughput ]; then
    cargo bench --locked --bench throughput
fi
exit $regressed
