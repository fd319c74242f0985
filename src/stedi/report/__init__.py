"""The run report: one self-contained HTML file (inline CSS and SVG, no script, no network).

Built from the warehouse alone (run_history, the tables, their schemas), so `stedi report` rewrites
it at any time and `stedi run` writes it after every run that reads landing data. Personal data is
masked: sample rows show no email, name, phone or birthday, and emails in quarantined raw text are
replaced."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from stedi.contract.identity import addresses_in
from stedi.contract.sources import SOURCES
from stedi.contract.tables import HISTORY_TABLE, Models, Zone, load
from stedi.errors import WarehouseError
from stedi.report.card import CARD_JSON, CARD_MARKDOWN, build_card, card_json, card_markdown
from stedi.report.html import render
from stedi.storage import explain, is_remote, write_atomically
from stedi.warehouse.duckdb_views import write_duckdb_views
from stedi.warehouse.scan import attach

if TYPE_CHECKING:
    from stedi.results import RunResult
    from stedi.warehouse.catalog import Warehouse

REPORT_FILE = "report.html"
SAMPLE_ROWS = 5
REPORT_RUNS = 100  # the runs the report's history shows, the last ones (`stedi history` lists every run)


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
    card: dict[str, Any] | None = None  # the dataset card of machine_learning_curated (see card.py)
    growth: dict[str, str] = field(default_factory=dict)  # table -> why it may have more rows than its input
    singular: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, drop code) -> the reason for one row
    recorded: int = 0  # the runs run_history holds (`runs` are the last of them)


def mask(value: object, column: str, personal: frozenset[str]) -> str:
    """A value as the report may show it: personal columns hidden, addresses in text replaced (in
    time linear in the text)."""
    if value is None:
        return "null"
    if column.lower() in personal:
        return "•••"
    text = str(value)
    for address in sorted(addresses_in(text), key=len, reverse=True):
        text = _replace_any_case(text, address, "•••@•••")
    return mask_raw(text) if column == RAW_COLUMN else text


RAW_COLUMN = "raw_text"  # a quarantined line as it was read: anything may be in it
# In a raw line: a JSON key, a string (closed or cut off), or a run of word characters.
_RAW_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"\s*:|"(?:[^"\\]|\\.)*"?|[^\s{}\[\],:"]+')
_SHOWN_WORDS = frozenset({"true", "false", "null"})
_FIELD_NAMES = frozenset(f.name.lower() for source in SOURCES for f in source.fields)  # keys shown as they are
_SMALL_NUMBER = re.compile(r"-?\d{1,6}(?:\.\d+)?(?:[eE][+-]?\d+)?")


def mask_raw(text: str) -> str:
    """A quarantined line with its shape and keys kept, so that a reader sees why it was refused,
    and every value that could identify someone hidden: strings (names, emails, phones, birthdays,
    serials), long numbers (phones, times) and any other word. Small numbers, booleans and nulls stay."""

    def shown(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith('"'):
            if not token.rstrip().endswith(":"):
                return '"•••"'
            return token if token.rstrip()[1:-1].rstrip()[:-1].lower() in _FIELD_NAMES else '"•••":'
        if token in _SHOWN_WORDS or _SMALL_NUMBER.fullmatch(token):
            return token
        return "•••"

    return _RAW_TOKEN.sub(shown, text)


def _replace_any_case(text: str, needle: str, replacement: str) -> str:
    lowered, out, start = text.lower(), [], 0
    if len(lowered) != len(text):
        return lowered.replace(needle, replacement)
    while (at := lowered.find(needle, start)) != -1:
        out += [text[start:at], replacement]
        start = at + len(needle)
    return "".join(out) + text[start:]


def collect(warehouse: Warehouse, result: RunResult | None = None, models: Models | None = None) -> ReportData:
    models = models or load()
    names = warehouse.table_names()
    con = duckdb.connect()
    columns_of: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        columns_of[name] = [(f.name, str(f.type)) for f in attach(con, warehouse, name, name)]
    recorded = 0
    if HISTORY_TABLE in names:
        facts = con.sql(_recent_facts(REPORT_RUNS)).to_arrow_table()
        recorded = con.execute(f"SELECT COUNT(DISTINCT run_id) FROM {HISTORY_TABLE}").fetchall()[0][0]
    else:
        facts = pa.table({c: pa.array([], pa.string()) for c in ("run_id", "run_at", "engine", "consent_policy",
                          "ml_join", "published", "kind", "table_name", "name", "status", "severity", "value",
                          "expected")})  # fmt: skip
    facts = _in_table_order(facts, models)
    runs_seen: dict[str, dict[str, Any]] = {}
    for r in facts.select(["run_id", "run_at", "engine", "consent_policy", "ml_join", "published"]).to_pylist():
        runs_seen.setdefault(r["run_id"], r)
    runs = list(runs_seen.values())
    # What readers see is the last published run's state, whatever runs after it were refused or failed.
    last = next((r["run_id"] for r in reversed(runs) if r["published"]), None)
    rows_now = {r["table_name"]: r["value"] for r in facts.to_pylist() if r["run_id"] == last and r["kind"] == "table"}
    published = [n for n in names if n != HISTORY_TABLE]
    nodes = [Node(n, _zone(models, n), rows_now.get(n)) for n in published]
    nodes += [Node(t.name, Zone.INTERNAL.value, None) for t in models.transforms if t.zone is Zone.INTERNAL]
    rank = _table_rank(models)
    nodes.sort(key=lambda node: rank(node.name))
    personal = models.personal_columns
    quarantine: dict[str, list[tuple[str, int, list[str]]]] = {}
    for name in (n for n in names if n.endswith("_quarantine")):
        groups = con.execute(
            f"SELECT reason, COUNT(*) AS n, list(raw_text ORDER BY source_file, source_line)[1:3] FROM {name}"
            " GROUP BY reason ORDER BY n DESC, reason LIMIT 20"
        ).fetchall()
        quarantine[name] = [
            (reason, n, [mask(s[:300], "raw_text", personal) for s in samples]) for reason, n, samples in groups
        ]
    schemas: dict[str, list[tuple[str, str]]] = {}
    samples: dict[str, tuple[list[str], list[list[str]]]] = {}
    for name in published:
        schemas[name] = columns_of[name]
        sample = con.sql(f'SELECT * FROM "{name}" LIMIT {SAMPLE_ROWS}').to_arrow_table()
        head = sample.column_names
        samples[name] = (head, [[mask(r[c], c, personal) for c in head] for r in sample.to_pylist()])
    from stedi.warehouse.catalog import KEY_PROPERTY

    card = build_card(con, facts.to_pylist(), names, warehouse.namespace_properties().get(KEY_PROPERTY))
    con.close()
    notes = list(result.notes) if result else []
    known = {t.name for t in models}
    edges = [(a, b) for a, b in models.edges() if a in known]
    growth = {t.name: t.growth for t in models if t.growth}
    singular = {(t.name, d.code): d.one for t in models for d in t.drops}
    return ReportData(runs, facts, nodes, edges, quarantine, schemas, samples, notes, card, growth, singular, recorded)


def _recent_facts(most: int) -> str:
    """The facts of the last `most` runs and of the last two that published (the state the report
    shows, and the change from the one before), oldest first: a warehouse's history grows with
    every run, and the report of each run would otherwise read and chart all of it."""
    runs = (
        f"SELECT run_id, MIN(run_at) AS started, BOOL_OR(published) AS published FROM {HISTORY_TABLE} GROUP BY run_id"
    )
    return (
        f"WITH runs AS ({runs}) SELECT * FROM {HISTORY_TABLE} WHERE run_id IN "
        f"(SELECT run_id FROM (SELECT run_id FROM runs ORDER BY started DESC LIMIT {most}) AS latest UNION "
        "SELECT run_id FROM (SELECT run_id FROM runs WHERE published ORDER BY started DESC LIMIT 2) AS shown) "
        "ORDER BY run_at"
    )


ZONE_ORDER = ("landing", "quarantine", "internal", "trusted", "curated", "system")


def _table_rank(models: Models) -> Callable[[str | None], tuple[int, int, str]]:
    """The one order of tables in the report: by zone, then in build order."""
    position = {t.name: i for i, t in enumerate(models)}

    def rank(name: str | None) -> tuple[int, int, str]:
        zone = _zone(models, name) if name else "other"
        order = ZONE_ORDER.index(zone) if zone in ZONE_ORDER else len(ZONE_ORDER)
        return order, position.get(name or "", len(position)), name or ""

    return rank


def _in_table_order(facts: pa.Table, models: Models) -> pa.Table:
    """The facts of each run in one stable order: tables by zone, then in build order; a table's
    drops and checks in the order they were recorded under it, then by name."""
    rank = _table_rank(models)
    rows = facts.to_pylist()
    runs = {r["run_id"]: i for i, r in reversed(list(enumerate(rows)))}  # a run's place: its first fact
    ordered = sorted(rows, key=lambda r: (runs[r["run_id"]], rank(r["table_name"]), str(r["kind"]), str(r["name"])))
    return pa.Table.from_pylist(ordered, schema=facts.schema)


def _zone(models: Models, name: str) -> str:
    zone = models.zone(name)
    return zone.value if zone else "other"


def write_report(warehouse: Warehouse, result: RunResult | None = None, models: Models | None = None) -> str:
    """Write report.html, the dataset card and the DuckDB views file (`duckdb_views`) into the
    warehouse, each atomically (a reader never sees half a file); returns the report's location."""
    data = collect(warehouse, result, models)
    files = {REPORT_FILE: render(data)}
    if data.card is not None:
        files[CARD_MARKDOWN], files[CARD_JSON] = card_markdown(data.card), card_json(data.card)
    for name, text in files.items():
        _put(warehouse, name, text.encode("utf-8"))
    write_duckdb_views(warehouse)  # kept current with the report (runs that read landing data, `stedi report`)
    return f"{warehouse.location.rstrip('/')}/{REPORT_FILE}"


def _put(warehouse: Warehouse, name: str, data: bytes) -> None:
    location = f"{warehouse.location.rstrip('/')}/{name}"
    try:
        if is_remote(location):
            from stedi.storage import filesystem

            fs, path = filesystem(location)
            with fs.open_output_stream(path) as out:  # one object PUT: whole or not at all
                out.write(data)
        else:
            write_atomically(Path(location), data)
    except OSError as exc:
        raise WarehouseError(f"cannot write {location}: {explain(exc, warehouse.location)}") from exc


def write_report_for(location: str, catalog: str | None, result: RunResult | None = None) -> str:
    from stedi.warehouse.catalog import Warehouse

    return write_report(Warehouse(location, catalog=catalog), result)
