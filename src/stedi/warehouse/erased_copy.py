"""A copy, outside the catalog, of who was erased: the erasure ledger's subject ids and the subject
key's fingerprint, in a file of a local warehouse folder (it moves and is copied with the folder).

The catalog is one SQLite file; restored from an older backup or replaced, it would no longer list
erasures made since, and a rebuild would bring those people back. This file is written after every
change of the ledger (so it never names someone the ledger does not), and a catalog whose ledger lacks
anyone it names is refused as stale (see `stages.erasure.read_ledger`). Keyed hashes only: no email.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from stedi.errors import WarehouseError
from stedi.storage import is_remote, write_atomically

FILE = "erased.json"
_MAX_BYTES = 256 << 20


@dataclass(frozen=True)
class ErasedCopy:
    subjects: frozenset[str]
    key_fingerprint: str | None


def path_of(location: str) -> Path | None:
    """Where a warehouse keeps the copy; None for a warehouse in object storage (not kept there)."""
    return None if is_remote(location) else Path(location) / FILE


def read(location: str) -> ErasedCopy | None:
    """The copy, or None when the warehouse has none (older warehouses, object storage)."""
    path = path_of(location)
    if path is None or not (path.is_file() or path.is_symlink()):
        return None
    try:
        if path.is_symlink():
            raise ValueError("a link, not a file of the warehouse")
        if path.stat().st_size > _MAX_BYTES:
            raise ValueError("too large")
        document = json.loads(path.read_bytes())
        subjects = document["erased"]
        fingerprint = document.get("subject_key_fingerprint")
        if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
            raise ValueError("erased is not a list of subject ids")
        if fingerprint is not None and not isinstance(fingerprint, str):
            raise ValueError("subject_key_fingerprint is not text")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WarehouseError(
            f"the record of erased people {path} is damaged ({exc}); restore it from a backup of the warehouse "
            "(deleting it lets the next run write it again from the catalog's erasure ledger)"
        ) from None
    return ErasedCopy(frozenset(subjects), fingerprint)


def write(location: str, subjects: set[str] | frozenset[str], key_fingerprint: str | None) -> None:
    """Replace the copy atomically (a reader sees the old file or the new one, never a part)."""
    path = path_of(location)
    if path is None:
        return
    document = {"erased": sorted(subjects), "subject_key_fingerprint": key_fingerprint}
    data = json.dumps(document, indent=1).encode()
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise WarehouseError(f"cannot write {path}: {exc.strerror or exc}") from None
