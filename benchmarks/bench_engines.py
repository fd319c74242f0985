"""The same generated landing data through both engines: wall time and peak RSS (process tree, so
Spark's JVM and Python workers count) of `stedi run --engine duckdb` and `--engine spark`.

    .venv/bin/python benchmarks/bench_engines.py [--scale 1] [--repeat 3]
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

import psutil

ROOT = Path(__file__).resolve().parent.parent


def run_tree(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command and all its descendants, sampled every 20 ms."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parent = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    stedi = str(Path(sys.executable).parent / "stedi")
    env = {**os.environ, "STEDI_SUBJECT_KEY": "benchmark"}
    tmp = Path(tempfile.mkdtemp(prefix="stedi-engines-"))
    landing = tmp / "landing"
    subprocess.run([stedi, "generate", str(landing), "--scale", str(args.scale)], check=True, env=env)
    lines = sum(1 for f in landing.rglob("*.json") for _ in f.open("rb"))
    results = {}
    for engine in ("duckdb", "spark"):
        runs = [
            run_tree(
                [stedi, "run", "--engine", engine, "--landing", str(landing), "--warehouse", str(tmp / f"{engine}{i}")],
                env,
            )
            for i in range(args.repeat)
        ]
        results[engine] = {"median_s": statistics.median(w for w, _ in runs), "peak_rss_mib": max(r for _, r in runs)}
    ratio = results["spark"]["median_s"] / results["duckdb"]["median_s"]
    print(f"scale {args.scale}: {lines:,} landing lines   repeats: {args.repeat}   cpus: {os.cpu_count()}")
    print(f"{'engine':<8} {'median s':>9} {'peak RSS MiB':>13} {'lines/s':>10}")
    for engine, r in results.items():
        print(f"{engine:<8} {r['median_s']:>9.2f} {r['peak_rss_mib']:>13.0f} {lines / r['median_s']:>10,.0f}")
    print(f"spark / duckdb wall time: {ratio:.1f}x")
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / f"engines-scale{args.scale:g}.json").write_text(
        json.dumps({**results, "lines": lines, "ratio": ratio}, indent=2)
    )


if __name__ == "__main__":
    main()
