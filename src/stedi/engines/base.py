"""What every engine implements: a relation engine (read landing files, build relations from SQL,
count and read small results) and a table writer (stage relations as warehouse tables, publish them).

Engines differ in what their writer can do; the pipeline asks these flags, never an engine's name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stedi.contract.identity import EMAIL_MACRO, EMAIL_SQL
from stedi.contract.tables import SOURCE_DIALECT
from stedi.warehouse.writes import ANY_SNAPSHOT

if TYPE_CHECKING:
    import pyarrow as pa

    from stedi.contract.sources import Source
    from stedi.reading.landing import LandingFile
    from stedi.reading.reader import FileRead
    from stedi.warehouse.session import Session
    from stedi.warehouse.writes import Commit


@dataclass(frozen=True)
class Capabilities:
    skips_unchanged: bool  # a table whose rows did not change gets no new snapshot
    stages_on_branch: bool  # staged rows are committed to the audit branch, kept there if checks fail
    checks_expected: bool  # a write is refused when another writer moved the table since planning
    appends: bool  # only the new rows of a landing table are written when the rest is unchanged
    extends: bool = False  # tables after the landing tables are extended with new rows (see stages.extending)


class TableWriter(ABC):
    """Turns relations of its engine into warehouse tables: staged first, published after the checks."""

    capabilities: Capabilities

    @abstractmethod
    def stage(
        self,
        name: str,
        *,
        append_from: str | None = None,
        properties: dict[str, str] | None = None,
        expected: object = ANY_SNAPSHOT,
    ) -> None:
        """Stage relation `name` as the warehouse table of that name (possibly in the background).

        `append_from`: a relation holding the rows of `name` the table lacks (append instead of
        rewrite); `properties`: stored on the snapshot; `expected`: the snapshot planned against.
        """

    @abstractmethod
    def staged(self) -> dict[str, Commit]:
        """Wait for every staged table; their commits in staging order (the first failure is raised)."""

    @abstractmethod
    def publish_staged(self) -> dict[str, Commit]:
        """Publish every staged table, in staging order; the commits as published."""


def publish_commits(session: Session, commits: dict[str, Commit]) -> dict[str, Commit]:
    """Publish the staged snapshots among `commits`: every one is checked first, so a run that
    another writer overtook (possible without a lock) publishes nothing; the commits as published."""
    from dataclasses import replace

    from stedi.errors import WarehouseError
    from stedi.warehouse.publishing import publish, unpublishable

    staged = {name: c.snapshot_id for name, c in commits.items() if c.staged and c.snapshot_id is not None}
    for name, snapshot in staged.items():
        if problem := session.run(lambda w, n=name, s=snapshot: unpublishable(w, n, s)):  # type: ignore[misc]
            raise WarehouseError(f"{problem}; nothing of this run was published. Run again")
    for name, snapshot in staged.items():
        session.run(lambda w, n=name, s=snapshot: publish(w, n, s))  # type: ignore[misc]
    return {name: replace(commit, staged=False) for name, commit in commits.items()}


def count_of(rows: list[tuple[Any, ...]]) -> int:
    """The integer a count query answers (its first value; 0 for none or NULL)."""
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


class Engine(ABC):
    name: str
    dialect: str  # SQLGlot dialect the engine speaks

    def translate(self, sql: str) -> str:
        """SQL of the SQL files (DuckDB dialect, with the `normalised_email` macro) in this engine's dialect."""
        if self.dialect == SOURCE_DIALECT:
            return sql
        import sqlglot  # only engines of another dialect need it
        from sqlglot import exp

        body = sqlglot.parse_one(EMAIL_SQL, read=SOURCE_DIALECT)

        def expand(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Anonymous) and node.name.lower() == EMAIL_MACRO and len(node.expressions) == 1:
                argument = node.expressions[0]
                return body.transform(lambda n: argument.copy() if isinstance(n, exp.Column) and n.name == "x" else n)
            return node

        trees = [tree.transform(expand) for tree in sqlglot.parse(sql, read=SOURCE_DIALECT) if tree is not None]
        return ";\n".join(tree.sql(dialect=self.dialect) for tree in trees)

    def reserve(self, landing_bytes: int) -> None:  # noqa: B027 - optional hook
        """Told before reading: the landing data of the run is `landing_bytes` (the tables are built from it)."""

    def settle(self) -> None:  # noqa: B027 - optional hook
        """Told after reading, before anything is built or written: the landing relations are complete."""

    @abstractmethod
    def ingest(self, root: str, source: Source, files: list[LandingFile]) -> list[FileRead]:
        """Read the given landing files of a source into relations `<source>_landing` and
        `<source>_quarantine`; what each file gave (its digest, records, quarantined rows)."""

    @abstractmethod
    def attach(self, name: str, files: list[str], schema: pa.Schema) -> str:
        """Relation `name` over a warehouse table's rows, given its data files (where they are now)
        and its schema; returns the name to read it by."""

    @abstractmethod
    def load(self, name: str, data: pa.Table) -> None:
        """Make a small Arrow table (settings, pseudonyms) available to SQL under `name`."""

    @abstractmethod
    def build(self, name: str, sql: str, *, view: bool = False) -> None:
        """Materialise the result of `sql` (source dialect) as relation `name`; with `view`, define
        `name` as the query instead, computed wherever it is read."""

    @abstractmethod
    def rename(self, source: str, target: str) -> None:
        """Make relation `source` known as `target`, replacing what `target` was."""

    @abstractmethod
    def has(self, name: str) -> bool:
        """Whether relation `name` exists."""

    @abstractmethod
    def columns(self, name: str) -> list[str]:
        """The column names of a relation."""

    @abstractmethod
    def described(self, name: str) -> list[tuple[str, str]]:
        """The columns of a relation with their types, as the engine names them."""

    def fingerprint(self, name: str) -> str | None:
        """A fingerprint of the relation's rows (`warehouse.fingerprints`: its schema and multiset of
        rows); None from an engine that makes none."""
        return None

    def distinct_estimate(self, name: str, column: str) -> int | None:
        """About how many distinct values a numeric column (DOUBLE or an integer) of a relation holds,
        from statistics the engine keeps without a pass over it; None when it keeps none."""
        return None

    def counts(self, queries: list[str]) -> list[int]:
        """The integers that count queries (source dialect) return."""
        return [count_of(rows) for rows in self.rows_of_each(queries)]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Every row of a (small) query in the source dialect."""
        return self.fetch_rows(self.translate(sql))

    def rows_of_each(self, queries: list[str]) -> list[list[tuple[Any, ...]]]:
        """Every row of each (small) query, in order; an engine may run them side by side."""
        return [self.rows(q) for q in queries]

    @abstractmethod
    def fetch_rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Every row of a query in this engine's own dialect."""

    @property
    @abstractmethod
    def writer(self) -> TableWriter:
        """This engine's table writer."""

    def explain(self, exc: BaseException) -> str:
        """What went wrong, in one line a user can read (an engine's errors may carry its own stack)."""
        return " ".join(str(exc).split()) or type(exc).__name__

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the engine's resources."""
