"""Answers a run takes from the last one: the counts and figures of queries over relations that did not change.

The checks and reason counts are small answers over whole relations: a run that extends its tables
(see `extending`) would count most of them again over rows it did not touch. That run knows which
relations of its build are unchanged, equal to what the last run that published left, and a query
that reads only unchanged relations answers what it answered then (the SQL is deterministic).

So every run records the answers of its checks and reason counts on the snapshot it appends to
`run_history` (property `stedi.answers`), with the snapshot of every table as the run left it, the
engine, and the basis of the build (settings, key, erasures, SQL, version; see
`freshness.basis`). A later run takes an answer from there only when the record is of the tables as
they are now (the same snapshots, basis and engine), the query is the same text, and every relation
it reads (told by SQLGlot) is one the extension found unchanged. Anything else is counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stedi.engines.base import count_of
from stedi.stages.context import RunContext
from stedi.stages.freshness import basis, committed_snapshots, table_names
from stedi.stages.packed import packed, unpacked

if TYPE_CHECKING:
    from stedi.contract.count_terms import CountTerm

ANSWERS_PROPERTY = "stedi.answers"
MAX_RECORD_BYTES = 4 << 20  # a record is a few kilobytes: a few dozen queries' numbers
# Numbers only: a record outlives erasures in the history's snapshots, so it never holds text.
_PLAIN = (int, float, bool, type(None))

Rows = list[tuple[Any, ...]]


def answer(ctx: RunContext, queries: list[str]) -> list[Rows]:
    """Every row of each query, in order: taken from the last run's record where that is exact (see
    the module), counted by the engine otherwise; this run's record gets them all."""
    known = _usable(ctx)
    digests = [_digest(sql) for sql in queries]
    found: list[Rows | None] = []
    for sql, digest in zip(queries, digests, strict=True):
        carried = known.get(digest) if known and _reads_only_unchanged(ctx, sql) else None
        found.append([tuple(row) for row in carried] if carried is not None else None)
    todo = [i for i, rows in enumerate(found) if rows is None]
    asked = [_by_difference(ctx, queries[i], known.get(digests[i])) or queries[i] for i in todo]
    for i, counted in zip(todo, ctx.engine.rows_of_each(asked), strict=True):
        found[i] = counted
    ctx.carried_answers += len(queries) - len(todo)
    for digest, rows in zip(digests, found, strict=True):
        if rows is not None:
            _keep(ctx, digest, rows)
    return [rows or [] for rows in found]


def previous(ctx: RunContext, sql: str) -> Rows | None:
    """The last run's answer to `sql` when its record is of the tables as they are now (whatever the
    query reads); None otherwise. Asked during the build too."""
    rows = _recorded(ctx).get(_digest(sql))
    return [tuple(row) for row in rows] if rows is not None else None


def remember(ctx: RunContext, sql: str, rows: Rows) -> None:
    """Record `rows` as this run's answer to `sql`, found another way (by a query that gives the same
    answer over the tables as this run leaves them)."""
    _keep(ctx, _digest(sql), rows)


def _keep(ctx: RunContext, digest: str, rows: Rows) -> None:
    if all(isinstance(v, _PLAIN) for row in rows for v in row):
        ctx.answers[digest] = [list(row) for row in rows]


def counts(ctx: RunContext, queries: list[str]) -> list[int]:
    """The integers that count queries return (as `Engine.counts`), through `answer`."""
    return [count_of(rows) for rows in answer(ctx, queries)]


def record(ctx: RunContext) -> str:
    """The property value that records this run's answers, against the snapshots of its tables
    (`ctx.commits`: published, or staged by a run that published nothing, whose record then names
    snapshots no table has); empty when a table has no snapshot to name."""
    snapshots = committed_snapshots(ctx)
    if snapshots is None:
        return ""
    return packed({"engine": ctx.engine.name, "basis": basis(ctx), "snapshots": snapshots, "answers": ctx.answers})


def _usable(ctx: RunContext) -> dict[str, list[list[Any]]]:
    """The last run's answers to take for queries that read only unchanged relations: none until the
    build has told which relations are unchanged, or when it found none."""
    return _recorded(ctx) if ctx.unchanged else {}


