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
    personal: bool = False  # a direct identifier of a person (never in the ML table)

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.also_spelled)

    @property
    def key(self) -> str:
        """The name as matched in JSON: field names match without regard to case."""
        return self.name.lower()


@dataclass(frozen=True)
class Person:
    """Where a table's rows name a person, and how erasure finds them.

    kind: `email` (the column holds an email, compared normalised), `subject_id` (the pseudonym),
    `text` (free text: rows whose text holds the address whole), `path` (a landing path: the address
    in it is redacted, the row stays), or `owned` (rows whose `on` columns match a row of relation
    `via` whose `column` is the person's email: step-trainer readings and their owner).
    """

    kind: str
    column: str
    via: str | None = None
    on: tuple[str, ...] = ()


PERSON_KINDS = ("email", "subject_id", "text", "path", "owned")


@dataclass(frozen=True)
class Source:
    name: str
    fields: tuple[Field, ...]
    person: tuple[Person, ...] = ()  # in the landing table, besides the path of the file

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
        Field("customerName", STR, False, personal=True),
        Field("email", STR, True, personal=True),
        Field("phone", STR, False, personal=True),
        Field("birthDay", STR, False, personal=True),
        Field("serialNumber", STR, True),
        Field("registrationDate", INT, True),
        Field("lastUpdateDate", INT, True),
        Field("shareWithResearchAsOfDate", INT, False),
        Field("shareWithPublicAsOfDate", INT, False),
        Field("shareWithFriendsAsOfDate", INT, False),
    ),
    person=(Person("email", "email"),),
)

ACCELEROMETER = Source(
    "accelerometer",
    (
        Field("user", STR, True, personal=True),
        Field("timestamp", INT, True, also_spelled=("timeStamp",)),
        Field("x", NUM, True),
        Field("y", NUM, True),
        Field("z", NUM, True),
    ),
    person=(Person("email", "user"),),
)

STEP_TRAINER = Source(
    "step_trainer",
    (
        Field("sensorReadingTime", INT, True),
        Field("serialNumber", STR, True),
        Field("distanceFromObject", INT, True),
    ),
    # A reading is its owner's (docs/semantics.md: the owner of a step-trainer reading).
    person=(Person("owned", "email", via="step_trainer_owner", on=("serialNumber", "sensorReadingTime")),),
)

SOURCES: tuple[Source, ...] = (CUSTOMER, ACCELEROMETER, STEP_TRAINER)
