"""Finding erased people in relations, and what each table keeps without them.

Everything is derived from the tables' declared `person` columns (see contract.tables): an email
column (compared normalised), the pseudonym, free text (the address must stand whole in it), a
landing path (the address is redacted, the row stays) and rows owned through another relation (a
step-trainer reading is its owner's). People are given as keyed hashes (`subject_id`s, as the
erasure ledger holds them): every address found in the relations is hashed and compared, so no
email is ever needed to keep someone out, and no substring of one ever matches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from stedi.contract.identity import EMAIL_MACRO, addresses_in, addresses_in_path, redact_path
from stedi.contract.privacy import subject_id
from stedi.contract.tables import ERASURE_TABLE, Table
from stedi.errors import WarehouseError
from stedi.warehouse import erased_copy
from stedi.warehouse.folder import holds_committed

if TYPE_CHECKING:
    from stedi.engines.base import Engine
    from stedi.warehouse.catalog import Warehouse

LEDGER_SCHEMA = pa.schema(
    [
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("requested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("completed_at", pa.timestamp("us", tz="UTC")),  # null: an erasure not yet completed
    ]
)
RELATIONS = ("erased_emails", "erased_subjects", "erased_texts", "erased_paths")


@dataclass(frozen=True)
class LedgerEntry:
    subject_id: str
    requested_at: int  # microseconds since the epoch
    completed_at: int | None


@dataclass
class Found:
    """The erased people found in some relations, and where."""

    emails: dict[str, str] = field(default_factory=dict)  # normalised email -> subject_id
    subjects: set[str] = field(default_factory=set)
    texts: dict[str, set[str]] = field(default_factory=dict)  # text -> emails standing whole in it
    paths: dict[str, str] = field(default_factory=dict)  # path -> the path redacted

    def load(self, engine: Engine) -> None:
        """The relations `keep_sql` reads."""
        emails = sorted(self.emails)
        engine.load("erased_emails", pa.table({"email": pa.array(emails, pa.string())}))
        engine.load("erased_subjects", pa.table({"subject_id": pa.array(sorted(self.subjects), pa.string())}))
        engine.load("erased_texts", pa.table({"text": pa.array(sorted(self.texts), pa.string())}))
        paths = sorted(self.paths.items())
        engine.load(
            "erased_paths",
            pa.table({"path": pa.array([p for p, _ in paths], pa.string()),
                      "redacted": pa.array([r for _, r in paths], pa.string())}),
        )  # fmt: skip


def replacement(subject: str) -> str:
    """What an erased address in a file name becomes."""
    return f"erased-{subject[:12]}"


def path_redactor(subjects: set[str], key: bytes):  # -> Callable[[str], str]
    """A function that redacts the addresses of erased people in landing paths."""

    def redact(path: str) -> str:
        if "@" not in path or not subjects:
            return path
        hits = {e: replacement(s) for e in addresses_in_path(path) if (s := subject_id(key, e)) in subjects}
        return redact_path(path, hits) if hits else path

    return redact


def find(
    engine: Engine,
    tables: dict[str, tuple[Table, str]],
    subjects: set[str],
    key: bytes,
    known: dict[str, str] | None = None,
) -> Found:
    """Who of `subjects` appears in the given relations (table name -> (declaration, relation)).
    `known`: emails given by the user (email -> subject_id), matched whether hashed or not."""
    found = Found(dict(known or {}), set(subjects))
    candidates: set[str] = set()
    texts: dict[str, set[str]] = {}
    paths: dict[str, set[str]] = {}
    for spec, relation in tables.values():
        for person in spec.person:
            column = f'"{person.column}"'
            if person.kind == "email":
                sql = f"SELECT DISTINCT {EMAIL_MACRO}({column}) FROM {relation} WHERE {column} LIKE '%@%'"
                candidates |= {str(e) for (e,) in engine.rows(sql)}
            elif person.kind in ("text", "path"):
                sql = f"SELECT DISTINCT {column} FROM {relation} WHERE {column} LIKE '%@%'"
                finder = addresses_in if person.kind == "text" else addresses_in_path
                target = texts if person.kind == "text" else paths
                for (value,) in engine.rows(sql):
                    target[str(value)] = finder(str(value))
                    candidates |= target[str(value)]
    for email in candidates - set(found.emails):
        if (subject := subject_id(key, email)) in subjects:
            found.emails[email] = subject
    found.subjects |= set(found.emails.values())
    hit = set(found.emails)
    found.texts = {text: emails & hit for text, emails in texts.items() if emails & hit}
    for path, emails in paths.items():
        if emails & hit:
            found.paths[path] = redact_path(path, {e: replacement(found.emails[e]) for e in emails & hit})
    return found


def keep_sql(spec: Table, relation: str, columns: list[str]) -> str | None:
    """The relation's rows without the erased people (relations of `Found.load`), paths redacted;
    None when the table declares no person."""
    if not spec.person:
        return None
    conditions: list[str] = []
    replaced: dict[str, str] = {}
    joins: list[str] = []
    for p in spec.person:
        column = f't."{p.column}"'
        if p.kind == "email":
            conditions.append(f"({column} IS NULL OR {EMAIL_MACRO}({column}) NOT IN (SELECT email FROM erased_emails))")
        elif p.kind == "subject_id":
            conditions.append(f"({column} IS NULL OR {column} NOT IN (SELECT subject_id FROM erased_subjects))")
        elif p.kind == "text":
            conditions.append(f"({column} IS NULL OR {column} NOT IN (SELECT text FROM erased_texts))")
        elif p.kind == "owned":
            on = " AND ".join(f'v."{c}" = t."{c}"' for c in p.on)
            conditions.append(
                f'NOT EXISTS (SELECT 1 FROM {p.via} AS v WHERE {on} AND v."{p.column}" IN (SELECT email FROM erased_emails))'
            )
        elif p.kind == "path":
            # A join, not a scalar subquery per row: Spark refuses correlated scalar subqueries
            # (erased_paths has one row per path).
            alias = f"r{len(joins)}"
            joins.append(f" LEFT JOIN erased_paths AS {alias} ON {alias}.path = {column}")
            replaced[p.column] = f"COALESCE({alias}.redacted, {column})"
    projection = ", ".join(f'{replaced[c]} AS "{c}"' if c in replaced else f't."{c}"' for c in columns)
    where = " AND ".join(conditions) or "TRUE"
    return f"SELECT {projection} FROM {relation} AS t{''.join(joins)} WHERE {where}"


def attribution_sql(spec: Table, relation: str) -> list[str]:
    """Queries that count, per erased person, the rows of the relation `keep_sql` drops: each gives
    (email or subject_id or text, count)."""
    queries = []
    for p in spec.person:
        column = f't."{p.column}"'
        if p.kind == "email":
            queries.append(
                f"SELECT {EMAIL_MACRO}({column}), COUNT(*) FROM {relation} AS t"
                f" WHERE {EMAIL_MACRO}({column}) IN (SELECT email FROM erased_emails) GROUP BY 1"
            )
        elif p.kind in ("subject_id", "text"):
            target = "subject_id FROM erased_subjects" if p.kind == "subject_id" else "text FROM erased_texts"
            queries.append(
                f"SELECT {column}, COUNT(*) FROM {relation} AS t WHERE {column} IN (SELECT {target}) GROUP BY 1"
            )
        elif p.kind == "owned":
            on = " AND ".join(f'v."{c}" = t."{c}"' for c in p.on)
            owners = f"(SELECT DISTINCT {', '.join(chr(34) + c + chr(34) for c in (*p.on, p.column))} FROM {p.via})"
            queries.append(
                f'SELECT v."{p.column}", COUNT(*) FROM {relation} AS t JOIN {owners} AS v ON {on}'
                f' WHERE v."{p.column}" IN (SELECT email FROM erased_emails) GROUP BY 1'
            )
    return queries


def attribute(found: Found, rows: list[tuple[object, int]]) -> dict[str, int]:
    """Rows counted by `attribution_sql`, per email."""
    by_subject = {s: e for e, s in found.emails.items()}
    per: dict[str, int] = {}
    for value, count in rows:
        text = str(value)
        emails = found.texts.get(text) or ({by_subject[text]} if text in by_subject else {text})
        for email in emails:
            per[email] = per.get(email, 0) + int(count)
    return per


def recorded_entries(warehouse: Warehouse) -> list[LedgerEntry]:
    """The entries of the erasure ledger table as it is (none without one), whatever its copy names."""
    return _ledger_entries(warehouse) if ERASURE_TABLE in warehouse.table_names() else []


def read_ledger(warehouse: Warehouse) -> list[LedgerEntry]:
    """The erasure ledger; an older one (subject_id, erased_at in ms) counts as completed. A catalog
    whose ledger lacks someone the warehouse's copy of it names is stale, and refused (see
    `warehouse.erased_copy`)."""
    listed = ERASURE_TABLE in warehouse.table_names()
    entries = _ledger_entries(warehouse) if listed else []
    copy = erased_copy.read(warehouse.location)
    if copy is not None and (missing := copy.subjects - {e.subject_id for e in entries}):
        raise _stale(
            warehouse, f"does not know {len(missing)} erasure(s) recorded in the warehouse's {erased_copy.FILE}"
        )
    if not listed and erased_copy.path_of(warehouse.location) and holds_committed(warehouse.location, ERASURE_TABLE):
        raise _stale(warehouse, "does not list the erasure ledger its folder holds")
    return entries


def _stale(warehouse: Warehouse, what: str) -> WarehouseError:
    if erased_copy.path_of(warehouse.location) is None:  # object storage: `stedi recover` is for local folders
        remedy = "use the catalog that recorded those erasures (a backup taken after them)"
    else:
        remedy = f"`stedi recover --warehouse {warehouse.location}` rebuilds it from the tables' own metadata"
    return WarehouseError(
        f"the catalog of warehouse {warehouse.location} {what}: it was restored from an older backup or replaced, "
        f"and would bring erased people back; nothing was done. {remedy}"
    )


def keep_copy(warehouse: Warehouse, entries: list[LedgerEntry], key_fingerprint: str) -> None:
    """The warehouse's copy of the ledger brought up to date (written only when it differs)."""
    subjects = frozenset(e.subject_id for e in entries)
    if erased_copy.read(warehouse.location) != erased_copy.ErasedCopy(subjects, key_fingerprint):
        erased_copy.write(warehouse.location, subjects, key_fingerprint)


def _ledger_entries(warehouse: Warehouse) -> list[LedgerEntry]:
    table = warehouse.read(ERASURE_TABLE)
    names = table.column_names
    subjects = table.column("subject_id").to_pylist()
    if "requested_at" in names:
        requested = table.column("requested_at").cast(pa.int64()).to_pylist()
        completed = table.column("completed_at").cast(pa.int64()).to_pylist() if "completed_at" in names else requested
    else:
        requested = [int(v) * 1000 for v in table.column("erased_at").to_pylist()]
        completed = requested
    return [LedgerEntry(s, r, c) for s, r, c in zip(subjects, requested, completed, strict=True)]


def ledger_table(entries: list[LedgerEntry]) -> pa.Table:
    return pa.table(
        {
            "subject_id": pa.array([e.subject_id for e in entries], pa.string()),
            "requested_at": pa.array([e.requested_at for e in entries], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "completed_at": pa.array([e.completed_at for e in entries], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        },
        schema=LEDGER_SCHEMA,
    )


def now_us() -> int:
    return time.time_ns() // 1000
