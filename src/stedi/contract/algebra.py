"""The shape of a table's SQL, for deriving its new rows from its inputs' new rows.

A select-project-join (SPJ) query is one SELECT (maybe DISTINCT) over relations combined by inner
and cross joins, filtered by WHERE: no aggregate, window, subquery, outer join, set operation, CTE,
ORDER BY or LIMIT. Such a query distributes over a union of its inputs' rows, which is what lets a
run extend a table with the rows its inputs gained (see `stages.extending`).

SQLGlot is imported only here, and only by runs that may extend tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from stedi.contract.tables import SOURCE_DIALECT


@dataclass(frozen=True)
class Shape:
    """An SPJ query: the relations it reads, in order of appearance, and whether it is DISTINCT."""

    relations: tuple[str, ...]
    distinct: bool


@cache
def spj_shape(sql: str) -> Shape | None:
    """The query's shape when it is SPJ and reads each relation once; None otherwise."""
    from sqlglot import exp

    select = _one_select(sql)
    if select is None:
        return None
    if any(select.args.get(part) for part in ("group", "having", "qualify", "order", "limit", "offset")):
        return None
    if select.find(exp.With) is not None:
        return None
    if len(list(select.find_all(exp.Select))) != 1:  # a subquery
        return None
    if any(True for _ in select.find_all(exp.AggFunc, exp.Window, exp.SetOperation, exp.Lateral, exp.Unnest)):
        return None
    for join in select.args.get("joins") or []:
        if join.side or join.kind not in ("", "INNER", "CROSS") or join.args.get("using"):
            return None
    distinct = select.args.get("distinct")
    if distinct is not None and distinct.args.get("on"):
        return None  # DISTINCT ON picks one row per key: not a set of the rows
    relations = tuple(t.name for t in select.find_all(exp.Table))
    if not relations or len(set(relations)) != len(relations) or any(not t.name for t in select.find_all(exp.Table)):
        return None
    return Shape(relations, distinct is not None)


def _one_select(sql: str):  # -> sqlglot.exp.Select | None
    """The query's tree when it is one SELECT (not a set operation, not several statements)."""
    from sqlglot import exp

    tree = one_statement(sql)
    return tree if isinstance(tree, exp.Select) else None


def one_statement(sql: str):  # -> sqlglot.exp.Expression | None
    """The tree of the one statement `sql` holds; None for several, or SQL SQLGlot cannot read."""
    import sqlglot

    try:
        trees = [t for t in sqlglot.parse(sql, read=SOURCE_DIALECT) if t is not None]
    except (sqlglot.errors.SqlglotError, RecursionError):  # SQL the engine ran but SQLGlot cannot read
        return None
    return trees[0] if len(trees) == 1 else None


