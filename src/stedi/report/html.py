"""Rendering the report data as one HTML page: inline CSS, inline SVG charts, no script."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stedi.report import Node, ReportData

ZONE_COLOUR = {"landing": "#8fb3d9", "quarantine": "#e0a458", "internal": "#cfcfcf", "trusted": "#7dbf8e",
               "curated": "#4f9a6b", "ledger": "#b9a7d6", "other": "#dddddd"}  # fmt: skip
STATUS_COLOUR = {"pass": "#2e7d32", "warn": "#b26a00", "fail": "#c62828"}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c5cad3}main{max-width:1200px;margin:0 auto;padding:8px 28px 40px}
section{background:#fff;border:1px solid #e2e5ea;border-radius:8px;margin:18px 0;padding:14px 18px;overflow-x:auto}
h2{font-size:16px;margin:0 0 10px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{background:#fafbfc;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
.muted{color:#6b7280}code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
pre{white-space:pre-wrap;word-break:break-all;margin:2px 0;background:#f6f7f9;padding:3px 6px;border-radius:4px}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{border:1px solid #eef0f3;border-radius:6px;padding:6px 8px}.chart h3{font-size:12px;margin:0 0 4px}
.up{color:#2e7d32}.down{color:#c62828}
.banner{border:2px solid #c62828;background:#fdecea}.banner h2{color:#c62828}
.warning{border:2px solid #b26a00;background:#fff4e0}.warning h2{color:#8a5200}
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
    facts = data.facts.to_pylist()
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in facts:
        by_run[f["run_id"]].append(f)
    published = [r for r in data.runs if r["published"]]
    shown = published[-1] if published else None  # the state readers of the warehouse see
    current = by_run[shown["run_id"]] if shown else []
    previous = by_run[published[-2]["run_id"]] if len(published) > 1 else []
    if shown:
        recorded = max(data.recorded, len(data.runs))
        runs = f"{recorded:,} run" + ("" if recorded == 1 else "s")
        subtitle = (f"published by run {_e(shown['run_id'][:12])} at {_e(_when(shown['run_at']))} · engine "
                    f"{_e(shown['engine'])} · consent policy {_e(shown['consent_policy'])} · ml join "
                    f"{_e(shown['ml_join'])} · {runs} recorded")  # fmt: skip
    else:
        subtitle = "nothing published yet"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>STEDI lakehouse report</title><style>{CSS}</style></head><body>",
        f"<header><h1>STEDI lakehouse</h1><p>{subtitle}</p></header><main>",
        _banner(data.runs[-1] if data.runs else None, by_run, shown),
        _empty_warnings(current),
        _graph(data.nodes, data.edges),
        _funnel(current, previous, data.growth, data.singular),
        _checks(current),
        _card(data.card),
        _quarantine(data.quarantine),
        _history(data.runs, by_run, data.recorded),
        _tables(data.schemas, data.samples),
    ]
    if data.notes:
        parts.append(
            "<section id='notes'><h2>Notes</h2>" + "".join(f"<p>{_e(n)}</p>" for n in data.notes) + "</section>"
        )
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _banner(last: dict[str, Any] | None, by_run: dict[str, list[dict[str, Any]]], shown: dict[str, Any] | None) -> str:
    """The last run, when it was not published: why, over the published state the page shows."""
    if last is None or last["published"]:
        return ""
    facts = by_run[last["run_id"]]
    reasons = [f"{f['table_name']}: {f['name']} ({_n(f['value'])}, expected {_n(f['expected'])})"
               for f in facts if f["kind"] == "check" and f["status"] == "fail"]  # fmt: skip
    reasons += [f["name"] for f in facts if f["kind"] == "refusal"]
    what = "refused by the shrink guard" if any(f["kind"] == "refusal" for f in facts) else "stopped by failed checks"
    below = (f"Everything below is the published state, from run {_e(shown['run_id'][:12])} at "
             f"{_e(_when(shown['run_at']))}." if shown else "Nothing has been published yet.")  # fmt: skip
    items = "".join(f"<li>{_e(r)}</li>" for r in reasons)
    return (f"<section id='banner' class='banner'><h2>The last run was not published</h2><p>Run "
            f"{_e(last['run_id'][:12])} at {_e(_when(last['run_at']))} was {what}; nothing of it is in the tables. "
            f"{below}</p><ul>{items}</ul></section>")  # fmt: skip


def _empty_warnings(current: list[dict[str, Any]]) -> str:
    """A table that must not be empty and is (a `min_rows` check), with the filter that emptied it."""
    empty = [f for f in current if f["kind"] == "check" and f["code"] == "min_rows" and f["status"] != "pass"]
    items = "".join(f"<p><b>{_e(f['table_name'])}</b>: {_e(f.get('detail') or '')}</p>" for f in empty)
    return (f"<section id='empty-warning' class='warning'><h2>Empty: {_e(', '.join(f['table_name'] for f in empty))}"
            f"</h2>{items}<p class='muted'>An empty result can be right for this data; `stedi run --require-rows` "
            "makes it an error.</p></section>") if empty else ""  # fmt: skip


def _graph(nodes: list[Node], edges: list[tuple[str, str]]) -> str:
    """The lineage, drawn in layers from the landing tables down (see `lineage`)."""
    from stedi.report.lineage import layout, path

    drawn = layout([n.name for n in nodes], edges)
    svg = [f"<svg id='pipeline-graph' role='img' aria-label='pipeline graph' viewBox='0 0 {drawn.width:.0f} "
           f"{drawn.height:.0f}' width='{drawn.width:.0f}' style='max-width:100%;height:auto' "
           "xmlns='http://www.w3.org/2000/svg'><defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' "
           "markerWidth='7' markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' "
           "fill='#7a8394'/></marker></defs>"]  # fmt: skip
    for route in drawn.routes:
        svg.append(f"<path class='edge' data-from='{_e(route.source)}' data-to='{_e(route.target)}' "
                   f"d='{path(route.points)}' fill='none' stroke='#9aa3b2' stroke-width='1.3' "
                   "marker-end='url(#arrow)'/>")  # fmt: skip
    for node in nodes:
        box = drawn.boxes[node.name]
        x, y = box.x, box.y
        colour = ZONE_COLOUR.get(node.zone, ZONE_COLOUR["other"])
        rows = "internal step" if node.rows is None and node.zone == "internal" else f"{_n(node.rows)} rows"
        dash = " stroke-dasharray='4 3'" if node.zone == "internal" else ""
        svg.append(f"<g class='node' data-table='{_e(node.name)}'><rect x='{x:.0f}' y='{y:.0f}' width='{box.w:.0f}' "
                   f"height='{box.h:.0f}' rx='7' fill='{colour}' stroke='#55607a'{dash}/>"
                   f"<text x='{x + 10:.0f}' y='{y + 18:.0f}' font-size='13' font-weight='600'>{_e(node.name)}</text>"
                   f"<text x='{x + 10:.0f}' y='{y + 35:.0f}' font-size='12'>{_e(node.zone)} · {rows}</text></g>")  # fmt: skip
    svg.append("</svg>")
    legend = ("<p class='muted'>Each table below the tables it is built from; quarantine and system tables, "
              "which no SQL reads, in the last row.</p>")  # fmt: skip
    return "<section id='graph'><h2>Pipeline</h2>" + "".join(svg) + legend + "</section>"


def _funnel(
    current: list[dict[str, Any]],
    previous: list[dict[str, Any]],
    growth: dict[str, str],
    singular: dict[tuple[str, str], str],
) -> str:
    before = {f["table_name"]: f["value"] for f in previous if f["kind"] == "table"}
    drops: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for f in current:
        if f["kind"] == "drop":  # older runs kept the count inside the text
            words = singular.get((f["table_name"], f["code"]), f["name"]) if f["value"] == 1 else f["name"]
            text = f"{f['value']:,} {words}" if f.get("code") else f["name"]
            drops[f["table_name"]].append((text, f["value"]))
    rows = []
    for f in (f for f in current if f["kind"] == "table"):
        name, value = f["table_name"], f["value"]
        delta = ""
        if name in before and before[name] != value:
            change = value - before[name]
            delta = f"<span class='{'up' if change > 0 else 'down'}'>{change:+,}</span>"
        reasons = "".join(f"<div>− {_e(reason)}</div>" for reason, _ in drops.get(name, []))
        if name in growth:
            reasons += f"<div class='growth'>+ {_e(growth[name])}</div>"
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


def _history(runs: list[dict[str, Any]], by_run: dict[str, list[dict[str, Any]]], recorded: int = 0) -> str:
    """Rows per table and checks not passed, over the runs (the tables in the report's one order);
    `recorded`: how many runs there are in all, when the runs are the last of them."""
    from stedi.report.charts import chart

    labels = [_when(r["run_at"]) for r in runs]
    published = [bool(r["published"]) for r in runs]
    names: list[str] = []
    for r in runs:
        names += [f["table_name"] for f in by_run[r["run_id"]] if f["kind"] == "table" and f["table_name"] not in names]
    series: dict[str, tuple[list[int | None], str]] = {}
    for name in names:
        values = []
        for r in runs:  # a run with nothing new measured no table: no point for it
            found = [f["value"] for f in by_run[r["run_id"]] if f["kind"] == "table" and f["table_name"] == name]
            values.append(found[0] if found else None)
        series[name] = (values, "rows")
    checks = [[f for f in by_run[r["run_id"]] if f["kind"] == "check"] for r in runs]
    series["checks not passed"] = ([sum(f["status"] != "pass" for f in c) if c else None for c in checks], "checks")
    shown = [i for i, p in enumerate(published) if p]
    charts = []
    for name, (values, unit) in series.items():
        now = next((values[i] for i in reversed(shown) if values[i] is not None), None)
        charts.append(f"<div class='chart'><h3>{_e(name)} <span class='muted'>{_n(now)}</span></h3>"
                      f"{chart(values, labels, published, unit)}</div>")  # fmt: skip
    legend = "<p class='muted'>Hollow red points: runs that were not published.</p>"
    title = f"History over {len(runs)} run{'' if len(runs) == 1 else 's'}"
    if recorded > len(runs):
        title = f"History over the last {len(runs)} of {recorded:,} runs"
    return f"<section id='history'><h2>{title}</h2><div class='charts'>{''.join(charts)}</div>{legend}</section>"


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
