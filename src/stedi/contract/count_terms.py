"""Reason and check queries as sums of counts of rows, which a run corrects by the rows its
relations gained instead of counting them again (see `stages.answers`).

SQLGlot is imported only here and in `algebra`, and only by runs that may extend tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from stedi.contract.algebra import joined_relations, one_statement
from stedi.contract.identity import EMAIL_MACRO
from stedi.contract.tables import SOURCE_DIALECT


@dataclass(frozen=True)
class CountTerm:
    """`SELECT COUNT(*)` (or `COALESCE(SUM(column), 0)`) of the rows of a select-project-join over
    `relations` (each read once, in order), whose WHERE may look rows up in subqueries reading
    `looked_up`; added (`sign` 1) or subtracted (-1)."""

    sign: int
    sql: str
    relations: tuple[str, ...]
    looked_up: frozenset[str]


@cache
def count_terms(sql: str) -> tuple[CountTerm, ...] | None:
    """The query as a sum of counts of rows: one `SELECT COUNT(*)` (see `CountTerm`), or a SELECT
    without FROM of such counts in parentheses, added and subtracted, with integer constants. None
    for any other query.

    Each count is a sum over the rows of its join, and a row's WHERE looks only at the row and at the
    relations its subqueries read: while those stay as they are, the count over grown relations is
    the count over their rows of before plus the count over the rows the delta rule gives (see
    `stages.extending`), so a run can correct the last run's answer instead of counting again."""
    from sqlglot import exp

    tree = one_statement(sql)
    if not isinstance(tree, exp.Select) or tree.find(exp.With) is not None:
        return None
    if tree.args.get("from_") is not None:
        term = _count_term(tree, 1)
        return None if term is None else (term,)
    if len(tree.expressions) != 1 or any(tree.args.get(part) for part in (*_CLAUSES, "joins", "where")):
        return None
    terms: list[CountTerm] = []
    return tuple(terms) if _summed(tree.expressions[0], 1, terms) else None


_CLAUSES = ("group", "having", "qualify", "order", "limit", "offset", "distinct", "windows")


def _volatile(function) -> bool:  # function: sqlglot.exp.Func
    """Whether a function may give another value over the same rows in another run (the time, a random
    number; a function SQLGlot does not know, such as `now()`, unless it is the email macro)."""
    from sqlglot import exp

    if isinstance(function, exp.Anonymous):
        return str(function.name).lower() != EMAIL_MACRO
    return isinstance(
        function,
        exp.CurrentDate
        | exp.CurrentDatetime
        | exp.CurrentTime
        | exp.CurrentTimestamp
        | exp.Rand
        | exp.Randn
        | exp.Uuid,
    )


def _summed(node, sign: int, terms: list[CountTerm]) -> bool:  # node: sqlglot.exp.Expression
    """Whether `node` is a sum of counts and integer constants; its counts are added to `terms`."""
    from sqlglot import exp

    if isinstance(node, exp.Alias | exp.Paren):
        return _summed(node.this, sign, terms)
    if isinstance(node, exp.Add | exp.Sub):
        right = -sign if isinstance(node, exp.Sub) else sign
        return _summed(node.this, sign, terms) and _summed(node.expression, right, terms)
    if isinstance(node, exp.Neg):
        return _summed(node.this, -sign, terms)
    if isinstance(node, exp.Literal):
        return node.is_int  # a constant: the same in every run
    if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select) and not node.alias:
        term = _count_term(node.this, sign)
        if term is not None:
            terms.append(term)
        return term is not None
    return False


def _count_term(select, sign: int) -> CountTerm | None:  # select: sqlglot.exp.Select
    from sqlglot import exp

    if len(select.expressions) != 1 or any(select.args.get(part) for part in _CLAUSES):
        return None
    counted = select.expressions[0].this if isinstance(select.expressions[0], exp.Alias) else select.expressions[0]
    if not _count_or_sum(counted):
        return None
    if joined_relations(select) is None:  # also: each read once, under a name of its own
        return None
    sources = [select.args["from_"].this] + [j.this for j in select.args.get("joins") or []]
    looked_up = [t for t in select.find_all(exp.Table) if not any(t is s for s in sources)]
    if any(not isinstance(t.this, exp.Identifier) or t.args.get("db") or t.args.get("catalog") for t in looked_up):
        return None
    if any(_volatile(f) for f in select.find_all(exp.Func)):
        return None
    relations = tuple(s.name for s in sources)
    if len(set(relations)) != len(relations):  # a relation joined to itself: renaming it renames both
        return None
    return CountTerm(sign, select.sql(dialect=SOURCE_DIALECT), relations, frozenset(t.name for t in looked_up))


def _count_or_sum(counted) -> bool:  # counted: sqlglot.exp.Expression
    """Whether a term counts rows (`COUNT(*)`) or adds a column's values up, none giving 0
    (`COALESCE(SUM(column), 0)`): a sum over rows either way, which adds up over parts of them."""
    from sqlglot import exp

    if isinstance(counted, exp.Count):
        return isinstance(counted.this, exp.Star)
    if not isinstance(counted, exp.Coalesce) or len(counted.expressions) != 1:
        return False
    zero, summed = counted.expressions[0], counted.this
    return (
        isinstance(zero, exp.Literal)
        and zero.is_int
        and int(zero.this) == 0
        and isinstance(summed, exp.Sum)
        and isinstance(summed.this, exp.Column)
    )
