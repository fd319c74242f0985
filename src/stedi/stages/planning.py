"""Which landing files a run must read, and which rows each landing table keeps.

Each landing and quarantine table carries, in the snapshot that holds its rows, the map of the
landing files its rows came from (snapshot property `stedi.files`): per path, the SHA-256 of the
bytes read and how the file looked then (size, modification and change times, inode). A run finds
the files and compares, table by table:

- same path, same look: the file is unchanged; its rows are kept, it is not even hashed;
- a look that differs, or a file seen within two seconds of a change ("racy"): it is hashed, and
  kept if its content is known, under this path or another (a rename or a copy);
- a new content: read; a changed file's earlier rows are replaced;
- a path in the map that is gone: its rows leave the table.

A look that differs while the content is the same (the file was copied back, its permissions or
owner changed, a backup restored it) would make every later run hash the file again, as long as
nothing else changes (a run that finds nothing new commits no snapshot). Such a run keeps the looks
it confirmed by hashing as a table property of the snapshot it planned against (`stedi.looks`:
content hash and look, no path); the next run trusts a file that looks like one of them.

A file that could not be read whole is in the map without a digest: its rows are replaced by every
later run until it is read. So the tables always equal a full rebuild from the landing files present,
and a run that died between two commits is completed by the next one.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.fs as pafs

from stedi.contract.sources import Source
from stedi.reading.landing import LandingFile, Listing, Redact, discover, open_root
from stedi.stages.packed import packed, unpacked

FILES_PROPERTY = "stedi.files"
LOOKS_PROPERTY = "stedi.looks"  # a table property: looks confirmed since its current snapshot
MAX_LOOKS_BYTES = 256 << 20  # about 120 bytes a file: far more than any landing area's looks
HASH_CHUNK = 8 << 20
RACY_NS = 2_000_000_000  # a file changed this close to being seen may change again unseen


@dataclass(frozen=True)
class Known:
    """What a table's map says of one file."""

    digest: str | None  # None: the table holds rows of it, but it was not read whole
    signature: tuple[int, ...] = ()
    racy: bool = True

    def trusted_for(self, file: LandingFile) -> bool:
        """The file is unchanged since: same path, same look, and seen long enough after a change."""
        return self.digest is not None and not self.racy and bool(self.signature) and self.signature == file.signature


Look = tuple[str, tuple[int, ...]]  # a content hash and the look of a file that had it


@dataclass(frozen=True)
class TableState:
    """What a warehouse table holds now: its snapshot and the landing files its rows came from."""

    snapshot_id: int | None = None
    files: dict[str, Known] | None = None  # None: no table, or built without a map
    looks: frozenset[Look] = frozenset()  # looks runs confirmed since, for this snapshot

    def trusts(self, file: LandingFile) -> str | None:
        """The content hash of `file`, when the map or a confirmed look vouches for it."""
        known = (self.files or {}).get(file.relative)
        if known is None or known.digest is None:
            return None
        if known.trusted_for(file) or (known.digest, file.signature) in self.looks:
            return known.digest
        return None


@dataclass
class SourcePlan:
    """For one source: the files found, those to read, and the rows each table keeps."""

    source: Source
    listing: Listing
    digests: dict[str, str | None]  # relative path -> content hash known before reading (None: unknown)
    to_read: list[LandingFile]
    seen_ns: int  # when the files were looked at
    kept: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # table -> [(old path, new path)]
    append_only: dict[str, bool] = field(default_factory=dict)  # table -> only new rows to add
    expected: dict[str, int | None] = field(default_factory=dict)  # table -> snapshot planned against
    previous: dict[str, int] = field(default_factory=dict)  # table -> files in its map before
    previous_files: dict[str, Known] = field(default_factory=dict)  # the landing table's map before
    events: list[str] = field(default_factory=list)  # renamed, copied, changed, removed files
    looks: frozenset[Look] = frozenset()  # known contents whose look the maps lack, settled

    def racy(self, file: LandingFile) -> bool:
        """Whether the file changed too close to being seen for its look to stand for its content."""
        return not file.signature or max(file.signature[1:3] or (0,)) >= self.seen_ns - RACY_NS

    @property
    def files(self) -> list[LandingFile]:
        return self.listing.files

    def files_map(self, read: dict[str, str | None]) -> dict[str, Known]:
        """The map the source's tables are committed with: every file found, with the digest of the
        bytes its rows came from (`read`: of the files read this run)."""
        found = {}
        for f in self.files:
            digest = read[f.relative] if f.relative in read else self.digests.get(f.relative)
            found[f.relative] = Known(digest, f.signature, self.racy(f))
        return found

    def changes(self) -> dict[str, int]:
        """How the files differ from what the landing table holds: new, changed, renamed, copied,
        removed, unchanged."""
        previous = self.previous_files
        present = {f.relative for f in self.files}
        counts = dict.fromkeys(("new", "changed", "renamed", "copied", "removed", "unchanged"), 0)
        kept = dict((new, old) for old, new in self.kept.get(self.source.landing_table, []))
        for f in self.files:
            if f.relative in kept:
                old = kept[f.relative]
                counts["unchanged" if old == f.relative else ("copied" if old in present else "renamed")] += 1
            else:
                counts["changed" if f.relative in previous else "new"] += 1
        moved = {old for old in kept.values()}
        counts["removed"] = sum(1 for path in previous if path not in present and path not in moved)
        return counts

    @property
    def news(self) -> bool:
        """Whether any table of the source changes: a file to read, or rows to move or drop."""
        return bool(self.to_read) or not all(self.append_only.values())


