"""Send records to firelane with the real Python fluent-logger (Message mode, EventTime).

usage: fluent_send.py HOST PORT TAG COUNT
Prints one JSON line per record sent (the oracle the Rust test compares against).
"""
import json
import sys

from fluent import sender


def main():
    host, port, tag, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    logger = sender.FluentSender(tag, host=host, port=port, nanosecond_precision=True, timeout=10)
    shapes = [
        lambda i: {"log": f"plain line {i}", "source": "stdout"},
        lambda i: {"i": i, "nested": {"a": [1, 2.5, None, True], "b": {"c": "d"}}},
        lambda i: {"unicode": "héllo wörld ✓ \u2028", "quote": 'say "hi"\n\ttab'},
        lambda i: {"big": 2**63 - 1, "neg": -(2**31), "f": 0.1},
    ]
    for i in range(count):
        record = shapes[i % len(shapes)](i)
        if not logger.emit(f"sub{i % 3}", record):
            print(f"emit failed: {logger.last_error}", file=sys.stderr)
            sys.exit(1)
        print(json.dumps({"tag": f"{tag}.sub{i % 3}", "record": record}))
    logger.close()


if __name__ == "__main__":
    main()
