"""A layered drawing of the lineage graph (Sugiyama's method), top to bottom, whose edges never cross
a box.

Each table gets a row: one below the lowest of its inputs (its longest path from a landing table).
An edge that spans several rows passes through each row between in a slot of its own (a dummy node),
so every piece of an edge is either a curve inside the gap between two rows or a vertical line
through a reserved slot. Rows are ordered by the barycentre of their neighbours (a few sweeps down
and up) to keep crossings between edges few. Tables without edges (quarantine, system tables) sit
in a row of their own at the bottom.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

Point = tuple[float, float]

BOX_W, BOX_H, COLUMN_GAP, ROW_GAP, SLOT, MARGIN = 212.0, 44.0, 16.0, 46.0, 12.0, 16.0
SWEEPS = 4


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float = BOX_W
    h: float = BOX_H

    def holds(self, point: Point, inset: float = 0.5) -> bool:
        """Whether a point is inside the box (not on its border)."""
        x, y = point
        return self.x + inset < x < self.x + self.w - inset and self.y + inset < y < self.y + self.h - inset


@dataclass(frozen=True)
class Route:
    source: str
    target: str
    points: list[Point]  # start on the source's bottom, each row passed (top, bottom), end on the target's top


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    routes: list[Route]
    width: float
    height: float


def _rows_of(names: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    inputs: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        inputs[b].append(a)
    row: dict[str, int] = {}
    for _ in range(len(names) + 1):  # longest path, by relaxation (the lineage is acyclic)
        changed = False
        for name in names:
            value = max((row.get(a, 0) + 1 for a in inputs[name]), default=0)
            if row.get(name) != value:
                row[name], changed = value, True
        if not changed:
            break
    return row


def layout(names: list[str], edges: list[tuple[str, str]]) -> Layout:
    """Boxes for `names` (in their preferred order) and a route for every edge between two of them."""
    edges = [(a, b) for a, b in edges if a in names and b in names and a != b]
    linked = [n for n in names if any(n in e for e in edges)]
    row = _rows_of(linked, edges)
    depth = max(row.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for name in linked:
        rows[row[name]].append(name)
    chains = []
    for a, b in edges:
        chain = [a]
        for r in range(row[a] + 1, row[b]):
            dummy = f"\0{a}\0{b}\0{r}"
            rows[r].append(dummy)
            chain.append(dummy)
        chains.append([*chain, b])
    _order(rows, chains)
    isolated = [n for n in names if n not in row]
    if isolated:
        rows.append(isolated)
    width = max((_row_width(r) for r in rows), default=0.0) + 2 * MARGIN
    places: dict[str, Box] = {}
    for r, members in enumerate(rows):
        x = MARGIN + (width - 2 * MARGIN - _row_width(members)) / 2
        y = MARGIN + r * (BOX_H + ROW_GAP)
        for item in members:
            w = SLOT if item.startswith("\0") else BOX_W
            places[item] = Box(x, y, w)
            x += w + COLUMN_GAP
    height = MARGIN * 2 + len(rows) * BOX_H + max(len(rows) - 1, 0) * ROW_GAP
    return Layout({n: places[n] for n in names}, _routes(chains, places), width, height)


def _row_width(members: list[str]) -> float:
    widths = [SLOT if m.startswith("\0") else BOX_W for m in members]
    return sum(widths) + COLUMN_GAP * max(len(widths) - 1, 0)


def _order(rows: list[list[str]], chains: list[list[str]]) -> None:
    """Barycentre ordering: each row sorted by the mean place of its neighbours in the row above
    (sweeping down), then below (sweeping up); a stable sort keeps the preferred order on ties."""
    above: dict[str, list[str]] = defaultdict(list)
    below: dict[str, list[str]] = defaultdict(list)
    for chain in chains:
        for a, b in pairwise(chain):
            below[a].append(b)
            above[b].append(a)
    for _ in range(SWEEPS):
        for r in range(1, len(rows)):
            _sort_by(rows[r], rows[r - 1], above)
        for r in range(len(rows) - 2, -1, -1):
            _sort_by(rows[r], rows[r + 1], below)


def _sort_by(members: list[str], neighbours_row: list[str], neighbours: dict[str, list[str]]) -> None:
    place = {name: i for i, name in enumerate(neighbours_row)}
    current = {name: i for i, name in enumerate(members)}

    def centre(name: str) -> float:
        found = [place[n] for n in neighbours[name] if n in place]
        return sum(found) / len(found) if found else float(current[name])

    members.sort(key=centre)


def _routes(chains: list[list[str]], places: dict[str, Box]) -> list[Route]:
    """Each edge leaves its source's bottom and enters its target's top at points spread along the
    side (one per edge, ordered so that neighbouring edges do not cross at the box)."""
    leaving: dict[str, list[list[str]]] = defaultdict(list)
    entering: dict[str, list[list[str]]] = defaultdict(list)
    for chain in chains:
        leaving[chain[0]].append(chain)
        entering[chain[-1]].append(chain)

    def spread(box: Box, index: int, count: int) -> float:
        return box.x + box.w * (index + 1) / (count + 1)

    starts: dict[int, float] = {}
    ends: dict[int, float] = {}
    for name, out in leaving.items():
        for i, chain in enumerate(sorted(out, key=lambda c: places[c[1]].x)):
            starts[id(chain)] = spread(places[name], i, len(out))
    for name, into in entering.items():
        for i, chain in enumerate(sorted(into, key=lambda c: places[c[-2]].x)):
            ends[id(chain)] = spread(places[name], i, len(into))
    routes = []
    for chain in chains:
        first, last = places[chain[0]], places[chain[-1]]
        points: list[Point] = [(starts[id(chain)], first.y + first.h)]
        for dummy in chain[1:-1]:
            slot = places[dummy]
            points += [(slot.x + slot.w / 2, slot.y), (slot.x + slot.w / 2, slot.y + slot.h)]
        points.append((ends[id(chain)], last.y))
        routes.append(Route(chain[0], chain[-1], points))
    return routes


def path(points: list[Point]) -> str:
    """SVG path data: a curve across each gap between rows (vertical tangents, so it stays in the
    gap), a straight line through each row passed."""
    (x, y), *rest = points
    parts = [f"M{x:.1f},{y:.1f}"]
    for i, (px, py) in enumerate(rest):
        if i % 2 == 0:  # across a gap
            middle = (y + py) / 2
            parts.append(f"C{x:.1f},{middle:.1f} {px:.1f},{middle:.1f} {px:.1f},{py:.1f}")
        else:  # through a row, in its slot
            parts.append(f"L{px:.1f},{py:.1f}")
        x, y = px, py
    return " ".join(parts)


def curve_points(points: list[Point], steps: int = 40) -> list[Point]:
    """Points along the drawn path (for checking where it goes)."""
    out = [points[0]]
    for i in range(1, len(points)):
        (x0, y0), (x1, y1) = points[i - 1], points[i]
        if i % 2 == 1:  # a cubic Bézier with control points at the gap's middle height
            m = (y0 + y1) / 2
            for k in range(1, steps + 1):
                t = k / steps
                a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
                out.append((a * x0 + b * x0 + c * x1 + d * x1, a * y0 + b * m + c * m + d * y1))
        else:
            out += [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(1, steps + 1)]
    return out
