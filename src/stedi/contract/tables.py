"""Every table of a warehouse, declared once.

A table built by SQL is one file `sql/NAME.sql` that opens with its declaration, a TOML block in a
comment:

    /* @table
    zone = "trusted"                 # landing, quarantine, internal, trusted, curated, system
    description = "..."
    input = "customer_landing"       # the table its rows come from (rows in, for the funnel)
    key = ["email"]                  # unique per row: checked on every run
    person = [{kind = "email", column = "email"}]   # how erasure finds a person (see Person)
    consent = "email"                # every row's email must be a consenting customer's
    [[drop]]   code, one, many, sql, only      # why rows fell away, one count query each
    [[check]]  kind, ...                       # data-quality checks (see contract.checks)
    */
    SELECT ...

The build order is derived from the SQL (the relations after FROM and JOIN). Landing and quarantine
tables are declared by their sources (`sources.py`), the system tables below. Privacy invariants,
erasure, checks, the funnel, zones, DDL and the report all read these declarations; adding a table
is adding one SQL file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from stedi.contract.sources import PERSON_KINDS, SOURCES, Person
from stedi.errors import SettingsError


class Zone(Enum):
    LANDING = "landing"
    QUARANTINE = "quarantine"
    INTERNAL = "internal"  # built for other tables, never published
    TRUSTED = "trusted"
    CURATED = "curated"
    SYSTEM = "system"  # the warehouse's own records: ingested files, run history, erasure ledger


@dataclass(frozen=True)
class Drop:
    """Why rows fell away between a table's input and output: `sql` counts them.

    `only`: the run parameters under which the reason exists; under others it drops nothing, and
    its count is not computed (a query over the largest tables, at scale, saved).
    """

    code: str  # stable, for grouping across runs
    one: str  # the text after a count of 1
    many: str
    sql: str
    only: Mapping[str, str] = field(default_factory=dict)

    def applies(self, parameters: Mapping[str, str]) -> bool:
        return all(parameters.get(k) == v for k, v in self.only.items())

    def text(self, count: int) -> str:
        return f"{count:,} {self.one if count == 1 else self.many}"


@dataclass(frozen=True)
class Pseudonym:
    """The column holding `subject_id`s, and the emails (`table.column`) they are made from."""

    column: str
    of: str

    @property
    def source(self) -> tuple[str, str]:
        table, _, column = self.of.partition(".")
        return table, column


@dataclass(frozen=True)
class Table:
    name: str
    zone: Zone
    description: str = ""
    sql: str | None = None  # None: written by the reader or by the warehouse, not built by SQL
    input: str | None = None
    key: tuple[str, ...] = ()
    person: tuple[Person, ...] = ()
    consent: str | None = None
    pseudonym: Pseudonym | None = None
    no_personal_columns: bool = False
    drops: tuple[Drop, ...] = ()
    checks: tuple[Mapping[str, Any], ...] = ()
    view: bool = False  # internal only: a view its readers compute through, never materialised
    depends: tuple[str, ...] = ()  # relations its SQL reads
    growth: str = ""  # why it may hold more rows than its input (a join that pairs rows)
    # Internal only: (relation, column) of each input whose rows of one value of that column alone
    # give the table's rows of that group (say, one owner's readings); see `stages.regrouping`.
    groups: tuple[tuple[str, str], ...] = ()

    @property
    def published(self) -> bool:
        return self.zone is not Zone.INTERNAL


# The dialect the SQL files are written in (other engines get them transpiled by SQLGlot).
SOURCE_DIALECT = "duckdb"
# Relations the pipeline provides to the SQL besides tables: the run's settings and the pseudonyms.
PARAMETERS, SUBJECT_KEYS = "run_parameters", "subject_keys"
LEDGER_TABLE, HISTORY_TABLE, ERASURE_TABLE = "ingested_files", "run_history", "erasure_ledger"
PATH = "source_file"
HEADER = re.compile(r"\A\s*/\*\s*@table\b(.*?)\*/", re.DOTALL)
_KEYS = {"zone", "description", "input", "key", "person", "consent", "pseudonym", "no_personal_columns", "drop",
         "check", "view", "growth", "groups"}  # fmt: skip
_RELATION = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def _query_of(body: str) -> str:
    """A table's query as the runs embed it in larger statements (a view, `SELECT * FROM (...)`):
    without the semicolons that may end it, and ending with a line break, after any comment."""
    query = body.strip()
    while query.endswith(";"):
        query = query[:-1].rstrip()
    return query + "\n"


def _source_tables() -> list[Table]:
    tables = []
    for source in SOURCES:
        tables.append(
            Table(
                source.landing_table,
                Zone.LANDING,
                f"Every valid {source.name} record as read, with its file.",
                person=(*source.person, Person("path", PATH)),
            )
        )
        tables.append(
            Table(
                source.quarantine_table,
                Zone.QUARANTINE,
                f"{source.name} input that could not be read, and why.",
                person=(Person("text", "raw_text"), Person("path", PATH)),
            )
        )
    return tables


SYSTEM_TABLES = (
    Table(LEDGER_TABLE, Zone.SYSTEM, "Every landing file the tables hold, with what it gave.",
          person=(Person("path", "path"),)),
    Table(HISTORY_TABLE, Zone.SYSTEM, "Every run's table counts, reasons and check outcomes."),
    # Keyed hashes of erased people: never erased from, or they would come back.
    Table(ERASURE_TABLE, Zone.SYSTEM, "Keyed hashes (subject_id) of erased people."),
)  # fmt: skip


def parse(name: str, text: str) -> Table:
    """The declaration of a SQL file `name.sql` (its header) with its SQL."""
    found = HEADER.match(text)
    if not found:
        raise SettingsError(f"{name}.sql: no declaration (a /* @table ... */ block at the top)")
    try:
        spec = tomllib.loads(found.group(1))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{name}.sql: the declaration is not TOML: {exc}") from None
    if unknown := set(spec) - _KEYS:
        raise SettingsError(f"{name}.sql: unknown declaration keys: {', '.join(sorted(unknown))}")
    try:
        zone = Zone(spec.get("zone", ""))
    except ValueError:
        raise SettingsError(f"{name}.sql: zone must be internal, trusted or curated") from None
    people = tuple(_person(name, p) for p in spec.get("person", []))
    pseudonym = spec.get("pseudonym")
    return Table(
        name,
        zone,
        spec.get("description", ""),
        _query_of(text[found.end() :]),
        spec.get("input"),
        tuple(spec.get("key", ())),
        people,
        spec.get("consent"),
        Pseudonym(pseudonym["column"], pseudonym["of"]) if pseudonym else None,
        bool(spec.get("no_personal_columns", False)),
        tuple(Drop(d["code"], d["one"], d["many"], d["sql"], d.get("only", {})) for d in spec.get("drop", [])),
        tuple(spec.get("check", [])),
        bool(spec.get("view", False)),
        growth=spec.get("growth", ""),
        groups=_groups(name, zone, spec.get("groups", {})),
    )


def _groups(table: str, zone: Zone, spec: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(spec, dict) or not all(isinstance(c, str) and c for c in spec.values()):
        raise SettingsError(f"{table}.sql: groups maps each input relation to the column that keys its groups")
    if spec and zone is not Zone.INTERNAL:
        raise SettingsError(f"{table}.sql: only an internal table declares groups")
    return tuple(sorted(spec.items()))


def _person(table: str, spec: Mapping[str, Any]) -> Person:
    if spec.get("kind") not in PERSON_KINDS or "column" not in spec:
        raise SettingsError(f"{table}.sql: person needs a kind ({', '.join(PERSON_KINDS)}) and a column")
    return Person(spec["kind"], spec["column"], spec.get("via"), tuple(spec.get("on", ())))


@dataclass(frozen=True)
class Models:
    """Every table: landing and quarantine, the SQL tables in build order, then the system tables."""

    tables: tuple[Table, ...]
    folder: str | None = None  # where the SQL files came from (None: the package's own)

    def __iter__(self) -> Iterator[Table]:
        return iter(self.tables)

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self.tables)

    def __getitem__(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    @property
    def transforms(self) -> tuple[Table, ...]:
        """The tables built by SQL, in build order."""
        return tuple(t for t in self.tables if t.sql is not None)

    @property
    def published(self) -> tuple[str, ...]:
        """The SQL tables a run publishes, in build order."""
        return tuple(t.name for t in self.transforms if t.published)

    def zone(self, name: str) -> Zone | None:
        return next((t.zone for t in self.tables if t.name == name), None)

    @property
    def personal_columns(self) -> frozenset[str]:
        """Column names (lower-cased) that hold a direct identifier: the sources' personal fields and
        every email column a table declares. None of them may be in a table without personal columns."""
        names = {f.name.lower() for s in SOURCES for f in s.fields if f.personal}
        for table in self.tables:
            names |= {p.column.lower() for p in table.person if p.kind == "email"}
        return frozenset(names)

    def edges(self) -> list[tuple[str, str]]:
        """Lineage: (input relation, table) for every relation a table's SQL reads."""
        return [(source, t.name) for t in self.transforms for source in t.depends]

    def needed_for(self, name: str) -> list[Table]:
        """The SQL tables that must be built, in build order, to compute relation `name`."""
        wanted, stack = set(), [name]
        while stack:
            current = stack.pop()
            if current in wanted or current not in self or self[current].sql is None:
                continue
            wanted.add(current)
            stack.extend(self[current].depends)
        return [t for t in self.transforms if t.name in wanted]