def encode_files(files: dict[str, Known]) -> str:
    """The map as a compact snapshot property (it is stored once per snapshot)."""
    return packed({path: [k.digest, *k.signature, int(k.racy)] for path, k in files.items()})


def decode_files(value: str | None) -> dict[str, Known] | None:
    if not value:
        return None
    files = unpacked(value)
    if not isinstance(files, dict):
        return None  # unreadable map: the table is rebuilt from every file
    known = {}
    for path, entry in files.items():
        if isinstance(entry, str):  # the map of an older version: digests only
            known[path] = Known(entry)
        elif isinstance(entry, list) and entry and (entry[0] is None or isinstance(entry[0], str)):
            known[path] = Known(
                entry[0], tuple(int(v) for v in entry[1:-1]), bool(entry[-1]) if len(entry) > 1 else True
            )
    return known


def encode_looks(snapshot_id: int | None, looks: frozenset[Look]) -> str:
    """The confirmed looks as a table property, valid while `snapshot_id` is the table's current one."""
    return packed({"snapshot": snapshot_id, "looks": sorted([d, *sig] for d, sig in looks)})


def decode_looks(value: str | None, snapshot_id: int | None) -> frozenset[Look]:
    """The looks a property confirms for `snapshot_id`; none when it was written for another
    snapshot (the table changed since: its map is newer) or cannot be read."""
    record = unpacked(value, MAX_LOOKS_BYTES) if value else None
    if not isinstance(record, dict) or record.get("snapshot") != snapshot_id or snapshot_id is None:
        return frozenset()
    looks = record.get("looks")
    if not isinstance(looks, list):
        return frozenset()
    return frozenset(
        (entry[0], tuple(int(v) for v in entry[1:]))
        for entry in looks
        if isinstance(entry, list) and len(entry) > 1 and isinstance(entry[0], str)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in entry[1:])
    )  # fmt: skip


