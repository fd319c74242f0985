"""The tables' SQL and the reason and check queries are parsed ahead, on a thread of their own, only
in runs that keep what a later run extends from."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from stedi.contract.algebra import relations_read, spj_shape
from stedi.contract.checks import declared_checks, funnel_queries
from stedi.contract.count_terms import count_terms
from stedi.contract.tables import load
from stedi.contract.unions import union_all_branches
from stedi.stages import extendable


def _ctx(landing_bytes: int, extends: bool = True, answers_before: str | None = "recorded") -> Any:
    writer = SimpleNamespace(capabilities=SimpleNamespace(extends=extends))
    parameters = {"consent_policy": "all", "ml_join": "owner", "split": "80/10/10"}
    return SimpleNamespace(
        models=load(), writer=writer, landing_bytes=landing_bytes, parameters=parameters, answers_before=answers_before
    )


def test_a_run_that_may_be_extended_finds_every_shape_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(extendable.THRESHOLD_VARIABLE, "1MB")
    ctx = _ctx(landing_bytes=2 << 20)
    queries = {t.sql for t in ctx.models.transforms if t.sql is not None}
    spj_shape.cache_clear()
    union_all_branches.cache_clear()
    thread = extendable.parse_ahead(ctx)
    assert thread is not None
    thread.join()
    parsed = spj_shape.cache_info().currsize + union_all_branches.cache_info().currsize
    assert parsed > len(queries)  # the owners' query is also parsed as the sum of its branches
    # What the build then asks is answered from what the thread found, without parsing again.
    for sql in queries:
        if spj_shape(sql) is None:
            union_all_branches(sql)
    assert spj_shape.cache_info().currsize + union_all_branches.cache_info().currsize == parsed


def test_the_reason_and_check_queries_are_parsed_ahead_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check stage asks which relations each reason and check query reads, and whether it is a
    sum of counts: answered from what the thread found."""
    monkeypatch.setenv(extendable.THRESHOLD_VARIABLE, "1MB")
    ctx = _ctx(landing_bytes=2 << 20)
    queries = funnel_queries(ctx.models, ctx.parameters) + [c.sql for c in declared_checks(ctx.models)]
    relations_read.cache_clear()
    count_terms.cache_clear()
    thread = extendable.parse_ahead(ctx)
    assert thread is not None
    thread.join()
    parsed = relations_read.cache_info().misses, count_terms.cache_info().misses
    assert parsed[0] >= len(set(queries))
    for sql in queries:
        relations_read(sql)
        count_terms(sql)
    assert (relations_read.cache_info().misses, count_terms.cache_info().misses) == parsed


def test_without_answers_of_a_last_run_the_checks_parse_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first run counts every check and reason: it asks SQLGlot nothing about them."""
    monkeypatch.setenv(extendable.THRESHOLD_VARIABLE, "1MB")
    relations_read.cache_clear()
    thread = extendable.parse_ahead(_ctx(landing_bytes=2 << 20, answers_before=None))
    assert thread is not None
    thread.join()
    assert relations_read.cache_info().currsize == 0


@pytest.mark.parametrize(("landing_bytes", "extends"), [(1 << 10, True), (2 << 20, False)])
def test_no_parsing_where_nothing_is_extended(
    monkeypatch: pytest.MonkeyPatch, landing_bytes: int, extends: bool
) -> None:
    monkeypatch.setenv(extendable.THRESHOLD_VARIABLE, "1MB")
    spj_shape.cache_clear()
    assert extendable.parse_ahead(_ctx(landing_bytes, extends)) is None
    assert spj_shape.cache_info().currsize == 0
