#!/usr/bin/env bash
# The whole test suite, from a fresh clone: sets up what it needs, then runs formatting, lints and
# every test. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Python test clients (fluent-logger) in a local venv with pinned versions.
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
export FIRELANE_PYTHON="$PWD/.venv/bin/python"

# Node test clients (fluent-logger for Node: the Forward handshake) pinned by tests/node/package-lock.json.
# npm writes node_modules/.package-lock.json on install: reinstall when it is missing or older than the lock.
if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
    else
        echo "scripts/test.sh: Node.js 18+ with npm is needed (tests/node); install nodejs and npm" >&2
        exit 1
    fi
fi
# A static busybox for the image's root filesystem (scripts/image-rootfs.sh, tests/e2e/image_rootfs.rs),
# as the Dockerfile's build stage installs it.
if ! /bin/busybox --list >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static
    else
        echo "scripts/test.sh: a static busybox is needed at /bin/busybox (install busybox-static)" >&2
        exit 1
    fi
fi
if [ ! -f tests/node/node_modules/.package-lock.json ] \
    || [ tests/node/package-lock.json -nt tests/node/node_modules/.package-lock.json ]; then
    npm ci --prefix tests/node --no-audit --no-fund
fi
export FIRELANE_NODE="${FIRELANE_NODE:-node}"

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
# The memory-limit tests (tests/e2e/memory_cgroup.rs) measure the binary users run: the release build
# (the debug binary alone keeps ~30 MiB of its own pages resident in a 64 MiB cgroup).
cargo build --locked --release --bin firelane
export FIRELANE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/firelane"
if command -v cargo-nextest >/dev/null 2>&1; then
    cargo nextest run --locked --no-fail-fast
    cargo test --locked --doc
else
    cargo test --locked --no-fail-fast
fi
# Benches are type-checked by `clippy --all-targets` above; scripts/bench.sh builds and runs them.