def digest_of(fs: pafs.FileSystem, file: LandingFile) -> str | None:
    """SHA-256 of a file's bytes; None when it cannot be read."""
    sha = hashlib.sha256()
    try:
        if isinstance(fs, pafs.LocalFileSystem):  # never follow a link, never block on a pipe
            fd = os.open(file.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
            try:
                while chunk := os.read(fd, HASH_CHUNK):
                    sha.update(chunk)
            finally:
                os.close(fd)
        else:
            with fs.open_input_stream(file.path, compression=None) as stream:
                while chunk := stream.read(HASH_CHUNK):
                    sha.update(chunk)
    except OSError:
        return None
    return sha.hexdigest()


def plan_source(
    root: str,
    source: Source,
    states: dict[str, TableState],
    full_refresh: bool = False,
    redact: Redact | None = None,
) -> SourcePlan:
    """What to read and keep for `source`, given the current state of its landing and quarantine tables."""
    listing = discover(root, source.name, redact)
    seen_ns = time.time_ns()
    tables = (source.landing_table, source.quarantine_table)
    known = {t: (None if full_refresh else states.get(t, TableState()).files) for t in tables}
    vouching = [] if full_refresh else [states[t] for t in tables if t in states]
    digests = _known_digests(root, listing.files, [m for m in known.values() if m is not None], vouching)
    # A file is read when any of the tables lacks it; then every table takes the new reading of it.
    to_read = [f for f in listing.files if any(_kept_from(f, digests, known[t]) is None for t in tables)]
    reading = {f.relative for f in to_read}
    plan = SourcePlan(source, listing, digests, to_read, seen_ns)
    for table in tables:
        previous = known[table] or {}
        kept = [
            (old, f.relative) for f in listing.files
            if f.relative not in reading and (old := _kept_from(f, digests, previous))
        ]  # fmt: skip
        plan.kept[table] = kept
        # Appending is right only when the table holds exactly the kept files' rows: no file is gone,
        # renamed or changed, and none of the files read has rows there already.
        plan.append_only[table] = (
            known[table] is not None
            and sorted(kept) == sorted((p, p) for p in previous)
            and not any(f.relative in previous for f in to_read)
        )
        plan.expected[table] = states.get(table, TableState()).snapshot_id
        plan.previous[table] = len(states.get(table, TableState()).files or {})
    plan.previous_files = dict(
        known[source.landing_table] or states.get(source.landing_table, TableState()).files or {}
    )
    plan.events = _events(listing.files, digests, known[source.landing_table] or {})
    plan.looks = frozenset(
        (digest, f.signature) for f in listing.files
        if (digest := digests.get(f.relative)) and not plan.racy(f)
        and not any((k := m.get(f.relative)) and k.trusted_for(f) for m in known.values() if m is not None)
    )  # fmt: skip
    plan.events += [f"{path} skipped: {why}" for path, why in listing.skipped]
    return plan


def _known_digests(
    root: str, files: list[LandingFile], maps: list[dict[str, Known]], states: list[TableState]
) -> dict[str, str | None]:
    """The content hash of each file that can be known before reading it: from a table's state, when
    the file looks unchanged; else hashed, when its content may be known (a map has a file of its
    size, or an entry without one); else None (a new content, hashed as it is read)."""
    digests: dict[str, str | None] = {}
    sizes = {k.signature[0] for m in maps for k in m.values() if k.signature}
    unsized = any(not k.signature for m in maps for k in m.values())
    to_hash = []
    for f in files:
        trusted = next((d for state in states if (d := state.trusts(f))), None)
        if trusted is not None:
            digests[f.relative] = trusted
        elif unsized or f.size in sizes:
            to_hash.append(f)
        else:
            digests[f.relative] = None
    if to_hash:
        fs, _ = open_root(root)
        with ThreadPoolExecutor(max_workers=4) as pool:  # hashlib releases the interpreter lock
            digests.update(
                zip((f.relative for f in to_hash), pool.map(lambda f: digest_of(fs, f), to_hash), strict=True)
            )
    return digests


def _kept_from(file: LandingFile, digests: dict[str, str | None], previous: dict[str, Known] | None) -> str | None:
    """The path under which `previous` holds this file's content, if it does."""
    digest = digests.get(file.relative)
    if digest is None or previous is None:
        return None
    same = previous.get(file.relative)
    if same is not None and same.digest == digest:
        return file.relative
    return next((path for path, known in sorted(previous.items()) if known.digest == digest), None)


def _events(files: list[LandingFile], digests: dict[str, str | None], previous: dict[str, Known]) -> list[str]:
    present = {f.relative for f in files}
    events = []
    for f in files:
        digest, before = digests.get(f.relative), previous.get(f.relative)
        if before is not None and before.digest is not None and digest is not None and before.digest != digest:
            events.append(f"{f.relative} changed since it was ingested: its rows are replaced by a new reading")
        elif before is not None and before.digest is not None and digest is None and before.signature:
            if f.size != before.signature[0]:
                events.append(f"{f.relative} changed since it was ingested: its rows are replaced by a new reading")
        elif before is None and digest is not None:
            old = next((p for p, k in sorted(previous.items()) if k.digest == digest), None)
            if old is not None:
                kind = "a copy of" if old in present else "renamed from"
                events.append(f"{f.relative} is {kind} {old} (same content): not read again")
    known = set(digests.values())
    for path, entry in sorted(previous.items()):
        if path not in present and (entry.digest is None or entry.digest not in known):
            events.append(f"{path} is no longer in the landing area: its rows are removed")
    return events


def paths_table(kept: Iterable[tuple[str, str]]) -> pa.Table:
    pairs = list(kept)
    return pa.table(
        {
            "old_path": pa.array([k[0] for k in pairs], pa.string()),
            "new_path": pa.array([k[1] for k in pairs], pa.string()),
        }
    )


def kept_rows_sql(columns: list[str], current: str, paths: str) -> str:
    """The current table's rows of kept files, under their (possibly new) paths."""
    select = ", ".join("p.new_path AS source_file" if c == "source_file" else f"t.{c}" for c in columns)
    return f"SELECT {select} FROM {current} AS t JOIN {paths} AS p ON t.source_file = p.old_path"
