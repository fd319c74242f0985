"""The ML-ready dataset: subject-wise splits, the dataset card, sensor checks and the export."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from stedi.generate import generate
from stedi.pipeline.query import query
from stedi.warehouse.catalog import Warehouse
from tests.support.cli import stedi
from tests.support.corpora import build, corpus, corpus_run

pytestmark = pytest.mark.slow


def _splits(warehouse: Path) -> dict[str, str]:
    rows = query(Warehouse(warehouse), "SELECT DISTINCT subject_id, split FROM machine_learning_curated").to_pylist()
    return {r["subject_id"]: r["split"] for r in rows}


def _add_batch(landing: Path, extra: Path) -> None:
    """Generated data of other people (their emails and serial numbers made distinct) as new files."""
    for path in extra.rglob("*.json"):
        target = landing / path.relative_to(extra)
        text = (
            path.read_text().replace("@test.com", "@later.test").replace('"serialNumber":"', '"serialNumber":"later-')
        )
        target.with_name(f"later-{target.name}").write_text(text)


def test_splits_on_5000_subjects_keep_their_shares_and_survive_a_new_batch(tmp_path: Path) -> None:
    generate(tmp_path / "landing", scale=12, seed=0)
    build(tmp_path / "landing", tmp_path / "wh")
    before = _splits(tmp_path / "wh")
    assert len(before) >= 5000
    pairs = query(Warehouse(tmp_path / "wh"), "SELECT COUNT(*) AS n FROM (SELECT subject_id FROM "
                  "machine_learning_curated GROUP BY subject_id HAVING COUNT(DISTINCT split) > 1)").to_pylist()  # fmt: skip
    assert pairs == [{"n": 0}]  # no subject in two splits
    for name, share in (("train", 0.8), ("validation", 0.1), ("test", 0.1)):
        assert abs(sum(s == name for s in before.values()) / len(before) - share) <= 0.02
    generate(tmp_path / "new", scale=1, seed=1)  # new customers and readings
    _add_batch(tmp_path / "landing", tmp_path / "new")
    build(tmp_path / "landing", tmp_path / "wh")
    after = _splits(tmp_path / "wh")
    assert len(after) > len(before)
    assert {s: after[s] for s in before if s in after} == {s: before[s] for s in before if s in after}


def test_other_shares_move_subjects_between_splits_and_say_so_in_the_card(tmp_path: Path) -> None:
    build(corpus("stedi-starter"), tmp_path / "wh", split="50/25/25")
    card = json.loads((tmp_path / "wh" / "dataset_card.json").read_text())
    shares = {name: v["subjects"] / card["subjects"] for name, v in card["splits"].items()}
    assert set(shares) == {"train", "validation", "test"}
    assert abs(shares["train"] - 0.5) < 0.08


def test_the_dataset_card_describes_the_table_and_holds_no_personal_data() -> None:
    result, warehouse = corpus_run("stedi-starter")
    folder = Path(warehouse.location)
    card = json.loads((folder / "dataset_card.json").read_text())
    assert card["rows"] == 40_981 and card["subjects"] == 482
    assert sum(v["rows"] for v in card["splits"].values()) == 40_981
    assert card["produced_by"]["run_id"] == result.run_id
    assert card["consent"]["policy"] == "all" and card["join"]["rule"] == "owner"
    assert card["time_range"]["first"].startswith("2022-")
    assert card["checks"]["total"] == len(result.checks)
    text = (folder / "dataset_card.md").read_text() + json.dumps(card)
    people = query(warehouse, "SELECT email, customerName, phone, birthDay FROM customer_landing").to_pylist()
    for person in people:
        for value in person.values():
            assert value is None or str(value) not in text, value
    html = (folder / "report.html").read_text()
    assert "Dataset card" in html and "split-table" in html


def test_sensor_checks_warn_with_their_figures() -> None:
    result, _ = corpus_run("stedi-starter")
    sensors = {(c.table, c.kind): c for c in result.checks if c.kind in ("gaps", "conflicts", "outliers", "at_least")}
    assert {c.severity for c in sensors.values()} == {"warn"}
    assert "median sampling interval 3,066 ms" in sensors[("step_trainer_trusted", "gaps")].detail
    assert "median share per subject 100%" in sensors[("step_trainer_trusted", "at_least")].detail
    assert sensors[("step_trainer_trusted", "conflicts")].value == 0
    assert {c.status for c in sensors.values()} == {"pass"}
    # Several phone readings at one instant are how the phone app records: not a conflict.
    assert ("accelerometer_trusted", "conflicts") not in sensors


def test_export_of_the_training_split_is_partitioned_and_exact(tmp_path: Path) -> None:
    _, warehouse = corpus_run("stedi-starter")
    out = tmp_path / "ml"
    done = stedi("export", "machine_learning_curated", str(out), "--warehouse", warehouse.location, "--split", "train")
    assert done.returncode == 0, done.stderr
    assert [p.name for p in out.iterdir()] == ["split=train"]
    exported = pq.read_table(out / "split=train")
    (expected,) = query(warehouse, "SELECT COUNT(*) AS n FROM machine_learning_curated WHERE split = 'train'")
    assert exported.num_rows == expected[0].as_py() > 0
    assert "subject_id" in exported.column_names


def test_export_as_csv_with_a_condition_and_never_over_an_existing_file(tmp_path: Path) -> None:
    _, warehouse = corpus_run("stedi-starter")
    out = tmp_path / "consenting.csv"
    args = ["export", "customer_trusted", str(out), "--warehouse", warehouse.location, "--format", "csv"]
    assert stedi(*args, "--where", "email LIKE 'a%'").returncode == 0
    table = pcsv.read_csv(out)
    assert table.num_rows > 0 and all(e.startswith("a") for e in table.column("email").to_pylist())
    again = stedi(*args)
    assert again.returncode == 2 and "exists" in again.stderr
    assert stedi(*args, "--overwrite").returncode == 0
    assert pcsv.read_csv(out).num_rows == 482
    refused = stedi(*args, "--overwrite", "--where", "1=1; DROP TABLE customer_trusted")
    assert refused.returncode == 2 and pcsv.read_csv(out).num_rows == 482


def test_export_to_a_named_file_writes_one_file_in_the_format_its_suffix_names(tmp_path: Path) -> None:
    _, warehouse = corpus_run("stedi-starter")
    csv_out, ml_out, train_out = tmp_path / "customers.csv", tmp_path / "ml.parquet", tmp_path / "train.parquet"
    assert stedi("export", "customer_curated", str(csv_out), "--warehouse", warehouse.location).returncode == 0
    assert pcsv.read_csv(csv_out).num_rows == 482
    assert stedi("export", "machine_learning_curated", str(ml_out), "--warehouse", warehouse.location).returncode == 0
    assert ml_out.is_file()
    whole = pq.read_table(ml_out)
    assert whole.num_rows == 40_981 and sorted(set(whole.column("split").to_pylist())) == [
        "test",
        "train",
        "validation",
    ]
    done = stedi(
        "export", "machine_learning_curated", str(train_out), "--warehouse", warehouse.location, "--split", "train"
    )
    assert done.returncode == 0, done.stderr
    assert train_out.is_file() and set(pq.read_table(train_out).column("split").to_pylist()) == {"train"}


def test_export_refuses_a_format_its_file_name_contradicts(tmp_path: Path) -> None:
    _, warehouse = corpus_run("stedi-starter")
    out = tmp_path / "customers.csv"
    refused = stedi("export", "customer_curated", str(out), "--warehouse", warehouse.location, "--format", "parquet")
    assert refused.returncode == 2 and "--format is parquet" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not out.exists()
