"""Erasing people from a warehouse's tables and history, so that it completes even when interrupted.

1. The erasure is recorded first: the people's keyed hashes go into the erasure ledger, marked
   pending, in one commit (a person found nowhere is recorded too, so that later data stays out).
2. Every table holding them is rewritten without them (addresses in landing paths redacted), one
   commit per table; `ingested_files` then counts the rows each landing file gives now.
3. If they were found anywhere, in the tables or in their history (older snapshots, branches, runs
   that were not published), every table's history is removed: older snapshots expired, files no
   longer needed deleted. Found nowhere, nothing expires.
4. The ledger entries are marked completed.

A process killed anywhere leaves pending entries: the next `stedi forget` or `stedi run` completes
them, from step 2, with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stedi import faults
from stedi.contract.sources import SOURCES
from stedi.contract.tables import ERASURE_TABLE, LEDGER_TABLE, PARAMETERS, PATH, Models, Zone
from stedi.errors import WarehouseError
from stedi.stages.erasure import (
    Found,
    LedgerEntry,
    attribute,
    attribution_sql,
    find,
    keep_copy,
    keep_sql,
    ledger_table,
    now_us,
    read_ledger,
)
from stedi.stages.planning import FILES_PROPERTY, decode_files, encode_files
from stedi.warehouse import maintenance
from stedi.warehouse.writes import write

if TYPE_CHECKING:
    from stedi.engines.duckdb import DuckDBEngine
    from stedi.subject_key import SubjectKey
    from stedi.warehouse.catalog import Warehouse


@dataclass
class Erasure:
    """What an erasure did: rows removed per person and table, files deleted."""

    removed: dict[str, dict[str, int]] = field(default_factory=dict)  # email or subject_id -> table -> rows
    redacted: dict[str, int] = field(default_factory=dict)  # table -> rows whose landing path was redacted
    in_paths: set[str] = field(default_factory=set)  # emails found in landing paths
    in_history: set[str] = field(default_factory=set)  # emails found in the tables' history
    completed: int = 0  # ledger entries completed
    files_deleted: int = 0
    history_purged: bool = False


def erase(
    warehouse: Warehouse,
    models: Models,
    key: SubjectKey,
    given: dict[str, str],
    memory_limit: str | None = None,
    recheck: bool = False,
) -> Erasure:
    """Erase the people `given` (normalised email -> subject_id) and complete pending erasures; with
    `recheck`, look for everyone in the ledger too (after a rollback: erasure wins)."""
    from stedi.engines.duckdb import DuckDBEngine

    names = warehouse.table_names()
    if undeclared := [n for n in names if n not in models]:
        raise WarehouseError(
            f"table {undeclared[0]} of warehouse {warehouse.location} has no declaration, so erasure cannot know "
            "where it holds people; nothing was erased (give the SQL folder it was built with)"
        )
    ledger = read_ledger(warehouse)
    pending = {e.subject_id for e in ledger if e.completed_at is None}
    subjects = set(given.values()) | pending | ({e.subject_id for e in ledger} if recheck else set())
    result = Erasure()
    if not subjects:
        return result
    if given or pending:
        _record(warehouse, ledger, given, key.fingerprint)
    engine = DuckDBEngine(None, memory_limit)
    try:
        tables = _attach(engine, warehouse, models, names)
        history = _attach_history(engine, warehouse, models, names)
        found = find(engine, {**tables, **history}, subjects, key.secret, given)
        found.load(engine)
        for spec, relation in history.values():
            result.in_history |= _hits(engine, spec, relation, found)
        now = {
            name: _rewrite(engine, warehouse, name, spec, relation, found, result)
            for name, (spec, relation) in tables.items()
        }
        _recount_ledger(engine, warehouse, now)
    finally:
        engine.close()
    result.in_paths = {
        e for path, redacted in found.paths.items() for e in found.emails if found.emails[e][:12] in redacted
    }
    if result.removed or result.redacted or result.in_history:
        for name in warehouse.table_names():
            result.files_deleted += maintenance.purge_history(warehouse, name)
            faults.point(f"forget:purged:{name}")
        result.history_purged = True
    if given or pending or result.history_purged:
        result.completed = _complete(warehouse, subjects)
    return result


def _record(warehouse: Warehouse, ledger: list[LedgerEntry], given: dict[str, str], key_fingerprint: str) -> None:
    """Step 1: the given people in the ledger, pending (again, if they were erased before); then in
    the warehouse's copy of it."""
    now = now_us()
    wanted = set(given.values())
    entries = [
        LedgerEntry(e.subject_id, e.requested_at, None if e.subject_id in wanted else e.completed_at) for e in ledger
    ]
    entries += [LedgerEntry(s, now, None) for s in sorted(wanted - {e.subject_id for e in ledger})]
    if entries != ledger:
        write(warehouse, ERASURE_TABLE, ledger_table(entries))
    keep_copy(warehouse, entries, key_fingerprint)
    faults.point("forget:recorded")


def _complete(warehouse: Warehouse, subjects: set[str]) -> int:
    """Step 4: the ledger entries of `subjects` completed; the ledger's own history removed."""
    now = now_us()
    ledger = read_ledger(warehouse)
    entries = [
        LedgerEntry(e.subject_id, e.requested_at, now if e.subject_id in subjects else e.completed_at) for e in ledger
    ]
    write(warehouse, ERASURE_TABLE, ledger_table(entries))
    maintenance.purge_history(warehouse, ERASURE_TABLE)
    faults.point("forget:completed")
    return sum(e.subject_id in subjects for e in ledger)


