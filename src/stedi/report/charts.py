"""Small line charts of a figure over runs, as inline SVG: a y axis from zero with its unit, the
first and last run's times on the x axis, and each run a point (hollow and red when the run was not
published) with its time and value on hover."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 250.0, 118.0
LEFT, RIGHT, TOP, BOTTOM = 50.0, 10.0, 8.0, 30.0  # room for the axes' labels
LINE, AXIS, REFUSED = "#3b6fb6", "#9aa3b2", "#c62828"


def _nice(top: float) -> float:
    """The y axis's top: the smallest 1, 2 or 5 times a power of ten at or above `top`."""
    if top <= 0:
        return 1.0
    scale = 10 ** (len(str(int(top))) - 1)
    return next(m * scale for m in (1, 2, 5, 10) if m * scale >= top)


def _short(count: float) -> str:
    return f"{count / 1e6:g}M" if count >= 1e6 else (f"{count / 1e3:g}k" if count >= 1e4 else f"{count:,.0f}")


def chart(values: list[int | None], labels: list[str], published: list[bool], unit: str) -> str:
    """`values` per run, oldest first (None: the run did not measure it); `labels` the runs' times."""
    known = [v for v in values if v is not None]
    if not known:
        return "<p class='muted'>no figures yet</p>"
    top = _nice(max(known))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(values) - 1)

    def x(i: int) -> float:
        return LEFT + (i * step if len(values) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    parts = [
        f"<svg class='history-chart' viewBox='0 0 {WIDTH:.0f} {HEIGHT:.0f}' width='{WIDTH:.0f}' height='{HEIGHT:.0f}' "
        "xmlns='http://www.w3.org/2000/svg' font-size='10' fill='#4b5563'>",
        f"<line x1='{LEFT}' y1='{TOP}' x2='{LEFT}' y2='{TOP + plot_h}' stroke='{AXIS}'/>",
        f"<line x1='{LEFT}' y1='{TOP + plot_h}' x2='{LEFT + plot_w}' y2='{TOP + plot_h}' stroke='{AXIS}'/>",
        f"<text x='{LEFT - 4}' y='{TOP + 4}' text-anchor='end'>{_short(top)}</text>",
        f"<text x='{LEFT - 4}' y='{TOP + plot_h}' text-anchor='end'>0</text>",
        f"<text x='6' y='{TOP + plot_h / 2}' transform='rotate(-90 6 {TOP + plot_h / 2})' text-anchor='middle' "
        f"class='unit'>{escape(unit)}</text>",
        f"<text x='{LEFT}' y='{HEIGHT - 14}' class='x-label'>{escape(labels[0][:16])}</text>",
    ]
    if len(labels) > 1:
        parts.append(f"<text x='{LEFT + plot_w}' y='{HEIGHT - 4}' text-anchor='end' class='x-label'>"
                     f"{escape(labels[-1][:16])}</text>")  # fmt: skip
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None)
    parts.append(f"<polyline points='{line}' fill='none' stroke='{LINE}' stroke-width='1.5'/>")
    for i, v in enumerate(values):
        if v is None:
            continue
        state = "" if published[i] else " (not published)"
        style = f"fill='{LINE}'" if published[i] else f"fill='#fff' stroke='{REFUSED}' stroke-width='1.5'"
        parts.append(f"<circle cx='{x(i):.1f}' cy='{y(v):.1f}' r='3' {style}><title>{escape(labels[i])}: "
                     f"{v:,} {escape(unit)}{state}</title></circle>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)
