#!/usr/bin/env bash
# Fuzzes the Forward decoder, the Fluent Bit config readers and the JSON transcoder with
# cargo-fuzz (libFuzzer, nightly toolchain), each for a bounded time. Not part of CI (too long);
# the suite keeps proptests that arbitrary bytes never panic.
# Usage: scripts/fuzz.sh [TARGET...]    env: FUZZ_SECS (per target, default 60)
# New inputs collect in fuzz/corpus/<target> (seeded from fuzz/seeds/<target>); a crash is saved
# in fuzz/artifacts/<target>/ and stops the run: fix it and keep the input as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
secs="${FUZZ_SECS:-60}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(forward_frame fluent_bit_config json_to_msgpack)
fi
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    echo "== $t (${secs}s)"
    cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048
done
