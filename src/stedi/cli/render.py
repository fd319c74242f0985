"""Rendering results for people and programs: aligned text, CSV, JSON, and the run summary."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import pyarrow as pa

from stedi.results import RunResult


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def _json_safe(value: Any) -> Any:
    """Values JSON can hold: a non-finite number becomes the string "NaN", "Infinity" or "-Infinity"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def as_json(data: Any, indent: int | None = None) -> str:
    """Always valid JSON (no NaN or Infinity literals)."""
    return json.dumps(_json_safe(data), indent=indent, default=str, ensure_ascii=False, allow_nan=False)


def rows_as_text(table: pa.Table, fmt: str = "table") -> str:
    names = table.column_names
    rows = table.to_pylist()
    if fmt == "json":
        return as_json(rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([["" if r[n] is None else _cell(r[n]) for n in names] for r in rows])
        return buf.getvalue().rstrip("\n")
    cells = [[_cell(r[n]) for n in names] for r in rows]
    numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) for f in table.schema]
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line(names), "  ".join("-" * w for w in widths)]
    out += [line(c) for c in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def run_summary(result: RunResult) -> str:
    lines = [
        f"stedi run: {result.landing} -> {result.warehouse} "
        f"(engine {result.engine}, consent policy {result.consent_policy}, ml join {result.ml_join})",
        "",
        "sources",
    ]
    for s in result.sources:
        lines.append(
            f"  {s.source:<14} {s.files:>4} of {s.files_found:<4} files read  {s.records:>12,} records  {s.quarantined:>8,} quarantined"
            f"  {s.seconds:6.2f}s"
        )
        for path, why in s.skipped_files:
            lines.append(f"  {'':<14} skipped {path}: {why}")
    lines += ["", "tables"]
    for t in result.tables:
        rows_in = f"{t.rows_in:>12,} in" if t.rows_in is not None else " " * 15
        unchanged = "  (unchanged, no new snapshot)" if not t.changed else ""
        lines.append(f"  {t.name:<26} {t.zone:<10} {rows_in} {t.rows_out:>12,} out  {t.seconds:6.2f}s{unchanged}")
        for drop in t.drops:
            lines.append(f"  {'':<26}   - {drop.text}")
        if t.growth and t.rows_in is not None and t.rows_out > t.rows_in:
            lines.append(f"  {'':<26}   + more rows than its input: {t.growth}")
    if result.checks:
        passed = sum(c.status == "pass" for c in result.checks)
        lines += ["", f"checks: {passed} of {len(result.checks)} passed"]
        for c in result.checks:
            if c.status != "pass":
                lines.append(f"  {c.status.upper():<5} {c.table}: {c.kind} {c.description} ({c.detail})")
    for note in result.notes:
        lines += ["", f"note: {note}"]
    if result.outcome == "failed":
        lines += ["", "NOT PUBLISHED: an error check failed; every table keeps its previous snapshot"]
    elif result.outcome == "refused":
        lines += ["", "NOT PUBLISHED: refused by the shrink guard; every table keeps its previous snapshot"]
        lines += [f"  - {reason}" for reason in result.refusals]
    lines += ["", f"done in {result.seconds:.2f}s"]
    return "\n".join(lines)


def plan_summary(planned: Any) -> str:
    """What `stedi plan` found: files, tables before and after, checks, the shrink guard."""
    result = planned.result
    lines = [
        f"stedi plan: {result.landing} -> {result.warehouse} "
        f"(engine {result.engine}, consent policy {result.consent_policy}, ml join {result.ml_join})",
        "",
        "files                 new  changed  renamed  copied  removed  unchanged",
    ]
    for source, c in planned.files.items():
        lines.append(
            f"  {source:<16} {c['new']:>6} {c['changed']:>8} {c['renamed']:>8} {c['copied']:>7} {c['removed']:>8} {c['unchanged']:>10}"
        )
    lines += ["", f"tables{'':<22}{'before':>12}    {'after':>12}"]
    for t in result.tables:
        before = "-" if t.rows_before is None else f"{t.rows_before:,}"
        change = "" if t.rows_before == t.rows_out else f"  ({t.rows_out - (t.rows_before or 0):+,})"
        lines.append(f"  {t.name:<26} {before:>12} -> {t.rows_out:>12,}{change}")
        for drop in t.drops:
            lines.append(f"  {'':<26}   - {drop.text}")
    failing = [c for c in result.checks if c.status != "pass"]
    lines += ["", f"checks: {len(result.checks) - len(failing)} of {len(result.checks)} would pass"]
    lines += [f"  {c.status.upper():<5} {c.table}: {c.kind} {c.description} ({c.detail})" for c in failing]
    if result.refusals:
        lines += ["", "shrink guard: the run would be REFUSED (nothing published):"]
        lines += [f"  - {reason}" for reason in result.refusals]
    elif result.outcome == "failed":
        lines += ["", "the run would publish nothing: an error check would fail"]
    else:
        lines += ["", "shrink guard: the run would publish"]
    for note in result.notes:
        lines += ["", f"note: {note}"]
    lines += ["", "nothing was written"]
    return "\n".join(lines)
