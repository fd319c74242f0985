"""The Spark engine on a real standalone cluster: a master and two workers, each its own JVM, with the
package shipped to the executors the way a user would on a cluster (the wheel through
`spark.submit.pyFiles`, the executors' Python an environment without stedi). Landing data and
warehouse are on a path every process sees, as a shared file system would give."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import stedi_process
from tests.support.corpora import corpus, corpus_run, data_tables, table_rows
from tests.support.spark_cluster import Cluster, executor_environment, shipped_package, spark_cluster

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with spark_cluster(tmp_path_factory.mktemp("spark-cluster")) as running:
        yield running


def _executor_logs(work_dir: Path) -> list[Path]:
    return sorted(work_dir.glob("app-*/*/stderr"))


def test_a_run_on_a_standalone_cluster_gives_the_embedded_tables(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from stedi.warehouse.catalog import Warehouse

    shared = tmp_path_factory.mktemp("shared")
    python = executor_environment(shared / "executor-env")
    package = shipped_package(shared / "package")
    assert subprocess.run([str(python), "-c", "import stedi"], capture_output=True, check=False).returncode != 0
    conf = {
        "spark.pyspark.python": str(python),  # the executors' Python: no stedi in it
        "spark.submit.pyFiles": str(package),  # the driver ships stedi
        "spark.executor.memory": "768m",
        "spark.executor.cores": "1",
        "spark.cores.max": "2",
        # Tasks start once both executors have registered, so that both workers get work.
        "spark.scheduler.minRegisteredResourcesRatio": "1.0",
        "spark.scheduler.maxRegisteredResourcesWaitingTime": "120s",
    }
    options = [item for key, value in conf.items() for item in ("--spark-conf", f"{key}={value}")]
    warehouse = shared / "wh"
    done = stedi_process(
        "run", "--engine", "spark", "--spark-master", cluster.master, "--landing", str(corpus("stedi-starter")),
        "--warehouse", str(warehouse), *options, env={"SPARK_LOCAL_IP": "127.0.0.1"}, timeout=1500,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    on_cluster = Warehouse(warehouse)
    _, embedded = corpus_run("stedi-starter")
    assert data_tables(on_cluster) == data_tables(embedded)
    for name in data_tables(embedded):
        assert table_rows(on_cluster, name) == table_rows(embedded, name), name
    apps = cluster.status()["completedapps"]
    assert [app["name"] for app in apps] == ["stedi"]  # type: ignore[index]
    for work_dir in cluster.work_dirs:  # each worker ran an executor of the run, and it ran tasks
        logs = _executor_logs(work_dir)
        assert logs, f"no executor ran on {work_dir.name}"
        assert any("Running task" in log.read_text(errors="replace") for log in logs), work_dir.name
