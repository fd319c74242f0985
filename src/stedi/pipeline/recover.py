"""`stedi recover`: a local warehouse's SQLite catalog rebuilt from its tables' own metadata files.

Every command refuses a catalog that lists none of the tables its folder holds (deleted, emptied or
replaced: taken for a new warehouse, it would be rebuilt without history or erasure ledger), and a
catalog whose erasure ledger lacks people the folder's copy of it names (restored from an older
backup: it would bring them back). Each table's newest readable metadata file records its schema,
snapshots, branches and properties; registering it gives the table back as it was, history and all.
A damaged or stale catalog file is kept beside the new one, renamed, never deleted. The subject key's
fingerprint, kept in the catalog, is taken from the folder's copy of the ledger (or the dataset card).

People the copy of the ledger names and the recovered ledger lacks (its files lost or unreadable) are
put back in the ledger as pending erasures: the next `stedi run` or `stedi forget` erases them again
wherever the recovered tables hold them, so recovering never brings an erased person back.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from stedi.contract.tables import ERASURE_TABLE
from stedi.errors import WarehouseError
from stedi.stages.erasure import LedgerEntry, ledger_table, now_us, read_ledger, recorded_entries
from stedi.storage import is_remote
from stedi.warehouse import erased_copy
from stedi.warehouse.catalog import (
    KEY_PROPERTY,
    NAMESPACE,
    ROOT_PROPERTY,
    Warehouse,
    check_sqlite,
    local_catalog_file,
    open_catalog,
)
from stedi.warehouse.fileio import IMPL, LOGICAL_ROOT, PHYSICAL_ROOT, local_uri
from stedi.warehouse.folder import catalog_lists_tables, committed_metadata
from stedi.warehouse.locking import writer_lock

CARD_FILE = "dataset_card.json"
MAX_CARD_BYTES = 1 << 20  # a dataset card is a few kilobytes
_FINGERPRINT = re.compile(r"^[0-9a-f]{16,128}$")


@dataclass
class Recovery:
    root: str  # where the warehouse was created (its tables' recorded location)
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows at its current snapshot
    key_fingerprint: str | None = None  # None: the next run records the key it finds
    replaced: str | None = None  # where the damaged or stale catalog file was kept
    restored_erasures: int = 0  # people of the ledger's copy put back in the ledger, pending


def recover(location: str, catalog: str | None = None) -> Recovery:
    """Register every table the warehouse folder holds in a new SQLite catalog, when the catalog is
    missing, empty, damaged or stale; refused when it is sound."""
    if is_remote(location):
        raise WarehouseError(f"stedi recover rebuilds the SQLite catalog of a local warehouse, not of {location}")
    catalog_file = local_catalog_file(location, catalog)
    if catalog_file is None:
        raise WarehouseError(f"stedi recover rebuilds a SQLite catalog file; {catalog} is not one")
    with writer_lock(location):
        found = committed_metadata(location)
        if not found:
            raise WarehouseError(f"no tables to recover in {location} (nothing under {NAMESPACE}/TABLE/metadata/)")
        root = _root(found)
        replaced = None
        if catalog_file.exists() and catalog_file.stat().st_size:
            why = _unsound(location, catalog, catalog_file)
            if why is None:
                raise WarehouseError(
                    f"the catalog {catalog_file} is sound (it lists the tables and every erasure): nothing to "
                    "recover (`stedi verify` checks the tables' files)"
                )
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            replaced = str(catalog_file.with_name(f"{catalog_file.name}.{why}-{stamp}"))
            catalog_file.rename(replaced)
        fingerprint = _key_fingerprint(Path(location))
        raw = open_catalog(location, catalog, create=True, adopt=True)
        raw.update_namespace_properties(
            NAMESPACE, updates={ROOT_PROPERTY: root, **({KEY_PROPERTY: fingerprint} if fingerprint else {})}
        )
        # The recorded (logical) paths, as the catalog held them, read where the files are now.
        raw.properties.update({"py-io-impl": IMPL, LOGICAL_ROOT: root, PHYSICAL_ROOT: local_uri(location)})
        for name, (file_name, table_location) in sorted(found.items()):
            raw.register_table((NAMESPACE, name), f"{table_location.rstrip('/')}/metadata/{file_name}")
        warehouse = Warehouse(location, catalog=catalog)
        result = Recovery(root, key_fingerprint=fingerprint, replaced=replaced)
        result.restored_erasures = _restore_erasures(warehouse)
        for name in warehouse.table_names():
            result.tables[name] = warehouse.describe(name).rows
    return result


def _restore_erasures(warehouse: Warehouse) -> int:
    """The people the folder's copy of the ledger names and the recovered ledger lacks, put back in
    it as pending erasures; how many. A ledger whose rows cannot be read is made anew from the copy."""
    from stedi.warehouse.writes import write

    copy = erased_copy.read(warehouse.location)
    if copy is None:
        return 0
    try:
        entries = recorded_entries(warehouse)
    except WarehouseError:  # metadata found, rows lost: the copy names everyone the ledger held
        entries = []
    missing = sorted(copy.subjects - {e.subject_id for e in entries})
    if missing:
        now = now_us()
        write(warehouse, ERASURE_TABLE, ledger_table([*entries, *(LedgerEntry(s, now, None) for s in missing)]))
    return len(missing)


def _unsound(location: str, catalog: str | None, catalog_file: Path) -> str | None:
    """Why a catalog file that is there must be replaced ("damaged", "stale"); None if it is sound."""
    try:
        check_sqlite(catalog_file)
    except WarehouseError:
        return "damaged"
    if not catalog_lists_tables(catalog_file):
        return "empty"
    try:
        read_ledger(Warehouse(location, catalog=catalog))
    except WarehouseError:
        return "stale"
    return None


def _root(found: dict[str, tuple[str, str]]) -> str:
    """The one root every table records (`ROOT/stedi/TABLE`)."""
    roots = set()
    for name, (_, table_location) in found.items():
        suffix = f"/{NAMESPACE}/{name}"
        trimmed = table_location.rstrip("/")
        if not trimmed.endswith(suffix) or len(trimmed) == len(suffix):
            raise WarehouseError(
                f"the metadata of table {name} records the location {table_location!r}, not one of a STEDI "
                "warehouse; nothing was recovered"
            )
        root = trimmed[: -len(suffix)]
        if not root.startswith("file:///"):
            raise WarehouseError(
                f"the metadata of table {name} records the location {table_location!r}, not one of a local "
                "warehouse; nothing was recovered"
            )
        roots.add(root)
    if len(roots) != 1:
        raise WarehouseError(
            f"the tables record {len(roots)} different warehouse roots ({', '.join(sorted(roots)[:3])}); "
            "nothing was recovered"
        )
    return roots.pop()


def _key_fingerprint(folder: Path) -> str | None:
    """The subject key's fingerprint: from the copy of the ledger, else from the last dataset card."""
    copy = erased_copy.read(str(folder))
    if copy is not None and copy.key_fingerprint and _FINGERPRINT.match(copy.key_fingerprint):
        return copy.key_fingerprint
    card_file = folder / CARD_FILE
    try:
        if card_file.is_symlink() or card_file.stat().st_size > MAX_CARD_BYTES:  # not a card this program wrote
            return None
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = card.get("subject_key_fingerprint") if isinstance(card, dict) else None
    return value if isinstance(value, str) and _FINGERPRINT.match(value) else None
