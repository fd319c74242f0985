"""Whether a run has anything to do: what the published tables were built from.

After a run publishes, the warehouse records (catalog property `stedi.built-from`) a stamp of
everything its tables depend on, with the snapshot each table was left at. The stamp hashes the
content of every landing file (by path and SHA-256), the entries skipped, the people in the
erasure ledger, the run parameters, the table declarations and SQL, the subject key's fingerprint
and the version of stedi; beside it, digests of the fingerprints of the internal relations a run can
only rebuild whole, for the next run to tell whether a rebuild changed them (see `extending`). The SQL
is deterministic: when the landing folder's stamp now equals the recorded one and every table is
still at its recorded snapshot, a rebuild would give exactly the tables there are, so the run stops
after planning (no engine work, no commit but its history row).

Anything else (a table changed since by `stedi forget`, a rollback or another tool, a stamp of an
older version, a file whose content is unknown) rebuilds: the shortcut can only save work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Mapping

from stedi import __version__
from stedi.errors import WarehouseError
from stedi.stages.context import RunContext
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.fingerprints import row_hash

BUILT_PROPERTY = "stedi.built-from"
_DIGEST = re.compile(r"^[0-9a-f]{32}$")


def inputs_stamp(ctx: RunContext, read: dict[str, dict[str, str | None]] | None = None) -> str | None:
    """The stamp of this run's inputs; `read`: per source, the digests of the files read this run.
    None when a file's content is unknown (it was not read whole): such a run always rebuilds."""
    files = []
    for p in ctx.plans:
        known = p.files_map((read or {}).get(p.source.name, {}))
        if any(k.digest is None for k in known.values()):
            return None
        files.append([p.source.name, sorted((path, k.digest) for path, k in known.items()), sorted(p.listing.skipped)])
    text = json.dumps([basis(ctx), files], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def basis(ctx: RunContext) -> str:
    """The stamp of what the tables are built from but the landing files: the erasure ledger, the
    run parameters, the key, the declarations and SQL, the version."""
    assert ctx.key is not None
    text = json.dumps(
        [__version__, sorted(ctx.erased), ctx.parameters, ctx.key.fingerprint, repr(ctx.models.tables)],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def built_from(warehouse: Warehouse) -> str | None:
    return warehouse.namespace_properties().get(BUILT_PROPERTY)


def _record(stamp: str, snapshots: Mapping[str, int | None], basis: str, relations: Mapping[str, str]) -> str:
    record: dict[str, object] = {"stamp": stamp, "snapshots": snapshots, "basis": basis}
    if relations:
        record["relations"] = dict(relations)
    return json.dumps(record, sort_keys=True)


def _parsed(text: str | None) -> dict[str, object] | None:
    try:
        record = json.loads(text or "")
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def relation_digest(fingerprint: str) -> str:
    """What the record keeps of an internal relation's fingerprint: a digest of it with the row hash
    it was summed with, so that one summed by another row hash (another DuckDB) never equals it; the
    record stays short (some catalogs limit a property's length)."""
    return hashlib.sha256(f"{row_hash()}\n{fingerprint}".encode()).hexdigest()[:32]


def digests_in(text: str | None) -> dict[str, str]:
    """The digests of internal relations' fingerprints a built-from record holds (none it cannot read)."""
    found = (_parsed(text) or {}).get("relations")
    if not isinstance(found, dict):
        return {}
    return {name: value for name, value in found.items() if isinstance(value, str) and _DIGEST.match(value)}


def recorded_digests(ctx: RunContext) -> dict[str, str]:
    """The digests of internal relations' fingerprints recorded by the run that built the published
    tables (trusted only where `built_by_the_last_run` holds)."""
    return digests_in(ctx.built_from)


def built_by_the_last_run(ctx: RunContext) -> bool:
    """True when every table is still as the last run that published left it, and that run built
    them with what this run builds them with (all but the landing files): so the tables hold what
    that run's landing files give, and new rows can be derived from them (see `extending`)."""
    record = _parsed(ctx.built_from)
    if record is None or record.get("basis") != basis(ctx):
        return False
    names = table_names(ctx)
    snapshots = record.get("snapshots")
    return isinstance(snapshots, dict) and all(
        snapshots.get(name) is not None and snapshots.get(name) == ctx.published_snapshots.get(name) for name in names
    )


def table_names(ctx: RunContext) -> list[str]:
    """The tables a run's record names the snapshots of: the published SQL tables and the source tables."""
    return [t.name for t in ctx.models if t.sql is not None and t.published] + _source_tables(ctx)


def committed_snapshots(ctx: RunContext) -> dict[str, int] | None:
    """The snapshot the run's commits left each of `table_names` at; None when one has none."""
    committed, names = {name: commit.snapshot_id for name, commit in ctx.commits.items()}, table_names(ctx)
    snapshots = {name: snapshot for name in names if (snapshot := committed.get(name)) is not None}
    return snapshots if len(snapshots) == len(names) else None


def nothing_new(ctx: RunContext) -> bool:
    """True when every table the run would build already holds what it would build."""
    settings = ctx.settings
    if settings.full_refresh or settings.expect or ctx.built_from is None or any(p.news for p in ctx.plans):
        return False
    stamp = inputs_stamp(ctx)
    if stamp is None:
        return False
    now = {name: ctx.published_snapshots.get(name) for name in table_names(ctx)}
    record = _parsed(ctx.built_from)
    return (
        record is not None
        and record.get("stamp") == stamp
        and record.get("snapshots") == now
        and record.get("basis") == basis(ctx)
    )


def remember(ctx: RunContext) -> None:
    """After a run that published (or found every table current): what its tables were built from."""
    read = {source: {r.relative: r.digest for r in reads} for source, reads in ctx.reads.items()}
    stamp = inputs_stamp(ctx, read)
    snapshots = committed_snapshots(ctx)
    # Empty: nothing to trust, the next run rebuilds.
    value = "" if stamp is None or snapshots is None else _record(stamp, snapshots, basis(ctx), ctx.relation_digests)
    with contextlib.suppress(WarehouseError):  # a catalog that keeps no properties: every run rebuilds
        ctx.session.run(lambda w: w.set_namespace_properties({BUILT_PROPERTY: value}))


def _source_tables(ctx: RunContext) -> list[str]:
    return [t for p in ctx.plans for t in (p.source.landing_table, p.source.quarantine_table)]
