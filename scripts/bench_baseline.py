#!/usr/bin/env python3
"""The criterion baseline kept in the repository (benches/baseline.json), so regressions show up.

criterion keeps its own saved runs under the target directory, which a clean checkout does not
have; this keeps one number per bench (throughput: MiB/s of input, or millions of elements/s) in a
small JSON file that is committed, and compares the latest criterion run with it.

    bench_baseline.py compare CRITERION_DIR BASELINE_JSON [--tolerance 0.20]
    bench_baseline.py save    CRITERION_DIR BASELINE_JSON --note "machine, date"

`compare` prints a table (bench, baseline, now, now/baseline) and marks each bench whose rate
fell below (1 - tolerance) of the baseline as REGRESSION; it exits 1 when any did, 0 otherwise.
A bench with no baseline entry, or a baseline entry with no result, is listed and does not fail.
The machines this runs on are shared and noisy, so the default tolerance is 20 %.
"""

import argparse
import json
import sys
from pathlib import Path


def read_results(criterion_dir: Path) -> dict:
    """{full_id: (value, unit)} from every `*/new/` result under criterion_dir."""
    results = {}
    for bench_file in sorted(criterion_dir.glob("**/new/benchmark.json")):
        estimates_file = bench_file.with_name("estimates.json")
        if not estimates_file.exists():
            continue
        bench = json.loads(bench_file.read_text())
        mean_ns = json.loads(estimates_file.read_text())["mean"]["point_estimate"]
        throughput = bench.get("throughput") or {}
        if "Bytes" in throughput:
            value, unit = throughput["Bytes"] / (mean_ns * 1e-9) / 2**20, "MiB/s"
        elif "Elements" in throughput:
            value, unit = throughput["Elements"] / (mean_ns * 1e-9) / 1e6, "Melem/s"
        else:
            value, unit = 1e9 / mean_ns, "iter/s"
        results[bench["full_id"]] = (value, unit)
    return results


def compare(results: dict, baseline: dict, tolerance: float) -> int:
    benches = baseline.get("benches", {})
    print(f"criterion against {baseline.get('note', 'the baseline')} (tolerance {tolerance:.0%})")
    print()
    print("| bench | baseline | now | now / baseline | |")
    print("|---|---|---|---|---|")
    regressions = 0
    for full_id in sorted(set(results) | set(benches)):
        now = results.get(full_id)
        base = benches.get(full_id)
        if now is None:
            print(f"| {full_id} | {base['value']:.4g} {base['unit']} | not run | | |")
            continue
        value, unit = now
        if base is None:
            print(f"| {full_id} | none | {value:.4g} {unit} | | new |")
            continue
        ratio = value / base["value"]
        mark = ""
        if ratio < 1 - tolerance:
            mark = "REGRESSION"
            regressions += 1
        print(f"| {full_id} | {base['value']:.4g} {base['unit']} | {value:.4g} {unit} | {ratio:.2f} | {mark} |")
    print()
    print(f"{regressions} regression(s)")
    return 1 if regressions else 0


def save(results: dict, path: Path, note: str) -> None:
    benches = {k: {"value": float(f"{v:.4g}"), "unit": u} for k, (v, u) in sorted(results.items())}
    path.write_text(json.dumps({"note": note, "benches": benches}, indent=1) + "\n")
    print(f"saved {len(benches)} benches to {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["compare", "save"])
    parser.add_argument("criterion_dir", type=Path)
    parser.add_argument("baseline", type=Path)
    parser.add_argument("--tolerance", type=float, default=0.20)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    results = read_results(args.criterion_dir)
    if not results:
        print(f"no criterion results under {args.criterion_dir}", file=sys.stderr)
        return 2
    if args.mode == "save":
        save(results, args.baseline, args.note)
        return 0
    baseline = json.loads(args.baseline.read_text()) if args.baseline.exists() else {}
    return compare(results, baseline, args.tolerance)


if __name__ == "__main__":
    sys.exit(main())
