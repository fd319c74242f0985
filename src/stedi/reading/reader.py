"""Reading a source's landing files into records and quarantined fragments.

Clean lines take the fast path (one vectorised regular-expression pass in DuckDB over all lines of a
batch of files); whatever it does not recognise goes line by line through the exact parser. Both
produce the same record for any line the fast path accepts, so the split is invisible in the output.
Files come as blocks of whole lines (`files.blocks`), so memory stays bounded whatever their size.
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
from stedi.reading.files import DEFAULT_MAX_RECORD, Block, FileText, blocks, line_text, undecodable
from stedi.reading.jsonscan import Fragment, Value, scan_array, scan_line
from stedi.reading.landing import LandingFile, discover, open_root

BATCH_BYTES = 128 << 20  # landing text read before its rows are handed on (after a whole file)
SPLIT_BYTES = 256 << 20  # a file with more text than this is handed on in parts
CHANGED = "file changed while it was read: its rows are not kept, and the next run reads it again"


@dataclass(frozen=True)
class FileRead:
    """What one landing file gave. `digest` is of the bytes the rows came from; None when the file
    was not read whole (it is read again by every later run until it is)."""

    relative: str
    digest: str | None
    records: int
    quarantined: int
    problem: str | None = None


@dataclass
class IngestResult:
    """What reading one source gave: its landing rows, its quarantine rows, and per-file results."""

    source: Source
    records: pa.Table
    quarantine: pa.Table
    files: list[FileRead]
    skipped: list[tuple[str, str]]

    @property
    def accepted(self) -> int:
        return self.records.num_rows

    @property
    def quarantined(self) -> int:
        return self.quarantine.num_rows


@dataclass
class _Collector:
    """Rows found so far, keyed by file ordinal; turned into sorted Arrow tables at the end."""

    source: Source
    sink: str | None = None  # a DuckDB table the fast path inserts into, instead of `fast`
    sink_names: list[str] = field(default_factory=list)  # the files' paths, by file id, for the sink
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


def read_line(source: Source, text: str, line: int = 1) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """The exact path on one line of text: (record values in contract order, (raw text, reason))."""
    out = _Collector(source)
    out.add_line(0, text, line)
    return [row[3:] for row in out.rows], [(raw, reason) for _, _, raw, reason in out.bad]


def read_source(
    root: str, source: Source, con: duckdb.DuckDBPyConnection | None = None, max_record: int = DEFAULT_MAX_RECORD
) -> IngestResult:
    """Every data file of the source's landing folder, in path order."""
    listing = discover(root, source.name)
    return read_files(root, source, listing.files, listing.skipped, con, max_record)


def read_files(
    root: str,
    source: Source,
    files: list[LandingFile],
    skipped: list[tuple[str, str]] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    max_record: int = DEFAULT_MAX_RECORD,
) -> IngestResult:
    """The given files of one source (a whole landing folder, or one engine task's share of it)."""
    records: list[pa.Table] = []
    quarantine: list[pa.Table] = []
    results: list[FileRead] = []
    for chunk in read_chunks(root, source, files, con, max_record):
        if chunk.discard:
            records = [_without(t, chunk.discard) for t in records]
            quarantine = [_without(t, chunk.discard) for t in quarantine]
        records.append(chunk.records)
        quarantine.append(chunk.quarantine)
        results += chunk.files
    return IngestResult(
        source,
        pa.concat_tables(records) if records else source.landing_schema().empty_table(),
        pa.concat_tables(quarantine) if quarantine else QUARANTINE_SCHEMA.empty_table(),
        results,
        skipped or [],
    )


def _without(table: pa.Table, files: list[str]) -> pa.Table:
    return table.filter(pc.invert(pc.is_in(table.column("source_file"), pa.array(files, pa.string()))))


@dataclass(frozen=True)
class Chunk:
    """Rows of consecutive files, in file, line and position order. A large file's rows may span
    chunks; `files` are those whose reading ended in this chunk. `discard`: files whose rows, in
    this chunk and before, must not be kept (they changed while they were read)."""

    records: pa.Table
    quarantine: pa.Table
    files: list[FileRead]
    discard: list[str] = field(default_factory=list)


def read_chunks(
    root: str,
    source: Source,
    files: list[LandingFile],
    con: duckdb.DuckDBPyConnection | None = None,
    max_record: int = DEFAULT_MAX_RECORD,
    sink: str | None = None,
) -> Iterator[Chunk]:
    """The files' rows, about BATCH_BYTES of landing text at a time (a file is split only beyond
    SPLIT_BYTES): memory stays flat in the data size.

    With `sink` (a table of `con` with the landing table's columns), the rows of canonical lines go
    straight into it and the chunks hold only the others; otherwise every row is in the chunks, in
    file, line and position order."""
    fs, _ = open_root(root)
    reading = _Reading(source, files, con or duckdb.connect(), sink)
    for file_id, file in enumerate(files):
        text_blocks, text = blocks(fs, file, max_record)
        for part in _framed(reading.out, file_id, text_blocks, max_record):
            reading.batch.add(file_id, part)
            if reading.batch.nbytes >= SPLIT_BYTES:
                yield reading.chunk()
        reading.end_file(file_id, text, max_record)
        if reading.batch.nbytes >= BATCH_BYTES or reading.discard or file_id == len(files) - 1:
            yield reading.chunk()


