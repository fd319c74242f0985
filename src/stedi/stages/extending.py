"""Extending tables instead of rebuilding them, when the run's news are rows added to the landing tables.

This applies when every table is still as the last run that published left it, built with what this
run builds with (settings, key, erasures, SQL; see `freshness.built_by_the_last_run`), and each
landing table holds the rows it held plus the rows read (no file changed, moved or removed, nobody's
rows dropped for an erasure). Then, against the tables that run published, every relation of the
build is one of:

- unchanged: it is built from relations that are all unchanged (a published one is then read from
  the files the last run published, not built);
- grown: it holds every row it held (`before`) and new ones (`delta`);
- changed: anything else.

A relation whose SQL is a select-project-join (`contract.algebra`) of unchanged and grown relations
grows by that SQL over their new rows. With R' = R ⊎ ΔR for each relation it reads, in order,

    Δ(R1 ⋈ … ⋈ Rn) = ⊎ᵢ R1' ⋈ … ⋈ Rᵢ₋₁' ⋈ ΔRᵢ ⋈ Rᵢ₊₁ ⋈ … ⋈ Rn

which is exact for multisets of rows; under DISTINCT the new rows are those of the result it did not
hold (an internal `SELECT DISTINCT` whose input's rows the last run found distinct grows the same
way, see `distinctness`). An internal relation that is not a select-project-join is built whole; when its fingerprint
(count and sum of row hashes) is the one the last run recorded for it, it is unchanged. Any other
published table is built whole and compared with the rows it held: when they are all still there, it
has grown by the rest. A grown published table is appended to: only its new rows are
written, and the tables after it are derived from them the same way. Every table still equals a full
rebuild; an internal table that is not a select-project-join, or a published one that lost rows, is
built whole, and so is everything after it that cannot be derived. An internal table made of groups
whose grouped inputs only grew is counted again for the groups their new rows touch (see `regrouping`).

Runs over small landing data rebuild everything (see `extendable`).
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stedi.contract.algebra import Shape, spj_shape, with_relations
from stedi.contract.tables import PARAMETERS, Table, Zone
from stedi.contract.unions import union_all_branches
from stedi.stages import distinctness
from stedi.stages.context import RunContext
from stedi.stages.extendable import digest, fingerprinted, threshold
from stedi.stages.freshness import built_by_the_last_run, recorded_digests
from stedi.stages.regrouping import Regrouped, regroup
from stedi.storage import local_path

if TYPE_CHECKING:
    import pyarrow as pa

UNCHANGED, CHANGED = "unchanged", "changed"
NOTE_PREFIX = "incremental:"


@dataclass(frozen=True)
class Grown:
    delta: str  # the relation of its new rows
    before: str  # the relation of the rows it held


State = Grown | Regrouped | str


@dataclass
class Extension:
    """The state of every relation of the build so far, and what became of each table."""

    ctx: RunContext
    states: dict[str, State] = field(default_factory=dict)
    digests_before: dict[str, str] = field(default_factory=dict)  # see `fingerprinted`
    plans: Future[dict[str, tuple[list[str], Any] | None]] | None = None  # published tables' files now
    extended: list[str] = field(default_factory=list)  # tables given their new rows only
    rebuilt: list[str] = field(default_factory=list)  # published tables that could not be
    published_as_is: set[str] = field(default_factory=set)  # see `_as_published`
    held_keys: dict[tuple[str, str], Future[pa.Table | None]] = field(default_factory=dict)  # see `keys_ahead`

    def state(self, relation: str) -> State:
        return self.states.get(relation, CHANGED)

    def holds_what_it_held(self, relation: str) -> bool:
        """Whether a relation of the build holds every row it held in the last run's: unchanged or grown."""
        state = self.state(relation)
        return state == UNCHANGED or isinstance(state, Grown)  # a regrouped one lost its touched groups' rows

    def set_keys(self, relation: str, source: str, column: str) -> bool:
        """The state of the pseudonym relation made from `source.column` (one row per email); when
        `source` grew, the relation itself too, from the keys of its rows of before and of its new
        rows, and when it is unchanged, from the keys of its rows of before where `keys_ahead` has
        them (True: it is loaded)."""
        import pyarrow as pa

        state = self.state(source)
        self.states[relation] = state if self.holds_what_it_held(source) else CHANGED
        if self.states[relation] == CHANGED:
            return False
        held = self._keys_held(source, column)
        if not isinstance(state, Grown):  # unchanged: the rows it held are all its rows
            if held is not None:
                self.ctx.engine.load(relation, held)
            return held is not None
        parts = [
            held if held is not None else self.ctx.subject_keys_of(state.before, column),
            self.ctx.subject_keys_of(state.delta, column),
        ]
        for part, keys in zip(("before", "delta"), parts, strict=True):
            self.ctx.engine.load(f"{relation}__{part}", keys)
        self.ctx.engine.load(relation, pa.concat_tables(parts))
        self.states[relation] = Grown(f"{relation}__delta", f"{relation}__before")
        return True

    def keys_ahead(self, pool: Executor) -> None:
        """The pseudonyms of the people a published table held, for each table whose pseudonyms come
        from one, computed on `pool` from its files while the engine builds the tables before it (an
        HMAC of each email: about 0.1 s for 43,000 people, which held the build's thread). Its rows of
        before are those files' rows, and, when it is unchanged, all its rows."""
        published = {t.name for t in self.ctx.models.transforms if t.published}
        for table in self.ctx.models.transforms:
            if table.pseudonym is not None and table.pseudonym.source[0] in published:
                self.held_keys[table.pseudonym.source] = pool.submit(self._keys_of_files, *table.pseudonym.source)

    def _plan(self, name: str) -> tuple[list[str], Any] | None:
        """The files of a published table as the last run left it, with its Arrow schema (None: none to read)."""
        return self.plans.result().get(name) if self.plans is not None else None

    def _keys_of_files(self, source: str, column: str) -> pa.Table | None:
        plan = self._plan(source)
        if plan is None or not plan[0]:
            return None
        local = [path for f in plan[0] if (path := local_path(f)) is not None]
        if len(local) != len(plan[0]):  # rows held elsewhere: read through the engine, as the build does
            return None
        import pyarrow.dataset as ds

        emails = ds.dataset(local, schema=plan[1], format="parquet").to_table(columns=[column]).column(column)
        return self.ctx.subject_keys([str(e) for e in emails.to_pylist()])

    def _keys_held(self, source: str, column: str) -> pa.Table | None:
        ahead = self.held_keys.pop((source, column), None)
        if ahead is None:
            return None
        try:
            return ahead.result()
        except Exception:  # the build reads the same rows through the engine, and says what went wrong there
            return None

    def build(self, table: Table) -> str | None:
        """Build `table` (extended where it can be, else whole); the relation of its new rows when
        only those are to be written, else None."""
        shape = spj_shape(table.sql or "")
        if all(self.state(r) == UNCHANGED for r in table.depends):
            self.states[table.name] = UNCHANGED
            if table.published and (none_new := self._as_published(table)) is not None:
                return none_new
            self._build_unchanged(table)
            self._as_before(table, unchanged=True)
            return None
        if self._regrouped(table):
            return None
        branches = _branches(table, shape)
        if branches is not None and all(self.holds_what_it_held(r) for _, s in branches for r in s.relations):
            if not table.published:
                self._extend_internal(table, branches)
                return None
            if shape is not None and (before := self._before(table)) is not None:
                return self._extend_published(table, shape, before)
        self._build_whole(table)
        self.states[table.name] = UNCHANGED if self._as_before(table) else CHANGED
        if table.published and (before := self._before(table)) is not None:
            return self._compared(table, before)
        if table.published:
            self.rebuilt.append(table.name)
        return None

    def _regrouped(self, table: Table) -> bool:
        """An internal table of groups whose grouped inputs only grew, and whose other inputs are
        unchanged, counted again for the groups their new rows touch only (see `regrouping`)."""
        states = {r: self.state(r) for r in table.depends}
        grown = {r: s for r, s in states.items() if isinstance(s, Grown)}
        others = (s for r, s in states.items() if r not in grown)
        if not grown or any(r not in dict(table.groups) for r in grown) or any(s != UNCHANGED for s in others):
            return False
        befores, deltas = {r: s.before for r, s in grown.items()}, {r: s.delta for r, s in grown.items()}
        self.states[table.name] = regroup(self.ctx.engine, table, befores, deltas)
        return True

    def _as_published(self, table: Table) -> str | None:
        """An unchanged published table as a view of the rows the last run published, which its SQL
        would give again (it reads relations equal to that run's, and is deterministic): the work of
        rebuilding it, checking its privacy invariants again and fingerprinting it for the writer is
        saved (accelerometer_trusted, 0.7 s at scale 100, in a run with a new step-trainer file).
        Returns the relation of its new rows, none, for the writer, which then commits nothing.
        None where those rows are not local files of the columns and types the SQL gives."""
        plan = self._plan(table.name)
        if plan is None or not plan[0] or any(local_path(f) is None for f in plan[0]):
            return None  # the writer's connection sees no attached Arrow data: built, as elsewhere
        engine, name = self.ctx.engine, table.name
        engine.build(f"{name}__shape", f"SELECT * FROM ({table.sql}) AS built LIMIT 0", view=True)
        engine.attach(name, *plan)
        if engine.described(name) != engine.described(f"{name}__shape"):
            return None
        self.published_as_is.add(name)
        engine.build(f"{name}__delta", f'SELECT * FROM "{name}" LIMIT 0', view=True)
        return f"{name}__delta"

    def _build_unchanged(self, table: Table) -> None:
        """A relation of unchanged relations, built whole; a view of its input's rows where that is
        what its DISTINCT would give (see `distinctness`)."""
        if not distinctness.built_as_view(self.ctx, table):
            self._build_whole(table)

    def _build_whole(self, table: Table) -> None:
        """The relation built by its SQL, and what the next run may need to know of its DISTINCT."""
        self.ctx.engine.build(table.name, table.sql or "", view=table.view)
        distinctness.keep(self.ctx, table)

    def _as_before(self, table: Table, *, unchanged: bool = False) -> bool:
        """Whether a relation only ever rebuilt whole (see `fingerprinted`), just built, holds the rows
        it held in the last run's build, by their fingerprints; its fingerprint is kept for the next
        run. One built from unchanged relations is unchanged: the last run's fingerprint is carried."""
        if not fingerprinted(self.ctx, table):
            return False
        before = self.digests_before.get(table.name)
        now = before if unchanged and before else digest(self.ctx, table)
        if now is not None:
            self.ctx.relation_digests[table.name] = now
        return now is not None and now == before

    def _extend_internal(self, table: Table, branches: tuple[tuple[str, Shape], ...]) -> None:
        """An internal table is built whole (the tables after it read it); its new rows are derived
        beside it, those of each select-project-join it adds up, and its rows of before are a view (it
        was never stored)."""
        engine, sql = self.ctx.engine, table.sql or ""
        distinct = any(shape.distinct for _, shape in branches)
        if distinct and self._extend_distinct(table):
            return
        self._build_whole(table)
        if distinct:  # which rows are new would need its rows of before built: as costly
            self.states[table.name] = CHANGED
            return
        relations = {r for _, shape in branches for r in shape.relations}
        befores = {r: s.before for r in relations if isinstance(s := self.state(r), Grown)}
        engine.build(f"{table.name}__before", with_relations(sql, befores), view=True)
        deltas = [self._delta_sql(text, shape) for text, shape in branches]
        delta = deltas[0] if len(deltas) == 1 else " UNION ALL ".join(f"SELECT * FROM ({d}) AS branch" for d in deltas)
        engine.build(f"{table.name}__delta", delta, view=table.view)
        self._grown(table.name, f"{table.name}__delta", f"{table.name}__before")

    def _extend_distinct(self, table: Table) -> bool:
        """An internal `SELECT DISTINCT` of one relation that grew, whose rows the last run found
        distinct already (see `distinctness`): its rows of before are a view of that relation's, and
        its new rows the distinct new ones it did not hold (True). The whole DISTINCT over the
        step-trainer readings took 0.5 s at scale 100 in a run with one new step-trainer file."""
        found = distinctness.held_distinct(self.ctx, table)
        if found is None or not isinstance(state := self.state(found[0]), Grown):
            return False
        engine, name = self.ctx.engine, table.name
        relation, plain = found
        engine.build(f"{name}__before", with_relations(plain, {relation: state.before}), view=True)
        engine.build(f"{name}__found", with_relations(table.sql or "", {relation: state.delta}))
        engine.build(
            f"{name}__delta",
            distinctness.new_distinct(f"{name}__found", f"{name}__before", engine.columns(f"{name}__found")),
        )
        engine.build(name, f'SELECT * FROM "{name}__before" UNION ALL SELECT * FROM "{name}__delta"', view=True)
        new_rows, new_input = engine.counts(
            [f'SELECT COUNT(*) FROM "{name}__delta"', f'SELECT COUNT(*) FROM "{state.delta}"']
        )
        distinctness.held(self.ctx, table, new_rows == new_input)
        self._grown(name, f"{name}__delta", f"{name}__before")
        return True

    def _extend_published(self, table: Table, shape: Shape, before: str) -> str | None:
        engine, name = self.ctx.engine, table.name
        names = engine.columns(before)
        columns = ", ".join(f'"{c}"' for c in names)
        delta = self._delta_sql(table.sql or "", shape)
        if shape.distinct:
            engine.build(f"{name}__found", delta)
            delta = distinctness.new_distinct(f"{name}__found", before, names)
        engine.build(f"{name}__delta", delta)
        engine.build(
            name, f'SELECT {columns} FROM "{before}" UNION ALL SELECT {columns} FROM "{name}__delta"', view=True
        )
        return self._grown(name, f"{name}__delta", before)

    def _compared(self, table: Table, before: str) -> str | None:
        """A published table built whole: grown when every row it held is still there."""
        engine, name = self.ctx.engine, table.name
        columns = ", ".join(f'"{c}"' for c in engine.columns(before))
        if engine.columns(before) != engine.columns(name):
            self.rebuilt.append(name)
            return None
        # Each distinct row with how many more times it is there now (one pass over both; a multiset
        # difference by EXCEPT ALL costs twice as much, twice).
        engine.build(
            f"{name}__changes",
            f'SELECT {columns}, CAST(SUM(side) AS BIGINT) AS times FROM (SELECT {columns}, 1 AS side FROM "{name}" UNION ALL '
            f'SELECT {columns}, -1 AS side FROM "{before}") AS sides GROUP BY ALL HAVING SUM(side) <> 0',
        )
        (lost,) = engine.counts([f'SELECT COUNT(*) FROM "{name}__changes" WHERE times < 0'])
        if lost:
            self.rebuilt.append(name)
            return None
        engine.build(
            f"{name}__delta",
            f'SELECT {columns} FROM (SELECT {columns}, UNNEST(RANGE(times)) FROM "{name}__changes") AS repeated',
        )
        return self._grown(name, f"{name}__delta", before)

    def _grown(self, name: str, delta: str, before: str) -> str | None:
        (rows,) = self.ctx.engine.counts([f'SELECT COUNT(*) FROM "{delta}"'])
        self.states[name] = Grown(delta, before) if rows else UNCHANGED
        if rows and self.ctx.models.zone(name) is not Zone.INTERNAL:
            self.extended.append(name)
        return delta

    def _delta_sql(self, sql: str, shape: Shape) -> str:
        """The rows a select-project-join gains from its inputs' new rows: one term per grown input
        (see the module)."""
        terms = []
        for i, relation in enumerate(shape.relations):
            state = self.state(relation)
            if not isinstance(state, Grown):
                continue
            names = {relation: state.delta}
            names |= {r: s.before for r in shape.relations[i + 1 :] if isinstance(s := self.state(r), Grown)}
            terms.append(f"SELECT * FROM ({with_relations(sql, names)}) AS term_{i}")
        return " UNION ALL ".join(terms) if terms else f"SELECT * FROM ({sql}) AS none_new LIMIT 0"

    def _before(self, table: Table) -> str | None:
        """The published table's rows as the last run left them, when they can be read as they are."""
        plan = self._plan(table.name)
        if plan is None:
            return None
        files, schema = plan
        if files and all(local_path(f) is not None for f in files):
            return self.ctx.engine.attach(f"{table.name}__before", files, schema)
        # Rows held elsewhere (or none) are read into a table: the writer's connection reads the
        # table's relation, a view over them, and sees the engine's tables, not what it attached.
        held = self.ctx.engine.attach(f"{table.name}__held", files, schema)
        self.ctx.engine.build(f"{table.name}__before", f'SELECT * FROM "{held}"')
        return f"{table.name}__before"

    def kept_rows(self) -> dict[str, Grown | None]:
        """The published tables that hold every row they held, with the relations of their new rows
        and of the rows they held (None: they have no new rows)."""
        found: dict[str, Grown | None] = {}
        for table in self.ctx.models.transforms:
            state = self.state(table.name)
            if table.published and self.holds_what_it_held(table.name):
                found[table.name] = state if isinstance(state, Grown) else None
        return found

    def grown(self) -> dict[str, Grown]:
        """The relations of the build that hold every row they held and new ones."""
        return {name: state for name, state in self.states.items() if isinstance(state, Grown)}

    def regrouped(self) -> dict[str, Regrouped]:
        """The relations of the build counted again only for the groups new rows touch (see `regrouping`)."""
        return {name: state for name, state in self.states.items() if isinstance(state, Regrouped)}

    def unchanged(self) -> frozenset[str]:
        """The relations of the build equal to what the last run that published left."""
        return frozenset(name for name, state in self.states.items() if state == UNCHANGED)

    def note(self) -> str | None:
        """What the run did instead of rebuilding, for its result (None: every table was unchanged)."""
        parts = []
        if self.extended:
            parts.append(f"appended only the new rows of {', '.join(self.extended)}")
        if self.rebuilt:
            parts.append(f"rebuilt whole: {', '.join(self.rebuilt)} (rows they held changed or went)")
        return f"{NOTE_PREFIX} " + "; ".join(parts) if parts else None