def with_relations(sql: str, names: dict[str, str]) -> str:
    """The query reading relation `names[r]` wherever it read `r` (under the alias it had, so the
    columns it qualifies by the relation's name still resolve)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    for table in list(tree.find_all(exp.Table)):
        if table.name in names:
            alias = table.alias or table.name
            replacement = exp.Table(this=exp.to_identifier(names[table.name], quoted=True))
            table.replace(exp.alias_(replacement, exp.to_identifier(alias, quoted=True), table=True))
    return tree.sql(dialect=SOURCE_DIALECT)


@cache
def distinct_columns(sql: str) -> tuple[str, ...] | None:
    """The output columns of a query whose top level is one plain SELECT DISTINCT (no set operation,
    no DISTINCT ON, no `*`): its rows are distinct over exactly these columns. None otherwise."""
    select = _one_select(sql)
    distinct = select.args.get("distinct") if select is not None else None
    if select is None or distinct is None or distinct.args.get("on"):
        return None
    selects = select.expressions
    names = tuple(e.alias_or_name for e in selects)
    if any(e.is_star for e in selects) or "" in names:
        return None
    return names if len(set(names)) == len(names) else None


@cache
def without_distinct(sql: str) -> tuple[str, str] | None:
    """For `SELECT DISTINCT <columns> FROM <one relation>` (plain columns; no condition, join or other
    clause): the relation, and the query without its DISTINCT. Where the relation holds as many rows
    as the query gives, no two of its rows agree on those columns, and the two queries give the same
    rows. None for any other query."""
    from sqlglot import exp

    shape = spj_shape(sql)
    select = _one_select(sql)
    if shape is None or select is None or not shape.distinct or len(shape.relations) != 1:
        return None
    if select.args.get("where") or select.args.get("joins"):
        return None
    if not select.expressions or not all(isinstance(e, exp.Column) for e in select.expressions):
        return None
    plain = select.copy()
    plain.set("distinct", None)
    return shape.relations[0], plain.sql(dialect=SOURCE_DIALECT, comments=False)


@cache
def relations_read(sql: str) -> frozenset[str] | None:
    """Every relation a query reads (the tables and views it names, not its CTEs); None when that
    cannot be told: SQL SQLGlot cannot read, several statements, a table function or a name with a
    schema or catalog."""
    from sqlglot import exp

    tree = one_statement(sql)
    if tree is None:
        return None
    withs = list(tree.find_all(exp.With))
    if len(withs) > 1 or any(w.args.get("recursive") or w.parent is not tree for w in withs):
        return None  # CTEs inside a subquery, nested or recursive: which name is which is not told here
    ctes: list[str] = [cte.alias_or_name for cte in withs[0].expressions] if withs else []
    for i, cte in enumerate(withs[0].expressions if withs else []):
        if any(t.name in ctes[i:] for t in cte.find_all(exp.Table)):
            return None  # a CTE named like a relation it (or one before it) reads
    names = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or table.args.get("db") or table.args.get("catalog"):
            return None
        if table.name not in ctes:
            names.add(table.name)
    return frozenset(names)


@cache
def join_references(sql: str) -> frozenset[tuple[str, str, str]]:
    """What a query's inner joins guarantee of every row it gives: (output column, relation, column)
    such that the output value equals that column of some row of that relation. Found where the
    query is one plain SELECT over named relations combined by inner and cross joins only (no
    grouping, no CTE), the output column is a qualified column taken as it is, and a top-level
    conjunct of an ON or of the WHERE equates it with a column of another relation of the join: a
    row the join gives satisfied that equality, so neither side was NULL. Lower-cased names (SQL
    names are case-insensitive); empty when nothing is guaranteed or the SQL cannot be read."""
    from sqlglot import exp

    select = _one_select(sql)
    if select is None or select.find(exp.With) is not None or select.args.get("group"):
        return frozenset()
    relations = joined_relations(select)
    taken = _taken_as_is(select, relations) if relations is not None else None
    if relations is None or taken is None:
        return frozenset()  # a relation, or an output column, its name does not tell
    outputs: dict[tuple[str, str], list[str]] = {}  # (alias, column) -> output names taking it as it is
    for name, (alias, column) in taken.items():
        outputs.setdefault((alias, column.lower()), []).append(name)
    found = set()
    for left, right in _equalities(select, relations):
        for this, other in ((left, right), (right, left)):
            for name in outputs.get((this.table.lower(), this.name.lower()), []):
                found.add((name, relations[other.table.lower()], other.name.lower()))
    return frozenset(found)


def _taken_as_is(select, relations: dict[str, str]) -> dict[str, tuple[str, str]] | None:
    """Output column (lower-cased) -> (alias, column as spelled) of each output column the SELECT
    takes as it is from a relation of the join; None when an output column's name does not tell
    which it is (no name, a star, two of one name)."""
    from sqlglot import exp

    names = [e.alias_or_name.lower() for e in select.expressions]
    if "" in names or "*" in names or len(set(names)) != len(names):
        return None
    taken = {}
    for expression, name in zip(select.expressions, names, strict=True):
        value = expression.this if isinstance(expression, exp.Alias) else expression
        if isinstance(value, exp.Column) and value.table.lower() in relations and not value.args.get("db"):
            taken[name] = (value.table.lower(), value.name)
    return taken


def _equalities(select, relations: dict[str, str]):  # -> Iterator[tuple[exp.Column, exp.Column]]
    """The equalities between columns of the join's relations that are `AND`ed terms of an ON or of
    the WHERE: every row the join gives satisfies them, neither side NULL."""
    from sqlglot import exp

    conditions = [j.args["on"] for j in select.args.get("joins") or [] if j.args.get("on")]
    if select.args.get("where"):
        conditions.append(select.args["where"].this)
    for equality in (c for condition in conditions for c in _conjuncts(condition) if isinstance(c, exp.EQ)):
        sides = (equality.this, equality.expression)
        if all(isinstance(side, exp.Column) and side.table.lower() in relations for side in sides):
            yield sides


def joined_relations(select) -> dict[str, str] | None:  # select: sqlglot.exp.Select
    """Alias (or name) -> relation of each relation the SELECT reads, when they are all named
    relations combined by inner and cross joins, each column under its own name; None otherwise."""
    from sqlglot import exp

    joins = select.args.get("joins") or []
    if any(j.side or j.kind not in ("", "INNER", "CROSS") or j.method or j.args.get("using") for j in joins):
        return None  # an outer, semi, anti, as-of, natural or positional join, or USING
    relations: dict[str, str] = {}
    for source in ([select.args["from_"].this] if select.args.get("from_") else []) + [j.this for j in joins]:
        alias = source.args.get("alias")
        if (
            not isinstance(source, exp.Table)
            or not isinstance(source.this, exp.Identifier)
            or source.args.get("db")
            or source.args.get("pivots")
            or (alias is not None and alias.args.get("columns"))  # `AS c(x, y)` renames columns
        ):
            return None
        name = (source.alias or source.name).lower()
        if name in relations:
            return None
        relations[name] = source.name.lower()
    return relations


def _conjuncts(condition):  # -> Iterator[sqlglot.exp.Expression]
    """The terms of a condition's top-level AND (the condition itself when it is no AND)."""
    from sqlglot import exp

    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        for side in (condition.this, condition.expression):
            yield from _conjuncts(side)
    else:
        yield condition


