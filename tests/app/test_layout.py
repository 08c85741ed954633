"""Tidy layout (no Qt): layered top to bottom, no overlaps, skip connections get their own lane."""

import pytest

from playground.app.editor.layout import tidy_positions
from playground.core.graph import Edge, Graph, Node, load_graph
from playground.core.resources import preset_names

W, H = 184, 54


@pytest.mark.parametrize("name", preset_names())
def test_every_wire_points_down_and_no_nodes_overlap(name):
    graph = load_graph(f"preset:{name}")
    pos = tidy_positions(graph, W, H, v_gap=30, grid=10)
    assert set(pos) == set(graph.nodes)
    for e in graph.edges:
        assert pos[e.target][1] > pos[e.source][1]
    boxes = list(pos.values())
    for i, (x1, y1) in enumerate(boxes):
        for x2, y2 in boxes[i + 1:]:
            assert abs(x1 - x2) >= W or abs(y1 - y2) >= H
    assert all(v % 10 == 0 for p in pos.values() for v in p)


def test_a_skip_connection_leaves_room_beside_the_block():
    graph = load_graph("preset:resnet-mini")
    pos = tidy_positions(graph, W, H)
    block = [pos[n][0] for n in ("b1_conv1", "b1_bn1", "b1_relu1", "b1_conv2", "b1_bn2")]
    assert len(set(block)) == 1  # the block is one straight column
    assert pos["stem_relu"][0] > block[0]  # the fork sits between the block and the skip lane


def test_cycles_and_loose_nodes_are_placed_too():
    graph = Graph()
    for n in "abcd":
        graph.add_node(Node(n, "relu"))
    graph.edges = [Edge("a", "b"), Edge("b", "a"), Edge("c", "d")]
    pos = tidy_positions(graph, W, H)
    assert set(pos) == set("abcd")
    assert len(set(pos.values())) == 4


def test_empty_graph():
    assert tidy_positions(Graph(), W, H) == {}


def test_tidying_twice_the_layers_counts_about_twice_the_crossings_work(monkeypatch):
    """Issue 19: the crossing count looked at every wire for every pair of rows (quadratic in a chain's length)."""
    from playground.app.editor import layout

    plain = layout._crossings
    looked_at = {"links": 0}

    def counting(upper, lower, links):
        looked_at["links"] += len(links)
        return plain(upper, lower, links)

    monkeypatch.setattr(layout, "_crossings", counting)
    work = []
    for n in (500, 1000):
        graph = Graph()
        for i in range(n):
            graph.add_node(Node(f"d{i}", "dense"))
            if i:
                graph.connect(Edge(f"d{i - 1}", f"d{i}"))
        looked_at["links"] = 0
        positions = tidy_positions(graph, 160, 60)
        assert positions[f"d{n - 1}"][1] > positions["d0"][1]
        work.append(looked_at["links"])
    assert work[1] < 2.5 * work[0], work
