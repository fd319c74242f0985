"""`stedi generate`: STEDI-shaped, deterministic, realistic, and with the defects real exports have."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.errors import UsageError
from stedi.generate import generate
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.json")}


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", scale=0.5, seed=7)
    generate(tmp_path / "b", scale=0.5, seed=7)
    generate(tmp_path / "c", scale=0.5, seed=8)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_scale_one_is_the_size_of_the_starter_data_and_scales_linearly(tmp_path: Path) -> None:
    one = generate(tmp_path / "one", scale=1)
    assert one.customers == 956
    assert 70_000 <= one.accelerometer <= 95_000 and 24_000 <= one.step_trainer <= 34_000
    five = generate(tmp_path / "five", scale=5)
    assert five.customers == 5 * 956
    assert 4.5 <= five.accelerometer / one.accelerometer <= 5.5
    assert five.files > one.files  # many files per source as the scale grows
    lines = sum(1 for p in (tmp_path / "one").rglob("*.json") for _ in p.open())
    assert lines == sum(one.lines.values())


def test_generated_data_is_realistic(tmp_path: Path) -> None:
    generate(tmp_path / "landing", scale=1, seed=3)
    customers = [json.loads(line) for p in (tmp_path / "landing" / "customer").rglob("*.json") for line in p.open()]
    consenting = [c for c in customers if c["shareWithResearchAsOfDate"] is not None]
    assert 0.4 <= len(consenting) / len(customers) <= 0.6
    assert all(c["shareWithResearchAsOfDate"] >= c["registrationDate"] for c in consenting)
    step_times = {
        (r["serialNumber"], r["sensorReadingTime"])
        for p in (tmp_path / "landing" / "step_trainer").rglob("*.json")
        for r in map(json.loads, p.open())
    }
    accel = [json.loads(line) for p in (tmp_path / "landing" / "accelerometer").rglob("*.json") for line in p.open()]
    per_instant: dict[tuple[str, int], int] = {}
    for a in accel:
        per_instant[(a["user"], a["timestamp"])] = per_instant.get((a["user"], a["timestamp"]), 0) + 1
    assert len(per_instant) == len(step_times)  # every phone reading is at a step-trainer instant
    assert set(per_instant.values()) == {2, 3, 4}  # several phone readings per instant
    result = run(Settings(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "wh")))
    ml = result.table("machine_learning_curated").rows_out
    assert ml == result.table("accelerometer_trusted").rows_out > 0  # each consenting reading pairs up


def test_defects_are_quarantined_or_resolved_by_the_contract(tmp_path: Path) -> None:
    generate(tmp_path / "landing", scale=1, seed=1, defects=True)
    texts = "\n".join(p.read_text() for p in (tmp_path / "landing").rglob("*-export.json"))
    assert "}{" in texts  # run-together objects
    assert "},\n" in texts  # trailing commas
    assert '"EMAIL": ' in texts or '"email": "  ' in texts  # case- and space-varied emails
    result = run(Settings(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "wh")))
    wh = Warehouse(tmp_path / "wh")
    reasons = [r["reason"] for s in ("customer", "accelerometer", "step_trainer")
               for r in wh.read(f"{s}_quarantine").to_pylist()]  # fmt: skip
    assert any("not an integer" in r for r in reasons)  # bad types
    assert any("not a number" in r for r in reasons)
    assert sum("invalid JSON" in r for r in reasons) == 3  # one truncated line per source
    trusted = result.table("customer_trusted")
    assert any(drop.code == "superseded" for drop in trusted.drops)  # duplicates with changed consent


def test_it_writes_only_into_a_new_or_empty_folder(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "customer" / "landing").mkdir(parents=True)
    real = landing / "customer" / "landing" / "export.json"
    real.write_text('{"email":"real@x.com"}\n')
    with pytest.raises(UsageError, match="not empty"):
        generate(landing, scale=0.01)
    assert [p.name for p in landing.rglob("*") if p.is_file()] == ["export.json"]  # nothing mixed in
    with pytest.raises(UsageError, match="a file"):
        generate(real, scale=0.01)
    (tmp_path / "empty").mkdir()
    assert generate(tmp_path / "empty", scale=0.01).customers > 0
