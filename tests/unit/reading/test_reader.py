"""SEMANTICS.md "Reading a record": framings, text, strict JSON, keys, and quarantine."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from stedi.contract.sources import ACCELEROMETER, CUSTOMER, STEP_TRAINER, Source
from stedi.reading.reader import IngestResult, read_source

ACC = '{"user":"a@x.com","timestamp":%s,"x":1.0,"y":0.0,"z":-1.0}'
STEP = '{"sensorReadingTime":1655564444103,"serialNumber":"s-1","distanceFromObject":%s}'


def read(make_landing: Any, source: Source, content: list[str] | dict[str, str | bytes]) -> IngestResult:
    root = make_landing(**{source.name: content})
    return read_source(str(root), source)


def rows(result: IngestResult, *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in columns) for r in result.records.to_pylist()]


def bad(result: IngestResult) -> list[tuple[int, str]]:
    return [(r["source_line"], r["raw_text"]) for r in result.quarantine.to_pylist()]


def reasons(result: IngestResult) -> list[str]:
    return [r["reason"] for r in result.quarantine.to_pylist()]


# --- framings -------------------------------------------------------------------------------------


def test_json_lines_give_one_record_per_line(make_landing: Any) -> None:
    result = read(make_landing, ACCELEROMETER, [ACC % 1, ACC % 2, ACC % 3])
    assert rows(result, "timestamp", "source_line", "source_index") == [(1, 1, 0), (2, 2, 0), (3, 3, 0)]
    assert result.quarantined == 0


def test_records_keep_file_and_line_order_when_lines_take_different_paths(make_landing: Any) -> None:
    # Canonical lines (fast path), the other key spelling (a second fast-path pass) and lines only the
    # exact parser reads, interleaved in two files: the records still come in file, line, position order.
    other_spelling = '{"user":"a@x.com","timeStamp":%s,"x":1.0,"y":0.0,"z":-1.0}'
    exact = '{ "z": -1, "y": 0, "x": 1, "timestamp": %s, "user": "a@x.com" }'
    first = [exact % 1, ACC % 2, other_spelling % 3, (ACC % 4) + (ACC % 5), ACC % 6]
    second = [other_spelling % 7, exact % 8, ACC % 9]
    result = read(make_landing, ACCELEROMETER, {"a.json": "\n".join(first), "b.json": "\n".join(second)})
    assert rows(result, "timestamp", "source_file", "source_line", "source_index") == [
        (1, "accelerometer/landing/a.json", 1, 0),
        (2, "accelerometer/landing/a.json", 2, 0),
        (3, "accelerometer/landing/a.json", 3, 0),
        (4, "accelerometer/landing/a.json", 4, 0),
        (5, "accelerometer/landing/a.json", 4, 1),
        (6, "accelerometer/landing/a.json", 5, 0),
        (7, "accelerometer/landing/b.json", 1, 0),
        (8, "accelerometer/landing/b.json", 2, 0),
        (9, "accelerometer/landing/b.json", 3, 0),
    ]


def test_object_followed_by_comma_is_a_record(make_landing: Any) -> None:
    result = read(make_landing, STEP_TRAINER, [STEP % 1 + ",", STEP % 2 + " , ", STEP % 3])
    assert rows(result, "distanceFromObject") == [(1,), (2,), (3,)]
    assert result.quarantined == 0


def test_objects_run_together_on_one_line_are_separate_records(make_landing: Any) -> None:
    line = (STEP % 1) + (STEP % 2) + " " + (STEP % 3) + "," + (STEP % 4)
    result = read(make_landing, STEP_TRAINER, [line])
    assert rows(result, "distanceFromObject", "source_line", "source_index") == [
        (1, 1, 0),
        (2, 1, 1),
        (3, 1, 2),
        (4, 1, 3),
    ]


def test_two_commas_between_objects_quarantine_the_rest_of_the_line(make_landing: Any) -> None:
    result = read(make_landing, STEP_TRAINER, [(STEP % 1) + ",," + (STEP % 2)])
    assert rows(result, "distanceFromObject") == [(1,)]
    assert bad(result) == [(1, "," + (STEP % 2))]


def test_file_that_is_one_array_is_read_as_its_elements(make_landing: Any) -> None:
    text = "[\n  " + (STEP % 1) + ",\n  " + (STEP % 2) + ", " + (STEP % 3) + "\n]\n"
    result = read(make_landing, STEP_TRAINER, {"a.json": text})
    assert rows(result, "distanceFromObject", "source_line", "source_index") == [(1, 2, 0), (2, 3, 0), (3, 3, 1)]
    assert result.quarantined == 0


def test_empty_array_file_gives_no_records(make_landing: Any) -> None:
    result = read(make_landing, STEP_TRAINER, {"a.json": " [ ] \n"})
    assert result.accepted == 0 and result.quarantined == 0


def test_array_element_that_is_not_an_object_is_quarantined(make_landing: Any) -> None:
    result = read(make_landing, STEP_TRAINER, {"a.json": "[" + (STEP % 1) + ', 42, "x"]'})
    assert rows(result, "distanceFromObject") == [(1,)]
    assert bad(result) == [(1, "42"), (1, '"x"')]
    assert reasons(result) == ["not a JSON object", "not a JSON object"]


def test_truncated_array_falls_back_to_line_by_line(make_landing: Any) -> None:
    text = "[\n" + (STEP % 1) + ",\n" + (STEP % 2) + ",\n" + '{"sensorReadingTime":16'
    result = read(make_landing, STEP_TRAINER, {"a.json": text})
    assert rows(result, "distanceFromObject", "source_line") == [(1, 2), (2, 3)]
    assert bad(result) == [(1, "["), (4, '{"sensorReadingTime":16')]


def test_blank_and_whitespace_lines_are_no_record(make_landing: Any) -> None:
    result = read(make_landing, ACCELEROMETER, {"a.json": "\n   \n\t\r\n" + (ACC % 5) + "\n\n"})
    assert rows(result, "timestamp", "source_line") == [(5, 4)]
    assert result.quarantined == 0


def test_truncated_object_keeps_earlier_records_of_the_line(make_landing: Any) -> None:
    line = (ACC % 1) + (ACC % 2) + '{"user":"a@x.com","timest'
    result = read(make_landing, ACCELEROMETER, [line, ACC % 3])
    assert rows(result, "timestamp") == [(1,), (2,), (3,)]
    assert bad(result) == [(1, '{"user":"a@x.com","timest')]
    assert reasons(result)[0].startswith("invalid JSON")


@pytest.mark.parametrize("value", ["42", '"text"', "[1, 2]", "null", "true"])
def test_value_that_is_not_an_object_is_quarantined_and_reading_goes_on(make_landing: Any, value: str) -> None:
    result = read(make_landing, ACCELEROMETER, [value + " " + (ACC % 7)])
    assert rows(result, "timestamp") == [(7,)]
    assert bad(result) == [(1, value)]
    assert reasons(result) == ["not a JSON object"]


def test_garbage_is_one_fragment_per_line(make_landing: Any) -> None:
    result = read(make_landing, ACCELEROMETER, ["hello world", ACC % 1, "{oops} " + (ACC % 2)])
    assert rows(result, "timestamp") == [(1,)]
    assert bad(result) == [(1, "hello world"), (3, "{oops} " + (ACC % 2))]


def test_pretty_printed_object_is_quarantined_line_by_line(make_landing: Any) -> None:
    text = '{\n  "user": "a@x.com",\n  "timestamp": 1,\n  "x": 1, "y": 1, "z": 1\n}\n'
    result = read(make_landing, ACCELEROMETER, {"a.json": text})
    assert result.accepted == 0
    assert {line for line, _ in bad(result)} == {1, 2, 3, 4, 5}
    # A line such as `"user": "a@x.com",` holds a value that is not an object, then text that stops parsing.
    assert [raw for line, raw in bad(result) if line == 2] == ['"user"', ': "a@x.com",']


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_are_not_json(make_landing: Any, literal: str) -> None:
    result = read(make_landing, ACCELEROMETER, ['{"user":"a@x.com","timestamp":1,"x":%s,"y":0,"z":0}' % literal])
    assert result.accepted == 0
    assert reasons(result)[0].startswith("invalid JSON")


def test_single_quotes_are_not_json(make_landing: Any) -> None:
    result = read(make_landing, ACCELEROMETER, ["{'user':'a@x.com','timestamp':1,'x':0,'y':0,'z':0}"])
    assert result.accepted == 0 and result.quarantined == 1


# --- text -----------------------------------------------------------------------------------------


def test_byte_order_mark_is_ignored(make_landing: Any) -> None:
    result = read(make_landing, ACCELEROMETER, {"a.json": b"\xef\xbb\xbf" + (ACC % 1).encode() + b"\n"})
    assert rows(result, "timestamp") == [(1,)]


def test_crlf_line_endings(make_landing: Any) -> None:
    result = read(make_landing, ACCELEROMETER, {"a.json": (ACC % 1) + "\r\n" + "oops\r\n" + (ACC % 2) + "\r\n"})
    assert rows(result, "timestamp", "source_line") == [(1, 1), (2, 3)]
    assert bad(result) == [(2, "oops")]


def test_invalid_utf8_line_is_one_fragment(make_landing: Any) -> None:
    data = (ACC % 1).encode() + b"\n" + b'{"user":"\xff\xfe@x.com"}\n' + (ACC % 2).encode() + b"\n"
    result = read(make_landing, ACCELEROMETER, {"a.json": data})
    assert rows(result, "timestamp") == [(1,), (2,)]
    assert reasons(result) == ["line is not valid UTF-8"]
    assert bad(result)[0][0] == 2


def test_a_line_of_the_canonical_shape_but_not_utf8_is_one_fragment(make_landing: Any) -> None:
    """Among many canonical lines (the fast path), one whose text is canonical but for a byte that
    is not UTF-8 inside a string."""
    lines = [(ACC % i).encode() for i in range(1, 200)]
    lines[99] = lines[99].replace(b'"user":"', b'"user":"\xff')
    result = read(make_landing, ACCELEROMETER, {"a.json": b"\n".join(lines) + b"\n"})
    assert rows(result, "timestamp") == [(i,) for i in range(1, 200) if i != 100]
    assert reasons(result) == ["line is not valid UTF-8"]
    assert bad(result)[0][0] == 100


def test_gzip_files_are_read(make_landing: Any) -> None:
    data = gzip.compress(("\n".join([ACC % 1, ACC % 2]) + "\n").encode())
    result = read(make_landing, ACCELEROMETER, {"a.json.gz": data, "b.JSONL.GZ": gzip.compress((ACC % 3).encode())})
    assert rows(result, "timestamp", "source_file") == [
        (1, "accelerometer/landing/a.json.gz"),
        (2, "accelerometer/landing/a.json.gz"),
        (3, "accelerometer/landing/b.JSONL.GZ"),
    ]


def test_corrupt_gzip_keeps_what_decompressed_and_quarantines_the_rest(make_landing: Any) -> None:
    lines = [ACC % i for i in range(1, 2001)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    result = read(make_landing, ACCELEROMETER, {"a.json.gz": data[: len(data) // 2]})
    assert 0 < result.accepted < 2000
    assert [r[0] for r in rows(result, "timestamp")] == list(range(1, result.accepted + 1))
    assert result.quarantined == 2  # the cut line, and the gzip failure itself
    assert reasons(result)[-1] == "gzip data is truncated"


# --- files ----------------------------------------------------------------------------------------


def test_files_are_found_recursively_in_path_order_and_others_skipped(make_landing: Any) -> None:
    files: dict[str, str | bytes] = {
        "b.json": ACC % 2,
        "a.jsonl": ACC % 1,
        "sub/c.JSON": ACC % 3,
        "_SUCCESS": "",
        "README.txt": "not data",
        "notes.json.bak": ACC % 9,
    }
    result = read(make_landing, ACCELEROMETER, files)
    assert rows(result, "timestamp") == [(1,), (2,), (3,)]
    assert result.skipped == [
        ("accelerometer/landing/README.txt", "not a .json/.jsonl[.gz] file"),
        ("accelerometer/landing/_SUCCESS", "not a .json/.jsonl[.gz] file"),
        ("accelerometer/landing/notes.json.bak", "not a .json/.jsonl[.gz] file"),
    ]


def test_every_non_blank_line_gives_a_record_or_a_fragment(make_landing: Any) -> None:
    lines = [ACC % 1, "", "x", "[", (ACC % 2) + "]", "  ", '{"user":"a@x.com"}', "{}", ACC % 3]
    result = read(make_landing, ACCELEROMETER, lines)
    seen = {line for line, _ in bad(result)} | {r[0] for r in rows(result, "source_line")}
    assert seen == {i + 1 for i, line in enumerate(lines) if line.strip()}


# --- keys and fields ------------------------------------------------------------------------------


def test_field_names_match_without_regard_to_case(make_landing: Any) -> None:
    result = read(make_landing, ACCELEROMETER, ['{"USER":"a@x.com","timeStamp":5,"X":1,"y":2,"Z":3}'])
    assert rows(result, "user", "timestamp", "x", "y", "z") == [("a@x.com", 5, 1.0, 2.0, 3.0)]


@pytest.mark.parametrize(
    "line",
    [
        '{"user":"a@x.com","timestamp":1,"Timestamp":2,"x":0,"y":0,"z":0}',
        '{"user":"a@x.com","timestamp":1,"timestamp":1,"x":0,"y":0,"z":0}',
        '{"user":"a@x.com","timestamp":1,"x":0,"y":0,"z":0,"extra":{"k":1,"K":2}}',
        '{"user":"a@x.com","timestamp":1,"x":0,"y":0,"z":0,"extra":[{"k":1,"k":2}]}',
    ],
)
def test_keys_equal_ignoring_case_anywhere_quarantine_the_object(make_landing: Any, line: str) -> None:
    result = read(make_landing, ACCELEROMETER, [line])
    assert result.accepted == 0
    assert reasons(result)[0].startswith("duplicate key")


def test_fields_not_in_the_contract_are_ignored(make_landing: Any) -> None:
    result = read(make_landing, ACCELEROMETER, ['{"user":"a@x.com","timestamp":1,"x":0,"y":0,"z":0,"n":{"a":[1]}}'])
    assert rows(result, "timestamp") == [(1,)]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"timestamp":1,"x":0,"y":0,"z":0}', "missing required field user"),
        ('{"user":null,"timestamp":1,"x":0,"y":0,"z":0}', "required field user is null"),
        ('{"user":" \\t ","timestamp":1,"x":0,"y":0,"z":0}', "required field user is empty"),
        ('{"user":"","timestamp":1,"x":0,"y":0,"z":0}', "required field user is empty"),
        ('{"user":"a@x.com","timestamp":true,"x":0,"y":0,"z":0}', "field timestamp: not an integer (true)"),
        ('{"user":"a@x.com","timestamp":1,"x":false,"y":0,"z":0}', "field x: not a number (false)"),
        ('{"user":true,"timestamp":1,"x":0,"y":0,"z":0}', "field user: not a string (true)"),
        ('{"user":{"a":1},"timestamp":1,"x":0,"y":0,"z":0}', "field user: not a string (an object)"),
        ('{"user":"a@x.com","timestamp":[1],"x":0,"y":0,"z":0}', "field timestamp: not an integer (an array)"),
    ],
)
def test_invalid_fields_quarantine_the_record_with_a_reason(make_landing: Any, line: str, reason: str) -> None:
    result = read(make_landing, ACCELEROMETER, [line])
    assert result.accepted == 0
    assert reasons(result) == [reason]
    assert bad(result) == [(1, line)]


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("1655564376361", 1655564376361),
        ("1655564376361.0", 1655564376361),
        ("1.6555643763610E12", 1655564376361),
        ("1e2", 100),
        ("-0", 0),
        ('"1655564376361"', 1655564376361),
        ('" \\t+42\\n "', 42),
        ('"-7"', -7),
        ('"0009223372036854775807"', 9223372036854775807),
        ("9223372036854775807", 9223372036854775807),
        ("-9223372036854775808", -9223372036854775808),
    ],
)
def test_integer_fields_accept(make_landing: Any, literal: str, expected: int) -> None:
    result = read(make_landing, ACCELEROMETER, ['{"user":"a@x.com","timestamp":%s,"x":0,"y":0,"z":0}' % literal])
    assert rows(result, "timestamp") == [(expected,)]


@pytest.mark.parametrize(
    "literal",
    [
        "1655564376361.0000000001",
        "1.5",
        "1e-2",
        "9223372036854775808",
        "-9223372036854775809",
        "1e19",
        '"1e3"',
        '"12.0"',
        '"1_000"',
        '"0x10"',
        '""',
        '"+"',
        '"١٢"',
        '"99999999999999999999"',
    ],
)
def test_integer_fields_refuse(make_landing: Any, literal: str) -> None:
    result = read(make_landing, ACCELEROMETER, ['{"user":"a@x.com","timestamp":%s,"x":0,"y":0,"z":0}' % literal])
    assert result.accepted == 0
    assert reasons(result)[0].startswith("field timestamp:")


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("-1.5", -1.5), ("2", 2.0), ("1e-3", 0.001), ('"1e0"', 1.0), ('" 2.5 "', 2.5), ('"-.5"', -0.5), ('"+3."', 3.0)],
)
def test_number_fields_accept(make_landing: Any, literal: str, expected: float) -> None:
    result = read(make_landing, ACCELEROMETER, ['{"user":"a@x.com","timestamp":1,"x":%s,"y":0,"z":0}' % literal])
    assert rows(result, "x") == [(expected,)]


@pytest.mark.parametrize(
    "literal", ['"1_000"', '"nan"', '"inf"', '"Infinity"', '"0x10"', '""', "1e400", '"1e999"', "true"]
)
def test_number_fields_refuse(make_landing: Any, literal: str) -> None:
    result = read(make_landing, ACCELEROMETER, ['{"user":"a@x.com","timestamp":1,"x":%s,"y":0,"z":0}' % literal])
    assert result.accepted == 0
    assert reasons(result)[0].startswith("field x:")


def test_string_fields_take_numbers_as_their_literal_text(make_landing: Any) -> None:
    line = (
        '{"email":"a@x.com","phone":8015551212.0,"serialNumber":12,"registrationDate":1,'
        '"lastUpdateDate":1,"customerName":"","birthDay":null}'
    )
    result = read(make_landing, CUSTOMER, [line])
    assert rows(result, "phone", "serialNumber", "customerName", "birthDay") == [("8015551212.0", "12", "", None)]


def test_optional_field_of_the_wrong_type_quarantines_the_record(make_landing: Any) -> None:
    base = '{"email":"a@x.com","serialNumber":"s","registrationDate":1,"lastUpdateDate":1'
    lines = [
        base + ',"shareWithResearchAsOfDate":"soon"}',
        base + ',"shareWithResearchAsOfDate":true}',
        base + ',"shareWithResearchAsOfDate":null}',
        base + "}",
        base + ',"shareWithResearchAsOfDate":"1655564376361"}',
    ]
    result = read(make_landing, CUSTOMER, lines)
    assert rows(result, "source_line", "shareWithResearchAsOfDate") == [(3, None), (4, None), (5, 1655564376361)]
    assert [line for line, _ in bad(result)] == [1, 2]


def test_unpaired_surrogate_in_a_string_field_is_quarantined(make_landing: Any) -> None:
    result = read(make_landing, ACCELEROMETER, ['{"user":"a\\ud800@x.com","timestamp":1,"x":0,"y":0,"z":0}'])
    assert result.accepted == 0 and result.quarantined == 1


def test_real_2022_07_export_quarantines_truncated_files(tmp_path: Path) -> None:
    from tests.support.corpora import corpus

    result = read_source(str(corpus("stedi-2022-07")), CUSTOMER)
    assert (result.accepted, result.quarantined) == (33441, 4)
    assert {r["source_file"] for r in result.quarantine.to_pylist()} == {
        "customer/landing/customers-1655293823654.json",
        "customer/landing/customers-1655295864820.json",
        "customer/landing/customers-1655296388814.json",
        "customer/landing/customers-1655471583651.json",
    }
