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
from tests.support.corpora import assert_same_tables, corpus, corpus_run, data_tables, table_rows
from tests.support.defects import write_defect_landing
from tests.support.spark_cluster import Cluster, executor_environment, shipped_package, spark_cluster

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with spark_cluster(tmp_path_factory.mktemp("spark-cluster")) as running:
        yield running


def _executor_logs(work_dir: Path) -> list[Path]:
    return sorted(work_dir.glob("app-*/*/stderr"))


@pytest.fixture(scope="module")
def cluster_options(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The options a user gives to run on the cluster with the package shipped by the driver."""
    shared = tmp_path_factory.mktemp("shipped")
    python = executor_environment(shared / "executor-env")
    assert subprocess.run([str(python), "-c", "import stedi"], capture_output=True, check=False).returncode != 0
    conf = {
        "spark.pyspark.python": str(python),  # the executors' Python: no stedi in it
        "spark.submit.pyFiles": str(shipped_package(shared / "package")),  # the driver ships stedi
        "spark.executor.memory": "768m",
        "spark.executor.cores": "1",
        "spark.cores.max": "2",
        # Tasks start once both executors have registered, so that both workers get work.
        "spark.scheduler.minRegisteredResourcesRatio": "1.0",
        "spark.scheduler.maxRegisteredResourcesWaitingTime": "120s",
    }
    return [item for key, value in conf.items() for item in ("--spark-conf", f"{key}={value}")]


def _run_on(cluster: Cluster, options: list[str], landing: Path, warehouse: Path) -> None:
    done = stedi_process(
        "run", "--engine", "spark", "--spark-master", cluster.master, "--landing", str(landing),
        "--warehouse", str(warehouse), *options, env={"SPARK_LOCAL_IP": "127.0.0.1"}, timeout=1500,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_run_on_a_standalone_cluster_gives_the_embedded_tables(
    cluster: Cluster, cluster_options: list[str], tmp_path: Path
) -> None:
    from stedi.warehouse.catalog import Warehouse

    before = len(cluster.status()["completedapps"])  # type: ignore[arg-type]
    _run_on(cluster, cluster_options, corpus("stedi-starter"), tmp_path / "wh")
    on_cluster = Warehouse(tmp_path / "wh")
    _, embedded = corpus_run("stedi-starter")
    assert data_tables(on_cluster) == data_tables(embedded)
    for name in data_tables(embedded):
        assert table_rows(on_cluster, name) == table_rows(embedded, name), name
    apps = cluster.status()["completedapps"]
    assert len(apps) == before + 1 and apps[0]["name"] == "stedi"  # type: ignore[arg-type,index]
    for work_dir in cluster.work_dirs:  # each worker ran an executor of the run, and it ran tasks
        logs = _executor_logs(work_dir)
        assert logs, f"no executor ran on {work_dir.name}"
        assert any("Running task" in log.read_text(errors="replace") for log in logs), work_dir.name


def test_the_defect_fixture_on_the_cluster_gives_the_embedded_tables(
    cluster: Cluster, cluster_options: list[str], tmp_path: Path
) -> None:
    from stedi.config import Settings
    from stedi.pipeline.run import run
    from stedi.warehouse.catalog import Warehouse

    landing = write_defect_landing(tmp_path / "defects")
    _run_on(cluster, cluster_options, landing, tmp_path / "wh")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "embedded")))
    assert_same_tables(tmp_path / "wh", tmp_path / "embedded")
    assert Warehouse(tmp_path / "wh").describe("customer_quarantine").rows > 0  # the defects reached the cluster
