#!/bin/bash
# Instructions per record of the FireLens filter chain (parser json + record_modifier + grep ->
# null), counted by valgrind's cachegrind: a figure the machine's noise does not move, for
# comparing two builds where wall-clock rates cannot (docs/perf/README.md; the figures in
# docs/perf/notebook.md, 2026-12-07).
#
#   scripts/instructions_per_record.sh BINARY [RECORDS] [MEMORY_LIMIT]
#
# Sends RECORDS (default 100000) Message-mode frames with a JSON `log` over one connection, waits
# until all are output, stops firelane, and subtracts a run with no records. Needs valgrind and a
# Python with msgpack (FIRELANE_PYTHON, default .venv/bin/python). MEMORY_LIMIT (default 48MiB;
# empty: no such line, for builds from before it existed).
set -euo pipefail
BIN=$(realpath "$1"); N=${2:-100000}; ML=${3-48MiB}
PY=${FIRELANE_PYTHON:-.venv/bin/python}
DIR=$(mktemp -d); trap 'rm -rf "$DIR"' EXIT
HTTP=13999; PORT=13998
"$PY" - "$N" "$DIR/frames.bin" <<'PYEOF'
import json, sys, msgpack
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "wb") as out:
    for i in range(n):
        log = json.dumps({"time": "2026-12-07T10:00:00Z", "level": "info", "method": "GET",
                          "path": f"/api/items/{i}", "status": 200, "latency_ms": 12.5,
                          "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "request_id": f"{i:032x}"})
        rec = {"container_id": "0f2d3c4b5a69478e9d0c1b2a3f4e5d6c0f2d3c4b5a69478e9d0c1b2a3f4e5d6c",
               "container_name": "/ecs-app-1-web-abcdef", "source": "stdout", "log": log}
        out.write(msgpack.packb(["app", 1700000000, rec]))
PYEOF
# The same chain as FIRELENS_FILTERS in benches/throughput.rs (keep the two alike).
cat > "$DIR/fl.toml" <<CFG
[service]
http_port = $HTTP
log_level = "warn"
${ML:+memory_limit = \"$ML\"}

[[inputs]]
name = "forward"
listen = "127.0.0.1"
port = $PORT

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

[[outputs]]
name = "null"
match = "*"
CFG
# Runs firelane under cachegrind, sends $1 records, prints the instructions counted.
count() {
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$DIR/cg" "$BIN" run -c "$DIR/fl.toml" 2>"$DIR/vg.log" &
  local vp=$!
  for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$HTTP/metrics" && break; sleep 0.2; done
  if [ "$1" -gt 0 ]; then
    "$PY" -c "import socket; s=socket.create_connection(('127.0.0.1', $PORT)); s.sendall(open('$DIR/frames.bin','rb').read()); s.close()"
    for _ in $(seq 1 1200); do
      got=$(curl -sf "http://127.0.0.1:$HTTP/metrics" | awk '/^firelane_output_records_total/{s+=$2} END{print s+0}')
      [ "$got" -ge "$1" ] && break; sleep 0.5
    done
  fi
  kill -TERM $vp; wait $vp || true
  awk '/I *refs:/{gsub(",", "", $NF); print $NF}' "$DIR/vg.log"
}
idle=$(count 0); busy=$(count "$N")
echo "instructions: $busy with $N records, $idle with none; per record: $(( (busy - idle) / N ))"
