"""A 100-node network stays correct under edits (timings are in benchmarks/bench_app_editor.py)."""

from playground.core.graph import Edge
from tests.app.helpers import big_graph


def test_editing_a_parameter_in_a_100_node_graph_updates_every_affected_shape(window, qtbot):
    wb = window.workbench
    graph = big_graph()
    assert len(graph.nodes) >= 100
    wb.document.load(graph)
    wb.shapes.run_now()
    assert window.status.validity.text() == "Valid network"
    wb.scene.select_nodes(["stem"])
    wb.inspector.editors["filters"].setValue(16)
    # stem feeds block 0 and its skip connection: the skip now carries 16 channels, the block 8.
    qtbot.waitUntil(lambda: bool(wb.scene.nodes["b0_add"].problems))
    assert wb.scene.edges[Edge("stem", "b0_conv1")][0].label == "16×28×28"
    assert wb.scene.nodes["b0_add"].problems == ["cannot add 8×28×28 and 16×28×28: all inputs need the same shape"]
    assert wb.scene.nodes["output"].shape_text == "→ ?"  # nothing downstream of the error is guessed at
    wb.document.undo_stack.undo()
    qtbot.waitUntil(lambda: window.status.validity.text() == "Valid network")
    assert wb.scene.nodes["output"].shape_text == "→ 10"
    assert all(not item.problems for item in wb.scene.nodes.values())
