"""Removing history and files: the one place where files are deleted.

`delete_files` deletes only inside a table's folder where it is now (see `fileio`), and a local file only
inside the warehouse's folder, whatever a path in metadata says: a copied warehouse never deletes its
original's files, and a catalog that names a table folder elsewhere on this machine is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlparse

import pyarrow.fs as pafs

from stedi.errors import WarehouseError
from stedi.storage import explain, filesystem, is_remote, local_path
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.writes import AUDIT_BRANCH, MAIN_BRANCH


def _key(location: str) -> str:
    """A file location as the filesystem lists it (no scheme)."""
    if (path := local_path(location)) is not None:
        return path
    parsed = urlparse(location)
    if parsed.scheme == "":
        return location
    return f"{parsed.netloc}{parsed.path}"


def _inside(root: str, key: str) -> bool:
    return key.startswith(root.rstrip("/") + "/")


def delete_files(warehouse: Warehouse, table, fs: pafs.FileSystem, keys: list[str]) -> int:
    """Delete files (filesystem paths) of a table: only inside the table's folder where it is now,
    and a local file only inside the warehouse's folder; any other path is refused, not deleted."""
    folder = _key(warehouse.physical(table.location()))
    warehouse_folder = None if is_remote(warehouse.location) else _key("file://" + warehouse.location)
    for key in keys:
        local = local_path(warehouse.physical(table.location())) is not None
        if not _inside(folder, key) or (local and (warehouse_folder is None or not _inside(warehouse_folder, key))):
            raise WarehouseError(f"refused to delete {key}: it is outside the table's folder in {warehouse.location}")
    for key in keys:
        try:
            fs.delete_file(key)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise WarehouseError(f"cannot delete {key}: {explain(exc, warehouse.location)}") from exc
    return len(keys)


@dataclass
class Reclaimed:
    snapshots: int = 0
    files: int = 0
    bytes: int = 0

    def add(self, other: Reclaimed) -> None:
        self.snapshots += other.snapshots
        self.files += other.files
        self.bytes += other.bytes


def referenced(warehouse: Warehouse, table, snapshots, read: dict[str, list[str]] | None = None) -> set[str]:
    """Every file the given snapshots of a table need (manifest lists, manifests, data files), as
    filesystem paths where the warehouse is now, and the table's current metadata file. `read`: the
    data files of the manifests read so far, filled in (a manifest is never rewritten, and the
    snapshots of appends share all but their newest: each is read once)."""
    read = {} if read is None else read
    keep = {_key(warehouse.physical(table.metadata_location))}
    for snapshot in snapshots:
        keep.add(_key(warehouse.physical(snapshot.manifest_list)))
        for manifest in snapshot.manifests(table.io):
            keep.add(_key(warehouse.physical(manifest.manifest_path)))
            if manifest.manifest_path not in read:
                entries = manifest.fetch_manifest_entry(table.io, discard_deleted=False)
                read[manifest.manifest_path] = [entry.data_file.file_path for entry in entries]
            keep.update(_key(warehouse.physical(path)) for path in read[manifest.manifest_path])
    return keep


def history_only_data_files(warehouse: Warehouse, name: str) -> list[str]:
    """Data files that only snapshots other than the current one hold (older snapshots, branches,
    staged snapshots of runs that were not published), where they are now."""
    table = warehouse.load(name)
    current = table.current_snapshot()
    now: set[str] = set()
    older: set[str] = set()
    for snapshot in table.snapshots():
        target = now if current is not None and snapshot.snapshot_id == current.snapshot_id else older
        for manifest in snapshot.manifests(table.io):
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                target.add(entry.data_file.file_path)
    return sorted(warehouse.physical(path) for path in older - now)


def unreferenced_files(
    warehouse: Warehouse, name: str, snapshots=None, read: dict[str, list[str]] | None = None
) -> tuple[pafs.FileSystem, list[str], int]:
    """Files in a table's folder that no kept snapshot (default: the current one) needs: the file
    system, their paths and their total size in bytes. The current metadata file is always needed.
    `read`: as for `referenced`."""
    table = warehouse.load(name)
    if snapshots is None:
        current = table.current_snapshot()
        snapshots = [current] if current is not None else []
    keep = referenced(warehouse, table, snapshots, read)
    fs, base = filesystem(warehouse.physical(table.location()))
    found, size = [], 0
    for info in fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True)):
        if info.type == pafs.FileType.File and _key(info.path) not in keep:
            found.append(info.path)
            size += info.size or 0
    return fs, found, size


def purge_history(warehouse: Warehouse, name: str) -> int:
    """Keep only a table's current snapshot: remove its other branches, expire every other snapshot
    and delete every file the current one does not need. Returns the number of files deleted."""
    table = warehouse.load(name)
    if branches := [ref for ref in table.metadata.refs if ref != "main"]:
        # An audit branch of a run whose checks failed holds unpublished rows: they go too.
        with table.manage_snapshots() as manage:
            for ref in branches:
                manage.remove_branch(ref)
        table = warehouse.load(name)
    current = table.current_snapshot()
    older = [s.snapshot_id for s in table.snapshots() if current is None or s.snapshot_id != current.snapshot_id]
    if older:
        table.maintenance.expire_snapshots().by_ids(older).commit()
    fs, files, _ = unreferenced_files(warehouse, name)
    return delete_files(warehouse, table, fs, files)


def expire(warehouse: Warehouse, name: str, keep: set[int], sweep: bool = False, min_age_s: float = 0) -> Reclaimed:
    """Expire every snapshot of a table but its current one and those in `keep` (and branches whose
    head is not kept, but the audit branch: the rows of the last run whose checks failed wait there
    for inspection until the next run), then delete the files only expired snapshots needed. With `sweep`, delete every
    file of the table's folder no kept snapshot needs (files of killed runs included), when it is at
    least `min_age_s` old (a writer without the lock may be about to commit it)."""
    reclaimed, read = Reclaimed(), dict[str, list[str]]()
    table = warehouse.load(name)
    current = table.current_snapshot()
    kept = set(keep) | ({current.snapshot_id} if current else set())
    refs = table.metadata.refs.items()
    if stale := [ref for ref, r in refs if ref not in (MAIN_BRANCH, AUDIT_BRANCH) and r.snapshot_id not in kept]:
        with table.manage_snapshots() as manage:
            for ref in stale:
                manage.remove_branch(ref)
        table = warehouse.load(name)
    protected = {r.snapshot_id for r in table.metadata.refs.values()}
    expired = [s for s in table.snapshots() if s.snapshot_id not in kept and s.snapshot_id not in protected]
    if expired:
        before = referenced(warehouse, table, expired, read)
        table.maintenance.expire_snapshots().by_ids([s.snapshot_id for s in expired]).commit()
        table = warehouse.load(name)
        reclaimed.snapshots = len(expired)
        still = referenced(warehouse, table, table.snapshots(), read)
        fs, _ = filesystem(warehouse.physical(table.location()))
        gone = sorted(before - still)  # committed files of expired snapshots: no writer needs them any more
        reclaimed.bytes += sum(fs.get_file_info(key).size or 0 for key in gone)
        reclaimed.files += delete_files(warehouse, table, fs, gone)
    if sweep:
        fs, files, _ = unreferenced_files(warehouse, name, table.snapshots(), read)
        cutoff = time.time() - min_age_s
        old = [f for f in files if min_age_s <= 0 or (fs.get_file_info(f).mtime_ns or 0) / 1e9 < cutoff]
        reclaimed.bytes += sum(fs.get_file_info(f).size or 0 for f in old)
        reclaimed.files += delete_files(warehouse, table, fs, old)
    return reclaimed
