"""The fast path never changes a result: for any line, reading a file gives exactly what the exact
parser gives for that line, whichever path the line took."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stedi.contract.sources import ACCELEROMETER, CUSTOMER, SOURCES, STEP_TRAINER, Source
from stedi.reading import lines as reading_lines
from stedi.reading.fastpath import shapes
from stedi.reading.reader import read_line, read_source

ws = st.sampled_from(["", "", "", " ", "\t", " \r"])
# Mostly values the fast path takes, some at its edges, some it must leave to the exact parser.
canonical_ints = st.integers(-(10**18) + 1, 10**18 - 1).map(str)
edge_ints = st.one_of(
    st.integers(-(2**64), 2**64).map(str),
    st.sampled_from(["0", "-0", "9223372036854775807", "9223372036854775808", "99999999999999999999"]),
    st.sampled_from(["1655564376361.0", "1e3", '"42"', "true", "null"]),
)
ints = st.one_of(canonical_ints, canonical_ints, canonical_ints, edge_ints)
canonical_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.integers(-1000, 1000).map(lambda i: f"{i}.0"),
)
edge_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(0, 45).flatmap(lambda p: st.decimals(allow_nan=False, allow_infinity=False, places=p)).map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,45})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["1e400", '"2.5"', "-0.0", "-0", "-0e1", "0e0", "1E-99", "1e99", "1e100", "null", "false"]),
)
numbers = st.one_of(canonical_numbers, canonical_numbers, canonical_numbers, edge_numbers)
canonical_strings = st.one_of(
    st.from_regex(r"[A-Za-z0-9.@ -]{1,12}", fullmatch=True).map(json.dumps),
    st.text(max_size=12).map(lambda t: json.dumps(t, ensure_ascii=False)),
)
edge_strings = st.one_of(
    st.text(max_size=12).map(json.dumps),
    st.sampled_from(['""', '" "', '"a@x.com"', '"A@X.COM "', "8015551212", "null", '"\\u0061"']),
)
strings = st.one_of(canonical_strings, canonical_strings, canonical_strings, edge_strings)
VALUES = {"string": strings, "int": ints, "number": numbers}


@st.composite
def lines(draw: Any, source: Source) -> str:
    shape = draw(st.sampled_from(list(shapes(source))))
    members = []
    for field, key in zip(source.fields, shape.keys, strict=True):
        if not field.required and draw(st.integers(0, 7)) == 0:
            continue
        spelled = key if draw(st.integers(0, 9)) else key.upper()
        members.append(f'"{spelled}"{draw(ws)}:{draw(ws)}{draw(VALUES[field.type.value])}')
    body = ("," + draw(ws)).join(members)
    tail = draw(st.sampled_from(["", "", "", ",", " , ", "\r", "x", ",,"]))
    return f"{draw(ws)}{{{draw(ws)}{body}{draw(ws)}}}{tail}"


def _read_file(tmp: Path, source: Source, text: str) -> tuple[list[tuple[Any, ...]], int]:
    for s in SOURCES:
        (tmp / s.name / "landing").mkdir(parents=True, exist_ok=True)
    (tmp / source.name / "landing" / "f.json").write_text(text, encoding="utf-8")
    result = read_source(str(tmp), source)
    names = [f.name for f in source.fields]
    return [tuple(r[n] for n in names) for r in result.records.to_pylist()], result.quarantined


def _line_by_line(source: Source, batch: list[str]) -> tuple[list[tuple[Any, ...]], int]:
    """What the exact parser reads from each line on its own: the records, and how many fragments."""
    expected_rows: list[tuple[Any, ...]] = []
    expected_bad = 0
    for i, text in enumerate(batch):
        rows, bad = read_line(source, text, i + 1)
        expected_rows += rows
        expected_bad += len(bad)
    return expected_rows, expected_bad


def _same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    # Compare floats by their bits: -0.0 and 0.0 must not be confused either.
    def key(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple(v.hex() if isinstance(v, float) else v for v in row) for row in rows]

    return key(a) == key(b)


@pytest.mark.slow  # hundreds of generated files: the whole suite, not the everyday loop
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_file_reading_equals_the_exact_parser_line_by_line(tmp_path_factory: Any, data: Any) -> None:
    source = data.draw(st.sampled_from([CUSTOMER, ACCELEROMETER, STEP_TRAINER]))
    batch = data.draw(st.lists(lines(source), min_size=1, max_size=8))
    expected_rows, expected_bad = _line_by_line(source, batch)
    got_rows, got_bad = _read_file(tmp_path_factory.mktemp("f"), source, "\n".join(batch) + "\n")
    assert _same(got_rows, expected_rows)
    assert got_bad == expected_bad


@pytest.mark.parametrize(
    "timestamp",
    ["999999999999999999", "-999999999999999999", "9999999999999999999", "9223372036854775807", "92233720368547758070"],
)
@pytest.mark.parametrize(
    "x", ["1e99", "1e-99", "1e308", "1e309", "123456789012345678901.5", "1234567890123456789012e99"]
)
def test_values_at_the_edges_of_the_fast_path_read_as_the_exact_parser_reads_them(
    tmp_path: Path, timestamp: str, x: str
) -> None:
    line = f'{{"user":"a@x.com","timestamp":{timestamp},"x":{x},"y":0.1,"z":-0.0}}'
    rows, bad = read_line(ACCELEROMETER, line)
    got_rows, got_bad = _read_file(tmp_path, ACCELEROMETER, line + "\n")
    assert _same(got_rows, rows) and got_bad == len(bad)


def test_canonical_lines_of_the_starter_data_take_the_fast_path() -> None:
    line = '{"user":"Santosh.Clayton@test.com","timestamp":1655564444103,"x":1.0,"y":-1.0,"z":-1.0}'
    assert re.fullmatch(next(shapes(ACCELEROMETER)).pattern, line + "\n")


CANONICAL = {
    "customer": '{"customerName": "Santosh Clayton", "email": "Santosh.Clayton@test.com", "phone": "8015551212", '
    '"birthDay": "1900-01-01", "serialNumber": "50f7b4f3-7af5-4b07-a421-7b902c8d2b7c", "registrationDate": '
    '1655564376361, "lastUpdateDate": 1655564376361, "shareWithResearchAsOfDate": 1655564376361, '
    '"shareWithPublicAsOfDate": 1655564376361, "shareWithFriendsAsOfDate": 1655564376361}',
    "accelerometer": '{"user":"Santosh.Clayton@test.com","timestamp":1655564444103,"x":1.0,"y":-1.0,"z":-1.0}',
    "step_trainer": '{"sensorReadingTime":1655564444103,"serialNumber":"50f7b4f3-7af5-4b07-a421-7b902c8d2b7c",'
    '"distanceFromObject":218}',
}


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_the_canonical_lines_of_the_tests_take_the_fast_path(source: Source) -> None:
    assert re.fullmatch(next(shapes(source)).pattern, CANONICAL[source.name] + "\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_lines_tested_a_group_at_a_time_read_as_the_exact_parser_reads_them(tmp_path_factory: Any, data: Any) -> None:
    """Groups of three lines (instead of a thousand): canonical runs with other lines anywhere, a
    group that fails tested line by line, a file's last line with or without its LF."""
    source = data.draw(st.sampled_from([CUSTOMER, ACCELEROMETER, STEP_TRAINER]))
    canonical = CANONICAL[source.name]
    other = st.one_of(lines(source), st.sampled_from(["", " ", "\t\r", "{}", canonical + " x", canonical[:-1]]))
    batch = data.draw(st.lists(st.one_of(st.just(canonical), st.just(canonical), other), min_size=1, max_size=20))
    end = data.draw(st.sampled_from(["\n", ""]))
    expected_rows, expected_bad = _line_by_line(source, batch)
    with mock.patch.object(reading_lines, "GROUP_LINES", 3):
        got_rows, got_bad = _read_file(tmp_path_factory.mktemp("f"), source, "\n".join(batch) + end)
    assert _same(got_rows, expected_rows)
    assert got_bad == expected_bad


