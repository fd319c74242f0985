"""What a local warehouse folder holds apart from its catalog: the tables whose metadata files record
committed snapshots. A catalog that lists none of them was deleted, emptied or replaced; opening it as
if the warehouse were new would rebuild the tables without their history and without the erasure
ledger, so erased people would come back. Such a catalog is refused (see `catalog.open_catalog`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

from stedi.errors import WarehouseError

NAMESPACE = "stedi"
_VERSION = re.compile(r"^(\d+)-.*\.metadata\.json$")
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")
_MAX_METADATA_BYTES = 64 << 20  # larger than any metadata file a warehouse writes
_MAX_FILES = 1000  # metadata files read per table, highest version first
BUSY_TIMEOUT_S = 30.0  # wait for another process's catalog commit (Spark, a reader) instead of failing


def open_sqlite(path: Path) -> sqlite3.Connection:
    """A connection to an existing SQLite catalog file (never creating one). Opened for writing where
    the file allows it: a commit cut off by a kill leaves a journal that SQLite undoes on opening, which
    a read-only connection cannot do (it would call a sound catalog unreadable)."""
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_S)


def catalog_tables(catalog_file: Path) -> set[str] | None:
    """The tables of the namespace a SQLite catalog lists, read directly (milliseconds, no pyiceberg):
    none when the file is missing, empty or has no catalog schema yet (a catalog still being created);
    None when it cannot be read that way (pyiceberg, opening it, says what is wrong)."""
    if not catalog_file.is_file():
        return set()
    try:
        with closing(open_sqlite(catalog_file)) as db:
            rows = db.execute(
                "SELECT table_name FROM iceberg_tables WHERE table_namespace = ?", (NAMESPACE,)
            ).fetchall()
    except sqlite3.OperationalError as exc:
        return set() if "no such table" in str(exc) else None
    except (sqlite3.Error, UnicodeError, ValueError):
        return None
    return {row[0] for row in rows}


def catalog_lists_tables(catalog_file: Path) -> bool:
    """Whether a SQLite catalog lists any table of the namespace (False: missing, empty, no schema;
    a file that cannot be read is not "empty": opening it reports what is wrong)."""
    names = catalog_tables(catalog_file)
    return names is None or bool(names)


def refuse_lost_catalog(location: str, catalog_file: Path) -> None:
    """A local warehouse whose catalog lists no table while its folder holds committed tables is
    refused: taken for a new warehouse, it would be rebuilt without its history and erasure ledger."""
    if catalog_lists_tables(catalog_file):
        return
    lost = committed_tables(location)
    if lost:
        state = "is missing" if not catalog_file.exists() else "lists none of them"
        shown = ", ".join(lost[:3]) + (f" and {len(lost) - 3} more" if len(lost) > 3 else "")
        raise WarehouseError(
            f"warehouse {location} holds tables ({shown}) but its catalog {catalog_file} {state}: it was deleted, "
            f"emptied or replaced; nothing was written. Put the catalog back from a backup, or rebuild it from the "
            f"tables' own metadata with `stedi recover --warehouse {location}`"
        )


def committed_tables(location: str) -> list[str]:
    """The tables under `location/stedi/` with a metadata file that records a snapshot."""
    return sorted(committed_metadata(location))


def holds_committed(location: str, table: str) -> bool:
    """Whether the folder holds a committed snapshot of `table` (a local warehouse; False otherwise)."""
    newest = _newest(Path(location) / NAMESPACE / table / "metadata")
    return newest is not None and bool(newest[1].get("snapshots"))


def committed_metadata(location: str) -> dict[str, tuple[str, str]]:
    """Per table under `location/stedi/` with a committed snapshot: the newest readable metadata
    file's name and the table location it records (where the table was created)."""
    base = Path(location) / NAMESPACE
    if not base.is_dir():
        return {}
    try:
        folders = sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return {}
    found = {}
    for folder in folders:
        if not _TABLE_NAME.match(folder.name):
            continue  # not a table's folder
        newest = _newest(folder / "metadata")
        if newest is not None and newest[1].get("snapshots"):
            found[folder.name] = (newest[0], str(newest[1].get("location") or ""))
    return found


def _newest(metadata: Path) -> tuple[str, dict] | None:
    """The newest metadata file that can be read whole (by its own update time: a table dropped and
    created again starts its version numbers over), with its document. Links are not followed: they
    could lead out of the warehouse."""
    try:
        if metadata.is_symlink():
            return None
        files = [
            (int(m.group(1)), p)
            for p in metadata.iterdir()
            if (m := _VERSION.match(p.name)) and p.is_file() and not p.is_symlink()
        ]
    except OSError:
        return None
    best: tuple[tuple[int, int], str, dict] | None = None
    for version, path in sorted(files, reverse=True)[:_MAX_FILES]:
        try:
            if path.stat().st_size > _MAX_METADATA_BYTES:
                continue
            document = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue  # half written by a process that was killed: not a commit
        if not isinstance(document, dict):
            continue
        updated = document.get("last-updated-ms")
        order = (updated if isinstance(updated, int) else 0, version)
        if best is None or order > best[0]:
            best = (order, path.name, document)
    return (best[1], best[2]) if best else None
