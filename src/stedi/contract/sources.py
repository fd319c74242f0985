"""The three landing sources as data: their fields, types and whether each is required.

Everything that reads records (the exact parser, the vectorised fast path, the Arrow schemas of the
landing and quarantine tables) is derived from these definitions, so a field is declared once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pyarrow as pa


class FieldType(Enum):
    STRING = "string"
    INT = "int"
    NUMBER = "number"

    @property
    def arrow(self) -> pa.DataType:
        return {FieldType.STRING: pa.string(), FieldType.INT: pa.int64(), FieldType.NUMBER: pa.float64()}[self]


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required: bool
    # Exact key spellings seen in real exports: only a speed hint for the fast path, since keys
    # match without regard to case anyway.
    also_spelled: tuple[str, ...] = ()

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.also_spelled)

    @property
    def key(self) -> str:
        """The name as matched in JSON: field names match without regard to case."""
        return self.name.lower()


@dataclass(frozen=True)
class Source:
    name: str
    fields: tuple[Field, ...]

    @property
    def landing_table(self) -> str:
        return f"{self.name}_landing"

    @property
    def quarantine_table(self) -> str:
        return f"{self.name}_quarantine"

    def landing_schema(self) -> pa.Schema:
        cols = [pa.field(f.name, f.type.arrow, nullable=not f.required) for f in self.fields]
        return pa.schema(cols + list(LINEAGE_FIELDS))


# Where a record came from: file (relative to the landing root), 1-based line, and 0-based position of
# the record on that line (several objects can share a line). Together they give "read order".
LINEAGE_FIELDS = (
    pa.field("source_file", pa.string(), nullable=False),
    pa.field("source_line", pa.int64(), nullable=False),
    pa.field("source_index", pa.int32(), nullable=False),
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=False),
        pa.field("raw_text", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)

STR, INT, NUM = FieldType.STRING, FieldType.INT, FieldType.NUMBER

CUSTOMER = Source(
    "customer",
    (
        Field("customerName", STR, False),
        Field("email", STR, True),
        Field("phone", STR, False),
        Field("birthDay", STR, False),
        Field("serialNumber", STR, True),
        Field("registrationDate", INT, True),
        Field("lastUpdateDate", INT, True),
        Field("shareWithResearchAsOfDate", INT, False),
        Field("shareWithPublicAsOfDate", INT, False),
        Field("shareWithFriendsAsOfDate", INT, False),
    ),
)

ACCELEROMETER = Source(
    "accelerometer",
    (
        Field("user", STR, True),
        Field("timestamp", INT, True, also_spelled=("timeStamp",)),
        Field("x", NUM, True),
        Field("y", NUM, True),
        Field("z", NUM, True),
    ),
)

STEP_TRAINER = Source(
    "step_trainer",
    (
        Field("sensorReadingTime", INT, True),
        Field("serialNumber", STR, True),
        Field("distanceFromObject", INT, True),
    ),
)

SOURCES: tuple[Source, ...] = (CUSTOMER, ACCELEROMETER, STEP_TRAINER)
