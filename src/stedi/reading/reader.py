"""Reading a source's landing files into records and quarantined fragments.

Clean lines take the fast path (one vectorised regular-expression pass in DuckDB over all lines of a
batch of files); whatever it does not recognise goes line by line through the exact parser. Both
produce the same record for any line the fast path accepts, so the split is invisible in the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stedi.contract.sources import QUARANTINE_SCHEMA, Source
from stedi.reading import fastpath
from stedi.reading.coerce import Invalid, read_record
from stedi.reading.jsonscan import Fragment, Value, scan_array, scan_line
from stedi.reading.landing import BOM, LandingFile, discover, line_starts, line_text, open_root, read_bytes, undecodable

BATCH_BYTES = 128 << 20


@dataclass(frozen=True)
class FileResult:
    file: str
    records: int
    quarantined: int


@dataclass
class IngestResult:
    """What reading one source gave: its landing rows, its quarantine rows, and per-file counts."""

    source: Source
    records: pa.Table
    quarantine: pa.Table
    files: list[FileResult]
    skipped: list[str]

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


def read_source(root: str, source: Source, con: duckdb.DuckDBPyConnection | None = None) -> IngestResult:
    """Every data file of the source's landing folder, in path order."""
    files, skipped = discover(root, source.name)
    return read_files(root, source, files, skipped, con)