def _framed(out: _Collector, file_id: int, text: Iterator[Block], max_record: int) -> Iterator[Block]:
    """The file's blocks for line-by-line reading; none when its whole text is one JSON array (read
    here as its elements). Only a text of at most `max_record` bytes is tried as an array."""
    first = next(text, None)
    if first is None:
        return
    if first.data.lstrip(b" \t\r\n")[:1] != b"[":
        yield first
        yield from text
        return
    held, size = [first], len(first.data)
    for block in text:
        held.append(block)
        size += len(block.data)
        if size > max_record:
            break
    if size <= max_record and _read_as_array(out, file_id, b"".join(b.data for b in held)):
        return
    yield from held
    yield from text


class _Reading:
    """The state of read_chunks: rows found, lines waiting for the fast path, per-file counts."""

    def __init__(
        self, source: Source, files: list[LandingFile], con: duckdb.DuckDBPyConnection, sink: str | None
    ) -> None:
        self.source, self.files, self.con, self.sink = source, files, con, sink
        self.names = pa.array([f.relative for f in files], pa.string())
        self.out, self.batch = self._collector(), _LineBatch()
        self.records = np.zeros(len(files), dtype=np.int64)  # per file id, in chunks already out
        self.quarantined = np.zeros(len(files), dtype=np.int64)
        self.discard: list[str] = []
        self.texts: dict[int, FileText] = {}  # files whose reading ended since the last chunk

    def end_file(self, file_id: int, text: FileText, max_record: int) -> None:
        for line, prefix, size in text.too_large:
            reason = f"record too large ({size:,} bytes; the limit is {max_record:,}, see --max-record-size)"
            self.out.bad.append((file_id, line, prefix, reason))
        if text.changed:
            self.batch.run(self.con, self.out)
            self.out.drop(file_id)
            self.records[file_id] = self.quarantined[file_id] = 0
            self.discard.append(self.files[file_id].relative)
            self.out.bad.append((file_id, text.lines + 1, "", CHANGED))
            text.digest = None
        elif text.error is not None:
            self.out.bad.append((file_id, text.lines + 1, "", text.error))
        self.texts[file_id] = text

    def chunk(self) -> Chunk:
        self.batch.run(self.con, self.out)
        records, bad, per_file_records, per_file_bad = _finish(self.out, self.names)
        self.records += per_file_records + self.out.fast_counts
        self.quarantined += per_file_bad
        done = [
            FileRead(self.files[i].relative, t.digest, int(self.records[i]), int(self.quarantined[i]),
                     CHANGED if t.changed else t.error)
            for i, t in sorted(self.texts.items())
        ]  # fmt: skip
        result = Chunk(records, bad, done, self.discard)
        self.out, self.texts, self.discard = self._collector(), {}, []
        return result

    def _collector(self) -> _Collector:
        count = len(self.files)
        names = self.names.to_pylist() if self.sink else []
        return _Collector(self.source, self.sink, names, np.zeros(count, dtype=np.int64))


def _read_as_array(out: _Collector, file_id: int, data: bytes) -> bool:
    """Read a file whose whole text is one JSON array as its elements; False if it is not one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    elements = scan_array(text)
    if elements is None:
        return False  # a truncated or invalid array is read line by line
    for item in elements:
        out.add_value(file_id, item)
    return True


class _LineBatch:
    """Lines of blocks of several files, kept as zero-copy Arrow strings over the blocks' bytes."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, Block, np.ndarray]] = []
        self.nbytes = 0

    def add(self, file_id: int, block: Block) -> None:
        if len(block.starts) > 1:
            self.parts.append((file_id, block, block.starts))
            self.nbytes += len(block.data)

    def run(self, con: duckdb.DuckDBPyConnection, out: _Collector) -> None:
        tables = []
        for part, (file_id, block, starts) in enumerate(self.parts):
            lines = _as_arrow_lines(block.data, starts)
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
        return pa.chunked_array([pc.match_substring_regex(c, shape.anchored) for c in chunks], pa.bool_())
    return pa.chunked_array(
        list(_pool().map(lambda c: pc.match_substring_regex(c, shape.anchored), chunks)), pa.bool_()
    )


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="stedi-match")


def _into_collector(
    con: duckdb.DuckDBPyConnection, out: _Collector, shape: fastpath.Shape, pending: pa.Table
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


def _into_sink(con: duckdb.DuckDBPyConnection, out: _Collector, shape: fastpath.Shape, pending: pa.Table) -> pa.Table:
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
            con.execute(fastpath.insert_sql(out.source, shape, out.sink), params).fetchall()
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


def _as_arrow_lines(data: bytes, starts: np.ndarray) -> pa.Array | None:
    buffers = [None, pa.py_buffer(starts.astype(np.int64)), pa.py_buffer(data)]
    lines = pa.LargeStringArray.from_buffers(len(starts) - 1, buffers[1], buffers[2])
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return lines


def _exact_lines(out: _Collector, file_id: int, block: Block, starts: np.ndarray, indexes: Iterable[int]) -> None:
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


def _finish(out: _Collector, names: pa.Array) -> tuple[pa.Table, pa.Table, np.ndarray, np.ndarray]:
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
