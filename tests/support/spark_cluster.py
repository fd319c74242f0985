"""A real Spark standalone cluster for the tests: a master and workers, each a JVM of its own started
from pyspark's own distribution (`spark-class ...deploy.master.Master` / `...deploy.worker.Worker`)
on 127.0.0.1 with free ports; stopped afterwards. And a Python environment for the executors that
has stedi's dependencies but not stedi, which the driver ships itself (`spark.submit.pyFiles`)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.corpora import ROOT
from tests.support.wheel import build_wheel


@dataclass(frozen=True)
class Cluster:
    master: str  # spark://127.0.0.1:PORT
    master_ui: str  # http://127.0.0.1:PORT, with /json/
    work_dirs: tuple[Path, ...]  # one per worker: app-*/EXECUTOR/stderr are the executors' logs
    pids: tuple[int, ...] = ()  # the master's and workers' processes (executors are the workers' children)

    def status(self) -> dict[str, object]:
        with urllib.request.urlopen(f"{self.master_ui}/json/", timeout=5) as answer:
            return dict(json.loads(answer.read().decode()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


@contextmanager
def spark_cluster(workdir: Path, workers: int = 2) -> Iterator[Cluster]:
    home = _spark_home()
    spark_class = str(home / "bin" / "spark-class")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    port, ui = _free_port(), _free_port()
    processes: list[subprocess.Popen[bytes]] = []
    logs = []

    def start(name: str, *args: str) -> None:
        log = (workdir / f"{name}.log").open("wb")
        logs.append(log)
        processes.append(subprocess.Popen([spark_class, *args], stdout=log, stderr=subprocess.STDOUT, env=env))

    work_dirs = tuple(workdir / f"worker-{i}" for i in range(workers))
    try:
        start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
              "--webui-port", str(ui))  # fmt: skip
        cluster = Cluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}", work_dirs)
        _wait(lambda: cluster.status() is not None, processes, workdir, "the master")
        for i, work_dir in enumerate(work_dirs):
            work_dir.mkdir()
            start(f"worker-{i}", "org.apache.spark.deploy.worker.Worker", cluster.master, "--host", "127.0.0.1",
                  "--port", str(_free_port()), "--webui-port", str(_free_port()), "--cores", "1", "--memory", "1G",
                  "--work-dir", str(work_dir))  # fmt: skip
        _wait(lambda: cluster.status().get("aliveworkers") == workers, processes, workdir, "the workers")
        yield Cluster(cluster.master, cluster.master_ui, work_dirs, tuple(p.pid for p in processes))
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def _wait(ready, processes: list[subprocess.Popen[bytes]], workdir: Path, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in workdir.glob("*.log"))
            raise RuntimeError(f"a Spark process exited while starting {what}:\n{logs}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not start in {timeout:.0f} s")


def executor_environment(target: Path) -> Path:
    """A virtual environment with stedi's runtime dependencies (pinned as in pyproject.toml) and not
    stedi itself: what a cluster's nodes would have. Its python."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True, capture_output=True)
    python = target / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *dependencies], capture_output=True,
                          text=True, timeout=900, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"cannot install the executors' environment: {done.stderr[-2000:]}")
    return python


def shipped_package(target: Path) -> Path:
    """stedi as the driver ships it to the executors: its wheel, under a .zip name (what
    `spark.submit.pyFiles` puts on the executors' sys.path)."""
    return Path(shutil.copy(build_wheel(target), target / "stedi_lakehouse.zip"))
