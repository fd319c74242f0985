"""`stedi run` against the pipeline a DuckDB user would write instead (`peer.py`), side by side.

    .venv/bin/python benchmarks/bench_peer.py [--scales starter,10,100] [--with-1000] [--repeat 3]

Each case runs as cold processes, interleaved (peer, stedi, peer, stedi, ...), so that both see the
same machine. Reported per data set: median wall time, peak RSS (the process's high-water mark),
the ratio stedi / peer, the median CPU seconds of each process (user and system) and their ratio,
the table counts of both (the same tables must come out), and stedi's stage timings. Two more
scenarios measure stedi against its own full run:

- rerun: the same landing folder again (nothing new);
- one new file: a landing folder missing one file of 1 % of the rows, then that file added; once
  with a phone (accelerometer) file, once with a step-trainer file.

Generated data is kept in --data (default benchmarks/data) for the next invocation; results are
written to benchmarks/out/peer.json (see --output).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("STEDI_TEST_DATA", ROOT.parent / "shared" / "data"))
BIN = Path(sys.executable).parent
RACY_SECONDS = 2.1  # see stages/planning.py, RACY_NS
# The new file of the incremental runs: a phone export, then a step-trainer export, each 1 % of the rows.
NEW_FILE_SOURCES = ("accelerometer", "step_trainer")
ENV = {**os.environ, "STEDI_SUBJECT_KEY": "benchmark-subject-key"}
TABLES = ("customer_landing", "accelerometer_landing", "step_trainer_landing", "customer_trusted",
          "accelerometer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated")  # fmt: skip


def run_measured(cmd: list[str]) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS (MiB) of this process alone, its standard output, and the CPU seconds
    it used (user and system, all its threads): on a machine whose cores are all busy, the work done."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=ENV, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{err.read().decode()}")
        return wall, usage.ru_maxrss / 1024, out.read().decode(), usage.ru_utime + usage.ru_stime


def stedi(landing: Path, warehouse: Path) -> tuple[float, float, dict, float]:
    cmd = [str(BIN / "stedi"), "run", "--landing", str(landing), "--warehouse", str(warehouse), "--format", "json"]
    wall, rss, out, cpu = run_measured(cmd)
    return wall, rss, json.loads(out), cpu


def peer(landing: Path, out: Path) -> tuple[float, float, dict, float]:
    script = [sys.executable, str(ROOT / "benchmarks" / "peer.py"), str(landing), str(out)]
    wall, rss, text, cpu = run_measured(script)
    return wall, rss, json.loads(text.strip().splitlines()[-1]), cpu


def landing_for(name: str, data: Path) -> Path:
    if name == "starter":
        return CORPORA / "stedi-starter"
    folder = data / f"scale{name}"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating scale {name} into {folder}", flush=True)
        subprocess.run([str(BIN / "stedi"), "generate", str(folder), "--scale", name, "--seed", "0"], check=True,
                       env=ENV, stdout=subprocess.DEVNULL)  # fmt: skip
        (folder / ".complete").touch()
    return folder


def stedi_counts(trace: dict) -> dict[str, int]:
    return {t["name"]: t["rows_out"] for t in trace["tables"] if t["name"] in TABLES}


def stage_medians(traces: list[dict]) -> dict[str, float]:
    names = dict.fromkeys(name for trace in traces for name in trace.get("stages", {}))
    return {name: statistics.median(t.get("stages", {}).get(name, 0.0) for t in traces) for name in names}


def full_runs(landing: Path, scratch: Path, repeat: int) -> dict:
    peers, ours = [], []
    for i in range(repeat):
        peers.append(peer(landing, scratch / f"peer{i}"))
        ours.append(stedi(landing, scratch / f"wh{i}"))
        shutil.rmtree(scratch / f"peer{i}", ignore_errors=True)
    peer_counts, our_counts = peers[0][2], stedi_counts(ours[0][2])
    stages = stage_medians([r[2] for r in ours])
    result = {
        "peer_s": statistics.median(r[0] for r in peers),
        "stedi_s": statistics.median(r[0] for r in ours),
        "peer_rss_mib": max(r[1] for r in peers),
        "stedi_rss_mib": max(r[1] for r in ours),
        "peer_cpu_s": statistics.median(r[3] for r in peers),
        "stedi_cpu_s": statistics.median(r[3] for r in ours),
        "peer_counts": peer_counts,
        "stedi_counts": our_counts,
        "same_counts": peer_counts == our_counts,
        "stedi_stages_s": stages,
    }
    result["ratio"] = result["stedi_s"] / result["peer_s"]
    result["cpu_ratio"] = result["stedi_cpu_s"] / result["peer_cpu_s"]
    return result


def rerun(landing: Path, scratch: Path, repeat: int) -> dict:
    warehouse = scratch / "wh0"  # built by the full runs
    runs = [stedi(landing, warehouse) for _ in range(repeat)]
    outcomes = {r[2].get("outcome", "") for r in runs}
    return {"stedi_s": statistics.median(r[0] for r in runs), "outcomes": sorted(outcomes),
            "stages_s": stage_medians([r[2] for r in runs])}  # fmt: skip


def _files(landing: Path) -> list[Path]:
    return sorted(p for p in landing.rglob("*.json") if p.is_file())


def split_one_percent(landing: Path, folder: Path, source: str = "accelerometer") -> tuple[Path, Path, int, int]:
    """A landing folder of hard links to every file but the largest file of `source`, cut in two: its
    first lines stay, the rest (1 % of all rows) is the new file. Returns the folder, the new file,
    its lines and the total lines."""
    files = _files(landing)
    total = sum(1 for f in files for _ in f.open("rb"))
    shutil.rmtree(folder, ignore_errors=True)
    for f in files:
        target = folder / f.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(f, target)
        except OSError:
            shutil.copyfile(f, target)
    biggest = max((f for f in files if f"/{source}/" in f.as_posix()), key=lambda f: f.stat().st_size)
    lines = biggest.read_bytes().splitlines(keepends=True)
    share = max(1, min(len(lines) - 1, total // 100))
    kept = folder / biggest.relative_to(landing)
    kept.unlink()
    kept.write_bytes(b"".join(lines[:-share]))
    new = kept.with_name(kept.stem + "-late.json")
    new.write_bytes(b"".join(lines[-share:]))
    return folder, new, share, total


def one_new_file(landing: Path, scratch: Path, repeat: int, full_counts: dict[str, int], source: str) -> dict:
    folder, new, share, total = split_one_percent(landing, scratch / "split", source)
    held = scratch / "held.json"
    shutil.move(new, held)
    # The other files landed a while before, as in use: a file seen within two seconds of a change
    # is hashed again by the next run (and the links just made changed every file's ctime).
    time.sleep(RACY_SECONDS)
    walls, traces = [], []
    for i in range(repeat):
        warehouse = scratch / f"inc{i}"
        stedi(folder, warehouse)  # every file but the new one
        shutil.copyfile(held, new)
        wall, _, trace, _ = stedi(folder, warehouse)
        walls.append(wall)
        traces.append(trace)
        new.unlink()
        shutil.rmtree(warehouse, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "stedi_s": statistics.median(walls),
        "new_file_lines": share,
        "landing_lines": total,
        "same_counts_as_full_run": stedi_counts(traces[0]) == full_counts,
        "stages_s": stage_medians(traces),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="starter,10,100", help="comma-separated: starter and generator scales")
    parser.add_argument("--with-1000", action="store_true", help="also scale 1000 (about 10 GB of landing data)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    parser.add_argument("--skip-scenarios", action="store_true", help="only the full runs against the peer")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("peer.json"),
        help="where the results go: a file name (in benchmarks/out) or a path",
    )
    args = parser.parse_args()
    # Compiled first, as an installed package is: an editable install under PYTHONDONTWRITEBYTECODE
    # would otherwise compile every module of the package again in each timed process.
    compileall.compile_dir(ROOT / "src", quiet=1)
    scales = [s for s in args.scales.split(",") if s] + (["1000"] if args.with_1000 else [])
    memory_limit = os.environ.get("STEDI_MEMORY_LIMIT")  # None: stedi's default, half the machine's memory
    results: dict = {"stedi_memory_limit": memory_limit}
    shown = memory_limit or "half the machine's memory (the default)"
    print(f"cpus: {os.cpu_count()}   repeats: {args.repeat} (medians; peak RSS is the largest)   stedi memory: {shown}")
    header = (
        f"{'data':<9} {'stedi s':>8} {'peer s':>7} {'ratio':>6} {'RSS stedi/peer MiB':>19} "
        f"{'CPU s stedi/peer':>17} {'ratio':>6}  same tables"
    )
    print(header)
    for scale in scales:
        landing = landing_for(scale, args.data)
        scratch = Path(tempfile.mkdtemp(prefix=f"stedi-bench-{scale}-"))
        try:
            r = full_runs(landing, scratch, args.repeat)
            if not args.skip_scenarios:
                r["rerun"] = rerun(landing, scratch, args.repeat)
                for source in NEW_FILE_SOURCES:
                    r[f"one_new_{source}_file"] = one_new_file(landing, scratch, args.repeat, r["stedi_counts"], source)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        results[scale] = r
        rss = f"{r['stedi_rss_mib']:,.0f} / {r['peer_rss_mib']:,.0f}"
        cpu = f"{r['stedi_cpu_s']:.2f} / {r['peer_cpu_s']:.2f}"
        print(f"{scale:<9} {r['stedi_s']:>8.2f} {r['peer_s']:>7.2f} {r['ratio']:>5.2f}x {rss:>19} {cpu:>17} "
              f"{r['cpu_ratio']:>5.2f}x  {r['same_counts']}")  # fmt: skip
        stages = "  ".join(f"{k} {v:.2f}" for k, v in r["stedi_stages_s"].items())
        print(f"          stedi stages (s): {stages}")
        if "rerun" in r:
            print(f"          rerun with nothing new: {r['rerun']['stedi_s']:.2f} s "
                  f"({r['rerun']['stedi_s'] / r['stedi_s']:.0%} of a full run)")  # fmt: skip
            for source in NEW_FILE_SOURCES:
                inc = r[f"one_new_{source}_file"]
                print(f"          one new {source} file ({inc['new_file_lines']:,} of {inc['landing_lines']:,} lines): "
                      f"{inc['stedi_s']:.2f} s ({inc['stedi_s'] / r['stedi_s']:.0%} of a full run), "
                      f"tables equal a full run: {inc['same_counts_as_full_run']}")  # fmt: skip
        if not r["same_counts"]:
            print(f"          counts differ: stedi {r['stedi_counts']} peer {r['peer_counts']}")
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    target = args.output if args.output.parent != Path() else out / args.output
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
