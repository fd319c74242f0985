"""Relations that make their input's rows distinct, where those rows were distinct already.

An internal relation such as `SELECT DISTINCT <columns> FROM <one relation>` (the distinct
step-trainer readings) pays for its DISTINCT in every run, though the rows it removes are few or
none. A run whose tables the next one may extend records, as an answer of its record (see `answers`),
whether the relation came out with as many rows as its input: then no two input rows agree on those
columns. A later run in which that input is unchanged (see `extending`) builds the relation as a view
of its input's columns instead: the same rows, none removed, without the work of DISTINCT (0.35 s
of a run with one new phone file at scale 100). A later run in which that input only grew takes the
relation's rows of before as that view over the input's rows of before, and extends it by the
distinct new rows it does not hold (see `extending`). The fact is recorded again by each run, so
that it holds for the tables as each run leaves them.
"""

from __future__ import annotations

from stedi.contract.algebra import without_distinct
from stedi.contract.tables import Table
from stedi.stages import answers
from stedi.stages.context import RunContext


def keep(ctx: RunContext, table: Table) -> None:
    """After building `table` whole, in a run whose tables the next one may extend: for an internal
    relation of this kind, whether its input's rows were distinct already (two counts of rows, which
    the engine keeps with its tables)."""
    if (found := _of(table)) is not None:
        known = _query(table.name, found[0])
        answers.remember(ctx, known, ctx.engine.rows(known))


def built_as_view(ctx: RunContext, table: Table) -> bool:
    """In a run in which the input of `table` is unchanged: built as a view of its input's columns
    when the last run found those rows distinct already (True); else nothing is built (False)."""
    found = held_distinct(ctx, table)
    if found is None:
        return False
    ctx.engine.build(table.name, found[1], view=True)
    held(ctx, table, True)  # the same rows as then: so for the next run too
    return True


def held_distinct(ctx: RunContext, table: Table) -> tuple[str, str] | None:
    """For an internal relation of this kind whose rows the last run found distinct already: its
    input relation and its SQL without DISTINCT (which gave the last run's rows from that input's
    rows of then); else None."""
    found = _of(table)
    if found is None or answers.previous(ctx, _query(table.name, found[0])) != [(True,)]:
        return None
    return found


def held(ctx: RunContext, table: Table, distinct: bool) -> None:
    """Record, found another way, whether the input rows of `table` are still distinct."""
    if (found := _of(table)) is not None:
        answers.remember(ctx, _query(table.name, found[0]), [(distinct,)])


def _of(table: Table) -> tuple[str, str] | None:
    """The input relation and the SQL without DISTINCT, for an internal table of this kind."""
    if table.published or table.view or table.sql is None:
        return None
    return without_distinct(table.sql)


def _query(name: str, relation: str) -> str:
    """The query whose answer tells whether `relation` holds as many rows as `name`, made of its
    distinct rows."""
    return f'SELECT (SELECT COUNT(*) FROM "{relation}") = (SELECT COUNT(*) FROM "{name}")'


def new_distinct(found: str, before: str, names: list[str]) -> str:
    """The rows of `found` (distinct) that `before` does not hold. Only the rows of before equal to a
    found row (NULL equal to NULL, as in EXCEPT) are hashed for EXCEPT, picked by a semi-join that
    hashes the few found rows instead: at scale 100, 0.04-0.15 s where EXCEPT against the whole
    table took 0.25 s."""
    columns = ", ".join(f'"{c}"' for c in names)
    equal = " AND ".join(f'f."{c}" IS NOT DISTINCT FROM b."{c}"' for c in names)
    return (
        f'SELECT * FROM "{found}" EXCEPT SELECT {columns} FROM "{before}" AS b '
        f'WHERE EXISTS (SELECT 1 FROM "{found}" AS f WHERE {equal})'
    )
