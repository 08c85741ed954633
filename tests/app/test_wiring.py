"""Wires drawn with the mouse: connect, snap, refuse what is illegal, replace, re-plug, disconnect, delete."""

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from playground.core.graph import Edge, Graph, Node
from tests.app.helpers import click, drag_wire, mouse_drag, port_pos, show_nodes


def load(window, *nodes, edges=()):
    graph = Graph(name="t")
    for i, (node_id, kind, params) in enumerate(nodes):
        graph.add_node(Node(node_id, kind, params, ((i % 3) * 240.0, (i // 3) * 120.0)))
    graph.edges = list(edges)
    window.workbench.document.load(graph)
    window.workbench.shapes.run_now()
    return graph


def test_drag_from_an_output_to_an_input_connects_them(window, qtbot):
    graph = load(window, ("input", "input", {}), ("conv", "conv2d", {"filters": 8}))
    drag_wire(window, "input", "conv")
    assert graph.edges == [Edge("input", "conv")]
    wire = window.workbench.scene.edges[Edge("input", "conv")][0]
    qtbot.waitUntil(lambda: wire.label == "1×28×28")
    assert window.workbench.document.undo_stack.undoText() == "Connect input → conv"


def test_the_wire_snaps_to_a_port_near_the_mouse(window):
    graph = load(window, ("input", "input", {}), ("conv", "conv2d", {}))
    drag_wire(window, "input", "conv", miss=QPoint(14, -12))
    assert graph.edges == [Edge("input", "conv")]


def test_a_wire_can_be_drawn_backwards_from_a_free_input(window):
    graph = load(window, ("input", "input", {}), ("conv", "conv2d", {}))
    show_nodes(window, "conv", "input")
    start, end = port_pos(window, "conv", "in", scroll=False), port_pos(window, "input", "out", scroll=False)
    mouse_drag(window.workbench.view.viewport(), start, end)
    assert graph.edges == [Edge("input", "conv")]


def test_illegal_wires_are_not_offered(window):
    graph = load(window, ("input", "input", {}), ("a", "relu", {}), ("b", "relu", {}), ("out", "output", {}),
                 edges=[Edge("input", "a"), Edge("a", "b")])
    before = list(graph.edges)
    drag_wire(window, "a", "a")  # onto itself
    drag_wire(window, "b", "a")  # a cycle
    drag_wire(window, "input", "b", miss=QPoint(0, 0))  # b's port is taken by a: that one is allowed (replaces)
    assert graph.edges == [Edge("input", "a"), Edge("input", "b")]
    window.workbench.document.undo_stack.undo()
    assert graph.edges == before
    # Output has no output port, Input no input port: there is nothing to press or drop on.
    assert window.workbench.scene.nodes["out"].output is None
    assert window.workbench.scene.nodes["input"].inputs == {}
    # While dragging from b, only legal targets are highlighted.
    from playground.app.editor.wiring import WireDrag

    drag = WireDrag(window.workbench.scene, window.workbench.scene.nodes["b"].output)
    offered = {(p.node_id, p.name) for p in drag.candidates}
    drag.cancel()
    assert offered == {("out", "in")}


def test_dropping_on_a_taken_single_port_replaces_its_wire_in_one_undo_step(window):
    graph = window.workbench.document.graph  # mnist-cnn
    assert Edge("relu1", "pool1") in graph.edges
    drag_wire(window, "conv1", "pool1")
    assert Edge("conv1", "pool1") in graph.edges and Edge("relu1", "pool1") not in graph.edges
    assert window.workbench.document.undo_stack.undoText() == "Replace wire conv1 → pool1"
    window.workbench.document.undo_stack.undo()
    assert Edge("relu1", "pool1") in graph.edges and Edge("conv1", "pool1") not in graph.edges


def test_merge_ports_take_several_wires(window):
    graph = load(window, ("input", "input", {}), ("a", "relu", {}), ("b", "tanh", {}), ("sum", "add", {}),
                 edges=[Edge("input", "a"), Edge("input", "b")])
    drag_wire(window, "a", "sum")
    drag_wire(window, "b", "sum")
    drag_wire(window, "input", "sum")
    assert graph.inputs_of("sum") == [Edge("a", "sum"), Edge("b", "sum"), Edge("input", "sum")]
    drag_wire(window, "a", "sum")  # the same wire twice is not offered
    assert len(graph.inputs_of("sum")) == 3
    assert window.workbench.scene.nodes["sum"].inputs["in"].wires == 3


def test_lifting_a_wire_off_its_input_replugs_or_removes_it(window):
    graph = load(window, ("input", "input", {}), ("a", "relu", {}), ("b", "tanh", {}), edges=[Edge("input", "a")])
    viewport = window.workbench.view.viewport()
    show_nodes(window, "a", "b")
    mouse_drag(viewport, port_pos(window, "a", "in", scroll=False), port_pos(window, "b", "in", scroll=False))
    assert graph.edges == [Edge("input", "b")]
    assert window.workbench.document.undo_stack.undoText() == "Reconnect input → b"
    far = port_pos(window, "b", "in") + QPoint(150, 160)
    mouse_drag(viewport, port_pos(window, "b", "in"), far)
    assert graph.edges == []
    stack = window.workbench.document.undo_stack
    stack.undo()
    assert graph.edges == [Edge("input", "b")]
    stack.undo()
    assert graph.edges == [Edge("input", "a")]
    # Dropping it back where it was changes nothing.
    mouse_drag(viewport, port_pos(window, "a", "in"), port_pos(window, "a", "in") + QPoint(3, 2))
    assert graph.edges == [Edge("input", "a")] and stack.count() == 2 and stack.index() == 0


def test_escape_cancels_a_wire_being_drawn(window):
    graph = load(window, ("input", "input", {}), ("a", "relu", {}))
    viewport = window.workbench.view.viewport()
    show_nodes(window, "input", "a")
    start, end = port_pos(window, "input", "out", scroll=False), port_pos(window, "a", "in", scroll=False)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, end)
    assert window.workbench.scene.wire_drag is not None
    QTest.keyClick(window.workbench.view, Qt.Key.Key_Escape)
    assert window.workbench.scene.wire_drag is None
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert graph.edges == []


def test_a_selected_wire_is_deleted_with_the_delete_key(window):
    graph = window.workbench.document.graph
    wire = window.workbench.scene.edges[Edge("conv2", "relu2")][0]
    view = window.workbench.view
    view.ensureVisible(wire)
    click(view.viewport(), view.mapFromScene(wire.label_rect().center()))
    assert window.workbench.scene.selected_edges() == [Edge("conv2", "relu2")]
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert Edge("conv2", "relu2") not in graph.edges
    assert "conv2" in graph.nodes and "relu2" in graph.nodes
    window.workbench.document.undo_stack.undo()
    assert graph.edges.index(Edge("conv2", "relu2")) == 4  # back in its place in the file


def test_a_port_under_the_pointer_shows_the_wiring_cursor_and_says_what_it_takes(window):
    """Ports set their cursor and tooltip when the pointer arrives (10,000 layers open a second faster for it)."""
    wb = window.workbench
    viewport = wb.view.viewport()
    at = port_pos(window, "input")
    QTest.mouseMove(viewport, at + QPoint(0, 80))
    assert viewport.cursor().shape() != Qt.CursorShape.CrossCursor
    QTest.mouseMove(viewport, at)
    assert viewport.cursor().shape() == Qt.CursorShape.CrossCursor
    assert wb.scene.nodes["input"].output.toolTip() == "Output — drag to an input port to connect"