def _branches(table: Table, shape: Shape | None) -> tuple[tuple[str, Shape], ...] | None:
    """The select-project-joins whose rows make the table's (one, or those an internal table adds
    up with UNION ALL), with their shapes; None for any other table."""
    if shape is not None:
        return ((table.sql or "", shape),)
    return None if table.published else union_all_branches(table.sql or "")


def start(ctx: RunContext) -> Extension | None:
    """The extension of this run's build, or None when every table is to be rebuilt."""
    settings = ctx.settings
    if (
        settings.full_refresh
        or not ctx.writer.capabilities.extends
        or ctx.landing_bytes < threshold()
        or ctx.erasure_rewrote
        or not built_by_the_last_run(ctx)
    ):
        return None
    published = [t.name for t in ctx.models.transforms if t.published]
    # Asked now, answered by the warehouse's worker while the first tables are built.
    plans = ctx.session.call(lambda w: {name: w.data_files(name) for name in published})
    extension = Extension(ctx, {PARAMETERS: UNCHANGED}, recorded_digests(ctx), plans)
    for p in ctx.plans:
        table = p.source.landing_table
        grown = ctx.landing_growth.get(table)
        if grown is None:  # no rows of before kept: unchanged only when it had none and gets none
            extension.states[table] = UNCHANGED if p.append_only[table] and not p.to_read else CHANGED
            continue
        delta, before = grown
        (rows,) = ctx.engine.counts([f'SELECT COUNT(*) FROM "{delta}"'])
        extension.states[table] = Grown(delta, before) if rows else UNCHANGED
    return extension
