"""The run report: one self-contained HTML file (inline CSS and SVG, no script, no network).

Built from the warehouse alone (run_history, the tables, their schemas), so `stedi report` rewrites
it at any time and `stedi run` writes it after every run. Personal data is masked: sample rows show
no email, name, phone or birthday, and emails in quarantined raw text are replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from stedi.report.html import render
from stedi.warehouse.storage import is_remote

if TYPE_CHECKING:
    from stedi.results import RunResult
    from stedi.warehouse.catalog import Warehouse

REPORT_FILE = "report.html"
PII_COLUMNS = {"email", "user", "customername", "phone", "birthday"}
EMAIL = re.compile(r"[^\s\"'{}:,]+@[^\s\"'{}:,]+")
SAMPLE_ROWS = 5


@dataclass
class Node:
    name: str
    zone: str
    rows: int | None


@dataclass
class ReportData:
    runs: list[dict[str, Any]]  # one per run, oldest first: run_id, run_at, engine, published, settings
    facts: pa.Table  # run_history
    nodes: list[Node]
    edges: list[tuple[str, str]]
    quarantine: dict[str, list[tuple[str, int, list[str]]]]  # table -> (reason, count, sample raw lines)
    schemas: dict[str, list[tuple[str, str]]]
    samples: dict[str, tuple[list[str], list[list[str]]]]
    notes: list[str]


@cache
def lineage() -> list[tuple[str, str]]:
    """Edges of the pipeline (input table -> table), read from the SQL files themselves (the names
    after FROM and JOIN; the files are ours, plain SQL without quoted or schema-qualified names)."""
    from stedi.contract.tables import TRANSFORMS

    known = {t.name for t in TRANSFORMS} | {f"{s}_landing" for s in ("customer", "accelerometer", "step_trainer")}
    edges = []
    for t in TRANSFORMS:
        sources = set(re.findall(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)", t.sql, flags=re.IGNORECASE))
        edges += [(source, t.name) for source in sorted(sources & known - {t.name})]
    return edges


def mask(value: object, column: str) -> str:
    if value is None:
        return "null"
    if column.lower() in PII_COLUMNS:
        return "•••"
    return EMAIL.sub("•••@•••", str(value))


def collect(warehouse: Warehouse, result: RunResult | None = None) -> ReportData:
    from stedi.contract.tables import TRANSFORMS, Zone
    from stedi.pipeline.query import attach
    from stedi.pipeline.run import zone_of
    from stedi.stages.history import HISTORY_TABLE

    names = warehouse.table_names()
    con = duckdb.connect()
    columns_of: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        columns_of[name] = [(f.name, str(f.type)) for f in attach(con, warehouse, name, name)]
    if HISTORY_TABLE in names:
        facts = con.sql(f"SELECT * FROM {HISTORY_TABLE} ORDER BY run_at").to_arrow_table()
    else:
        from stedi.stages.history import HISTORY_SCHEMA

        facts = HISTORY_SCHEMA.empty_table()
    runs_seen: dict[str, dict[str, Any]] = {}
    for r in facts.select(["run_id", "run_at", "engine", "consent_policy", "ml_join", "published"]).to_pylist():
        runs_seen.setdefault(r["run_id"], r)
    runs = list(runs_seen.values())
    last = runs[-1]["run_id"] if runs else None
    rows_now = {r["table_name"]: r["value"] for r in facts.to_pylist() if r["run_id"] == last and r["kind"] == "table"}
    published = [n for n in names if n != HISTORY_TABLE]
    nodes = [Node(n, zone_of(n), rows_now.get(n)) for n in published]
    nodes += [Node(t.name, Zone.INTERNAL.value, None) for t in TRANSFORMS if t.zone is Zone.INTERNAL]
    quarantine: dict[str, list[tuple[str, int, list[str]]]] = {}
    for name in (n for n in names if n.endswith("_quarantine")):
        groups = con.execute(
            f"SELECT reason, COUNT(*) AS n, list(raw_text ORDER BY source_file, source_line)[1:3] FROM {name}"
            " GROUP BY reason ORDER BY n DESC, reason LIMIT 20"
        ).fetchall()
        quarantine[name] = [(reason, n, [mask(s[:300], "raw_text") for s in samples]) for reason, n, samples in groups]
    schemas: dict[str, list[tuple[str, str]]] = {}
    samples: dict[str, tuple[list[str], list[list[str]]]] = {}
    for name in published:
        schemas[name] = columns_of[name]
        sample = con.sql(f'SELECT * FROM "{name}" LIMIT {SAMPLE_ROWS}').to_arrow_table()
        head = sample.column_names
        samples[name] = (head, [[mask(r[c], c) for c in head] for r in sample.to_pylist()])
    con.close()
    notes = list(result.notes) if result else []
    return ReportData(runs, facts, nodes, lineage(), quarantine, schemas, samples, notes)


def write_report(warehouse: Warehouse, result: RunResult | None = None) -> str:
    """Write report.html into the warehouse; returns its location."""
    html = render(collect(warehouse, result))
    location = f"{warehouse.location.rstrip('/')}/{REPORT_FILE}"
    if is_remote(location):
        from stedi.warehouse.storage import filesystem

        fs, path = filesystem(location)
        with fs.open_output_stream(path) as out:
            out.write(html.encode("utf-8"))
    else:
        Path(location).write_text(html, encoding="utf-8")
    return location


def write_report_for(location: str, catalog: str | None, result: RunResult | None = None) -> str:
    from stedi.warehouse.catalog import Warehouse

    return write_report(Warehouse(location, catalog=catalog), result)
