"""A property test with its own oracle: generated good and bad lines, each knowing what it must give.

Good lines are built from known values in the framings and spellings the contract allows; bad lines
each carry one defect the contract names. The reader must give exactly the good records, quarantine
every bad line, and account for every non-blank line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stedi.contract.sources import STEP_TRAINER
from stedi.reading.reader import read_source

INT64 = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
SERIAL = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=12)
KEYS = ("sensorReadingTime", "serialNumber", "distanceFromObject")


@st.composite
def int_literal(draw: Any, n: int) -> str:
    form = draw(st.sampled_from(["int", "float", "string"]))
    if form == "float":
        return f"{n}.0"
    if form == "string":
        return json.dumps(draw(st.sampled_from(["", " ", "\t"])) + str(n) + draw(st.sampled_from(["", " ", "\n"])))
    return str(n)


@st.composite
def key(draw: Any, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.swapcase() if f else c for c, f in zip(name, flips, strict=True))


@st.composite
def good_line(draw: Any) -> tuple[str, tuple[int, str, int]]:
    time, distance = draw(INT64), draw(INT64)
    serial_number = draw(st.one_of(SERIAL.map(lambda s: (json.dumps(s), s)), INT64.map(lambda n: (str(n), str(n)))))
    fields = [
        (draw(key("sensorReadingTime")), draw(int_literal(time))),
        (draw(key("serialNumber")), serial_number[0]),
        (draw(key("distanceFromObject")), draw(int_literal(distance))),
    ]
    if draw(st.booleans()):
        fields.append(("extra", json.dumps(draw(TEXT))))
    fields = draw(st.permutations(fields))
    space = draw(st.sampled_from(["", " "]))
    body = "{" + f",{space}".join(f"{json.dumps(k)}:{space}{v}" for k, v in fields) + "}"
    return body + draw(st.sampled_from(["", ",", " ", ",  "])), (time, serial_number[1], distance)


def _object(values: dict[str, str]) -> str:
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in values.items()) + "}"


@st.composite
def bad_line(draw: Any) -> str:
    valid = {"sensorReadingTime": "1", "serialNumber": '"s"', "distanceFromObject": "2"}
    field = draw(st.sampled_from(KEYS))
    defect = draw(st.sampled_from(["missing", "null", "bool", "fraction", "range", "dupkey", "empty", "nonfinite"]))
    broken = dict(valid)
    if defect == "missing":
        del broken[field]
    elif defect == "null":
        broken[field] = "null"
    elif defect == "bool":
        broken[field] = draw(st.sampled_from(["true", "false"]))
    elif defect == "fraction":
        broken["sensorReadingTime"] = f"{draw(INT64)}.5"
    elif defect == "range":
        broken["distanceFromObject"] = str(draw(st.integers(2**63, 2**80) | st.integers(-(2**80), -(2**63) - 1)))
    elif defect == "dupkey":
        broken[field.upper()] = valid[field]
    elif defect == "empty":
        broken["serialNumber"] = json.dumps(draw(st.sampled_from(["", " ", "\t\r\n"])))
    else:
        broken["sensorReadingTime"] = draw(st.sampled_from(["NaN", "Infinity", '"nan"', '"1_000"', "1e400"]))
    text = _object(broken)
    framing = draw(st.sampled_from(["plain", "truncated", "not-object", "garbage"]))
    if framing == "truncated":  # a good object cut before its closing brace
        good = _object(valid)
        return good[: draw(st.integers(1, len(good) - 1))]
    if framing == "not-object":
        return draw(st.sampled_from(["42", '"text"', "[1, 2]", "true", "null"]))
    if framing == "garbage":
        return draw(st.sampled_from(["#", "hello", "{'single': 'quotes'}", "}{", ":"]))
    return text


LINE = st.one_of(
    good_line().map(lambda g: ("good", g[0], g[1])),
    bad_line().map(lambda b: ("bad", b, None)),
    st.sampled_from(["", " ", "\t", "\r"]).map(lambda b: ("blank", b, None)),
)


@pytest.mark.slow  # hundreds of generated files: the whole suite, not the everyday loop
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, min_size=1, max_size=40))
def test_records_are_exactly_the_good_lines_and_every_bad_line_is_quarantined(
    lines: list[tuple[str, str, Any]], tmp_path: Path
) -> None:
    root = tmp_path / "landing"
    folder = root / "step_trainer" / "landing"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "readings.json").write_text("\n".join(text for _, text, _ in lines) + "\n", encoding="utf-8")

    result = read_source(str(root), STEP_TRAINER)

    records = [(r["source_line"], (r["sensorReadingTime"], r["serialNumber"], r["distanceFromObject"]))
               for r in result.records.to_pylist()]  # fmt: skip
    expected = [(i + 1, values) for i, (kind, _, values) in enumerate(lines) if kind == "good"]
    assert records == expected
    quarantined = {r["source_line"] for r in result.quarantine.to_pylist()}
    assert quarantined == {i + 1 for i, (kind, _, _) in enumerate(lines) if kind == "bad"}
    assert all(r["reason"] for r in result.quarantine.to_pylist())
