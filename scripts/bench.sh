#!/usr/bin/env bash
# Benchmarks: criterion micro-benchmarks (decode, transcode, cloudwatch, s3, filters) and the end-to-end
# throughput harness (firelane forward -> null / cloudwatch_logs / s3 vs a raw read-and-discard socket,
# measured in the same run). Usage: scripts/bench.sh [throughput|criterion|all] (default all).
# RECORDS=N changes the burst; SCENARIOS=s3 runs only the harness scenarios whose name contains it.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
cargo build --locked --release --bin firelane
if [ "$what" = all ] || [ "$what" = criterion ]; then
    cargo bench --locked --bench decode --bench transcode --bench cloudwatch --bench s3 --bench filters
fi
if [ "$what" = all ] || [ "$what" = throughput ]; then
    cargo bench --locked --bench throughput
fi
