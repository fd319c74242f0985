"""The pairs a run takes from the last run's record for a check counted from its values."""

from __future__ import annotations

from typing import Any

import pytest

from stedi.stages import histograms


@pytest.mark.parametrize(
    ("rows", "taken"),
    [
        ([(2001, 5), (2002, 1)], True),
        ([(0.5, 3), (float("nan"), 1)], True),  # a NaN step is a value as grouping holds it
        ([], True),  # a table without steps
        (None, False),  # nothing recorded
        ([(2001, 0)], False),  # a value held no times: not a record of this module's
        ([(2001, -1)], False),
        ([(2001, 1.5)], False),
        ([(2001,)], False),
        ([(2001, 1, 1)], False),
        ([("2001", 1)], False),
        ([(None, 1)], False),
        ([(True, 1)], False),
        ([(2**63, 1)], False),  # beyond what the engine holds
        ([(1, 1)] * (histograms.MOST_VALUES + 1), False),
    ],
)
def test_only_pairs_of_numbers_and_counts_are_taken(rows: list[tuple[Any, ...]] | None, taken: bool) -> None:
    assert (histograms._pairs(rows) is not None) == taken
