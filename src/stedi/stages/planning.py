"""Incremental ingestion: which landing files a run must read, and which rows it keeps.

A landing file is known by the SHA-256 of its bytes. Each landing and quarantine table carries, in
the snapshot that holds its rows, the map of landing paths to content hashes it was built from
(snapshot property `stedi.files`), committed atomically with the rows. A run compares the files it
finds with that map, table by table:

- same path, same content: the table's rows for it are kept, the file is not read;
- a known content under a new path (renamed or copied): the rows of the known path are kept under
  the new path, not read again;
- a new content (new file, or a changed one): read; a changed file's earlier rows are replaced;
- a known path that is gone: its rows leave the table.

So the tables always equal a full rebuild from the landing files present, and a run that died between
two commits is completed by the next one: a table whose map lacks a file gets it then, and rows it
holds for a file its map does not list are replaced, never duplicated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa

from stedi.contract.sources import Source
from stedi.reading.landing import LandingFile, discover, open_root

FILES_PROPERTY = "stedi.files"
HASH_CHUNK = 8 << 20


@dataclass(frozen=True)
class TableState:
    """What a warehouse table holds now: its snapshot and the landing files its rows came from."""

    snapshot_id: int | None = None
    files: dict[str, str] | None = None  # path -> content hash; None: no table, or built without a map


@dataclass
class SourcePlan:
    """For one source: the files found, those to read, and the rows each table keeps."""

    source: Source
    files: list[LandingFile]
    hashes: dict[str, str | None]  # relative path -> content hash (None: unreadable, always read)
    skipped: list[str]
    to_read: list[LandingFile]
    kept: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # table -> [(old path, new path)]
    append_only: dict[str, bool] = field(default_factory=dict)  # table -> only new rows to add
    expected: dict[str, int | None] = field(default_factory=dict)  # table -> snapshot planned against
    events: list[str] = field(default_factory=list)  # renamed, copied, changed, removed files

    @property
    def files_property(self) -> str:
        return encode_files({path: digest for path, digest in self.hashes.items() if digest is not None})


def encode_files(files: dict[str, str]) -> str:
    """The map as a compact snapshot property (it is stored once per snapshot)."""
    text = json.dumps(files, sort_keys=True, separators=(",", ":")).encode()
    return base64.b64encode(zlib.compress(text, 9)).decode("ascii")


def decode_files(value: str | None) -> dict[str, str] | None:
    if not value:
        return None
    try:
        files = json.loads(zlib.decompress(base64.b64decode(value)))
    except (ValueError, zlib.error):
        return None  # unreadable map: the table is rebuilt from every file
    return files if isinstance(files, dict) else None


def content_hashes(root: str, files: Iterable[LandingFile]) -> dict[str, str | None]:
    """SHA-256 of each file's bytes (hashlib releases the interpreter lock: files hash in parallel)."""
    fs, _ = open_root(root)

    def digest(file: LandingFile) -> str | None:
        sha = hashlib.sha256()
        try:
            with fs.open_input_stream(file.path, compression=None) as stream:
                while chunk := stream.read(HASH_CHUNK):
                    sha.update(chunk)
        except OSError:
            return None  # read (and quarantined with its reason) on every run until it can be read
        return sha.hexdigest()

    listed = list(files)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip((f.relative for f in listed), pool.map(digest, listed), strict=True))


def plan_source(root: str, source: Source, states: dict[str, TableState], full_refresh: bool = False) -> SourcePlan:
    """What to read and keep for `source`, given the current state of its landing and quarantine tables."""
    files, skipped = discover(root, source.name)
    hashes = content_hashes(root, files)
    tables = (source.landing_table, source.quarantine_table)
    known = {t: (None if full_refresh else states.get(t, TableState()).files) for t in tables}
    # A file is read when any of the tables lacks it; then every table takes the new reading of it.
    to_read = [f for f in files if any(_kept_from(f, hashes, known[t]) is None for t in tables)]
    reading = {f.relative for f in to_read}
    plan = SourcePlan(source, files, hashes, skipped, to_read)
    for table in tables:
        previous = known[table] or {}
        kept = [
            (old, f.relative) for f in files if f.relative not in reading and (old := _kept_from(f, hashes, previous))
        ]
        plan.kept[table] = kept
        # Appending is right only when the table holds exactly the kept files' rows: no file is gone,
        # renamed or changed, and none of the files read has rows there already (an unreadable file
        # has no hash, so it is not in the map but its quarantine row is in the table).
        unhashed = any(hashes[f.relative] is None for f in to_read)
        plan.append_only[table] = (
            known[table] is not None and not unhashed and sorted(kept) == sorted((p, p) for p in previous)
        )
        plan.expected[table] = states.get(table, TableState()).snapshot_id
    plan.events = _events(files, hashes, known[source.landing_table] or {})
    return plan


def _kept_from(file: LandingFile, hashes: dict[str, str | None], previous: dict[str, str] | None) -> str | None:
    """The path under which `previous` holds this file's content, if it does."""
    digest = hashes[file.relative]
    if digest is None or previous is None:
        return None
    if previous.get(file.relative) == digest:
        return file.relative
    return next((path for path, known in sorted(previous.items()) if known == digest), None)


def _events(files: list[LandingFile], hashes: dict[str, str | None], previous: dict[str, str]) -> list[str]:
    present = {f.relative for f in files}
    events = []
    for f in files:
        digest, before = hashes[f.relative], previous.get(f.relative)
        if before is not None and digest is not None and before != digest:
            events.append(f"{f.relative} changed since it was ingested: its rows are replaced by a new reading")
        elif before is None and digest is not None:
            old = next((p for p, d in sorted(previous.items()) if d == digest), None)
            if old is not None:
                kind = "a copy of" if old in present else "renamed from"
                events.append(f"{f.relative} is {kind} {old} (same content): not read again")
    known = set(hashes.values())
    for path, digest in sorted(previous.items()):
        if path not in present and digest not in known:
            events.append(f"{path} is no longer in the landing area: its rows are removed")
    return events


def paths_table(kept: list[tuple[str, str]]) -> pa.Table:
    return pa.table(
        {
            "old_path": pa.array([k[0] for k in kept], pa.string()),
            "new_path": pa.array([k[1] for k in kept], pa.string()),
        }
    )


def kept_rows_sql(columns: list[str], current: str, paths: str) -> str:
    """The current table's rows of kept files, under their (possibly new) paths."""
    select = ", ".join("p.new_path AS source_file" if c == "source_file" else f"t.{c}" for c in columns)
    return f"SELECT {select} FROM {current} AS t JOIN {paths} AS p ON t.source_file = p.old_path"