def test_lines_among_thousands_of_canonical_ones_are_read_as_the_exact_parser_reads_them(tmp_path: Path) -> None:
    canonical = '{"user":"a@x.com","timestamp":1655564444103,"x":1.0,"y":-1.0,"z":-1.0}'
    others = ["   ", '{"user":"a@x.com"}', canonical + "}", canonical.upper()]
    batch = [canonical] * 2500 + others + [canonical] * 10 + others[1:2]
    expected_rows, expected_bad = _line_by_line(ACCELEROMETER, batch)
    got_rows, got_bad = _read_file(tmp_path, ACCELEROMETER, "\n".join(batch) + "\n")
    assert _same(got_rows, expected_rows) and got_bad == expected_bad
    assert (len(got_rows), got_bad) == (2512, 3)


@pytest.mark.parametrize(
    "texts",
    [["LINE\n", "", "LINE"], ["LINE\n", "LINE\n", ""], ["LINE", "   \n", "LINE\n"]],
    ids=["empty-inside", "empty-last", "no-lf-inside"],
)
def test_an_empty_line_or_one_without_its_lf_is_tested_on_its_own(texts: list[str]) -> None:
    """The group test holds for lines as the reader splits them (at each LF, none empty); an array
    with an empty line, or a line before the last without its LF, is tested line by line."""
    canonical = CANONICAL["step_trainer"]
    shape = next(shapes(STEP_TRAINER))
    data = "".join(texts).replace("LINE", canonical).encode()
    lengths = [len(t.replace("LINE", canonical).encode()) for t in texts]
    offsets = pa.py_buffer(np.cumsum([0, *lengths]).astype(np.int64))
    lines = pa.LargeStringArray.from_buffers(len(texts), offsets, pa.py_buffer(data))
    expected = [bool(re.fullmatch(shape.anchored.strip("^$"), t.replace("LINE", canonical))) for t in texts]
    with mock.patch.object(reading_lines, "GROUP_LINES", 4):
        assert reading_lines._matching_lines(lines, shape).to_pylist() == expected
