#!/usr/bin/env python3
"""Records what Fluent Bit's parser filter makes of the sample lines, as golden files.

For each parsers file under parsers/ it starts the given fluent-bit binary with that file, a
forward input, one parser filter per [PARSER] (Reserve_Data On, Key_Name log) and a stdout
output in json_lines; sends every line of lines/<parser>.txt as a record
{"corpus_parser": NAME, "corpus_line": N, "log": LINE} with the event time 2026-12-07T00:00:00Z;
and writes golden/<file>.jsonl: one row per line, sorted, with the record Fluent Bit emitted
(marker keys removed, keys in Fluent Bit's order) and its time.

Usage (see README.md): python3 fluent_bit_golden.py /path/to/fluent-bit [parsers/x.conf ...]
Needs the `msgpack` module. Fluent Bit's own warnings go to golden/<file>.log.
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
EVENT_TIME = 1796601600  # 2026-12-07T00:00:00Z: year-less time formats take this year
PORT = 24299


class Pairs(list):
    """A JSON object read as its (key, value) pairs."""


def objects(value):
    if isinstance(value, Pairs):
        return {k: objects(v) for k, v in value}
    if isinstance(value, list):
        return [objects(v) for v in value]
    return value


def parser_names(path):
    names, section = [], None
    for line in open(path, encoding="utf-8"):
        s = line.strip()
        if s.startswith("["):
            section = s.upper()
        elif section == "[PARSER]" and re.match(r"(?i)name\s", s):
            names.append(s.split(None, 1)[1].strip())
    return names


def sample_lines(name):
    path = os.path.join(HERE, "lines", name + ".txt")
    out = []
    for raw in open(path, encoding="utf-8"):
        raw = raw.rstrip("\n")
        if raw and not raw.startswith("#"):
            out.append(json.loads(raw))
    return out


def config(parsers_file, names):
    parts = [
        "[SERVICE]\n    Flush 0.2\n    Grace 1\n    Log_Level warn\n"
        f"    Parsers_File {parsers_file}\n",
        f"[INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port {PORT}\n",
    ]
    for i, name in enumerate(names):
        parts.append(
            f"[FILTER]\n    Name parser\n    Match p{i}\n    Key_Name log\n"
            f"    Parser {name}\n    Reserve_Data On\n"
        )
    parts.append(
        "[OUTPUT]\n    Name stdout\n    Match *\n    Format json_lines\n"
        "    Json_Date_Key corpus_time\n    Json_Date_Format iso8601\n"
    )
    return "\n".join(parts)


def run(binary, parsers_file):
    names = parser_names(parsers_file)
    if not names:
        print(f"{parsers_file}: no [PARSER], skipped")
        return
    sent = []
    with tempfile.TemporaryDirectory() as tmp:
        # Fluent Bit refuses a section header with leading spaces (conf/parser_custom.conf as
        # published): its patterns are recorded from a copy with the headers moved left.
        text = open(parsers_file, encoding="utf-8").read()
        copy = os.path.join(tmp, "parsers.conf")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(re.sub(r"^[ \t]+\[", "[", text, flags=re.M))
        conf = os.path.join(tmp, "fluent-bit.conf")
        with open(conf, "w") as f:
            f.write(config(copy, names))
        out = open(os.path.join(tmp, "out"), "w+")
        err = open(os.path.join(tmp, "err"), "w+")
        env = dict(os.environ, TZ="UTC")
        proc = subprocess.Popen([binary, "-c", conf], stdout=out, stderr=err, env=env)
        try:
            for _ in range(100):
                try:
                    sock = socket.create_connection(("127.0.0.1", PORT))
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                err.seek(0)
                raise RuntimeError(f"fluent-bit did not listen:\n{err.read()}")
            for i, name in enumerate(names):
                entries = []
                for n, line in enumerate(sample_lines(name), 1):
                    record = {"corpus_parser": name, "corpus_line": n, "log": line}
                    entries.append([EVENT_TIME, record])
                    sent.append((name, n))
                sock.sendall(msgpack.packb([f"p{i}", entries], use_bin_type=False))
            sock.close()
            deadline = time.time() + 20
            while time.time() < deadline:
                out.seek(0)
                if sum(1 for l in out if l.startswith("{")) >= len(sent):
                    break
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(10)
        out.seek(0)
        err.seek(0)
        rows = []
        for l in out:
            if not l.startswith("{"):
                continue
            # Top-level keys in order (a record may hold a key twice); nested maps as objects.
            pairs = json.loads(l, object_pairs_hook=Pairs)
            markers = ("corpus_parser", "corpus_line", "corpus_time")
            fields = dict((k, v) for k, v in pairs if k in markers)
            record = [[k, objects(v)] for k, v in pairs if k not in markers]
            rows.append({
                "parser": fields["corpus_parser"],
                "line": fields["corpus_line"],
                "date": fields["corpus_time"],
                "record": record,
            })
        log = err.read()
    if len(rows) != len(sent):
        raise RuntimeError(f"{parsers_file}: sent {len(sent)} records, got {len(rows)}\n{log}")
    rows.sort(key=lambda r: (r["parser"], r["line"]))
    rel = os.path.relpath(parsers_file, os.path.join(HERE, "parsers"))
    golden = os.path.join(HERE, "golden", rel.replace(os.sep, "__") + ".jsonl")
    with open(golden, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(golden[: -len(".jsonl")] + ".log", "w", encoding="utf-8") as f:
        f.write(re.sub(r"^\[[0-9/ :.]+\] ", "", log, flags=re.M))
    print(f"{golden}: {len(rows)} rows")


def main():
    binary = sys.argv[1]
    files = sys.argv[2:]
    if not files:
        for root, _, names in sorted(os.walk(os.path.join(HERE, "parsers"))):
            files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".conf")]
    for path in files:
        run(binary, os.path.abspath(path))


if __name__ == "__main__":
    main()
