"""The fingerprints a built-from record keeps of internal relations, and when they are trusted."""

from __future__ import annotations

import json

import pytest

from stedi.stages.freshness import fingerprints_in

OWNERS = "2581496:23814362618568666127236070:e7cd4beffb15e745"


def _record(relations: object) -> str:
    return json.dumps({"stamp": "s", "snapshots": {"a": 1}, "basis": "b", "relations": relations})


def test_fingerprints_summed_with_this_row_hash_are_taken() -> None:
    text = _record({"row_hash": "123", "fingerprints": {"step_trainer_owner": OWNERS}})
    assert fingerprints_in(text, "123") == {"step_trainer_owner": OWNERS}


def test_fingerprints_of_another_row_hash_are_not() -> None:
    text = _record({"row_hash": "456", "fingerprints": {"step_trainer_owner": OWNERS}})
    assert fingerprints_in(text, "123") == {}


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "not json",
        "[1, 2]",
        json.dumps({"stamp": "s", "snapshots": {}, "basis": "b"}),  # an older record: no fingerprints
        _record("123"),
        _record({"row_hash": "123", "fingerprints": ["step_trainer_owner", OWNERS]}),
    ],
)
def test_a_record_without_readable_fingerprints_gives_none(text: str | None) -> None:
    assert fingerprints_in(text, "123") == {}


def test_values_that_are_not_fingerprints_are_left_out() -> None:
    found = {"a": OWNERS, "b": "12:-5:e7cd4beffb15e745", "c": 12, "d": "12:34:not-a-schema-hash", "e": "1:2:3"}
    text = _record({"row_hash": "123", "fingerprints": found})
    assert fingerprints_in(text, "123") == {"a": OWNERS}