def _attach(engine: DuckDBEngine, warehouse: Warehouse, models: Models, names: list[str]) -> dict:
    """Every table holding people as a relation of its own name, and the relations that decide who
    owns what (built from the landing tables, as a run builds them)."""
    tables = {}
    for name in names:
        spec = models[name]
        if not spec.person or name == ERASURE_TABLE:
            continue
        plan = warehouse.data_files(name)
        if plan is None:  # delete files: the rows through pyiceberg
            engine.load(name, warehouse.read(name))
        else:
            engine.attach(name, *plan)
        tables[name] = (spec, name)
    import pyarrow as pa

    engine.load(PARAMETERS, pa.table({"consent_policy": ["all"], "ml_join": ["owner"]}))
    for spec, _ in list(tables.values()):
        for person in spec.person:
            if person.kind == "owned" and person.via and not engine.has(person.via):
                needed = models.needed_for(person.via)
                if all(engine.has(d) for t in needed for d in t.depends if models.zone(d) is Zone.LANDING):
                    for step in needed:
                        engine.build(step.name, step.sql or "", view=step.view)
    return tables


def _attach_history(engine: DuckDBEngine, warehouse: Warehouse, models: Models, names: list[str]) -> dict:
    """What only the tables' history holds (files of older snapshots, branches, unpublished runs)."""
    history = {}
    for name in names:
        spec = models[name]
        if not spec.person or name == ERASURE_TABLE:
            continue
        files = maintenance.history_only_data_files(warehouse, name)
        if files:
            schema = warehouse.load(name).schema().as_arrow()
            history[f"history of {name}"] = (spec, engine.attach(f"history__{name}", files, schema))
    return history


def _hits(engine: DuckDBEngine, spec, relation: str, found: Found) -> set[str]:
    """The people a relation holds (rows that erasure drops, or paths it redacts)."""
    hits = set()
    for query in attribution_sql(spec, relation):
        hits |= set(attribute(found, engine.rows(query)))
    if _redacted(engine, spec, relation):
        hits |= {e for e in found.emails if any(found.emails[e][:12] in r for r in found.paths.values())}
    return hits


def _redacted(engine: DuckDBEngine, spec, relation: str) -> int:
    columns = [p.column for p in spec.person if p.kind == "path"]
    if not columns:
        return 0
    where = " OR ".join(f'"{c}" IN (SELECT path FROM erased_paths)' for c in columns)
    return engine.counts([f"SELECT COUNT(*) FROM {relation} WHERE {where}"])[0]


def _rewrite(
    engine: DuckDBEngine, warehouse: Warehouse, name: str, spec, relation: str, found: Found, result: Erasure
) -> str:
    """Step 2 for one table: rewritten without the people, when it holds any; the relation of its rows now."""
    sql = keep_sql(spec, relation, engine.columns(relation))
    if sql is None:
        return relation
    kept = f"{name}__kept"
    engine.build(kept, sql)
    (total, remaining) = engine.counts([f"SELECT COUNT(*) FROM {relation}", f"SELECT COUNT(*) FROM {kept}"])
    redacted = _redacted(engine, spec, relation)
    if total == remaining and not redacted:
        return relation
    for query in attribution_sql(spec, relation):
        for email, count in attribute(found, engine.rows(query)).items():
            result.removed.setdefault(email, {})[name] = result.removed.get(email, {}).get(name, 0) + count
    if redacted:
        result.redacted[name] = redacted
    _, _, properties = warehouse.state(name)
    if files := decode_files(properties.get(FILES_PROPERTY)):
        redact = {path: found.paths.get(path, path) for path in files}
        properties[FILES_PROPERTY] = encode_files({redact[p]: k for p, k in files.items()})
    write(warehouse, name, engine.rows_of(kept), properties=properties)
    return kept


def _recount_ledger(engine: DuckDBEngine, warehouse: Warehouse, now: dict[str, str]) -> None:
    """Step 2 for `ingested_files`: the rows each landing file gives now, counted in the landing and
    quarantine tables as rewritten. The counts of before would tell how many rows the erased had
    in each file; a run counts them the same way (`stages.ingestion.ledger`)."""
    if LEDGER_TABLE not in now or any(t not in now for s in SOURCES for t in (s.landing_table, s.quarantine_table)):
        return
    counts = " UNION ALL ".join(
        f"SELECT '{s.name}' AS source, '{column}' AS kind, {PATH} AS path, COUNT(*) AS n FROM {now[table]} GROUP BY {PATH}"
        for s in SOURCES
        for column, table in (("records", s.landing_table), ("quarantined", s.quarantine_table))
    )
    replace = ", ".join(
        f"CASE WHEN l.status = 'skipped' THEN l.{c} ELSE COALESCE({c}.n, 0) END AS {c}"
        for c in ("records", "quarantined")
    )
    joins = "".join(
        f" LEFT JOIN counts AS {c} ON {c}.kind = '{c}' AND {c}.source = l.source AND {c}.path = l.path"
        for c in ("records", "quarantined")
    )
    engine.build(
        f"{LEDGER_TABLE}__recounted",
        f"WITH counts AS ({counts}) SELECT l.* REPLACE ({replace}) FROM {now[LEDGER_TABLE]} AS l{joins}",
    )
    write(warehouse, LEDGER_TABLE, engine.rows_of(f"{LEDGER_TABLE}__recounted"))
