"""Rows from lines of landing text: the collector of records and quarantined fragments, and a batch
of lines that takes the fast path (Arrow's regular-expression kernel, then DuckDB's JSON reader) or,
line by line, the exact parser.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stedi.contract.sources import QUARANTINE_SCHEMA, Source
from stedi.reading import fastpath
from stedi.reading.coerce import Invalid, read_record
from stedi.reading.files import Block, line_text, undecodable, valid_utf8
from stedi.reading.jsonscan import Fragment, Value, scan_line

GROUP_LINES = 256  # lines tested for the fast path at once (see `_matching_lines`)


@dataclass
class Collector:
    """Rows found so far, keyed by file ordinal; turned into sorted Arrow tables at the end."""

    source: Source
    sink: str | None = None  # a DuckDB table the fast path inserts into, instead of `fast`
    sink_names: list[str] = field(default_factory=list)  # the files' paths, by file id, for the sink
    sink_path_type: str | None = None  # the SQL type of the sink's file column, when not text
    fast_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # sink rows per file id
    fast: list[pa.Table] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # (file_id, line, index, *values)
    bad: list[tuple[int, int, str, str]] = field(default_factory=list)  # (file_id, line, raw, reason)

    def add_value(self, file_id: int, item: Value) -> None:
        if not isinstance(item.value, dict):
            self.bad.append((file_id, item.line, item.raw, "not a JSON object"))
        elif item.duplicate_key is not None:
            reason = f"duplicate key {item.duplicate_key!r} (keys equal ignoring case)"
            self.bad.append((file_id, item.line, item.raw, reason))
        else:
            try:
                values = read_record(self.source, item.value)
            except Invalid as exc:
                self.bad.append((file_id, item.line, item.raw, str(exc)))
            else:
                self.rows.append((file_id, item.line, item.index, *values))

    def drop(self, file_id: int) -> None:
        """Forget every row found of one file (rows already in the sink are the engine's to delete)."""
        if len(self.fast_counts):
            self.fast_counts[file_id] = 0
        self.fast = [t.filter(pc.not_equal(t.column("file_id"), file_id)) for t in self.fast]
        self.rows = [r for r in self.rows if r[0] != file_id]
        self.bad = [r for r in self.bad if r[0] != file_id]

    def add_line(self, file_id: int, text: str, line: int) -> None:
        for item in scan_line(text, line):
            if isinstance(item, Fragment):
                self.bad.append((file_id, item.line, item.raw, item.reason))
            else:
                self.add_value(file_id, item)


class LineBatch:
    """Lines of blocks of several files, kept as zero-copy Arrow strings over the blocks' bytes."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, Block, np.ndarray]] = []
        self.nbytes = 0

    def add(self, file_id: int, block: Block) -> None:
        if len(block.starts) > 1:
            self.parts.append((file_id, block, block.starts))
            self.nbytes += len(block.data)

    def run(self, con: duckdb.DuckDBPyConnection, out: Collector) -> None:
        tables = []
        for part, (file_id, block, starts) in enumerate(self.parts):
            lines = _as_arrow_lines(block.data, starts, block.utf8)
            if lines is None:  # not valid UTF-8 somewhere: every line of the block to the exact path
                _exact_lines(out, file_id, block, starts, range(len(starts) - 1))
                continue
            n = len(lines)
            tables.append(
                pa.table(
                    {
                        "part": pa.array(np.full(n, part, dtype=np.int32)),
                        "file_id": pa.array(np.full(n, file_id, dtype=np.int32)),
                        "line_no": pa.array(np.arange(block.first_line, block.first_line + n, dtype=np.int64)),
                        "line": lines,
                    }
                )
            )
        parts, self.parts, self.nbytes = self.parts, [], 0
        if not tables:
            return
        pending = pa.concat_tables(tables)
        for shape in fastpath.shapes(out.source):
            pending = (_into_sink if out.sink else _into_collector)(con, out, shape, pending)
            if pending.num_rows == 0:
                return
        for part, line_nos in _group_lines(pending):
            file_id, block, starts = parts[part]
            _exact_lines(out, file_id, block, starts, (n - block.first_line for n in line_nos))


def _matching(lines: pa.ChunkedArray, shape: fastpath.Shape) -> pa.ChunkedArray:
    """Which lines are of this shape: Arrow's RE2 kernel, one chunk per thread (it lets go of the
    interpreter lock; DuckDB's regexp pays more per line)."""
    chunks = lines.chunks
    if len(chunks) < 2:
        return pa.chunked_array([_matching_lines(c, shape) for c in chunks], pa.bool_())
    return pa.chunked_array(list(_pool().map(lambda c: _matching_lines(c, shape), chunks)), pa.bool_())


def _matching_lines(lines: pa.Array, shape: fastpath.Shape) -> pa.Array:
    """Which of these lines are of this shape, tested `GROUP_LINES` at a time: one match of a
    group's text against the shape repeated (`Shape.repeated`) costs a sixth less than a match per
    line, and gives the same answer where no line is empty and every line but the last ends in its
    only LF (as lines split at each LF do; other lines are tested one by one). The lines of the
    groups that do not match are then tested one by one, in one call."""
    count = len(lines)
    if count < 2 or lines.null_count or not pa.types.is_large_string(lines.type):
        return pc.match_substring_regex(lines, shape.anchored)
    _, offsets_buffer, data_buffer = lines.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[lines.offset : lines.offset + count + 1]
    ends_in_lf = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[1:-1] - 1] == 10
    if not (ends_in_lf.all() and (np.diff(offsets) > 0).all()):
        return pc.match_substring_regex(lines, shape.anchored)
    cuts = np.append(offsets[:-1:GROUP_LINES], offsets[-1])
    groups = pa.LargeStringArray.from_buffers(len(cuts) - 1, pa.py_buffer(cuts), data_buffer)
    whole = pc.match_substring_regex(groups, shape.repeated).to_numpy(zero_copy_only=False)
    if whole.all():
        return pa.array(np.ones(count, dtype=bool))
    if not whole.any():  # lines of another shape (or spelling): what one match per line answers
        return pc.match_substring_regex(lines, shape.anchored)
    # One call for the lines of every group that did not match (each call compiles the pattern).
    ok = np.repeat(whole, GROUP_LINES)[:count]
    failed = ~ok
    ok[failed] = pc.match_substring_regex(lines.filter(pa.array(failed)), shape.anchored).to_numpy(zero_copy_only=False)
    return pa.array(ok)


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="stedi-match")


