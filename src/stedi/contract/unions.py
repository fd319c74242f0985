"""Queries that add select-project-joins together with `UNION ALL`.

The rows of `Q1 UNION ALL … UNION ALL Qn` are the multiset sum of the rows of its branches, so the
rows it gains from new input rows are the sum of those each branch gains, and each branch that is a
select-project-join gains them by the delta rule (see `algebra`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from stedi.contract.algebra import Shape, one_statement, spj_shape
from stedi.contract.tables import SOURCE_DIALECT


@cache
def union_all_branches(sql: str) -> tuple[tuple[str, Shape], ...] | None:
    """Each branch of a query made of two or more select-project-joins without DISTINCT, combined by
    `UNION ALL` only (no CTE, ORDER BY or LIMIT over them), with its shape; None for any other query."""
    from sqlglot import exp

    tree = one_statement(sql)
    if not isinstance(tree, exp.Union) or tree.find(exp.With) is not None:
        return None
    branches: list[Any] = []
    todo: list[Any] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, exp.Union):
            if node.args.get("distinct") or any(node.args.get(part) for part in ("order", "limit", "offset")):
                return None
            todo += [node.right, node.left]  # popped left first: the branches in the order written
        else:
            branches.append(node)
    found = []
    for branch in branches:
        text = branch.sql(dialect=SOURCE_DIALECT, comments=False)
        shape = spj_shape(text) if isinstance(branch, exp.Select) else None
        if shape is None or shape.distinct:
            return None
        found.append((text, shape))
    return tuple(found)
