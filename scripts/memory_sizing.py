#!/usr/bin/env python3
"""RSS of firelane against its memory account: idle, under load, output down then back.

The measurements behind the constants of src/memory/sizing.rs (see its module doc and
docs/guide/delivery.md, Memory). Needs msgpack (the test venv has it). Run from the repository root:

  python scripts/memory_sizing.py idle
  python scripts/memory_sizing.py NAME MEM_BUF_LIMIT CONNECTIONS FRAMES null|forward|cloudwatch DOWN_SECONDS
    e.g. `down1 32MiB 1 300 cloudwatch 8`: one connection sends 300 frames of 1000 records while
    the cloudwatch_logs endpoint refuses connections for 8 s, then a local endpoint answers `{}`.

Env: FIRELANE_BIN (default target/release/firelane), MEMORY_LIMIT (service.memory_limit, default
none), CGROUP (a cgroup v1 memory directory to run firelane in; reports its peak usage and
OOM kills).
"""
import json, os, socket, subprocess, sys, tempfile, threading, time
import msgpack

BIN = os.environ.get("FIRELANE_BIN", "target/release/firelane")

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def status(pid, key):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith(key + ":"):
            return int(l.split()[1]) * 1024
    return 0

def metrics(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            c = s.recv(65536)
            if not c: break
            data += c
        s.close()
        return data.decode().split("\r\n\r\n", 1)[1]
    except OSError:
        return None

def metric(body, name):
    tot = 0.0
    for l in body.splitlines():
        if l.startswith(name) and l[len(name)] in " {":
            tot += float(l.rsplit(" ", 1)[1])
    return tot

def start(cfg_text, fmt="toml"):
    d = tempfile.mkdtemp()
    path = os.path.join(d, "firelane." + fmt)
    open(path, "w").write(cfg_text)
    log = open(os.path.join(d, "log"), "w")
    cg = os.environ.get("CGROUP")
    argv = [BIN, "run", "-c", path]
    if cg:
        argv = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg] + argv
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
    return p, d

def wait_up(p, port):
    t = time.time()
    while time.time() - t < 20:
        if metrics(port) is not None: return
        time.sleep(0.05)
    raise SystemExit("not up")

def record(i):
    return {"container_id": "0f2d3c4b5a69478e9d0c1b2a3f4e5d6c0f2d3c4b5a69478e9d0c1b2a3f4e5d6c",
            "container_name": "/ecs-app-1-web-abcdef", "source": "stdout",
            "log": f"{i:012d} " + "x" * 190}

def packed_frame(n=1000, tag="app"):
    entries = b"".join(msgpack.packb([int(time.time()), record(i)]) for i in range(n))
    return msgpack.packb([tag, entries])

def sender(port, frame, count, stop):
    s = socket.create_connection(("127.0.0.1", port))
    for _ in range(count):
        if stop.is_set(): break
        s.sendall(frame)
    s.close()

class Sampler(threading.Thread):
    def __init__(s, pid, port):
        super().__init__(daemon=True); s.pid, s.port = pid, port
        s.peak_acct = 0; s.done = False; s.rss_at_peak_acct = 0
    def run(s):
        while not s.done:
            b = metrics(s.port)
            if b:
                a = metric(b, "firelane_memory_account_bytes")
                if a >= s.peak_acct:
                    s.peak_acct = a; s.rss_at_peak_acct = status(s.pid, "VmRSS")
            time.sleep(0.02)

def sink(port, stop):
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port)); ls.listen(64); ls.settimeout(0.2)
    def drain(c):
        while True:
            try:
                if not c.recv(1 << 20): break
            except OSError: break
    while not stop.is_set():
        try: c, _ = ls.accept()
        except socket.timeout: continue
        threading.Thread(target=drain, args=(c,), daemon=True).start()
    ls.close()

MiB = 1 << 20
ML = os.environ.get("MEMORY_LIMIT", "none")
os.environ.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret", AWS_EC2_METADATA_DISABLED="true")

def cw_sink(port, stop):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_POST(self):
            n = int(self.headers.get("Content-Length", 0)); self.rfile.read(n)
            self.send_response(200); self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
        def log_message(self, *a): pass
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer(("127.0.0.1", port), H); srv.timeout = 0.2
    while not stop.is_set(): srv.handle_request()