def _into_collector(
    con: duckdb.DuckDBPyConnection, out: Collector, shape: fastpath.Shape, pending: pa.Table
) -> pa.Table:
    """Lines of this shape read into typed rows kept in `out`; the other lines, returned."""
    ok = _matching(pending.column("line"), shape)
    marked = pending.append_column("ok", ok)
    mask = ok.to_numpy()
    if mask.any():
        con.register("lines", marked)
        try:
            params = {"structure": shape.structure, "trailing": fastpath.TRAILING}
            accepted = con.sql(fastpath.typed_sql(out.source, shape), params=params).to_arrow_table()
        finally:
            con.unregister("lines")
        index = pa.array(np.zeros(accepted.num_rows, dtype=np.int32))
        out.fast.append(accepted.add_column(2, "index", index))
    return pending.filter(pa.array(~mask))


def _into_sink(con: duckdb.DuckDBPyConnection, out: Collector, shape: fastpath.Shape, pending: pa.Table) -> pa.Table:
    """Lines of this shape inserted, typed, straight into the sink table (no round trip through
    Python: row order is not part of a table's meaning); the other lines, returned."""
    assert out.sink is not None
    ok = _matching(pending.column("line"), shape)
    marked = pending.append_column("ok", ok)
    mask = ok.to_numpy()
    if mask.any():
        ids = pending.column("file_id").to_numpy()
        out.fast_counts += np.bincount(ids[mask], minlength=len(out.fast_counts))
        con.register("lines", marked)
        try:
            params = {"structure": shape.structure, "trailing": fastpath.TRAILING, "names": out.sink_names}
            con.execute(fastpath.insert_sql(out.source, shape, out.sink, out.sink_path_type), params).fetchall()
        finally:
            con.unregister("lines")
    return pending.filter(pa.array(~mask))


