"""The layer palette: every kind, grouped and searchable; drag into the editor or double-click to add."""

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from playground.core.graph import Edge
from playground.core.layers import CATALOG, GROUPS
from tests.app.helpers import click, double_click, drop_kind, node_pos


def test_lists_every_kind_under_its_group(window):
    tree = window.workbench.palette.tree
    groups = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert groups == [g for g in GROUPS if any(s.group == g for s in CATALOG.values())]
    listed = {tree.topLevelItem(i).child(j).text(0): tree.topLevelItem(i).text(0)
              for i in range(tree.topLevelItemCount()) for j in range(tree.topLevelItem(i).childCount())}
    assert listed == {spec.title: spec.group for spec in CATALOG.values()}


def test_search_filters_by_title_kind_and_help(window, qtbot):
    palette = window.workbench.palette
    qtbot.keyClicks(palette.search, "pool")
    assert palette.visible_kinds() == ["maxpool2d", "avgpool2d", "global_avgpool", "token_pool"]
    palette.search.clear()
    qtbot.keyClicks(palette.search, "skip connection")  # only in the help text
    assert "add" in palette.visible_kinds()
    palette.search.clear()
    qtbot.keyClicks(palette.search, "no such layer")
    assert palette.visible_kinds() == []
    palette.search.clear()
    assert len(palette.visible_kinds()) == len(CATALOG)


def test_drop_from_the_palette_adds_the_layer_where_it_lands(empty_window):
    wb = empty_window.workbench
    empty_window.resize(1600, 900)  # the editor beside the docks: at the fixture's 1200 px it is 200 px wide
    QApplication.processEvents()
    target = QPoint(300, 200)
    drop_kind(empty_window, "conv2d", target)
    (node,) = wb.document.graph.nodes.values()
    assert node.kind == "conv2d" and node.id == "conv1"
    assert node.params["filters"] == 32
    item = wb.scene.nodes["conv1"]
    landed = wb.view.mapFromScene(item.sceneBoundingRect().center())
    assert (landed - target).manhattanLength() < 20
    assert wb.scene.selected_node_ids() == ["conv1"]
    wb.document.undo_stack.undo()
    assert wb.document.graph.nodes == {} and wb.scene.nodes == {}


def test_a_drop_of_something_else_adds_nothing(empty_window):
    from PySide6.QtCore import QEvent, QMimeData, QPointF
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    data = QMimeData()
    data.setText("conv2d")
    rest = (Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    viewport = empty_window.workbench.view.viewport()
    QApplication.sendEvent(viewport, QDragEnterEvent(QPoint(100, 100), *rest))
    move = QDragMoveEvent(QPoint(100, 100), *rest, QEvent.Type.DragMove)
    QApplication.sendEvent(viewport, move)
    assert not move.isAccepted()
    QApplication.sendEvent(viewport, QDropEvent(QPointF(100, 100), *rest, QEvent.Type.Drop))
    assert empty_window.workbench.document.graph.nodes == {}


def test_double_click_adds_below_the_selection_and_wires_it(window, qtbot):
    wb = window.workbench
    click(wb.view.viewport(), node_pos(window, "conv1"))
    assert wb.scene.selected_node_ids() == ["conv1"]
    tree = wb.palette.tree
    item = wb.palette.items["batchnorm"]
    tree.scrollToItem(item)
    double_click(tree.viewport(), tree.visualItemRect(item).center())
    graph = wb.document.graph
    assert "bn1" in graph.nodes
    assert Edge("conv1", "bn1") in graph.edges
    conv, bn = graph.nodes["conv1"], graph.nodes["bn1"]
    assert bn.position[1] > conv.position[1]
    assert not wb.scene.nodes["bn1"].collidingItems() or all(
        not hasattr(i, "node_id") or i.node_id == "bn1" for i in wb.scene.nodes["bn1"].collidingItems())
    # It dangles (nothing after it reaches the Output), which the node says; its input wire shows the shape.
    qtbot.waitUntil(lambda: wb.scene.nodes["bn1"].problems == ["is not connected to the output"])
    assert wb.scene.edges[Edge("conv1", "bn1")][0].label == "32×26×26"
    assert wb.scene.selected_node_ids() == ["bn1"]  # so a second double-click continues the chain
    wb.document.undo_stack.undo()
    assert "bn1" not in graph.nodes and Edge("conv1", "bn1") not in graph.edges


def test_enter_in_the_search_box_adds_the_first_match(empty_window, qtbot):
    palette = empty_window.workbench.palette
    qtbot.keyClicks(palette.search, "flatten")
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert [n.kind for n in empty_window.workbench.document.graph.nodes.values()] == ["flatten"]
