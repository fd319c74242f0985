"""The dataset card of `machine_learning_curated`: what a data scientist needs to know before training
on it, written beside the report (`dataset_card.md` and `dataset_card.json`) and shown in it.

Built from the warehouse alone, like the report: the published table, `run_history`, the ledger of
ingested files and the erasure ledger. It holds no personal data: counts, shares, time ranges, the
subject key's fingerprint (which cannot be turned back into the key) and the run that produced it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb

from stedi import __version__
from stedi.config import SPLITS

ML_TABLE = "machine_learning_curated"
CARD_MARKDOWN, CARD_JSON = "dataset_card.md", "dataset_card.json"
CONSENT_POLICIES = {
    "all": "every reading of a customer whose standing record consents to research",
    "as-of": "only readings taken at or after the customer's research consent date",
}
JOIN_RULES = {
    "owner": (
        "each step-trainer reading is paired with its owner's phone readings at the same instant; the owner is "
        "the customer holding the device's serial number (of several holders, the one whose phone has a reading "
        "at that instant)",
        "a timestamp-only join pairs one customer's step trainer with another customer's phone",
    ),
    "timestamp": (
        "each step-trainer reading is paired with any consenting customer's phone readings at the same instant "
        "(compatibility mode)",
        "kept to compare with the original exercise; rows may pair different people",
    ),
}


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    return con.execute(sql).fetchall()[0][0]


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def build_card(
    con: duckdb.DuckDBPyConnection, facts: list[dict[str, Any]], names: list[str], key_fingerprint: str | None
) -> dict[str, Any] | None:
    """The card, from a connection with a view per warehouse table and the run_history rows (oldest
    first); None when there is no machine_learning_curated table yet."""
    if ML_TABLE not in names:
        return None
    published = [f for f in facts if f["published"]]
    run_id = published[-1]["run_id"] if published else None
    run = [f for f in published if f["run_id"] == run_id]
    head = run[0] if run else {}
    checks = [f for f in run if f["kind"] == "check"]
    policy, join = head.get("consent_policy", "all"), head.get("ml_join", "owner")
    rule, why = JOIN_RULES.get(join, ("", ""))
    run_at = head.get("run_at")
    return {
        "dataset": ML_TABLE,
        "description": "Each trusted step-trainer reading paired with its owner's phone readings at the same instant, "
        "for training a step-detection model. One row per pair: subject_id (a keyed pseudonym), serialNumber, "
        "sensorReadingTime, distanceFromObject, x, y, z and split.",
        "produced_by": {
            "run_id": run_id,
            "run_at": run_at.isoformat(timespec="seconds") if run_at else None,
            "engine": head.get("engine"),
            "stedi_version": __version__,
        },
        "sources": _sources(con, names),
        "consent": {
            "basis": "research consent (shareWithResearchAsOfDate on the standing customer record)",
            "policy": policy,
            "meaning": CONSENT_POLICIES.get(policy, ""),
        },
        "join": {"rule": join, "meaning": rule, "why": why},
        **_contents(con, run),
        "erasures_applied": int(_one(con, "SELECT COUNT(*) FROM erasure_ledger") if "erasure_ledger" in names else 0),
        "checks": {
            "passed": sum(c["status"] == "pass" for c in checks),
            "total": len(checks),
            "warnings": [f"{c['table_name']}: {c['name']}" for c in checks if c["status"] == "warn"],
        },
        "subject_key_fingerprint": key_fingerprint,
        "limitations": _limitations(run),
    }


def _sources(con: duckdb.DuckDBPyConnection, names: list[str]) -> list[dict[str, Any]]:
    if "ingested_files" not in names:
        return []
    files = con.execute(
        "SELECT source, COUNT(*), SUM(records), SUM(quarantined) FROM ingested_files "
        "WHERE status = 'ingested' GROUP BY source ORDER BY source"
    ).fetchall()
    return [{"source": s, "files": int(n), "records": int(r or 0), "quarantined": int(q or 0)} for s, n, r, q in files]


def _contents(con: duckdb.DuckDBPyConnection, run: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows, subjects, splits, time range and sampling of the table (counts and times only)."""
    columns = {c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {ML_TABLE})").fetchall()}
    split = "split" if "split" in columns else "'all'"
    by_split = con.execute(
        f"SELECT {split} AS split, COUNT(*), COUNT(DISTINCT subject_id) FROM {ML_TABLE} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    # One pass for the figures of the whole table (a large table: each pass reads its files again).
    first, last, rows, subjects, devices, per_subject = con.execute(
        f"SELECT MIN(sensorReadingTime), MAX(sensorReadingTime), COUNT(*), COUNT(DISTINCT subject_id), "
        f"COUNT(DISTINCT serialNumber), (SELECT MEDIAN(n) FROM (SELECT COUNT(*) AS n FROM {ML_TABLE} "
        f"GROUP BY subject_id)) FROM {ML_TABLE}"
    ).fetchall()[0]
    step_rows = next((f["value"] for f in run if f["kind"] == "table" and f["table_name"] == "step_trainer_trusted"), 0)
    interval = next((f.get("detail") or "" for f in run if f["kind"] == "check" and f["code"] == "gaps"), "")
    return {
        "rows": int(rows),
        "subjects": int(subjects),
        "splits": {
            name: {"rows": int(n), "subjects": int(k)} for name, n, k in sorted(by_split, key=lambda r: _order(r[0]))
        },
        "split_rule": "per subject, from a keyed hash of subject_id; a subject is in one split only and keeps it "
        "when new subjects or readings arrive",
        "time_range": {"first": _iso(first), "last": _iso(last)},
        "sampling": {
            "devices": int(devices or 0),
            "median_rows_per_subject": _number(per_subject),
            "median_step_trainer_interval_ms": _interval(interval),
            "phone_readings_per_step_trainer_reading": _number(rows / step_rows) if step_rows else None,
        },
    }


def _limitations(run: list[dict[str, Any]]) -> list[str]:
    drops = {f["code"]: f["value"] for f in run if f["kind"] == "drop" and f["table_name"] == "step_trainer_trusted"}
    return [
        "Only customers whose standing record consents to research are included; a later record that withdraws "
        "consent removes the customer.",
        "Step-trainer readings whose serial number no customer holds, or whose owner is ambiguous (several holders "
        "with a phone reading at that instant, or none), are excluded"
        + (f": {drops.get('no_single_owner', 0):,} readings of shared serials had no single owner." if drops else "."),
        "Readings are deduplicated exactly: the same reading exported twice counts once.",
        "Timestamps are epoch milliseconds as the devices recorded them; clocks are not corrected.",
    ]


def _interval(detail: str) -> float | None:
    """The median interval the gaps check found (its figure), e.g. '...; median sampling interval 3,066 ms'."""
    words = detail.rsplit("interval ", 1)
    if len(words) != 2:
        return None
    try:
        return float(words[1].removesuffix(" ms").replace(",", ""))
    except ValueError:
        return None


def _order(split: str) -> int:
    return SPLITS.index(split) if split in SPLITS else len(SPLITS)


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def card_json(card: dict[str, Any]) -> str:
    return json.dumps(card, indent=2, sort_keys=False) + "\n"


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown."""
    run, sampling, checks = card["produced_by"], card["sampling"], card["checks"]
    lines = [
        f"# Dataset card: {card['dataset']}",
        "",
        card["description"],
        "",
        "## Provenance",
        "",
        f"- Produced by run `{run['run_id']}` at {run['run_at']} (engine {run['engine']}, stedi {run['stedi_version']})",
        f"- Subject key fingerprint: `{card['subject_key_fingerprint']}`",
        f"- Erasures applied: {card['erasures_applied']:,}",
    ]
    lines += [
        f"- Source `{s['source']}`: {s['files']:,} landing file{'' if s['files'] == 1 else 's'}, {s['records']:,} records, "
        f"{s['quarantined']:,} quarantined"
        for s in card["sources"]
    ]
    consent, join = card["consent"], card["join"]
    lines += [
        "",
        "## Consent and join",
        "",
        f"- Basis: {consent['basis']}",
        f"- Policy `{consent['policy']}`: {consent['meaning']}",
        f"- Join `{join['rule']}`: {join['meaning']} (why: {join['why']})",
        "",
        "## Contents",
        "",
        f"- Rows: {card['rows']:,}; subjects: {card['subjects']:,}",
        f"- Time range: {card['time_range']['first']} to {card['time_range']['last']}",
        f"- Splits ({card['split_rule']}):",
    ]
    lines += [f"  - {name}: {v['rows']:,} rows, {v['subjects']:,} subjects" for name, v in card["splits"].items()]
    lines += [
        f"- Devices: {sampling['devices']:,}; median rows per subject: {_figure(sampling['median_rows_per_subject'])}; "
        f"median step-trainer interval: {_figure(sampling['median_step_trainer_interval_ms'])} ms; "
        f"phone readings per step-trainer reading: {sampling['phone_readings_per_step_trainer_reading']}",
        "",
        "## Checks",
        "",
        f"- {checks['passed']} of {checks['total']} passed",
    ]
    lines += [f"- Warning: {w}" for w in checks["warnings"]]
    lines += ["", "## Known limitations", ""] + [f"- {item}" for item in card["limitations"]]
    return "\n".join(lines) + "\n"


def _figure(value: object) -> str:
    """A measured number as a reader wants it: thousands separated, no `.0` on a whole number."""
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return f"{value:,}" if isinstance(value, (int, float)) else str(value)