def _group_lines(table: pa.Table) -> Iterator[tuple[int, list[int]]]:
    if table.num_rows == 0:
        return
    ids = table.column("part").to_numpy()
    nos = table.column("line_no").to_numpy()
    for part in np.unique(ids):
        yield int(part), sorted(nos[ids == part].tolist())


def _as_arrow_lines(data: bytes | memoryview, starts: np.ndarray, utf8: bool | None = None) -> pa.Array | None:
    """The lines as Arrow strings over `data`; None when one is not valid UTF-8 (`utf8`: whether the
    text is, when known: checked here otherwise, on the thread that hands the lines on)."""
    if not (valid_utf8(data) if utf8 is None else utf8):
        return None
    offsets = pa.py_buffer(starts.astype(np.int64, copy=False))
    return pa.LargeStringArray.from_buffers(len(starts) - 1, offsets, pa.py_buffer(data))


def _exact_lines(out: Collector, file_id: int, block: Block, starts: np.ndarray, indexes: Iterable[int]) -> None:
    for i in indexes:
        start, end = int(starts[i]), int(starts[i + 1])
        text = line_text(block.data, start, end)
        line = block.first_line + i
        if text is None:
            out.bad.append((file_id, line, undecodable(block.data, start, end), "line is not valid UTF-8"))
        else:
            out.add_line(file_id, text, line)


def _in_order(found: pa.Table) -> bool:
    """Whether the rows already run in (file, line, position) order: when every line took the fast
    path they do, and a vectorised check costs far less than sorting (a fifth of reading at scale)."""
    if found.num_rows < 2:
        return True
    keys = [np.diff(found.column(c).to_numpy().astype(np.int64)) for c in ("file_id", "line_no", "index")]
    later = keys[2] > 0
    for step in (keys[1], keys[0]):
        later = (step > 0) | ((step == 0) & later)
    return bool(later.all())


def finish(out: Collector, names: pa.Array) -> tuple[pa.Table, pa.Table, np.ndarray, np.ndarray]:
    """The rows found as sorted Arrow tables, and per file id their records and quarantined rows."""
    source = out.source
    schema = pa.schema(
        [pa.field("file_id", pa.int32()), pa.field("line_no", pa.int64()), pa.field("index", pa.int32())]
        + [pa.field(f.name, f.type.arrow) for f in source.fields]
    )
    parts = list(out.fast)
    if out.rows:
        columns = list(zip(*out.rows, strict=True))
        parts.append(
            pa.table([pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema)
        )
    found = pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()
    if not _in_order(found):
        found = found.sort_by([("file_id", "ascending"), ("line_no", "ascending"), ("index", "ascending")])
    ids = found.column("file_id")
    records = found.select([f.name for f in source.fields])
    records = records.append_column("source_file", pc.take(names, ids))
    records = records.append_column("source_line", found.column("line_no"))
    records = records.append_column("source_index", found.column("index"))
    records = records.cast(source.landing_schema())

    bad = sorted(out.bad, key=lambda r: (r[0], r[1]))
    bad_ids = np.array([r[0] for r in bad], dtype=np.int64)
    quarantine = pa.table(
        {
            "source_file": pc.take(names, pa.array(bad_ids, type=pa.int64())),
            "source_line": pa.array([r[1] for r in bad], type=pa.int64()),
            "raw_text": pa.array([r[2] for r in bad], type=pa.string()),
            "reason": pa.array([r[3] for r in bad], type=pa.string()),
        },
        schema=QUARANTINE_SCHEMA,
    )
    count = len(names)
    per_file_records = np.bincount(ids.to_numpy().astype(np.int64), minlength=count)
    return records, quarantine, per_file_records, np.bincount(bad_ids, minlength=count)
