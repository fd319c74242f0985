"""Whether a run's tables are ones a later run may extend (see `extending`), and what such a run
keeps of its build for the next: the fingerprints of the internal relations that can only be rebuilt
whole, and whether a DISTINCT found its input's rows distinct already (see `distinctness`).

Runs over small landing data rebuild everything: deriving costs more than it saves there.
"""

from __future__ import annotations

import os
import threading

from stedi.config import parse_size
from stedi.contract.algebra import (
    distinct_columns,
    join_references,
    relations_read,
    spj_shape,
    without_distinct,
)
from stedi.contract.checks import declared_checks, funnel_queries
from stedi.contract.count_terms import count_terms
from stedi.contract.tables import Table
from stedi.contract.unions import union_all_branches
from stedi.stages import distinctness
from stedi.stages.context import RunContext
from stedi.stages.freshness import relation_digest

# Landing data (bytes of landing files) below which a run rebuilds every table: there a rebuild costs
# what deriving the new rows does (about 100 MB of generated data: 3.2 s either way; 1 GB: 9 s
# against 16 s). STEDI_INCREMENTAL_FROM sets another size (0: always extend where the tables allow it).
MIN_LANDING_BYTES = 256 << 20
THRESHOLD_VARIABLE = "STEDI_INCREMENTAL_FROM"


def threshold() -> int:
    """The landing data from which a run extends tables: STEDI_INCREMENTAL_FROM, else MIN_LANDING_BYTES."""
    text = os.environ.get(THRESHOLD_VARIABLE, "").strip()
    if not text:
        return MIN_LANDING_BYTES
    return 0 if text == "0" else parse_size(text, THRESHOLD_VARIABLE)


def fingerprinted(ctx: RunContext, table: Table) -> bool:
    """Whether the run keeps the fingerprint of `table`: an internal relation an extension can only
    rebuild whole (not a select-project-join), in a run whose tables the next run may extend. When
    new rows leave it as it was (new phone readings of a customer who shares no serial leave the
    owners of step-trainer readings as they were), the tables after it are extended, not rebuilt."""
    return (
        not table.published
        and not table.view
        and table.sql is not None
        and may_be_extended(ctx)
        and spj_shape(table.sql) is None
        and union_all_branches(table.sql) is None
    )


def may_be_extended(ctx: RunContext) -> bool:
    """Whether the run's tables are ones a later run may extend (see `threshold`)."""
    return ctx.writer.capabilities.extends and ctx.landing_bytes >= threshold()


def parse_ahead(ctx: RunContext) -> threading.Thread | None:
    """In a run whose tables the next one may extend, what the build and the checks ask SQLGlot of
    the tables' SQL and of the reason and check queries, parsed on a thread of its own while the
    landing files are read (each answer is cached). SQLGlot's import and parsing, pure Python, held
    the build's thread for about 0.15 s at scale 100 while the engine waited, and the check stage's
    for 0.06 s with one new file. Reading leaves the interpreter free most of the time (DuckDB and
    Arrow work without it). The thread, or None where the build parses nothing."""
    if not may_be_extended(ctx):
        return None
    transforms = [t.sql for t in ctx.models.transforms if t.sql is not None]
    counted = []  # asked only where the last run recorded answers to take or correct (see `answers`)
    if ctx.answers_before is not None:
        counted = funnel_queries(ctx.models, ctx.parameters)
        counted += [q for c in declared_checks(ctx.models) for q in (c.sql, c.by_value, c.figure_sql) if q]

    def parse() -> None:
        try:
            for sql in transforms:
                if spj_shape(sql) is None:
                    union_all_branches(sql)
                for ask in (distinct_columns, without_distinct, join_references):
                    ask(sql)
            for sql in counted:
                relations_read(sql)
                count_terms(sql)
        except Exception:  # the build and the checks parse again, and say what went wrong there
            return

    thread = threading.Thread(target=parse, name="stedi-parse")
    thread.start()
    return thread


def keep_facts(ctx: RunContext, table: Table) -> None:
    """After building `table` whole in a run that extends nothing, what the next run may need of it:
    its fingerprint (`fingerprinted`), and whether it found its input's rows distinct already."""
    if fingerprinted(ctx, table) and (found := digest(ctx, table)) is not None:
        ctx.relation_digests[table.name] = found
    if may_be_extended(ctx):
        distinctness.keep(ctx, table)


def digest(ctx: RunContext, table: Table) -> str | None:
    fingerprint = ctx.engine.fingerprint(table.name)
    return relation_digest(fingerprint) if fingerprint is not None else None
