"""A copy, outside the catalog, of who was erased: the erasure ledger's subject ids and the subject
key's fingerprint, in a file at the warehouse's location (a folder, or a prefix in object storage: it
moves and is copied with the tables' files).

A catalog restored from an older backup or replaced would no longer list erasures made since, and a
rebuild would bring those people back. This file is written after every change of the ledger (so it
never names someone the ledger does not), and a catalog whose ledger lacks anyone it names is refused
as stale (see `stages.erasure.read_ledger`). Keyed hashes only: no email.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from stedi.contract.tables import ERASURE_TABLE
from stedi.errors import WarehouseError
from stedi.storage import explain, filesystem, is_remote, write_atomically

FILE = "erased.json"
_MAX_BYTES = 256 << 20


@dataclass(frozen=True)
class ErasedCopy:
    subjects: frozenset[str]
    key_fingerprint: str | None


def path_of(location: str) -> Path | None:
    """Where a local warehouse keeps the copy; None for a warehouse in object storage."""
    return None if is_remote(location) else Path(location) / FILE


def damage_remedy(table: str, location: str) -> str:
    """What to do about a damaged table: a full refresh rebuilds it from the landing files; but the
    erasure ledger is never rebuilt from them (erased people would come back): `stedi recover` puts
    it back from this copy, or it comes from a backup."""
    if table != ERASURE_TABLE:
        return "`stedi verify` lists the damage, `stedi run --full-refresh` rebuilds the tables"
    copy = path_of(location)
    if copy is not None and copy.is_file():
        return (
            f"`stedi recover --warehouse {location}` puts it back from the warehouse's {FILE}; nothing runs until "
            "then, so no erased person comes back"
        )
    return "restore the warehouse from a backup; nothing runs until then, so no erased person comes back"


def _remote(location: str) -> str:
    return f"{location.rstrip('/')}/{FILE}"


def read(location: str) -> ErasedCopy | None:
    """The copy, or None when the warehouse has none (older warehouses)."""
    path = path_of(location)
    if path is None:
        data = _read_remote(location)
        return None if data is None else _parse(data, _remote(location))
    if not (path.is_file() or path.is_symlink()):
        return None
    try:
        if path.is_symlink():
            raise ValueError("a link, not a file of the warehouse")
        if path.stat().st_size > _MAX_BYTES:
            raise ValueError("too large")
        data = path.read_bytes()
    except (OSError, ValueError) as exc:
        raise _damaged(str(path), exc) from None
    return _parse(data, str(path))


def _read_remote(location: str) -> bytes | None:
    import pyarrow.fs as pafs

    where = _remote(location)
    try:
        fs, path = filesystem(where)
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            return None
        if info.type != pafs.FileType.File or (info.size or 0) > _MAX_BYTES:
            raise _damaged(where, ValueError("not a file" if info.type != pafs.FileType.File else "too large"))
        with fs.open_input_stream(path) as stream:
            return bytes(stream.read())
    except (OSError, ValueError) as exc:  # ValueError: pyarrow's ArrowInvalid (e.g. an unknown scheme)
        raise WarehouseError(f"cannot read the record of erased people: {explain(exc, where)}") from None


def _parse(data: bytes, where: str) -> ErasedCopy:
    try:
        document = json.loads(data)
        subjects = document["erased"]
        fingerprint = document.get("subject_key_fingerprint")
        if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
            raise ValueError("erased is not a list of subject ids")
        if fingerprint is not None and not isinstance(fingerprint, str):
            raise ValueError("subject_key_fingerprint is not text")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _damaged(where, exc) from None
    return ErasedCopy(frozenset(subjects), fingerprint)


def _damaged(where: str, exc: BaseException) -> WarehouseError:
    return WarehouseError(
        f"the record of erased people {where} is damaged ({exc}); restore it from a backup of the warehouse "
        "(deleting it lets the next run write it again from the catalog's erasure ledger)"
    )


def write(location: str, subjects: set[str] | frozenset[str], key_fingerprint: str | None) -> None:
    """Replace the copy atomically (a reader sees the old file or the new one, never a part)."""
    document = {"erased": sorted(subjects), "subject_key_fingerprint": key_fingerprint}
    data = json.dumps(document, indent=1).encode()
    path = path_of(location)
    if path is None:
        where = _remote(location)
        try:
            fs, key = filesystem(where)
            with fs.open_output_stream(key) as out:  # one object PUT: whole or not at all
                out.write(data)
        except (OSError, ValueError) as exc:
            raise WarehouseError(f"cannot write the record of erased people: {explain(exc, where)}") from None
        return
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise WarehouseError(f"cannot write {path}: {exc.strerror or exc}") from None