def _recorded(ctx: RunContext) -> dict[str, list[list[Any]]]:
    """The last run's answers when its record is of the tables as they are now; else none (decoded once)."""
    if not ctx.answers_before:
        return {}
    if ctx.answers_known is None:
        ctx.answers_known = _decoded(ctx)
    return ctx.answers_known


def _decoded(ctx: RunContext) -> dict[str, list[list[Any]]]:
    """The record's answers when it is of the tables as they are now (snapshots, basis, engine)."""
    # Unreadable, or far larger than any run records (not a record of this program's): everything is counted.
    found = unpacked(ctx.answers_before or "", MAX_RECORD_BYTES)
    if not isinstance(found, dict) or not isinstance(found.get("answers"), dict):
        return {}
    now = {name: ctx.published_snapshots.get(name) for name in table_names(ctx)}
    if (
        found.get("engine") != ctx.engine.name
        or found.get("basis") != basis(ctx)
        or found.get("snapshots") != now
        or any(snapshot is None for snapshot in now.values())
    ):
        return {}
    return {k: v for k, v in found["answers"].items() if isinstance(v, list) and all(isinstance(r, list) for r in v)}


def one_count(rows: Sequence[Sequence[Any]]) -> bool:
    """Whether a query's rows are one integer (a count)."""
    return len(rows) == 1 and len(rows[0]) == 1 and isinstance(rows[0][0], int) and not isinstance(rows[0][0], bool)


def _by_difference(ctx: RunContext, sql: str, last: list[list[Any]] | None) -> str | None:
    """The query that gives `sql`'s answer now from `last`, the last run's, where `sql` is a sum of
    counts (`contract.count_terms`) over relations that grew or are unchanged, whose lookups read only
    unchanged ones: the last answer plus, for each count, its count over the new rows of each grown
    relation it reads (the delta rule: the relations before it as they are now, those after it as
    they were). A count over one relation counted again for some of its groups (see `regrouping`),
    all else unchanged, gains its count over those groups now less theirs before. None where it is not."""
    if not (ctx.grown or ctx.regrouped) or last is None or not one_count(last):
        return None
    from stedi.contract.count_terms import count_terms

    terms = count_terms(sql)
    if terms is None:
        return None
    added = []
    for term in terms:
        if not term.looked_up <= ctx.unchanged:
            return None
        found = _term_difference(ctx, term)
        if found is None:
            return None
        added += [f"{'+' if sign * term.sign > 0 else '-'} ({text})" for sign, text in found]
    return " ".join([f"SELECT {last[0][0]}", *added])


def _term_difference(ctx: RunContext, term: CountTerm) -> list[tuple[int, str]] | None:
    """The counts (sign, SQL) that change one term's last answer into its answer now; None where the
    relations it reads did not only grow, stay or have groups counted again (alone)."""
    from stedi.contract.algebra import with_relations

    regrouped = [r for r in term.relations if r in ctx.regrouped]
    if regrouped:
        if len(regrouped) > 1 or any(r not in ctx.unchanged for r in term.relations if r != regrouped[0]):
            return None
        was_now = ctx.regrouped[regrouped[0]]
        return [(-1, with_relations(term.sql, {regrouped[0]: was_now.was})),
                (1, with_relations(term.sql, {regrouped[0]: was_now.now}))]  # fmt: skip
    if any(r not in ctx.grown and r not in ctx.unchanged for r in term.relations):
        return None
    found = []
    for i, relation in enumerate(term.relations):
        if (grown := ctx.grown.get(relation)) is None:
            continue
        names = {relation: grown.delta}
        names |= {r: ctx.grown[r].before for r in term.relations[i + 1 :] if r in ctx.grown}
        found.append((1, with_relations(term.sql, names)))
    return found


def _reads_only_unchanged(ctx: RunContext, sql: str) -> bool:
    from stedi.contract.algebra import relations_read

    relations = relations_read(sql)
    return relations is not None and bool(relations) and relations <= ctx.unchanged


def _digest(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()[:32]
