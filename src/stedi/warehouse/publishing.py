"""Publishing a staged snapshot: making it a table's current one, only while the table is where the
run found it. Runs stage their tables on the branch `stedi-audit` (see `writes`) and publish them
after their checks; a rollback publishes an earlier snapshot.
"""

from __future__ import annotations

from typing import Any

from stedi import faults
from stedi.errors import WarehouseError
from stedi.warehouse.catalog import Warehouse


def unpublishable(warehouse: Warehouse, name: str, snapshot_id: int) -> str | None:
    """Why a staged snapshot cannot be published (None: it can): the table's main branch must still
    be at the snapshot the staged one was built on. Without a lock (object storage, a REST catalog)
    another run may have published or expired snapshots since this run planned."""
    table = warehouse.load(name)
    staged = table.snapshot_by_id(snapshot_id)
    if staged is None:
        return f"table {name} was changed by another writer: this run's snapshot of it is gone"
    current = table.current_snapshot()
    if current is None:
        return None
    # The staged snapshot descends from the main branch as the run found it (a rewrite commits a
    # delete and an append: two snapshots).
    ancestor: Any = staged
    while ancestor is not None:
        if ancestor.snapshot_id == current.snapshot_id:
            return None
        parent = ancestor.parent_snapshot_id
        ancestor = table.snapshot_by_id(parent) if parent is not None else None
    return f"table {name} was changed by another writer while this run was working"


def replaced(exc: ValueError, name: str) -> WarehouseError | None:
    """A table dropped and created again by another writer while this one worked (a catalog without
    a lock: two first runs at once), in words; None for any other error."""
    if "UUID does not match" not in str(exc):
        return None
    return WarehouseError(
        f"table {name} was changed by another writer (created again) while this run was working; nothing "
        "was written to it. Run again: the next run completes the work"
    )


def publish(warehouse: Warehouse, name: str, snapshot_id: int, *, staged: bool = True) -> None:
    """Make a snapshot the table's current one (one catalog commit). A staged snapshot is published
    only while the table's main branch is where the run found it (see `unpublishable`); the catalog
    checks that again at the commit (a compare-and-swap on the branch). `staged=False`: any snapshot
    of the table (a rollback)."""
    from pyiceberg.exceptions import CommitFailedException

    if staged and (problem := unpublishable(warehouse, name, snapshot_id)):
        raise WarehouseError(f"{problem}; it was not published. Run again: the next run completes the work")
    table = warehouse.load(name)
    try:
        table.manage_snapshots().set_current_snapshot(snapshot_id).commit()
    except CommitFailedException as exc:
        raise WarehouseError(f"table {name} was changed by another writer; it was not published ({exc})") from exc
    except ValueError as exc:
        raise replaced(exc, name) or exc from exc
    faults.point(f"published:{name}")
