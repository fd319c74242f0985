"""Fingerprints of a table's rows: the schema and the multiset of rows, whatever their order.

A fingerprint is `count:digest:schema`, where the digest is the sum of the rows' hashes (see
`Rows.measure`) and `schema` a hash of the schema's text. A sum is additive: the fingerprint of a
table's rows of before and some rows appended to them is the sum of the two, so a write that
appends to a table measures only the rows it appends, not the whole table again.
"""

from __future__ import annotations

import functools
import hashlib

import pyarrow as pa

from stedi.warehouse.rows import Rows

# The row hash a snapshot's fingerprint was summed with, as an answer it gives: a fingerprint is
# extended only with digests of the same hash (another DuckDB may hash rows otherwise).
ROW_HASH = "stedi.row-hash"
_KNOWN_ROW = (
    "SELECT hash(-1::BIGINT, 'stedi', 0.5::DOUBLE, TIMESTAMPTZ '2022-07-01 00:00:00+00', NULL::VARCHAR)::VARCHAR"
)
_UTC = {"Etc/UTC", "+00:00", "UTC", "Z"}


def hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def schema_text(schema: pa.Schema) -> str:
    """The schema as the fingerprint sees it: names, types and nullability (any spelling of UTC is UTC)."""
    fields = []
    for f in schema:
        kind = f.type
        if pa.types.is_timestamp(kind) and kind.tz in _UTC:
            kind = pa.timestamp(kind.unit, tz="UTC")
        fields.append(f"{f.name}: {kind}{'' if f.nullable else ' not null'}")
    return "\n".join(fields)


def fingerprint(rows: Rows, schema: pa.Schema) -> str:
    """A fingerprint of the rows' schema and multiset of rows (row order does not matter)."""
    return f"{rows.measure.count}:{rows.measure.digest}:{hash_text(schema_text(schema))}"


@functools.cache
def row_hash() -> str:
    """What this process's DuckDB row hash makes of a known row (see ROW_HASH); asked once."""
    import duckdb

    ((answer,),) = duckdb.connect().execute(_KNOWN_ROW).fetchall()
    return str(answer)


def appended(before: str | None, added: Rows, schema: pa.Schema) -> tuple[str, int] | None:
    """The fingerprint of the rows `before` fingerprints with `added` appended, and their count;
    None when `before` is not a fingerprint of rows of this schema (another engine's, an older
    schema's, or none), and the whole table must be measured. The caller makes sure `before` was
    summed with the row hash `added` is (see ROW_HASH)."""
    parts = (before or "").split(":")
    if len(parts) != 3 or parts[2] != hash_text(schema_text(schema)):
        return None
    try:
        count, digest = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    if count < 0 or digest < 0:
        return None
    count += added.measure.count
    return f"{count}:{digest + added.measure.digest}:{parts[2]}", count
