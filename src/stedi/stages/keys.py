"""The subject key belongs to the warehouse: its fingerprint is recorded on the first run, and every
command that writes or pseudonymises checks the key against it before it writes anything."""

from __future__ import annotations

import functools
import operator
from pathlib import Path

from stedi import subject_key
from stedi.contract.privacy import KEY_INVARIANT, subject_id
from stedi.contract.tables import Models, Table, load
from stedi.errors import PrivacyError, SubjectKeyError
from stedi.storage import is_remote, within
from stedi.subject_key import SubjectKey
from stedi.warehouse import erased_copy
from stedi.warehouse.catalog import KEY_PROPERTY, ROOT_PROPERTY, Warehouse

HOW_TO_RESTORE = (
    "restore the key (the file from a backup, or STEDI_SUBJECT_KEY) and run again; a new key would change every "
    "subject_id and no longer recognise erased people (docs/operations.md)"
)


def check_location(location: str) -> None:
    """The key file must not be inside the warehouse: whoever has the warehouse must not have the key."""
    if is_remote(location) or subject_key.find_env():
        return
    key_file = subject_key.key_file().absolute()
    root = Path(location).absolute()
    if within(str(key_file), str(root)):
        raise PrivacyError(
            f"privacy invariant broken, nothing was run: {KEY_INVARIANT} (key file {key_file} is inside {location})"
        )


def _fingerprint_outside_the_catalog(warehouse: Warehouse) -> str | None:
    """The key's fingerprint in the record of erased people, for a warehouse with tables whose catalog
    has lost its own (properties deleted or replaced): taking whatever key is found instead would give
    everyone a new subject_id, and the erased people, no longer recognised, would come back."""
    copy = erased_copy.read(warehouse.location)
    return copy.key_fingerprint if copy else None


def bind(warehouse: Warehouse, *, create: bool, models: Models | None = None) -> tuple[SubjectKey, str | None]:
    """The warehouse's subject key, checked against the recorded fingerprint; and a note for the
    user when something was set up (a key generated, a fingerprint recorded).

    With `create` (a command that writes), a warehouse without a fingerprint gets one: a new warehouse
    with no key at all gets a generated key. Without `create`, nothing is written or generated.
    """
    check_location(warehouse.location)
    key = subject_key.find()
    properties = warehouse.namespace_properties()
    recorded = properties.get(KEY_PROPERTY)
    if recorded is not None:
        return _checked(warehouse, key, recorded), None
    tables = set(warehouse.table_names())
    kept = _fingerprint_outside_the_catalog(warehouse) if tables else None
    if kept is not None:
        key = _checked(warehouse, key, kept)
        note = (
            f"recorded the subject key's fingerprint in the catalog again (it had lost it; {erased_copy.FILE} kept it)"
        )
    elif key is None:
        if tables:
            raise SubjectKeyError(
                f"warehouse {warehouse.location} has tables but no subject key was found in {subject_key.where()}; "
                f"nothing was written. {HOW_TO_RESTORE}"
            )
        if not create:
            raise SubjectKeyError(
                f"no subject key in {subject_key.where()}, and warehouse {warehouse.location} has none yet"
            )
        key = subject_key.generate()
        note = (
            f"generated a new subject key in {key.origin} for this new warehouse: keep it safe and back it up "
            "with the warehouse (without it, later runs refuse to write)"
        )
    else:
        if tables and _made_the_pseudonyms(warehouse, tables, key, models or load()) is False:
            raise SubjectKeyError(
                f"the subject key in {key.origin} (fingerprint {key.fingerprint[:12]}…) did not make the subject_ids "
                f"of warehouse {warehouse.location}, whose catalog and {erased_copy.FILE} no longer record its key; "
                f"nothing was written. {HOW_TO_RESTORE}"
            )
        note = f"recorded the fingerprint of the subject key from {key.origin} in the warehouse"
    if not create:
        return key, None
    updates = {KEY_PROPERTY: key.fingerprint}
    if ROOT_PROPERTY not in properties:
        updates[ROOT_PROPERTY] = warehouse.root
    warehouse.set_namespace_properties(updates)
    return key, note


def _checked(warehouse: Warehouse, key: SubjectKey | None, recorded: str) -> SubjectKey:
    """The key found, if it is the one whose fingerprint the warehouse recorded."""
    if key is None:
        raise SubjectKeyError(
            f"warehouse {warehouse.location} was built with a subject key (fingerprint {recorded[:12]}…) that "
            f"was not found: nothing is set in {subject_key.where()}. {HOW_TO_RESTORE}"
        )
    if key.fingerprint != recorded:
        raise SubjectKeyError(
            f"the subject key in {key.origin} (fingerprint {key.fingerprint[:12]}…) is not the key of warehouse "
            f"{warehouse.location} (fingerprint {recorded[:12]}…); nothing was written. {HOW_TO_RESTORE}"
        )
    return key


def _made_the_pseudonyms(warehouse: Warehouse, tables: set[str], key: SubjectKey, models: Models) -> bool | None:
    """Whether `key` made the pseudonyms the warehouse holds, told by the rows when no fingerprint is
    left: one row of a table with a pseudonym against the keyed hash of the email of its input row
    (the input rows with the same values in the columns both tables have). None: no row can tell."""
    for table in models:
        source = models[table.input] if table.pseudonym and table.input and table.input in models else None
        emails = [p.column for p in source.person if p.kind == "email"] if source else []
        if source is None or not emails or not {table.name, source.name} <= tables:
            continue
        verdict = _one_row_tells(warehouse, table, source, emails[0], key)
        if verdict is not None:
            return verdict
    return None


def _one_row_tells(warehouse: Warehouse, table: Table, source: Table, email: str, key: SubjectKey) -> bool | None:
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from stedi.warehouse.scan import dataset

    assert table.pseudonym is not None
    pseudonym = table.pseudonym.column
    rows, inputs = dataset(warehouse, table.name), dataset(warehouse, source.name)
    row = rows.head(1) if isinstance(rows, ds.Dataset) else rows.slice(0, 1)
    shared = [c for c in row.column_names if c in inputs.schema.names and c not in (email, pseudonym)]
    if not row.num_rows or not shared:
        return None
    condition = functools.reduce(operator.and_, (pc.field(c) == row[c][0].as_py() for c in shared))
    found = (
        inputs.to_table(filter=condition, columns=[email])
        if isinstance(inputs, ds.Dataset)
        else inputs.filter(condition)
    )
    if not found.num_rows:
        return None
    made = row[pseudonym][0].as_py()
    return any(subject_id(key.secret, owner) == made for owner in found[email].to_pylist() if owner)
