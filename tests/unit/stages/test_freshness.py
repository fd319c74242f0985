"""What a built-from record keeps of the internal relations' fingerprints, and when it is read."""

from __future__ import annotations

import json

import pytest

from stedi.stages import freshness
from stedi.stages.freshness import digests_in, relation_digest

OWNERS = "2581496:23814362618568666127236070:e7cd4beffb15e745"
DIGEST = "0123456789abcdef0123456789abcdef"


def _record(relations: object) -> str:
    return json.dumps({"stamp": "s", "snapshots": {"a": 1}, "basis": "b", "relations": relations})


def test_the_digests_of_a_record_are_read() -> None:
    assert digests_in(_record({"step_trainer_owner": DIGEST})) == {"step_trainer_owner": DIGEST}


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "not json",
        "[1, 2]",
        json.dumps({"stamp": "s", "snapshots": {}, "basis": "b"}),  # an older record: no digests
        _record(DIGEST),
        _record(["step_trainer_owner", DIGEST]),
    ],
)
def test_a_record_without_readable_digests_gives_none(text: str | None) -> None:
    assert digests_in(text) == {}


def test_values_that_are_not_digests_are_left_out() -> None:
    found = {"a": DIGEST, "b": DIGEST.upper(), "c": 12, "d": DIGEST[:-1], "e": OWNERS, "f": DIGEST + "0"}
    assert digests_in(_record(found)) == {"a": DIGEST}


def test_a_digest_is_of_the_fingerprint_and_the_row_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    first = relation_digest(OWNERS)
    assert len(first) == 32 and set(first) <= set("0123456789abcdef")
    assert relation_digest(OWNERS) == first
    assert relation_digest(OWNERS.replace("2581496", "2581497")) != first
    monkeypatch.setattr(freshness, "row_hash", lambda: "what another DuckDB makes of the known row")
    assert relation_digest(OWNERS) != first  # a fingerprint summed by another row hash never matches
