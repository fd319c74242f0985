"""Rendering the report data as one HTML page: inline CSS, inline SVG charts, no script."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stedi.report import Node, ReportData

ZONES = ("landing", "quarantine", "internal", "trusted", "curated", "ledger")
ZONE_COLUMN = {"landing": 0, "quarantine": 0, "internal": 1, "trusted": 2, "curated": 3, "ledger": 0}
ZONE_COLOUR = {"landing": "#8fb3d9", "quarantine": "#e0a458", "internal": "#cfcfcf", "trusted": "#7dbf8e",
               "curated": "#4f9a6b", "ledger": "#b9a7d6", "other": "#dddddd"}  # fmt: skip
STATUS_COLOUR = {"pass": "#2e7d32", "warn": "#b26a00", "fail": "#c62828"}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c5cad3}main{max-width:1200px;margin:0 auto;padding:8px 28px 40px}
section{background:#fff;border:1px solid #e2e5ea;border-radius:8px;margin:18px 0;padding:14px 18px}
h2{font-size:16px;margin:0 0 10px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{background:#fafbfc;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
.muted{color:#6b7280}code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
pre{white-space:pre-wrap;word-break:break-all;margin:2px 0;background:#f6f7f9;padding:3px 6px;border-radius:4px}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{border:1px solid #eef0f3;border-radius:6px;padding:6px 8px}.chart h3{font-size:12px;margin:0 0 4px}
.up{color:#2e7d32}.down{color:#c62828}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ("" if value is None else _e(value))


def _when(value: Any) -> str:
    """A time as ISO 8601 in UTC, to the second (`2026-12-01T09:56:32Z`)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "" if value is None else str(value)


def render(data: ReportData) -> str:
    last = data.runs[-1] if data.runs else None
    facts = data.facts.to_pylist()
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in facts:
        by_run[f["run_id"]].append(f)
    current = by_run[last["run_id"]] if last else []
    previous = by_run[data.runs[-2]["run_id"]] if len(data.runs) > 1 else []
    if last:
        state = "published" if last["published"] else "NOT published: an error check failed"
        runs = f"{len(data.runs)} run" + ("" if len(data.runs) == 1 else "s")
        subtitle = (f"last run {_e(_when(last['run_at']))} · engine {_e(last['engine'])} · consent policy "
                    f"{_e(last['consent_policy'])} · ml join {_e(last['ml_join'])} · {state} · {runs}")  # fmt: skip
    else:
        subtitle = "no runs recorded yet"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>STEDI lakehouse report</title><style>{CSS}</style></head><body>",
        f"<header><h1>STEDI lakehouse</h1><p>{subtitle}</p></header><main>",
        _graph(data.nodes, data.edges),
        _funnel(current, previous),
        _checks(current),
        _card(data.card),
        _quarantine(data.quarantine),
        _history(data.runs, by_run),
        _tables(data.schemas, data.samples),
    ]
    if data.notes:
        parts.append(
            "<section id='notes'><h2>Notes</h2>" + "".join(f"<p>{_e(n)}</p>" for n in data.notes) + "</section>"
        )
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _graph(nodes: list[Node], edges: list[tuple[str, str]]) -> str:
    width, box_w, box_h, gap = 1100, 220, 46, 14
    columns: dict[int, list[Node]] = defaultdict(list)
    for node in sorted(nodes, key=lambda n: (ZONES.index(n.zone) if n.zone in ZONES else 9, n.name)):
        columns[ZONE_COLUMN.get(node.zone, 0)].append(node)
    where: dict[str, tuple[float, float]] = {}
    for col, members in columns.items():
        for i, node in enumerate(members):
            where[node.name] = (20 + col * (width - box_w - 40) / 3, 20 + i * (box_h + gap))
    height = 40 + max(len(m) for m in columns.values()) * (box_h + gap)
    svg = [f"<svg id='pipeline-graph' role='img' aria-label='pipeline graph' viewBox='0 0 {width} {height}' "
           f"width='100%' xmlns='http://www.w3.org/2000/svg'>",
           "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' markerHeight='7' "
           "orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#7a8394'/></marker></defs>"]  # fmt: skip
    for source, target in edges:
        if source in where and target in where:
            (x1, y1), (x2, y2) = where[source], where[target]
            sx, sy, tx, ty = x1 + box_w, y1 + box_h / 2, x2, y2 + box_h / 2
            if x2 <= x1:  # an edge within a column: leave from the right, come back in from the left
                tx = x2 + box_w
            svg.append(f"<path class='edge' d='M{sx:.0f},{sy:.0f} C{sx + 60:.0f},{sy:.0f} {tx - 60:.0f},{ty:.0f} "
                       f"{tx:.0f},{ty:.0f}' fill='none' stroke='#9aa3b2' stroke-width='1.3' marker-end='url(#arrow)'/>")  # fmt: skip
    for node in nodes:
        x, y = where[node.name]
        colour = ZONE_COLOUR.get(node.zone, ZONE_COLOUR["other"])
        rows = "internal step" if node.rows is None and node.zone == "internal" else f"{_n(node.rows)} rows"
        dash = " stroke-dasharray='4 3'" if node.zone == "internal" else ""
        svg.append(f"<g class='node' data-table='{_e(node.name)}'><rect x='{x:.0f}' y='{y:.0f}' width='{box_w}' "
                   f"height='{box_h}' rx='7' fill='{colour}' stroke='#55607a'{dash}/>"
                   f"<text x='{x + 10:.0f}' y='{y + 19:.0f}' font-size='13' font-weight='600'>{_e(node.name)}</text>"
                   f"<text x='{x + 10:.0f}' y='{y + 36:.0f}' font-size='12'>{_e(node.zone)} · {rows}</text></g>")  # fmt: skip
    svg.append("</svg>")
    return "<section id='graph'><h2>Pipeline</h2>" + "".join(svg) + "</section>"


