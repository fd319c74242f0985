"""The vectorised fast path: recognise canonical record lines and read them in bulk with DuckDB.

A line is canonical for a source when it is one flat object whose keys are exactly the contract's
fields, spelled as a known export spells them, in contract order (trailing optional fields may be
absent), each value in a shape whose reading is beyond doubt: strings without escapes, integers of at
most 18 digits, plain decimal numbers, `null` for optional fields. For such a line the exact parser
gives the same record, so a regular expression picks the lines and DuckDB's JSON reader converts them.
Every other line goes to the exact parser. The contract stays the only definition of fields and types.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass

from stedi.contract.sources import Field, FieldType, Source

WS = r"[ \t\r]*"
_STRING = r'"[^"\\\x00-\x1f]*"'
# A required string must not be blank: at least one character that is not a space. (Tab, CR and LF
# cannot stand unescaped inside a JSON string, so a space is the only trimmed character left.)
_REQUIRED_STRING = r'"[^"\\\x00-\x1f]*[^"\\\x00-\x20][^"\\\x00-\x1f]*"'
# At most 18 digits: always inside the 64-bit range.
_INT = r"-?(?:0|[1-9][0-9]{0,17})"
# At most 21 integer digits and a two-digit exponent: always finite. Never a negative zero without a
# fraction (`-0`, `-0e1`): DuckDB reads that as the integer 0, where the contract's number is -0.0.
_NUMBER = r"(?:-?[1-9][0-9]{0,20}(?:\.[0-9]{1,40})?|-?0\.[0-9]{1,40}|0(?:\.[0-9]{1,40})?)(?:[eE][+-]?[0-9]{1,2})?"
DUCKDB_TYPES = {FieldType.STRING: "VARCHAR", FieldType.INT: "BIGINT", FieldType.NUMBER: "DOUBLE"}


@dataclass(frozen=True)
class Shape:
    """One canonical line shape: the key spelling of each field, a pattern and a JSON structure."""

    keys: tuple[str, ...]
    pattern: str
    structure: str

    @property
    def anchored(self) -> str:
        """The pattern matching a whole line (for a kernel that matches anywhere in the text)."""
        return f"^(?:{self.pattern})$"

    @property
    def repeated(self) -> str:
        """The pattern matching a run of whole lines, each of this shape and ending in LF but the last
        (which may end without one). No shape matches a LF inside a line, so a run matches exactly
        when each of its lines does on its own."""
        line = self.pattern.removesuffix(r"\n?")
        return rf"^(?:{line}\n)*(?:{line})?$"


def _value(field: Field) -> str:
    if field.type is FieldType.STRING:
        shape = _REQUIRED_STRING if field.required else _STRING
    else:
        shape = _INT if field.type is FieldType.INT else _NUMBER
    return shape if field.required else f"(?:{shape}|null)"


def _pattern(source: Source, keys: tuple[str, ...]) -> str:
    members = [f'"{key}"{WS}:{WS}{_value(f)}' for f, key in zip(source.fields, keys, strict=True)]
    last_required = max(i for i, f in enumerate(source.fields) if f.required)
    head = f"{WS},{WS}".join(members[: last_required + 1])
    tail = "".join(f"(?:{WS},{WS}{m})?" for m in members[last_required + 1 :])
    # The object may be followed by one comma (the `{...},` framing) and white space.
    return rf"{WS}\{{{WS}{head}{tail}{WS}\}}{WS}(?:,{WS})?\n?"


def shapes(source: Source) -> Iterator[Shape]:
    """The canonical shapes of a source, the contract's own spelling first."""
    for keys in itertools.product(*(f.spellings for f in source.fields)):
        structure = json.dumps({key: DUCKDB_TYPES[f.type] for f, key in zip(source.fields, keys, strict=True)})
        yield Shape(keys, _pattern(source, keys), structure)


# What may follow the closing brace of a canonical line, removed before DuckDB reads the object
# (only where a comma follows: trimming copies the string, and most lines end in "}\n").
TRAILING = " \t\r\n,"


def typed_sql(source: Source, shape: Shape) -> str:
    """SQL over `lines(file_id, line_no, line, ok)`: the lines marked ok read into typed fields."""
    cols = ", ".join(f'j."{key}" AS "{f.name}"' for f, key in zip(source.fields, shape.keys, strict=True))
    return (
        f"SELECT file_id, line_no, {cols} FROM ("
        " SELECT file_id, line_no, json_transform(CASE WHEN suffix(line, '}' || chr(10)) OR suffix(line, '}') "
        "THEN line ELSE rtrim(line, $trailing) END, $structure) AS j FROM lines WHERE ok)"
    )


def insert_sql(source: Source, shape: Shape, sink: str, path_type: str | None = None) -> str:
    """SQL that reads the lines of `lines(file_id, line_no, line, ok)` marked ok into typed fields and
    inserts them into table `sink` (landing columns by name; `$names` lists the files' paths).

    `path_type`: the SQL type of the sink's file column, when not text (an ENUM of the paths): the
    list of paths is cast to it once, not each row's path (a twentieth of the insert)."""
    fields = ", ".join(f'"{f.name}"' for f in source.fields)
    names = f"$names::{path_type}[]" if path_type else "$names"
    return (
        f'INSERT INTO "{sink}" BY NAME SELECT {fields}, list_extract({names}, file_id + 1) AS source_file, '
        f"line_no AS source_line, 0::INTEGER AS source_index FROM ({typed_sql(source, shape)})"
    )
