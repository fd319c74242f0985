"""The same generated landing data through both engines: wall time and peak RSS (process tree, so
Spark's JVM and Python workers count) of `stedi run --engine duckdb`, `--engine spark` in local mode,
and with `--standalone` on a Spark standalone cluster of two workers (one core each) started here,
the package shipped to the executors (their memory counts too). Cold processes, interleaved.

    .venv/bin/python benchmarks/bench_engines.py [--scales 1,10] [--repeat 3] [--standalone]
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
from contextlib import ExitStack
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def run_tree(cmd: list[str], env: dict[str, str], also: tuple[int, ...] = ()) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command and all its descendants (and of the processes
    `also` and theirs: a cluster's), sampled every 20 ms."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    roots = [psutil.Process(proc.pid), *(psutil.Process(pid) for pid in also)]
    peak = 0
    while proc.poll() is None:
        try:
            procs = [p for root in roots for p in (root, *root.children(recursive=True))]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, peak / 2**20


def _variants(
    args: argparse.Namespace, stedi: str, tmp: Path, stack: ExitStack
) -> dict[str, tuple[list[str], tuple[int, ...]]]:
    variants: dict[str, tuple[list[str], tuple[int, ...]]] = {
        "duckdb": (["--engine", "duckdb"], ()), "spark-local": (["--engine", "spark"], ())}  # fmt: skip
    if args.standalone:
        sys.path.insert(0, str(ROOT))
        from tests.support.spark_cluster import executor_environment, shipped_package, spark_cluster

        (tmp / "cluster").mkdir()
        cluster = stack.enter_context(spark_cluster(tmp / "cluster"))
        conf = {"spark.pyspark.python": str(executor_environment(tmp / "executor-env")),
                "spark.submit.pyFiles": str(shipped_package(tmp / "package")), "spark.executor.memory": "768m",
                "spark.executor.cores": "1", "spark.cores.max": "2", "spark.scheduler.minRegisteredResourcesRatio": "1.0",
                "spark.scheduler.maxRegisteredResourcesWaitingTime": "120s"}  # fmt: skip
        options = [x for key, value in conf.items() for x in ("--spark-conf", f"{key}={value}")]
        variants["spark-standalone"] = (["--engine", "spark", "--spark-master", cluster.master, *options], cluster.pids)
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1")
    parser.add_argument("--scale", type=float, help="one scale (the same as --scales N)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--standalone", action="store_true", help="also on a standalone cluster of two workers")
    args = parser.parse_args()
    scales = [args.scale] if args.scale else [float(s) for s in args.scales.split(",")]
    stedi = str(Path(sys.executable).parent / "stedi")
    env = {**os.environ, "STEDI_SUBJECT_KEY": "benchmark-key-0123456789", "SPARK_LOCAL_IP": "127.0.0.1"}
    tmp = Path(tempfile.mkdtemp(prefix="stedi-engines-"))
    with ExitStack() as stack:
        variants = _variants(args, stedi, tmp, stack)
        for scale in scales:
            _bench(scale, args.repeat, variants, stedi, env, tmp)


def _bench(scale: float, repeat: int, variants: dict[str, tuple[list[str], tuple[int, ...]]], stedi: str,
           env: dict[str, str], tmp: Path) -> None:  # fmt: skip
    landing = tmp / f"landing-{scale:g}"
    subprocess.run([stedi, "generate", str(landing), "--scale", str(scale)], check=True, env=env,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    lines = sum(1 for f in landing.rglob("*.json") for _ in f.open("rb"))
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for i in range(repeat):  # interleaved: A B C A B C ...
        for name, (options, also) in variants.items():
            warehouse = tmp / f"{name}-{scale:g}-{i}"
            runs[name].append(run_tree([stedi, "run", *options, "--landing", str(landing), "--warehouse",
                                        str(warehouse), "--no-report"], env, also))  # fmt: skip
    results = {n: {"median_s": statistics.median(w for w, _ in r), "peak_rss_mib": max(m for _, m in r)}
               for n, r in runs.items()}  # fmt: skip
    base = results["duckdb"]["median_s"]
    print(f"scale {scale:g}: {lines:,} landing lines   repeats: {repeat}   cpus: {os.cpu_count()}")
    print(f"{'engine':<17} {'median s':>9} {'/ duckdb':>9} {'peak RSS MiB':>13} {'lines/s':>10}")
    for name, r in results.items():
        print(f"{name:<17} {r['median_s']:>9.2f} {r['median_s'] / base:>8.1f}x {r['peak_rss_mib']:>13.0f} "
              f"{lines / r['median_s']:>10,.0f}")  # fmt: skip
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / f"engines-scale{scale:g}.json").write_text(json.dumps({**results, "lines": lines}, indent=2))


if __name__ == "__main__":
    main()