def _funnel(current: list[dict[str, Any]], previous: list[dict[str, Any]]) -> str:
    before = {f["table_name"]: f["value"] for f in previous if f["kind"] == "table"}
    drops: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for f in current:
        if f["kind"] == "drop":  # older runs kept the count inside the text
            text = f"{f['value']:,} {f['name']}" if f.get("code") else f["name"]
            drops[f["table_name"]].append((text, f["value"]))
    rows = []
    for f in (f for f in current if f["kind"] == "table"):
        name, value = f["table_name"], f["value"]
        delta = ""
        if name in before and before[name] != value:
            change = value - before[name]
            delta = f"<span class='{'up' if change > 0 else 'down'}'>{change:+,}</span>"
        reasons = "".join(f"<div>− {_e(reason)}</div>" for reason, _ in drops.get(name, []))
        rows.append(
            f"<tr><td>{_e(name)}</td><td class='n'>{_n(value)}</td><td class='n'>{delta}</td><td>{reasons}</td></tr>"
        )
    return ("<section id='funnel'><h2>Rows and why they fell away</h2><table><thead><tr><th>table</th>"
            "<th class='n'>rows</th><th class='n'>since last run</th><th>dropped on the way in</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")  # fmt: skip


def _checks(current: list[dict[str, Any]]) -> str:
    rows = []
    for f in (f for f in current if f["kind"] == "check"):
        colour = STATUS_COLOUR.get(f["status"], "#555")
        expected = "" if f["expected"] is None else _n(f["expected"])
        detail = f.get("detail") or ""
        rows.append(f"<tr class='check-{_e(f['status'])}'><td><span class='badge' style='background:{colour}'>"
                    f"{_e(f['status'])}</span></td><td>{_e(f['severity'])}</td><td>{_e(f['table_name'])}</td>"
                    f"<td>{_e(f['name'])}</td><td class='n'>{_n(f['value'])}</td><td class='n'>{expected}</td>"
                    f"<td>{_e(detail)}</td></tr>")  # fmt: skip
    return ("<section id='checks'><h2>Checks</h2><table id='check-table'><thead><tr><th>status</th><th>severity</th>"
            "<th>table</th><th>check</th><th class='n'>value</th><th class='n'>expected</th><th>detail</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")  # fmt: skip


def _card(card: dict[str, Any] | None) -> str:
    """The dataset card of machine_learning_curated (also written as dataset_card.md and .json)."""
    if card is None:
        return ""
    splits = "".join(f"<tr><td>{_e(name)}</td><td class='n'>{_n(v['rows'])}</td><td class='n'>{_n(v['subjects'])}</td>"
                     "</tr>" for name, v in card["splits"].items())  # fmt: skip
    sampling, time_range, checks = card["sampling"], card["time_range"], card["checks"]
    facts = [
        ("produced by run", card["produced_by"]["run_id"]),
        ("consent", f"{card['consent']['policy']}: {card['consent']['meaning']}"),
        ("join", f"{card['join']['rule']}: {card['join']['meaning']}"),
        ("rows / subjects", f"{card['rows']:,} / {card['subjects']:,}"),
        ("time range", f"{time_range['first']} to {time_range['last']}"),
        ("median step-trainer interval", f"{sampling['median_step_trainer_interval_ms']} ms"),
        ("erasures applied", f"{card['erasures_applied']:,}"),
        ("checks", f"{checks['passed']} of {checks['total']} passed"),
        ("subject key fingerprint", card["subject_key_fingerprint"]),
    ]
    listed = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    limits = "".join(f"<li>{_e(item)}</li>" for item in card["limitations"])
    return ("<section id='card'><h2>Dataset card: machine_learning_curated</h2>"
            f"<p>{_e(card['description'])}</p><table>{listed}</table>"
            "<h3>Splits</h3><table id='split-table'><thead><tr><th>split</th><th class='n'>rows</th>"
            f"<th class='n'>subjects</th></tr></thead><tbody>{splits}</tbody></table>"
            f"<h3>Known limitations</h3><ul>{limits}</ul>"
            "<p class='muted'>Also in the warehouse as dataset_card.md and dataset_card.json.</p></section>")  # fmt: skip


