"""Tidy layout: a small layered (Sugiyama-style) layout, top to bottom. No Qt.

1. Layers by longest path from the sources, so every wire points down.
2. Wires that skip layers get placeholder points on the layers they cross,
   which reserve a lane beside the main column for the skip connection.
3. Order within each layer by the barycentre of the neighbours, sweeping down
   and up a few times and keeping the order with the fewest crossings.
4. Horizontal positions: pulled towards the neighbours' positions, pushed
   apart to keep the minimum spacing.
"""

from __future__ import annotations

import math
from collections import defaultdict

from ...core.graph import Graph

SWEEPS = 8


def _layers(graph: Graph) -> tuple[dict[str, int], list[tuple[str, str]]]:
    order, cyclic = graph.topological_order()
    rank = {n: i for i, n in enumerate(order)}
    layer: dict[str, int] = {}
    parents = defaultdict(list)
    edges = []
    for e in graph.edges:
        if e.source in rank and e.target in rank and e.source != e.target:
            parents[e.target].append(e.source)
            edges.append((e.source, e.target))
    for n in order:
        layer[n] = max((layer[p] + 1 for p in parents[n]), default=0)
    bottom = max(layer.values(), default=-1) + 1
    for i, n in enumerate(cyclic):  # nodes on cycles have no consistent layer: stack them below
        layer[n] = bottom + i
    return layer, list(dict.fromkeys(edges))


def _crossings(upper: list[str], lower: list[str], links: list[tuple[str, str]]) -> int:
    """Pairs of links between two rows that cross, counted as inversions in n log n (a Fenwick tree)."""
    up = {n: i for i, n in enumerate(upper)}
    low = {n: i for i, n in enumerate(lower)}
    pairs = sorted((up[a], low[b]) for a, b in links if a in up and b in low)
    # Sorted by (upper, lower): two links cross when the later one ends further left below.
    tree = [0] * (len(lower) + 1)
    crossings = 0
    for seen, (_, b) in enumerate(pairs):
        k, not_right = b + 1, 0  # links seen so far ending at or left of b
        while k:
            not_right += tree[k]
            k -= k & -k
        crossings += seen - not_right
        k = b + 1
        while k <= len(lower):
            tree[k] += 1
            k += k & -k
    return crossings


def tidy_positions(graph: Graph, node_width: float, node_height: float, h_gap: float = 40.0,
                   v_gap: float = 30.0, grid: float = 10.0) -> dict[str, tuple[float, float]]:
    if not graph.nodes:
        return {}
    layer, edges = _layers(graph)
    # Split long wires into unit steps through placeholder points.
    links: list[tuple[str, str]] = []
    dummy_count = 0
    for a, b in edges:
        prev = a
        for step in range(layer[a] + 1, layer[b]):
            dummy = f"\0{dummy_count}"
            dummy_count += 1
            layer[dummy] = step
            links.append((prev, dummy))
            prev = dummy
        links.append((prev, b))
    up, down = defaultdict(list), defaultdict(list)
    for a, b in links:
        down[a].append(b)
        up[b].append(a)
    rows: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    position_in_file = {n: i for i, n in enumerate(graph.nodes)}
    for n in sorted(layer, key=lambda n: position_in_file.get(n, len(position_in_file))):
        rows[layer[n]].append(n)

    def bary(n: str, neighbours, index) -> float:
        ns = [index[m] for m in neighbours[n] if m in index]
        return sum(ns) / len(ns) if ns else index.get(n, 0)

    links_below = defaultdict(list)  # every link joins a row to the next one: group them by the upper row
    for a, b in links:
        links_below[layer[a]].append((a, b))

    def total_crossings(rs):
        return sum(_crossings(rs[i], rs[i + 1], links_below[i]) for i in range(len(rs) - 1))

    best, best_score = [list(r) for r in rows], total_crossings(rows)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1)
        for i in indices:
            ref = rows[i - 1] if downward else rows[i + 1]
            index = {n: k for k, n in enumerate(ref)}
            own = {n: k for k, n in enumerate(rows[i])}
            rows[i].sort(key=lambda n: (bary(n, up if downward else down, index), own[n]))
        score = total_crossings(rows)
        if score < best_score:
            best, best_score = [list(r) for r in rows], score
    rows = best

    def separation(a: str, b: str) -> float:
        """In columns: a node needs a whole column, a placeholder only a lane beside it."""
        placeholders = a.startswith("\0") + b.startswith("\0")
        return (1.0, 0.65, 0.25)[placeholders]

    x = {}
    for row in rows:
        for k, n in enumerate(row):
            x[n] = float(k)
    for sweep in range(SWEEPS):
        neighbours = up if sweep % 2 == 0 else down
        for row in rows if sweep % 2 == 0 else rows[::-1]:
            wanted = [sum(x[m] for m in neighbours[n]) / len(neighbours[n]) if neighbours[n] else x[n] for n in row]
            placed = _pack(wanted, [separation(row[k - 1], row[k]) if k else 0 for k in range(len(row))])
            for n, value in zip(row, placed, strict=True):
                x[n] = value
    real = list(graph.nodes)
    left = min(x[n] for n in real)
    column, row_height = node_width + h_gap, node_height + v_gap
    if grid:  # whole grid steps, so every row has the same gap
        column, row_height = math.ceil(column / grid) * grid, math.ceil(row_height / grid) * grid
    snap = (lambda v: round(v / grid) * grid) if grid else (lambda v: v)
    return {n: (snap((x[n] - left) * column), snap(layer[n] * row_height)) for n in real}


def _pack(wanted: list[float], gaps: list[float]) -> list[float]:
    """Positions as close to `wanted` as possible, in order, each at least `gaps[k]` right of the previous."""
    right = list(wanted)
    for k in range(1, len(right)):
        right[k] = max(right[k], right[k - 1] + gaps[k])
    left = list(wanted)
    for k in range(len(left) - 2, -1, -1):
        left[k] = min(left[k], left[k + 1] - gaps[k + 1])
    # Both passes keep the spacing, so their average does too; it balances pushing left and right.
    return [(a + b) / 2 for a, b in zip(left, right, strict=True)]