def load(folder: str | Path | None = None) -> Models:
    """The declarations of the SQL files in `folder` (default: the package's own) and the others."""
    return _load(str(folder) if folder is not None else None)


@cache
def _load(folder: str | None) -> Models:
    if folder is None:
        files = {p.name: p.read_text(encoding="utf-8") for p in resources.files("stedi.contract").joinpath("sql").iterdir()
                 if p.name.endswith(".sql")}  # fmt: skip
    else:
        try:
            files = {p.name: p.read_text(encoding="utf-8") for p in Path(folder).glob("*.sql")}
        except OSError as exc:
            raise SettingsError(f"cannot read the SQL folder {folder}: {exc}") from None
        if not files:
            raise SettingsError(f"no SQL files (*.sql) in {folder}")
    declared = [parse(name.removesuffix(".sql"), text) for name, text in sorted(files.items())]
    fixed = _source_tables()
    reserved = {t.name for t in (*fixed, *SYSTEM_TABLES)} | {PARAMETERS, SUBJECT_KEYS}
    if clash := sorted(t.name for t in declared if t.name in reserved):
        raise SettingsError(f"{', '.join(clash)}: the name of a landing, quarantine or system table, or a relation "
                            "the pipeline provides")  # fmt: skip
    known = {t.name for t in (*fixed, *declared)} | {PARAMETERS, SUBJECT_KEYS}
    ordered = _build_order([_with_depends(t, known) for t in declared])
    return Models((*fixed, *ordered, *SYSTEM_TABLES), folder)


def _with_depends(table: Table, known: set[str]) -> Table:
    assert table.sql is not None
    depends = sorted({m for m in _RELATION.findall(table.sql) if m in known} - {table.name})
    if stray := sorted(r for r, _ in table.groups if r not in depends):
        raise SettingsError(f"{table.name}.sql: groups names relations its SQL does not read: {', '.join(stray)}")
    return Table(**{**table.__dict__, "depends": tuple(depends)})


def _build_order(tables: list[Table]) -> list[Table]:
    """Every table after the tables it reads; otherwise by name (a stable order)."""
    pending = {t.name: t for t in tables}
    ordered = []
    while pending:
        ready = sorted(n for n, t in pending.items() if all(d not in pending or d == n for d in t.depends))
        if not ready:
            raise SettingsError(f"the SQL tables read each other in a cycle: {', '.join(sorted(pending))}")
        for name in ready:
            ordered.append(pending.pop(name))
    return ordered