def _quarantine(quarantine: dict[str, list[tuple[str, int, list[str]]]]) -> str:
    blocks = []
    for table, groups in quarantine.items():
        total = sum(n for _, n, _ in groups)
        inner = "".join(f"<tr><td class='n'>{_n(n)}</td><td>{_e(reason)}"
                        + "".join(f"<pre>{_e(s)}</pre>" for s in samples) + "</td></tr>"
                        for reason, n, samples in groups)  # fmt: skip
        body = f"<table><tbody>{inner}</tbody></table>" if groups else "<p class='muted'>nothing quarantined</p>"
        blocks.append(
            f"<details {'open' if total else ''}><summary>{_e(table)} · {_n(total)} rows</summary>{body}</details>"
        )
    return "<section id='quarantine'><h2>Quarantine</h2>" + "".join(blocks) + "</section>"


def _sparkline(values: list[int], labels: list[str]) -> str:
    w, h = 220, 60
    if not values:
        return ""
    top = max(values) or 1
    step = w / max(1, len(values) - 1)
    points = " ".join(f"{i * step:.1f},{h - 4 - (v / top) * (h - 12):.1f}" for i, v in enumerate(values))
    dots = "".join(f"<circle cx='{i * step:.1f}' cy='{h - 4 - (v / top) * (h - 12):.1f}' r='2.5' fill='#3b6fb6'>"
                   f"<title>{_e(labels[i])}: {v:,}</title></circle>" for i, v in enumerate(values))  # fmt: skip
    return (f"<svg viewBox='-4 0 {w + 8} {h}' width='{w}' height='{h}' xmlns='http://www.w3.org/2000/svg'>"
            f"<polyline points='{points}' fill='none' stroke='#3b6fb6' stroke-width='1.5'/>{dots}</svg>")  # fmt: skip


def _history(runs: list[dict[str, Any]], by_run: dict[str, list[dict[str, Any]]]) -> str:
    labels = [_when(r["run_at"]) for r in runs]
    series: dict[str, list[int]] = defaultdict(list)
    for run in runs:
        facts = by_run[run["run_id"]]
        tables = {f["table_name"]: f["value"] for f in facts if f["kind"] == "table"}
        for name in sorted({f["table_name"] for r in runs for f in by_run[r["run_id"]] if f["kind"] == "table"}):
            series[name].append(tables.get(name, 0))
        series["⚠ failing or warning checks"].append(
            sum(1 for f in facts if f["kind"] == "check" and f["status"] != "pass")
        )
    charts = "".join(f"<div class='chart'><h3>{_e(name)} <span class='muted'>{_n(values[-1])}</span></h3>"
                     f"{_sparkline(values, labels)}</div>" for name, values in series.items())  # fmt: skip
    return f"<section id='history'><h2>History over {len(runs)} run{'' if len(runs) == 1 else 's'}</h2><div class='charts'>{charts}</div></section>"


def _tables(schemas: dict[str, list[tuple[str, str]]], samples: dict[str, tuple[list[str], list[list[str]]]]) -> str:
    blocks = []
    for name, columns in schemas.items():
        schema = ", ".join(f"<code>{_e(c)}</code> {_e(t)}" for c, t in columns)
        head, rows = samples.get(name, ([], []))
        table = ("<table><thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in head) + "</tr></thead><tbody>"
                 + "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
                 + "</tbody></table>") if rows else "<p class='muted'>no rows</p>"  # fmt: skip
        blocks.append(f"<details><summary>{_e(name)}</summary><p>{schema}</p>{table}</details>")
    return "<section id='tables'><h2>Tables (personal data masked)</h2>" + "".join(blocks) + "</section>"
