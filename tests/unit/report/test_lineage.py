"""The lineage drawing: every edge goes down the page and no edge passes through a box."""

from __future__ import annotations

import pytest

from stedi.contract.tables import load
from stedi.report.lineage import Layout, curve_points, layout


def _crossings(drawn: Layout) -> list[tuple[str, str, str]]:
    """(edge source, edge target, box) for every box an edge passes through, its own ends excepted."""
    found = []
    for route in drawn.routes:
        for name, box in drawn.boxes.items():
            if name in (route.source, route.target):
                continue
            if any(box.holds(p) for p in curve_points(route.points)):
                found.append((route.source, route.target, name))
    return found


def _pipeline() -> tuple[list[str], list[tuple[str, str]]]:
    models = load()
    return [t.name for t in models], [(a, b) for a, b in models.edges() if a in models]


def test_the_pipeline_is_drawn_in_layers_with_no_edge_through_a_box() -> None:
    names, edges = _pipeline()
    drawn = layout(names, edges)
    assert len(drawn.routes) == len(edges) and set(drawn.boxes) == set(names)
    assert _crossings(drawn) == []
    for route in drawn.routes:
        assert drawn.boxes[route.source].y < drawn.boxes[route.target].y  # inputs above what they build
        ys = [y for _, y in route.points]
        assert ys == sorted(ys)
    boxes = list(drawn.boxes.values())
    for i, a in enumerate(boxes):  # no two boxes overlap
        for b in boxes[i + 1 :]:
            assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y


@pytest.mark.parametrize("seed", range(20))
def test_random_acyclic_graphs_have_no_edge_through_a_box(seed: int) -> None:
    import random

    rng = random.Random(seed)
    names = [f"t{i}" for i in range(rng.randint(4, 14))]
    edges = sorted({(a, b) for _ in range(rng.randint(3, 20))
                    for a, b in [sorted(rng.sample(names, 2), key=names.index)]})  # fmt: skip
    drawn = layout(names, edges)
    assert _crossings(drawn) == []


def test_a_box_is_found_crossed_when_an_edge_goes_through_it() -> None:
    """The crossing test itself: a route drawn straight through a box is caught."""
    from dataclasses import replace

    drawn = layout(["a", "b", "c"], [("a", "b"), ("b", "c"), ("a", "c")])
    straight = [r if (r.source, r.target) != ("a", "c") else replace(r, points=[r.points[0], (drawn.boxes["b"].x + 5,
                drawn.boxes["b"].y + 5), r.points[-1]][:2]) for r in drawn.routes]  # fmt: skip
    assert _crossings(replace(drawn, routes=straight)) != []
