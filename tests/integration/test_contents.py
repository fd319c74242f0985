"""Contents, not just counts: consent, ownership and the absence of PII, checked against plain Python
readings of the starter data (clean JSON Lines, so json.loads reads it exactly)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from stedi.pipeline.query import query
from tests.support.corpora import corpus, corpus_run

pytestmark = pytest.mark.slow

KEY = b"test-subject-key"


def _lines(source: str) -> list[dict[str, Any]]:
    out = []
    for path in sorted((corpus("stedi-starter") / source / "landing").iterdir()):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return out


@cache
def standing() -> dict[str, dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for record in _lines("customer"):  # one file: read order is line order; later wins ties
        email = record["email"].strip().lower()
        current = best.get(email)
        if current is None or (record["lastUpdateDate"], record["registrationDate"]) >= (
            current["lastUpdateDate"],
            current["registrationDate"],
        ):
            best[email] = record
    return best


def rows(sql: str, name: str = "stedi-starter", policy: str = "all") -> list[dict[str, Any]]:
    _, warehouse = corpus_run(name, policy)
    return query(warehouse, sql).to_pylist()


def test_trusted_customers_are_exactly_the_consenting_standing_records() -> None:
    consenting = {e for e, r in standing().items() if r.get("shareWithResearchAsOfDate") is not None}
    assert {r["email"] for r in rows("SELECT email FROM customer_trusted")} == consenting


def test_no_reading_of_a_customer_without_consent_in_any_trusted_or_curated_table() -> None:
    consenting = {e for e, r in standing().items() if r.get("shareWithResearchAsOfDate") is not None}
    assert {r["user"] for r in rows("SELECT DISTINCT user FROM accelerometer_trusted")} <= consenting
    assert {r["email"] for r in rows("SELECT email FROM customer_curated")} <= consenting
    assert {r["email"] for r in rows("SELECT DISTINCT email FROM step_trainer_trusted")} <= consenting


def test_as_of_policy_keeps_only_readings_at_or_after_consent() -> None:
    early = rows(
        "SELECT COUNT(*) AS n FROM accelerometer_trusted a JOIN customer_trusted c ON c.email = a.user "
        "WHERE a.timestamp < c.shareWithResearchAsOfDate",
        policy="as-of",
    )
    assert early == [{"n": 0}]


def test_every_ml_row_belongs_to_the_owner_of_the_serial_with_a_phone_reading_at_that_instant() -> None:
    by_subject = {hmac.new(KEY, e.encode(), hashlib.sha256).hexdigest(): e for e in standing()}
    phone = defaultdict(set)
    for r in _lines("accelerometer"):
        phone[(r["user"].strip().lower(), r["timestamp"])].add((float(r["x"]), float(r["y"]), float(r["z"])))
    ml = rows("SELECT * FROM machine_learning_curated")
    assert len(ml) == 40981
    for row in ml:
        email = by_subject[row["subject_id"]]
        assert standing()[email]["serialNumber"] == row["serialNumber"]
        assert (row["x"], row["y"], row["z"]) in phone[(email, row["sensorReadingTime"])]


def test_ml_table_has_no_direct_pii() -> None:
    ml = rows("SELECT * FROM machine_learning_curated LIMIT 1000")
    assert list(ml[0]) == [
        "subject_id",
        "serialNumber",
        "sensorReadingTime",
        "distanceFromObject",
        "x",
        "y",
        "z",
        "split",
    ]
    assert not any("@" in str(v) for row in ml for v in row.values())


def test_subject_id_is_hmac_sha256_of_the_normalised_email_under_the_configured_key() -> None:
    email = "santosh.clayton@test.com"
    expected = hmac.new(KEY, email.encode(), hashlib.sha256).hexdigest()
    got = rows(
        "SELECT DISTINCT subject_id FROM machine_learning_curated WHERE serialNumber = "
        f"'{standing()[email]['serialNumber']}'"
    )
    assert got == [{"subject_id": expected}]


def test_trusted_and_curated_tables_store_normalised_emails() -> None:
    for table, column in (
        ("customer_trusted", "email"),
        ("accelerometer_trusted", "user"),
        ("customer_curated", "email"),
    ):
        bad = rows(f"SELECT COUNT(*) AS n FROM {table} WHERE {column} <> lower(trim({column}))")
        assert bad == [{"n": 0}], table


def test_landing_tables_keep_the_source_file_and_contract_types() -> None:
    _, warehouse = corpus_run("stedi-starter")
    schema = {f.name: str(f.type) for f in warehouse.read("accelerometer_landing").schema}
    assert schema == {
        "user": "string",
        "timestamp": "int64",
        "x": "double",
        "y": "double",
        "z": "double",
        "source_file": "string",
        "source_line": "int64",
        "source_index": "int32",
    }
    files = {r["source_file"] for r in rows("SELECT DISTINCT source_file FROM accelerometer_landing")}
    assert files == {
        f"accelerometer/landing/{p.name}" for p in Path(corpus("stedi-starter"), "accelerometer/landing").iterdir()
    }
