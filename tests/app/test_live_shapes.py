"""Live shape inference in the editor: a parameter edit is analysed and repainted incrementally, and the
scene then shows exactly what a fresh analysis of the whole graph would."""

from __future__ import annotations

import random

from playground.app.editor import commands
from playground.core.analysis import analyze
from playground.core.graph import Edge, Node
from playground.core.layers import fmt_shape
from tests.app.helpers import big_graph


def _settle(wb, qtbot):
    qtbot.waitUntil(lambda: not wb.shapes.pending())


def _scene_matches_a_fresh_analysis(wb):
    fresh = analyze(wb.document.graph)
    for node_id, item in wb.scene.nodes.items():
        shape = fresh.shapes.get(node_id)
        assert item.shape_text == (f"→ {fmt_shape(shape)}" if shape is not None else "→ ?"), node_id
        assert item.problems == [p.message for p in fresh.problems_of(node_id)], node_id
        assert item.param_count == fresh.param_counts.get(node_id), node_id
    for edge, items in wb.scene.edges.items():
        shape = fresh.shapes.get(edge.source)
        assert all(i.label == (fmt_shape(shape) if shape is not None else "") for i in items), edge
    assert wb.shapes.analysis.problems == fresh.problems


def test_parameter_edits_are_analysed_incrementally_and_repainted_as_a_fresh_analysis_would(window, qtbot):
    wb = window.workbench
    doc = wb.document
    doc.load(big_graph())
    wb.shapes.run_now()
    rng = random.Random(7)
    edits = [("stem", "filters", 16), ("stem", "filters", 8), ("b0_conv1", "kernel_size", 31),
             ("b0_conv1", "kernel_size", 3), ("input", "shape", [1, 8, 8]), ("input", "shape", [1, 28, 28])]
    convs = [n for n, node in doc.graph.nodes.items() if node.kind == "conv2d"]
    edits += [(rng.choice(convs), "filters", rng.choice((8, 8, 12))) for _ in range(8)]
    for node_id, name, value in edits:
        before = wb.shapes.analysis
        doc.push(commands.set_param(doc, node_id, name, value))
        _settle(wb, qtbot)
        assert wb.shapes.analysis.base_serial == before.serial, "a parameter edit is analysed incrementally"
        _scene_matches_a_fresh_analysis(wb)
    for _ in range(4):  # undo: parameter edits too
        doc.undo()
        _settle(wb, qtbot)
        _scene_matches_a_fresh_analysis(wb)


def test_moves_are_not_analysed_and_structure_edits_are_analysed_afresh(window, qtbot):
    wb = window.workbench
    doc = wb.document
    doc.load(big_graph())
    analysis = wb.shapes.run_now()
    doc.push(commands.move(doc, {"stem": (500.0, 40.0)}))
    assert not wb.shapes.pending() and wb.shapes.analysis is analysis
    doc.push(commands.add_nodes(doc, [Node("extra", "relu")], [Edge("stem", "extra")]))
    _settle(wb, qtbot)
    assert wb.shapes.analysis.base_serial is None, "a new layer calls for a fresh analysis"
    _scene_matches_a_fresh_analysis(wb)
    assert wb.scene.nodes["extra"].problems == ["is not connected to the output"]
    doc.push(commands.rename(doc, "extra", "extra2"))
    _settle(wb, qtbot)
    assert wb.shapes.analysis.base_serial is None
    _scene_matches_a_fresh_analysis(wb)
