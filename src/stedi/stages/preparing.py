"""Stage `prepare`: the subject key checked against the warehouse, interrupted erasures completed,
and the erasure ledger read, before the run reads or writes anything."""

from __future__ import annotations

from stedi.stages import keys
from stedi.stages.context import RunContext
from stedi.stages.erasure import keep_copy, read_ledger
from stedi.stages.forgetting import erase
from stedi.warehouse.catalog import Warehouse


def prepare(ctx: RunContext) -> None:
    settings = ctx.settings
    ctx.parameters = settings.parameters
    key, note = ctx.session.run(lambda w: keys.bind(w, create=True, models=ctx.models))
    ctx.key = key
    if note:
        ctx.result.notes.append(note)

    def erasures(warehouse: Warehouse) -> set[str]:
        ledger = read_ledger(warehouse)
        if any(e.completed_at is None for e in ledger):
            ctx.say("completing an interrupted erasure")
            done = erase(warehouse, ctx.models, key, {}, settings.memory_limit)
            ctx.result.notes.append(f"completed an interrupted erasure of {done.completed} people")
            ledger = read_ledger(warehouse)
        keep_copy(warehouse, ledger, key.fingerprint)
        return {e.subject_id for e in ledger}

    ctx.erased = ctx.session.run(erasures)
