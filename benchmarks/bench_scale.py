"""The pipeline from the starter size up: `stedi generate --scale N`, then, each in a cold process,
the floor (DuckDB's bare `read_json` of the same landing bytes into a count), `stedi run` on the
embedded engine, and `stedi run --engine spark` where asked. Wall time, peak RSS of the process
tree, rows per second, and the ratios embedded/floor and spark/embedded.

    .venv/bin/python benchmarks/bench_scale.py [--scales 1 10 100] [--spark-scales 1 10] [--plot]

Generated data is kept under build/bench/scale-N (untracked) and reused; results go to
benchmarks/out/scale.json, and with --plot to docs/benchmarks-scale.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench_engines import run_tree

ROOT = Path(__file__).resolve().parent.parent
FLOOR = """
import glob, sys, duckdb
con = duckdb.connect()
for source in ("customer", "accelerometer", "step_trainer"):
    files = sorted(glob.glob(f"{sys.argv[1]}/{source}/landing/**/*.json", recursive=True))
    con.execute("SELECT count(*) FROM read_json($f, format='newline_delimited')", {"f": files}).fetchall()
"""


def landing_for(scale: float, stedi: str, env: dict[str, str]) -> tuple[Path, int, int]:
    landing = ROOT / "build" / "bench" / f"scale-{scale:g}"
    if not (landing / "done").exists():
        shutil.rmtree(landing, ignore_errors=True)
        subprocess.run([stedi, "generate", str(landing), "--scale", str(scale)], check=True, env=env)
        (landing / "done").write_text("")
    files = list(landing.rglob("*.json"))
    lines = 0
    for f in files:
        with open(f, "rb") as handle:
            lines += sum(chunk.count(b"\n") for chunk in iter(lambda h=handle: h.read(1 << 24), b""))
    return landing, lines, sum(f.stat().st_size for f in files)


def measure(scale: float, spark: bool, stedi: str, env: dict[str, str]) -> dict[str, object]:
    landing, lines, size = landing_for(scale, stedi, env)
    work = ROOT / "build" / "bench" / "warehouses"
    shutil.rmtree(work, ignore_errors=True)
    row: dict[str, object] = {"scale": scale, "lines": lines, "bytes": size}
    row["floor"] = run_tree([sys.executable, "-c", FLOOR, str(landing)], env)
    row["embedded"] = run_tree([stedi, "run", "--landing", str(landing), "--warehouse", str(work / "duckdb")], env)
    if spark:
        command = [stedi, "run", "--engine", "spark", "--landing", str(landing), "--warehouse", str(work / "spark")]
        row["spark"] = run_tree(command, env)
    shutil.rmtree(work, ignore_errors=True)
    return row


def print_table(rows: list[dict[str, object]]) -> None:
    print(
        f"{'scale':>6} {'lines':>12} {'MB':>7} {'case':<9} {'wall s':>8} {'peak MiB':>9} {'lines/s':>12} {'µs/line':>8} {'ratio':>14}"
    )
    for row in rows:
        lines = int(row["lines"])  # type: ignore[call-overload]
        for case in ("floor", "embedded", "spark"):
            if case not in row:
                continue
            wall, rss = row[case]  # type: ignore[misc]
            ratio = ""
            if case == "embedded":
                ratio = f"{wall / row['floor'][0]:.1f}x floor"  # type: ignore[index]
            elif case == "spark":
                ratio = f"{wall / row['embedded'][0]:.1f}x embedded"  # type: ignore[index]
            mb = int(row["bytes"]) / 1e6  # type: ignore[call-overload]
            print(
                f"{row['scale']:>6g} {lines:>12,} {mb:>7,.0f} {case:<9} {wall:>8.2f} {rss:>9,.0f} {lines / wall:>12,.0f}"
                f" {1e6 * wall / lines:>8.2f} {ratio:>14}"
            )


def plot(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for case, style in (("floor", "k--"), ("embedded", "b-o"), ("spark", "r-s")):
        points = [(int(r["lines"]), r[case]) for r in rows if case in r]  # type: ignore[call-overload]
        if points:
            left.plot([p[0] for p in points], [p[1][0] for p in points], style, label=case)  # type: ignore[index]
            right.plot([p[0] for p in points], [p[1][1] for p in points], style, label=case)  # type: ignore[index]
    for axis, label in ((left, "wall time (s)"), (right, "peak RSS (MiB)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("landing lines")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    fig.suptitle("stedi run by scale (2 cores): embedded engine, Spark, and the DuckDB read_json floor")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10, 100])
    parser.add_argument("--spark-scales", type=float, nargs="*", default=[1, 10])
    parser.add_argument("--plot", action="store_true", help="write docs/benchmarks-scale.png")
    args = parser.parse_args()
    stedi = str(Path(sys.executable).parent / "stedi")
    env = {**os.environ, "STEDI_SUBJECT_KEY": "benchmark"}
    rows = []
    for scale in args.scales:
        rows.append(measure(scale, scale in args.spark_scales, stedi, env))
        print_table(rows[-1:])
        sys.stdout.flush()
    print()
    print_table(rows)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / "scale.json").write_text(json.dumps(rows, indent=2))
    if args.plot:
        plot(rows, ROOT / "docs" / "benchmarks-scale.png")


if __name__ == "__main__":
    main()
