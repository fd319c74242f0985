"""Reason and check queries as sums of counts of rows (see `contract.count_terms`)."""

from __future__ import annotations

import pytest

from stedi.contract.checks import declared_checks
from stedi.contract.count_terms import CountTerm, count_terms
from stedi.contract.tables import load


@pytest.mark.parametrize(
    ("sql", "terms"),
    [
        ("SELECT COUNT(*) FROM r", [(1, ("r",), set())]),
        ("SELECT COUNT(*) AS n FROM r AS a JOIN s AS b ON a.k = b.k CROSS JOIN p WHERE a.v > p.v",
         [(1, ("r", "s", "p"), set())]),
        ("SELECT COUNT(*) FROM r WHERE v NOT IN (SELECT v FROM u)", [(1, ("r",), {"u"})]),
        ("SELECT COUNT(*) FROM r AS a WHERE EXISTS (SELECT 1 FROM u WHERE u.k = a.k)", [(1, ("r",), {"u"})]),
        ("SELECT (SELECT COUNT(*) FROM r) - (SELECT COUNT(*) FROM s WHERE v IS NULL)",
         [(1, ("r",), set()), (-1, ("s",), set())]),
        ("SELECT 3 - ((SELECT COUNT(*) FROM r) - (SELECT COUNT(*) FROM s)) + -(SELECT COUNT(*) FROM t)",
         [(-1, ("r",), set()), (1, ("s",), set()), (-1, ("t",), set())]),
        ("SELECT COUNT(*) FROM r WHERE normalised_email(e) IS NULL", [(1, ("r",), set())]),
        ("SELECT COALESCE(SUM(v), 0) FROM r WHERE k IN (SELECT k FROM s)", [(1, ("r",), {"s"})]),
        ("SELECT (SELECT COUNT(*) FROM r) - (SELECT COALESCE(SUM(n), 0) FROM t)", [(1, ("r",), set()), (-1, ("t",), set())]),
        # Not sums of counts of rows, or not of rows that stay as they were:
        ("SELECT GREATEST((SELECT COUNT(*) FROM r) - (SELECT COUNT(*) FROM s), 0)", None),
        ("SELECT COUNT(*), MEDIAN(v) FROM r", None),
        ("SELECT COUNT(v) FROM r", None),
        ("SELECT COUNT(DISTINCT v) FROM r", None),
        ("SELECT SUM(v) FROM r", None),  # NULL over no rows: not a sum of its parts
        ("SELECT COALESCE(SUM(v), 1) FROM r", None),
        ("SELECT COALESCE(SUM(v + 1), 0) FROM r", None),
        ("SELECT COALESCE(SUM(v), 0, 1) FROM r", None),
        ("SELECT COUNT(*) FROM r GROUP BY k", None),
        ("SELECT COUNT(*) FROM (SELECT k FROM r GROUP BY k HAVING COUNT(*) > 1) AS g", None),
        ("SELECT COUNT(*) FROM r LEFT JOIN s ON r.k = s.k", None),
        ("SELECT COUNT(*) FROM r AS a JOIN r AS b ON a.k = b.k", None),  # read twice
        ("SELECT (SELECT COUNT(*) FROM r) * 2", None),
        ("SELECT (SELECT COUNT(*) FROM r) - 1.5", None),
        ("SELECT COUNT(*) FROM r WHERE t > now()", None),  # another answer in another run
        ("SELECT COUNT(*) FROM r WHERE random() < 0.5", None),
        ("WITH c AS (SELECT * FROM r) SELECT COUNT(*) FROM c", None),
        ("SELECT COUNT(*) FROM other.r", None),
        ("SELECT COUNT(*) FROM r; SELECT 1", None),
        ("not sql at all (", None),
    ],
)  # fmt: skip
def test_queries_that_are_sums_of_counts_of_rows(sql: str, terms: list[tuple] | None) -> None:
    found = count_terms(sql)
    if terms is None:
        assert found is None
    else:
        assert found is not None
        assert [(t.sign, t.relations, set(t.looked_up)) for t in found] == terms
        assert all(
            isinstance(t, CountTerm) and t.sql.upper().startswith(("SELECT COUNT(*)", "SELECT COALESCE(SUM("))
            for t in found
        )


def test_the_packages_reason_counts_over_rows_are_sums_of_counts() -> None:
    """The reasons that count rows dropped (most of them) can be corrected by difference, and so can
    the checks of totals, which count an excess (a GREATEST of it could not be)."""
    models = load()
    drops = {d.code: d.sql for d in models["accelerometer_trusted"].drops}
    assert count_terms(drops["no_consent"]) is not None and count_terms(drops["duplicate"]) is not None
    totals = [c for c in declared_checks(models) if c.kind in ("funnel", "min_rows")]
    assert len(totals) >= 4 and all(c.excess and count_terms(c.sql) is not None for c in totals)
    assert count_terms("SELECT GREATEST((SELECT COUNT(*) FROM a) - (SELECT COUNT(*) FROM b), 0)") is None
