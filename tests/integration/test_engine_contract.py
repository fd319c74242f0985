"""One contract, both engines: what a run guarantees does not depend on the engine that ran it.

Each test runs for the embedded engine and for Spark (`local[2]`), on generated data with the
contract's defects, and compares with one full embedded run where a reference is needed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.errors import ChecksFailed, Refused
from stedi.generate import generate
from stedi.pipeline.forget import forget
from stedi.pipeline.query import query
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.writes import AUDIT_BRANCH
from tests.support.corpora import assert_same_tables, copy_files, empty_landing, snapshots

pytestmark = pytest.mark.slow
ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]
SETTING_TABLES = {"accelerometer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated")
    generate(root, scale=0.05, seed=5, defects=True)
    # A file changed less than two seconds before a run looked at it is hashed again by the next run
    # ("racy", see stedi.stages.planning), which then records it as settled: a new snapshot of the
    # landing table's file map. The tests start with settled files.
    newest = max(path.stat().st_ctime for path in root.rglob("*"))
    time.sleep(max(0.0, newest + 2.5 - time.time()))
    return root


@pytest.fixture(scope="module")
def reference(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded engine's full run over all the generated files."""
    warehouse = tmp_path_factory.mktemp("reference") / "wh"
    run(Settings(landing=str(generated), warehouse=str(warehouse)))
    return warehouse


def _settings(landing: Path, warehouse: Path, engine: str, **more: object) -> Settings:
    return Settings(landing=str(landing), warehouse=str(warehouse), engine=engine, report=False, **more)  # type: ignore[arg-type]


def _data_snapshots(warehouse: Path) -> dict[str, int | None]:
    return {n: s for n, s in snapshots(warehouse).items() if n != "ingested_files"}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_rerun_adds_no_snapshot_and_other_settings_rewrite_only_their_tables(
    engine: str, generated: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh"
    run(_settings(generated, warehouse, engine))
    first = _data_snapshots(warehouse)
    run(_settings(generated, warehouse, engine))
    assert _data_snapshots(warehouse) == first
    run(_settings(generated, warehouse, engine, consent_policy="as-of", allow_shrink=True))
    changed = {n for n, s in _data_snapshots(warehouse).items() if s != first[n]}
    assert changed and changed <= SETTING_TABLES


@pytest.mark.parametrize("engine", ENGINES)
def test_batches_equal_a_full_run_and_the_ledger_names_every_file(
    engine: str, generated: Path, reference: Path, tmp_path: Path
) -> None:
    files = sorted(p for p in generated.rglob("*.json*") if p.is_file())
    landing, warehouse = empty_landing(tmp_path / "landing"), tmp_path / "wh"
    half = len(files) // 2
    copy_files(files[:half], generated, landing)
    run(_settings(landing, warehouse, engine))
    copy_files(files[half:], generated, landing)
    result = run(_settings(landing, warehouse, engine))
    assert 0 < sum(s.files for s in result.sources) < len(files)  # only the new files were read
    assert_same_tables(warehouse, reference)
    ledger = query(Warehouse(warehouse), "SELECT path, snapshot_id FROM ingested_files").to_pylist()
    assert sorted(r["path"] for r in ledger) == sorted(str(f.relative_to(generated)) for f in files)
    assert all(r["snapshot_id"] is not None for r in ledger)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failing_check_or_the_shrink_guard_publishes_nothing(engine: str, generated: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    run(_settings(generated, warehouse, engine))
    before = _data_snapshots(warehouse)
    expect = tmp_path / "expect.toml"
    expect.write_text('dataset = "strict"\nseverity = "error"\n[rows]\ncustomer_trusted = 1\n')
    with pytest.raises(ChecksFailed):
        run(_settings(generated, warehouse, engine, consent_policy="as-of", allow_shrink=True, expect=str(expect)))
    assert _data_snapshots(warehouse) == before
    wh = Warehouse(warehouse)
    refs = {name: wh.load(name).metadata.refs for name in SETTING_TABLES}
    audited = {
        name for name, ref in refs.items() if AUDIT_BRANCH in ref and ref[AUDIT_BRANCH].snapshot_id != before[name]
    }
    assert audited  # the failed run's rows wait on the audit branch
    with pytest.raises(Refused, match="folder is empty"):
        run(_settings(empty_landing(tmp_path / "emptied"), warehouse, engine))
    assert _data_snapshots(warehouse) == before


@pytest.mark.parametrize("engine", ENGINES)
def test_an_erased_person_stays_out_of_later_runs(engine: str, generated: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    run(_settings(generated, warehouse, "duckdb"))
    email = str(query(Warehouse(warehouse), "SELECT min(email) FROM customer_curated").column(0)[0].as_py())
    forget(str(warehouse), [email])
    run(_settings(generated, warehouse, engine, full_refresh=True))  # every landing file read again
    wh = Warehouse(warehouse)
    for name in ("customer_landing", "customer_trusted", "customer_curated", "accelerometer_landing"):
        column = "user" if name.startswith("accelerometer") else "email"
        rows = wh.read(name).column(column).to_pylist()
        assert rows and email.lower() not in {str(v).strip().lower() for v in rows}, name
