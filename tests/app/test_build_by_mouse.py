"""End to end: a small ResNet built in an empty editor with the mouse, as a person would."""

import os
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QPainterPathStroker
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from playground.core.graph import Edge
from tests.app.helpers import click, drag_wire, drop_kind, node_pos

LAYERS = [  # id the editor will give it, kind
    ("input", "input"), ("conv1", "conv2d"), ("relu1", "relu"), ("conv2", "conv2d"), ("add1", "add"),
    ("relu2", "relu"), ("gap1", "global_avgpool"), ("dense1", "dense"), ("output", "output"),
]
WIRES = [("input", "conv1"), ("conv1", "relu1"), ("relu1", "conv2"), ("conv2", "add1"), ("relu1", "add1"),
         ("add1", "relu2"), ("relu2", "gap1"), ("gap1", "dense1"), ("dense1", "output")]


def type_into(qtbot, widget, text: str) -> None:
    line = widget.lineEdit() if hasattr(widget, "lineEdit") else widget
    QTest.mouseDClick(line, Qt.MouseButton.LeftButton)
    line.selectAll()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def test_build_a_small_resnet_with_the_mouse(window, qtbot, tmp_path):
    wb = window.workbench
    QTest.mouseClick(window.toolbar.widgetForAction(window.acts.new), Qt.MouseButton.LeftButton)
    assert wb.document.graph.nodes == {}
    view = wb.view
    view.set_zoom(0.75)
    view.centerOn(QPointF(150, 420))
    for i, (_, kind) in enumerate(LAYERS):
        drop_kind(window, kind, view.mapFromScene(QPointF(92, 27 + i * 100)))
    assert [(n.id, n.kind) for n in wb.document.graph.nodes.values()] == LAYERS

    for source, target in WIRES:
        drag_wire(window, source, target)
    assert wb.document.graph.edges == [Edge(s, t) for s, t in WIRES]

    # Parameters through the inspector: select each layer with a click, type the values.
    for node_id, values in (("conv1", {"filters": "16", "padding": "1"}), ("conv2", {"filters": "16",
                            "padding": "1"}), ("dense1", {"units": "10"})):
        click(view.viewport(), node_pos(window, node_id))
        assert wb.scene.selected_node_ids() == [node_id]
        for name, text in values.items():
            type_into(qtbot, wb.inspector.editors[name], text)
    graph = wb.document.graph
    assert graph.nodes["conv1"].params["filters"] == 16 and graph.nodes["dense1"].params["units"] == 10

    qtbot.waitUntil(lambda: window.status.validity.text() == "Valid network")
    analysis = wb.shapes.analysis
    assert analysis.shapes["add1"] == (16, 28, 28) and analysis.shapes["output"] == (10,)
    assert analysis.total_params == 160 + 2320 + 170
    assert wb.scene.edges[Edge("relu1", "add1")][0].label == "16×28×28"
    # The skip wire goes round conv2, not through it.
    skip = wb.scene.edges[Edge("relu1", "add1")][0]
    stroker = QPainterPathStroker()
    stroker.setWidth(2)
    assert not stroker.createStroke(skip.path()).intersects(wb.scene.nodes["conv2"].rect().translated(
        wb.scene.nodes["conv2"].pos()))

    view.fit_all()
    wb.scene.clearSelection()
    click(view.viewport(), QPoint(5, 5))
    qtbot.waitUntil(lambda: wb.inspector.network_name is not None)
    QApplication.processEvents()  # let the inspector's new page and the status bar lay themselves out
    shot = tmp_path / "resnet-by-mouse.png"
    assert window.grab().save(str(shot))
    if os.environ.get("PLAYGROUND_SHOTS"):
        window.grab().save(str(Path(os.environ["PLAYGROUND_SHOTS"]) / "resnet-by-mouse.png"))
