"""Exact row counts of every table on the three real corpora, per SEMANTICS.md."""

from __future__ import annotations

import pytest

from stedi.pipeline.query import query
from tests.support.corpora import corpus, corpus_run, count

TABLES = (
    "customer_landing",
    "accelerometer_landing",
    "step_trainer_landing",
    "customer_quarantine",
    "accelerometer_quarantine",
    "step_trainer_quarantine",
    "customer_trusted",
    "accelerometer_trusted",
    "customer_curated",
    "step_trainer_trusted",
    "machine_learning_curated",
)

pytestmark = pytest.mark.slow

# (landing x3, quarantine x3, customer_trusted, accelerometer_trusted, customer_curated,
#  step_trainer_trusted, machine_learning_curated), copied from SEMANTICS.md.
EXPECTED = {
    ("stedi-starter", "all", "owner"): (956, 81273, 28680, 0, 0, 0, 482, 40981, 482, 14460, 40981),
    ("stedi-starter", "as-of", "owner"): (956, 81273, 28680, 0, 0, 0, 482, 32025, 464, 11297, 32025),
    ("stedi-starter", "all", "timestamp"): (956, 81273, 28680, 0, 0, 0, 482, 40981, 482, 14460, 43681),
    ("stedi-2022-10", "all", "owner"): (999, 25133, 239760, 0, 0, 0, 319, 8694, 87, 0, 0),
    ("stedi-2022-10", "as-of", "owner"): (999, 25133, 239760, 0, 0, 0, 319, 8694, 87, 0, 0),
    ("stedi-2022-10", "all", "timestamp"): (999, 25133, 239760, 0, 0, 0, 319, 8694, 87, 0, 0),
    ("stedi-2022-07", "all", "owner"): (33441, 25126, 41036, 4, 1, 1, 445, 12962, 137, 3780, 10729),
    ("stedi-2022-07", "as-of", "owner"): (33441, 25126, 41036, 4, 1, 1, 445, 1122, 13, 0, 0),
    ("stedi-2022-07", "all", "timestamp"): (33441, 25126, 41036, 4, 1, 1, 445, 12962, 137, 3780, 10806),
}


@pytest.mark.parametrize(("corpus", "policy", "join"), list(EXPECTED), ids=lambda v: str(v))
def test_every_table_has_the_contract_row_count(corpus: str, policy: str, join: str) -> None:
    result, warehouse = corpus_run(corpus, policy, join)
    expected = dict(zip(TABLES, EXPECTED[(corpus, policy, join)], strict=True))
    assert {t: count(warehouse, t) for t in TABLES} == expected
    assert {t.name: t.rows_out for t in result.tables if t.name != "ingested_files"} == expected


@pytest.mark.parametrize("name", ["stedi-starter", "stedi-2022-10", "stedi-2022-07"])
def test_the_ledger_lists_every_landing_data_file_once(name: str) -> None:
    _, warehouse = corpus_run(name)
    root = corpus(name)
    on_disk = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name.lower().endswith((".json", ".jsonl", ".json.gz", ".jsonl.gz"))
    )
    ledger = query(warehouse, "SELECT path, records, quarantined FROM ingested_files ORDER BY path")
    assert ledger.column("path").to_pylist() == on_disk
    totals = query(warehouse, "SELECT source, SUM(records) AS r, SUM(quarantined) AS q FROM ingested_files GROUP BY 1")
    by_source = {
        s: (r, q) for s, r, q in zip(*(totals.column(c).to_pylist() for c in ("source", "r", "q")), strict=True)
    }
    expected = dict(zip(TABLES, EXPECTED[(name, "all", "owner")], strict=True))
    for source in ("customer", "accelerometer", "step_trainer"):
        assert by_source[source] == (expected[f"{source}_landing"], expected[f"{source}_quarantine"])


def test_timestamp_join_says_it_is_the_compatibility_mode() -> None:
    result, _ = corpus_run("stedi-starter", "all", "timestamp")
    assert any("--ml-join timestamp" in note and "compatibility" in note for note in result.notes)
    owner, _ = corpus_run("stedi-starter")
    assert not any("--ml-join" in note for note in owner.notes)


def test_run_reports_why_rows_were_dropped() -> None:
    result, _ = corpus_run("stedi-starter")
    trusted = result.table("customer_trusted")
    assert (trusted.rows_in, trusted.rows_out) == (956, 482)
    assert [(d.code, d.text, d.count) for d in trusted.drops] == [
        ("no_consent", "474 customers without research consent", 474)
    ]


@pytest.mark.parametrize("name", ["stedi-starter", "stedi-2022-10", "stedi-2022-07"])
@pytest.mark.parametrize("policy", ["all", "as-of"])
def test_the_reasons_account_for_every_row_a_filter_drops(name: str, policy: str) -> None:
    # Every table but the ML join keeps a subset of its input: its reasons add up to what fell away.
    result, _ = corpus_run(name, policy)
    for table in result.tables:
        if table.rows_in is None or table.name == "machine_learning_curated":
            continue
        assert sum(d.count for d in table.drops) == table.rows_in - table.rows_out, (table.name, table.drops)
        assert all(d.count > 0 for d in table.drops)
    phone = result.table("accelerometer_trusted")
    assert phone.rows_in > phone.rows_out > 0