@dataclass(frozen=True)
class Dependency:
    """That each value of `key` in `relation` goes with at most one value of `column` (NULL not
    counted as a value, as COUNT(DISTINCT) does not count it): what a `cardinality` check with
    `max = 1` states, and what a unique key states of every column."""

    relation: str
    key: tuple[str, ...]
    column: str


@cache
def cardinality_premises(sql: str, key: tuple[str, ...], column: str) -> tuple[Dependency, ...] | None:
    """Dependencies of the query's inputs that together imply that its output has at most one
    `column` per `key`; None when its shape does not tell.

    Found where the query is SPJ (see `spj_shape`), each output column of `key` is a column of one
    relation S taken as it is, and `column` is taken as it is from S (premise: S has at most one of
    it per those columns) or from a relation K that a top-level equality of an ON or the WHERE joins
    to S (K.j = S.m; premises: S has at most one m per those columns, and K at most one `column`
    per j). Each output row is a combination of input rows that satisfies every such equality
    (neither side NULL), and a filter or a DISTINCT only removes rows, so the output's rows that
    share a key came from rows of S that share those columns, hence one m, hence rows of K of one j.
    Relations by lower-cased name, columns as the SQL spells them."""
    select = _one_select(sql)
    if select is None or spj_shape(sql) is None or (relations := joined_relations(select)) is None:
        return None
    if (taken := _taken_as_is(select, relations)) is None:
        return None
    origins = [o for c in key if (o := taken.get(c.lower())) is not None]
    target = taken.get(column.lower())
    if target is None or not key or len(origins) != len(key) or len({o[0] for o in origins}) != 1:
        return None  # `column` or a key column not taken as it is, or the key from several relations
    alias, columns = origins[0][0], tuple(o[1] for o in origins)
    if target[0] == alias:
        return (Dependency(relations[alias], columns, target[1]),)
    for left, right in _equalities(select, relations):
        for joined, this in ((left, right), (right, left)):
            if joined.table.lower() == target[0] and this.table.lower() == alias:
                return (
                    Dependency(relations[alias], columns, this.name),
                    Dependency(relations[target[0]], (joined.name,), target[1]),
                )
    return None