def idle(name, text, port, fmt="toml"):
    p, d = start(text, fmt); wait_up(p, port); time.sleep(1.0)
    rss = status(p.pid, "VmRSS"); anon = status(p.pid, "RssAnon"); f = status(p.pid, "RssFile")
    p.terminate(); p.wait()
    print(f"idle {name}: VmRSS {rss/MiB:.1f} MiB (RssAnon {anon/MiB:.1f}, RssFile {f/MiB:.1f})", flush=True)

def load(name, mem_buf, conns, frames_per_conn, output, down_s=0.0):
    http, fwd, out_port = free_port(), free_port(), free_port()
    if output == "null":
        out = '[[outputs]]\nname = "null"\nmatch = "*"\n'
    elif output == "cloudwatch":
        out = (f'[[outputs]]\nname = "cloudwatch_logs"\nmatch = "*"\nregion = "us-east-1"\nendpoint = "http://127.0.0.1:{out_port}"\n'
               'log_group_name = "g"\nlog_stream_prefix = "app/"\nretry_limit = "no_limits"\n')
    else:
        out = f'[[outputs]]\nname = "forward"\nmatch = "*"\nhost = "127.0.0.1"\nport = {out_port}\nconnect_timeout = "1s"\n'
    text = (f'[service]\nhttp_port = {http}\nmemory_limit = "{ML}"\n\n[[inputs]]\nname = "forward"\nlisten = "127.0.0.1"\n'
            f'port = {fwd}\nmem_buf_limit = "{mem_buf}"\n\n{out}')
    p, d = start(text); wait_up(p, http)
    idle_rss = status(p.pid, "VmRSS")
    frame = packed_frame()
    stop = threading.Event(); sstop = threading.Event()
    smp = Sampler(p.pid, http); smp.start()
    target = cw_sink if output == "cloudwatch" else sink
    if output != "null" and down_s == 0:
        threading.Thread(target=target, args=(out_port, sstop), daemon=True).start()
    th = [threading.Thread(target=sender, args=(fwd, frame, frames_per_conn, stop)) for _ in range(conns)]
    for t in th: t.start()
    want = conns * frames_per_conn * 1000
    if down_s:
        time.sleep(down_s)
        full_rss = status(p.pid, "VmRSS"); full_acct = metric(metrics(http), "firelane_memory_account_bytes")
        hwm_down = status(p.pid, "VmHWM")
        threading.Thread(target=target, args=(out_port, sstop), daemon=True).start()
    done_metric = "firelane_output_records_total"
    t0 = time.time()
    while time.time() - t0 < 300:
        b = metrics(http)
        if b and metric(b, done_metric) >= want: break
        time.sleep(0.1)
    for t in th: t.join()
    smp.done = True; smp.join()
    hwm = status(p.pid, "VmHWM")
    delivered = metric(metrics(http), done_metric)
    acct_limit = metric(metrics(http), "firelane_memory_account_limit_bytes")
    p.terminate(); p.wait(); sstop.set()
    extra = f" | account limit {acct_limit/MiB:.1f} MiB"
    cg = os.environ.get("CGROUP")
    if cg:
        oom = [l for l in open(cg + "/memory.oom_control") if l.startswith("oom_kill ")]
        extra += f" | cgroup max usage {int(open(cg + '/memory.max_usage_in_bytes').read())/MiB:.1f} MiB, {oom[0].strip() if oom else ''}"
    if down_s:
        extra += f" | down {down_s}s: account {full_acct/MiB:.1f} MiB, RSS {full_rss/MiB:.1f}, peak so far {hwm_down/MiB:.1f}"
    print(f"load {name}: mem_buf {mem_buf} conns {conns} -> {output}: idle {idle_rss/MiB:.1f} MiB, "
          f"peak account {smp.peak_acct/MiB:.1f} MiB (RSS then {smp.rss_at_peak_acct/MiB:.1f}), peak RSS {hwm/MiB:.1f} MiB, "
          f"delivered {int(delivered)}/{want}{extra}", flush=True)

if __name__ == "__main__":
    what = sys.argv[1]
    if what == "idle":
        idle("default (embedded, forward 127.0.0.1:24224 -> stdout)", open("config/default.toml").read()
             + "\n", 2020)
        http, fwd, hc = free_port(), free_port(), free_port()
        fl = open(os.path.join(os.path.dirname(__file__), "memory_sizing_firelens.conf")).read().format(http=http, fwd=fwd, hc=hc)
        idle("FireLens generated config", fl, http, "conf")
    else:
        mem_buf, conns, frames, output, down = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6])
        load(what, mem_buf, conns, frames, output, down)
