"""Which queries are select-project-joins added together by UNION ALL, branch by branch."""

from __future__ import annotations

import pytest

from stedi.contract.algebra import Shape
from stedi.contract.tables import load
from stedi.contract.unions import union_all_branches


def test_the_owners_of_step_trainer_readings_are_two_select_project_joins() -> None:
    branches = union_all_branches(load()["step_trainer_owner"].sql or "")
    assert branches is not None
    assert [shape for _, shape in branches] == [
        Shape(("step_trainer_readings", "serial_holders"), False),
        Shape(("step_trainer_readings", "shared_serial_owners"), False),
    ]
    assert "holder_count = 1" in branches[0][0]


def test_branches_come_in_the_order_written() -> None:
    branches = union_all_branches("SELECT a FROM x UNION ALL SELECT a FROM y UNION ALL SELECT a FROM z WHERE a > 1")
    assert branches is not None
    assert [shape.relations for _, shape in branches] == [("x",), ("y",), ("z",)]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a FROM x",  # one select-project-join: not a sum
        "SELECT a FROM x UNION SELECT a FROM y",  # UNION removes duplicates
        "SELECT a FROM x UNION ALL SELECT DISTINCT a FROM y",
        "SELECT a FROM x UNION ALL SELECT a FROM y ORDER BY a",
        "SELECT a FROM x UNION ALL SELECT a FROM y LIMIT 3",
        "WITH w AS (SELECT a FROM y) SELECT a FROM x UNION ALL SELECT a FROM w",
        "SELECT a FROM x UNION ALL SELECT COUNT(*) FROM y",
        "SELECT a FROM x UNION ALL SELECT a FROM y EXCEPT SELECT a FROM z",
        "SELECT a FROM x UNION ALL SELECT a FROM x AS again JOIN x ON again.a = x.a",
        "SELECT a FROM x UNION ALL not sql at all",
    ],
)
def test_other_queries_are_not_sums_of_select_project_joins(sql: str) -> None:
    assert union_all_branches(sql) is None
