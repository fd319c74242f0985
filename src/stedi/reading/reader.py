"""Reading a source's landing files into records and quarantined fragments.

Clean lines take the fast path (one vectorised regular-expression pass in DuckDB over all lines of a
batch of files); whatever it does not recognise goes line by line through the exact parser. Both
produce the same record for any line the fast path accepts, so the split is invisible in the output.
Files come as blocks of whole lines (`files.blocks`), so memory stays bounded whatever their size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stedi.contract.sources import QUARANTINE_SCHEMA, Source
from stedi.reading.files import DEFAULT_MAX_RECORD, Block, FileText, ReadAhead
from stedi.reading.jsonscan import scan_array
from stedi.reading.landing import LandingFile, discover, open_root
from stedi.reading.lines import Collector, LineBatch, finish

BATCH_BYTES = 128 << 20  # landing text read before its rows are handed on (after a whole file)
SPLIT_BYTES = 256 << 20  # a file with more text than this is handed on in parts
_ARRAY_START = re.compile(rb"[ \t\r\n]*\[")  # a text that is one JSON array (white space first)
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


def read_line(source: Source, text: str, line: int = 1) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """The exact path on one line of text: (record values in contract order, (raw text, reason))."""
    out = Collector(source)
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
    sink_path_type: str | None = None,
) -> Iterator[Chunk]:
    """The files' rows, about BATCH_BYTES of landing text at a time (a file is split only beyond
    SPLIT_BYTES): memory stays flat in the data size.

    With `sink` (a table of `con` with the landing table's columns), the rows of canonical lines go
    straight into it and the chunks hold only the others; otherwise every row is in the chunks, in
    file, line and position order. `sink_path_type`: the type of the sink's `source_file` column
    when it is not text (an ENUM of the files' paths)."""
    fs, _ = open_root(root)
    reading = _Reading(source, files, con or duckdb.connect(), sink, sink_path_type)
    ahead = ReadAhead(fs, files, max_record)
    try:
        for file_id in range(len(files)):
            text_blocks = ahead.next_file()
            for part in _framed(reading.out, file_id, iter(text_blocks), max_record):
                reading.batch.add(file_id, part)
                if reading.batch.nbytes >= SPLIT_BYTES:
                    yield reading.chunk()
            reading.end_file(file_id, text_blocks.rest(), max_record)
            if reading.batch.nbytes >= BATCH_BYTES or reading.discard or file_id == len(files) - 1:
                yield reading.chunk()
    finally:
        ahead.close()


def _framed(out: Collector, file_id: int, text: Iterator[Block], max_record: int) -> Iterator[Block]:
    """The file's blocks for line-by-line reading; none when its whole text is one JSON array (read
    here as its elements). Only a text of at most `max_record` bytes is tried as an array."""
    first = next(text, None)
    if first is None:
        return
    if not _ARRAY_START.match(first.data):
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
        self,
        source: Source,
        files: list[LandingFile],
        con: duckdb.DuckDBPyConnection,
        sink: str | None,
        sink_path_type: str | None = None,
    ) -> None:
        self.source, self.files, self.con, self.sink = source, files, con, sink
        self.sink_path_type = sink_path_type
        self.names = pa.array([f.relative for f in files], pa.string())
        self.out, self.batch = self._collector(), LineBatch()
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
        records, bad, per_file_records, per_file_bad = finish(self.out, self.names)
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

    def _collector(self) -> Collector:
        count = len(self.files)
        names = self.names.to_pylist() if self.sink else []
        return Collector(
            self.source,
            self.sink,
            names,
            sink_path_type=self.sink_path_type,
            fast_counts=np.zeros(count, dtype=np.int64),
        )


def _read_as_array(out: Collector, file_id: int, data: bytes) -> bool:
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