def read_files(
    root: str,
    source: Source,
    files: list[LandingFile],
    skipped: list[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> IngestResult:
    """The given files of one source (a whole landing folder, or one engine task's share of it)."""
    chunks = list(read_chunks(root, source, files, con))
    records = pa.concat_tables([c.records for c in chunks]) if chunks else source.landing_schema().empty_table()
    quarantine = pa.concat_tables([c.quarantine for c in chunks]) if chunks else QUARANTINE_SCHEMA.empty_table()
    return IngestResult(source, records, quarantine, [f for c in chunks for f in c.files], skipped or [])


@dataclass(frozen=True)
class Chunk:
    """The rows of a run of consecutive files, in file, line and position order."""

    records: pa.Table
    quarantine: pa.Table
    files: list[FileResult]


def read_chunks(
    root: str, source: Source, files: list[LandingFile], con: duckdb.DuckDBPyConnection | None = None
) -> Iterator[Chunk]:
    """The files' rows, about BATCH_BYTES of landing text at a time: memory stays flat in the data size.
    A file is never split across chunks; the chunks, in order, are the rows of the files in order."""
    fs, _ = open_root(root)
    con = con or duckdb.connect()
    out, batch, first = _Collector(source), _LineBatch(), 0
    for file_id, file in enumerate(files):
        data, error = read_bytes(fs, file)
        if data.startswith(BOM):
            data = data[len(BOM) :]
        lines = line_starts(data)
        if not _read_as_array(out, file_id, data):
            batch.add(file_id, data, lines)
        if error is not None:
            out.bad.append((file_id, len(lines), "", error))
        if batch.nbytes >= BATCH_BYTES or file_id == len(files) - 1:
            batch.run(con, out)
            yield _finish(out, files, first, file_id + 1)
            out, batch, first = _Collector(source), _LineBatch(), file_id + 1


def _read_as_array(out: _Collector, file_id: int, data: bytes) -> bool:
    """Read a file whose whole text is one JSON array as its elements; False if it is not one."""
    first = data.lstrip(b" \t\r\n")[:1]
    if first != b"[":
        return False
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
    """Lines of several files, kept as zero-copy Arrow strings over the files' bytes."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, bytes, np.ndarray]] = []
        self.nbytes = 0

    def add(self, file_id: int, data: bytes, starts: np.ndarray) -> None:
        if len(starts) > 1:
            self.parts.append((file_id, data, starts))
            self.nbytes += len(data)

    def run(self, con: duckdb.DuckDBPyConnection, out: _Collector) -> None:
        tables = []
        for file_id, data, starts in self.parts:
            lines = _as_arrow_lines(data, starts)
            if lines is None:  # not valid UTF-8 somewhere: every line of the file to the exact path
                _exact_lines(out, file_id, data, starts, range(len(starts) - 1))
                continue
            n = len(lines)
            tables.append(
                pa.table(
                    {
                        "file_id": pa.array(np.full(n, file_id, dtype=np.int32)),
                        "line_no": pa.array(np.arange(1, n + 1, dtype=np.int64)),
                        "line": lines,
                    }
                )
            )
        if not tables:
            return
        pending = pa.concat_tables(tables)
        for shape in fastpath.shapes(out.source):
            con.register("lines", pending)
            try:
                params = {"pattern": shape.pattern, "structure": shape.structure, "trailing": fastpath.TRAILING}
                extracted = con.sql(fastpath.extract_sql(out.source, shape), params=params).to_arrow_table()
            finally:
                con.unregister("lines")
            ok = extracted.column("ok")
            every = pc.all(ok).as_py()  # the usual case, where filtering would only copy every column
            accepted = (extracted if every else extracted.filter(ok)).drop_columns(["ok", "line"])
            if accepted.num_rows:
                index = pa.array(np.zeros(accepted.num_rows, dtype=np.int32))
                out.fast.append(accepted.add_column(2, "index", index))
            if every:
                return
            pending = extracted.filter(pc.invert(ok)).select(["file_id", "line_no", "line"])
        by_file = {file_id: (data, starts) for file_id, data, starts in self.parts}
        for file_id, line_nos in _group_lines(pending):
            data, starts = by_file[file_id]
            _exact_lines(out, file_id, data, starts, (n - 1 for n in line_nos))


def _group_lines(table: pa.Table) -> Iterator[tuple[int, list[int]]]:
    if table.num_rows == 0:
        return
    ids = table.column("file_id").to_numpy()
    nos = table.column("line_no").to_numpy()
    for file_id in np.unique(ids):
        yield int(file_id), sorted(nos[ids == file_id].tolist())


def _as_arrow_lines(data: bytes, starts: np.ndarray) -> pa.Array | None:
    buffers = [None, pa.py_buffer(starts.astype(np.int64)), pa.py_buffer(data)]
    lines = pa.LargeStringArray.from_buffers(len(starts) - 1, buffers[1], buffers[2])
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return lines


def _exact_lines(out: _Collector, file_id: int, data: bytes, starts: np.ndarray, indexes: Iterable[int]) -> None:
    for i in indexes:
        start, end = int(starts[i]), int(starts[i + 1])
        text = line_text(data, start, end)
        if text is None:
            out.bad.append((file_id, i + 1, undecodable(data, start, end), "line is not valid UTF-8"))
        else:
            out.add_line(file_id, text, i + 1)


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


def _finish(out: _Collector, files: list[LandingFile], first: int, end: int) -> Chunk:
    """The rows found in files[first:end] as sorted Arrow tables."""
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
    names = pa.array([f.relative for f in files[first:end]], type=pa.string())
    local_ids = pc.subtract(found.column("file_id"), pa.scalar(first, pa.int32()))
    records = found.select([f.name for f in source.fields])
    records = records.append_column("source_file", pc.take(names, local_ids))
    records = records.append_column("source_line", found.column("line_no"))
    records = records.append_column("source_index", found.column("index"))
    records = records.cast(source.landing_schema())

    bad = sorted(out.bad, key=lambda r: (r[0], r[1]))
    quarantine = pa.table(
        {
            "source_file": pc.take(names, pa.array([r[0] - first for r in bad], type=pa.int32())),
            "source_line": pa.array([r[1] for r in bad], type=pa.int64()),
            "raw_text": pa.array([r[2] for r in bad], type=pa.string()),
            "reason": pa.array([r[3] for r in bad], type=pa.string()),
        },
        schema=QUARANTINE_SCHEMA,
    )
    count = end - first
    per_file_records = np.bincount(local_ids.to_numpy(), minlength=count)
    per_file_bad = np.bincount(np.array([r[0] - first for r in bad], dtype=np.int64), minlength=count)
    stats = [
        FileResult(f.relative, int(per_file_records[i]), int(per_file_bad[i])) for i, f in enumerate(files[first:end])
    ]
    return Chunk(records, quarantine, stats)
