"""Drive the editor like a person: mouse in the editor's view, drops from the palette."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from playground.core.graph import Edge, Graph, Node


def to_view(view, scene_point: QPointF) -> QPoint:
    return view.mapFromScene(scene_point)


def show_nodes(window, *node_ids: str) -> None:
    """Scroll so that all these nodes are in view (if they fit) and let the view settle."""
    wb = window.workbench
    QApplication.processEvents()
    rect = wb.scene.nodes[node_ids[0]].sceneBoundingRect()
    for node_id in node_ids[1:]:
        rect = rect.united(wb.scene.nodes[node_id].sceneBoundingRect())
    wb.view.ensureVisible(rect, 30, 30)
    QApplication.processEvents()


def port_pos(window, node_id: str, port: str = "out", scroll: bool = True) -> QPoint:
    """Where a port is on the editor's viewport (scrolled into view unless `scroll` is False)."""
    wb = window.workbench
    item = wb.scene.nodes[node_id]
    port_item = item.output if port == "out" else item.inputs[port]
    if scroll:
        show_nodes(window, node_id)
    return to_view(wb.view, port_item.anchor())


def node_pos(window, node_id: str) -> QPoint:
    wb = window.workbench
    item = wb.scene.nodes[node_id]
    wb.view.ensureVisible(item, 60, 60)
    QApplication.processEvents()
    return to_view(wb.view, item.mapToScene(item.rect().center() + QPointF(0, 4)))


def mouse_drag(viewport, start: QPoint, end: QPoint, steps: int = 6, button=Qt.MouseButton.LeftButton,
               modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.mousePress(viewport, button, modifiers, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, start + (end - start) * i / steps)
    QTest.mouseRelease(viewport, button, modifiers, end)


def drag_wire(window, source: str, target: str, target_port: str = "in", miss: QPoint | None = None) -> None:
    """Press on `source`'s output port, drag, release on `target`'s input port (offset by `miss` pixels)."""
    show_nodes(window, source, target)
    start = port_pos(window, source, "out", scroll=False)
    end = port_pos(window, target, target_port, scroll=False) + (miss or QPoint(0, 0))
    mouse_drag(window.workbench.view.viewport(), start, end)


def drop_kind(window, kind: str, viewport_pos: QPoint) -> None:
    """Drag a kind from the palette and drop it in the editor.

    QTest cannot start a real OS drag, so the palette's own mimeData() makes the
    payload and the same drag events a real drop delivers are sent to the viewport.
    """
    palette = window.workbench.palette
    item = palette.items[kind]
    data = palette.tree.mimeData([item])
    viewport = window.workbench.view.viewport()
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    at = QPointF(viewport_pos)
    # Enter and move events take integer positions, the drop a float one.
    enter = QDragEnterEvent(at.toPoint(), actions, data, buttons, mods)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(at.toPoint(), actions, data, buttons, mods, QEvent.Type.DragMove)
    QApplication.sendEvent(viewport, move)
    assert move.isAccepted()
    drop = QDropEvent(at, actions, data, buttons, mods, QEvent.Type.Drop)
    QApplication.sendEvent(viewport, drop)
    assert drop.isAccepted()


def click(viewport, pos: QPoint, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, modifiers, pos)


def double_click(widget, pos: QPoint) -> None:
    """What a person's double-click delivers: press, release, then the double-click (QTest sends only that)."""
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    QTest.mouseDClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)


def big_graph(n_blocks: int = 16) -> Graph:
    """~100 nodes: conv chains with a skip connection around each block, then a dense head."""
    g = Graph(name="big")
    y = 0.0

    def add(node_id, kind, params=None, x=0.0):
        nonlocal y
        g.add_node(Node(node_id, kind, params or {}, (x, y)))
        y += 90
        return node_id

    prev = add("input", "input", {"shape": [1, 28, 28], "dataset": "mnist"})
    prev_conn = add("stem", "conv2d", {"filters": 8, "kernel_size": 3, "padding": 1})
    g.connect(Edge(prev, prev_conn))
    prev = prev_conn
    for b in range(n_blocks):
        c1 = add(f"b{b}_conv1", "conv2d", {"filters": 8, "kernel_size": 3, "padding": 1})
        r1 = add(f"b{b}_relu1", "relu")
        c2 = add(f"b{b}_conv2", "conv2d", {"filters": 8, "kernel_size": 3, "padding": 1})
        bn = add(f"b{b}_bn", "batchnorm")
        add_ = add(f"b{b}_add", "add")
        r2 = add(f"b{b}_relu2", "relu")
        for a, z in ((prev, c1), (c1, r1), (r1, c2), (c2, bn), (bn, add_), (prev, add_), (add_, r2)):
            g.connect(Edge(a, z))
        prev = r2
    for a, z in ((prev, add("gap", "global_avgpool")), ("gap", add("dense", "dense", {"units": 10})),
                 ("dense", add("output", "output", {"loss": "cross_entropy"}))):
        g.connect(Edge(a, z))
    return g


def on_screen(qtbot, widget, width: int, height: int):
    """`widget` at `width`×`height`, on screen and exposed, closed at the end of the test."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def collect(window, kind: type, into: list | None = None) -> list:
    """Every message of `kind` the window's dispatcher routes from now on, in order (a list that fills up)."""
    messages = [] if into is None else into
    window.training.dispatcher.observe(lambda message: messages.append(message) if isinstance(message, kind)
                                       else None)
    return messages
