"""Benchmark the embedded pipeline on the starter data: `stedi run` end to end (cold process) and the
reader alone, against DuckDB's bare JSON read of the same files as the baseline.

    .venv/bin/python benchmarks/bench_starter.py [--landing DIR] [--repeat N]

Prints a table: median wall time and peak RSS per case, and the ratios to the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LANDING = Path(os.environ.get("STEDI_TEST_DATA", ROOT.parent / "shared" / "data")) / "stedi-starter"

READER = """
import sys
from stedi.contract.sources import SOURCES
from stedi.reading.reader import read_source
for source in SOURCES:
    read_source(sys.argv[1], source)
"""

BASELINE = """
import glob, sys, duckdb
con = duckdb.connect()
for source in ("customer", "accelerometer", "step_trainer"):
    files = sorted(glob.glob(f"{sys.argv[1]}/{source}/landing/**/*.json", recursive=True))
    con.execute("SELECT count(*) FROM read_json($f, format='newline_delimited')", {"f": files}).fetchall()
"""


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--landing", type=Path, default=DEFAULT_LANDING)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    stedi = str(Path(sys.executable).parent / "stedi")
    env = {**os.environ, "STEDI_SUBJECT_KEY": "benchmark"}
    landing = str(args.landing)
    tmp = Path(tempfile.mkdtemp(prefix="stedi-bench-"))
    rerun_wh = tmp / "rerun"
    subprocess.run(
        [stedi, "run", "--landing", landing, "--warehouse", str(rerun_wh)], env=env, check=True, capture_output=True
    )

    cases = {
        "baseline: duckdb read_json count (cold process)": lambda i: [sys.executable, "-c", BASELINE, landing],
        "reader alone (cold process)": lambda i: [sys.executable, "-c", READER, landing],
        "stedi run, new warehouse (cold process)": lambda i: [
            stedi,
            "run",
            "--landing",
            landing,
            "--warehouse",
            str(tmp / f"new{i}"),
        ],
        "stedi run, rerun on same warehouse": lambda i: [
            stedi,
            "run",
            "--landing",
            landing,
            "--warehouse",
            str(rerun_wh),
        ],
    }
    results = {}
    for name, cmd in cases.items():
        runs = [measure(cmd(i), env) for i in range(args.repeat)]
        results[name] = {
            "median_s": statistics.median(w for w, _ in runs),
            "min_s": min(w for w, _ in runs),
            "peak_rss_mib": max(r for _, r in runs),
        }
    base = results["baseline: duckdb read_json count (cold process)"]["median_s"]
    print(f"landing: {landing}   repeats: {args.repeat}   cpus: {os.cpu_count()}")
    print(f"{'case':<50} {'median s':>9} {'min s':>7} {'peak RSS MiB':>13} {'x baseline':>11}")
    for name, r in results.items():
        print(
            f"{name:<50} {r['median_s']:>9.2f} {r['min_s']:>7.2f} {r['peak_rss_mib']:>13.0f} {r['median_s'] / base:>11.1f}"
        )
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / "starter.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
