"""A 100-node network stays correct under edits (timings are in benchmarks/bench_app_editor.py)."""

import json

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


def test_opening_a_file_over_the_limits_says_so_and_keeps_the_current_network(window, dialogs, tmp_path):
    """Issue 19: a 200,000-layer file sat on "Loading…" for minutes. Now it is refused before it is read."""
    from PySide6.QtWidgets import QMessageBox

    from playground.core.graph import MAX_GRAPH_FILE_BYTES, MAX_GRAPH_LAYERS, dumps_graph

    doc = window.workbench.document
    before, title = dumps_graph(doc.graph), window.windowTitle()
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:  # sparse: over the byte limit without writing it
        f.truncate(MAX_GRAPH_FILE_BYTES + 1)
    many = tmp_path / "many.json"
    nodes = [{"id": f"n{i}", "kind": "dense"} for i in range(MAX_GRAPH_LAYERS + 1)]
    many.write_text(json.dumps({"schema_version": 2, "nodes": nodes, "edges": []}), encoding="utf-8")
    for path, limit in ((huge, "up to 20 MB"), (many, f"up to {MAX_GRAPH_LAYERS:,} layers")):
        dialogs.answer(QMessageBox.StandardButton.Discard)
        dialogs.choose_file(str(path))
        window.acts.open.trigger()
        (message,) = dialogs.texts("critical")[-1:]
        assert message.startswith(str(path)) and limit in message
        assert dumps_graph(doc.graph) == before and window.windowTitle() == title


def test_laying_out_the_wires_of_twice_the_layers_costs_about_twice_the_work(window, monkeypatch):
    """Issue 19: each wire's obstacle query re-measured every node, so 20,000 layers froze the window for minutes."""
    from playground.app.editor.node_item import NodeItem
    from playground.core.graph import loads_graph
    from tests.core.test_hostile_graphs import chain_data

    plain = NodeItem.boundingRect
    measured = {"n": 0}

    def counting(self):
        measured["n"] += 1
        return plain(self)

    monkeypatch.setattr(NodeItem, "boundingRect", counting)
    work = []
    for layers in (300, 600):
        graph = loads_graph(json.dumps(chain_data(layers)))
        measured["n"] = 0
        window.workbench.document.load(graph)
        window.workbench.scene.reroute_all()
        work.append(measured["n"])
    assert work[1] < 2.6 * work[0], work


def test_a_big_file_opens_with_a_wait_cursor_and_says_how_long_it_took(window, dialogs, tmp_path, qtbot):
    from PySide6.QtWidgets import QApplication, QMessageBox

    from tests.core.test_hostile_graphs import chain_data

    path = tmp_path / "chain.json"
    path.write_text(json.dumps(chain_data(1500)), encoding="utf-8")
    cursors = []
    window.workbench.document.reset.connect(lambda: cursors.append(QApplication.overrideCursor() is not None))
    dialogs.answer(QMessageBox.StandardButton.Discard)
    dialogs.choose_file(str(path))
    with qtbot.waitSignal(window.workbench.files.message) as said:
        window.acts.open.trigger()
    assert said.args[0].startswith("Opened chain.json: 1,500 layers in ")
    assert cursors == [True] and QApplication.overrideCursor() is None
    assert len(window.workbench.scene.nodes) == 1500


def _chain_file(tmp_path, layers: int):
    from tests.core.test_hostile_graphs import chain_data

    path = tmp_path / "chain.json"
    path.write_text(json.dumps(chain_data(layers)), encoding="utf-8")
    return path


def test_a_big_file_shows_a_progress_bar_whose_cancel_keeps_the_open_network(window, dialogs, tmp_path, qtbot,
                                                                             monkeypatch):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox, QProgressDialog

    from playground.app import dialogs as app_dialogs
    from playground.core.graph import dumps_graph

    monkeypatch.setattr(app_dialogs, "PROGRESS_AFTER_MS", 0)  # shown at once: this file is quick to open
    wb = window.workbench
    path = _chain_file(tmp_path, 1500)
    before, title, items = dumps_graph(wb.document.graph), window.windowTitle(), set(wb.scene.nodes)
    seen = []

    def cancel_when_shown():
        bars = [d for d in window.findChildren(QProgressDialog) if d.isVisible()]
        if not bars:
            QTimer.singleShot(5, cancel_when_shown)
            return
        seen.append((bars[0].labelText(), bars[0].isModal() or bars[0].windowModality() != 0))
        bars[0].cancel()  # what the Cancel button does

    QTimer.singleShot(0, cancel_when_shown)
    dialogs.answer(QMessageBox.StandardButton.Discard)
    dialogs.choose_file(str(path))
    with qtbot.waitSignal(wb.files.message) as said:
        window.acts.open.trigger()
    assert said.args[0] == "Opening chain.json cancelled; nothing changed"
    assert seen == [("Opening chain.json…", True)]
    assert dumps_graph(wb.document.graph) == before and window.windowTitle() == title
    assert set(wb.scene.nodes) == items
    assert not [d for d in window.findChildren(QProgressDialog) if d.isVisible()]


def test_the_window_keeps_running_while_a_big_file_opens(window, dialogs, tmp_path, qtbot):
    """Issue 19: the file is read on a thread and the editor's items are made in slices between event-loop turns."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    from playground.app.editor.scene import PREPARE_SLICE

    wb = window.workbench
    path = _chain_file(tmp_path, 1500)
    turns = []
    timer = QTimer(interval=0)
    timer.timeout.connect(lambda: turns.append(wb.document.graph.name))
    timer.start()
    dialogs.answer(QMessageBox.StandardButton.Discard)
    dialogs.choose_file(str(path))
    window.acts.open.trigger()
    timer.stop()
    opened = wb.document.graph.name
    during = [name for name in turns if name != opened]  # turns of the loop before the switch
    assert len(during) >= (1500 + 1499) // PREPARE_SLICE // 2, len(during)
    assert len(wb.scene.nodes) == 1500 and wb.scene.edges


def test_the_view_still_grows_to_a_node_moved_far_away(window, qtbot):
    """The view's scene rect now grows from the scene's changed regions, not by measuring every item."""
    from playground.app.editor import commands

    wb = window.workbench
    doc = wb.document
    node_id = next(iter(doc.graph.nodes))
    assert not wb.view.sceneRect().contains(5000, 7000)
    doc.push(commands.move(doc, {node_id: (5000.0, 7000.0)}))
    qtbot.waitUntil(lambda: wb.view.sceneRect().contains(5100, 7050))


def test_moving_a_node_in_a_big_graph_routes_its_own_wires_and_waits_to_replan_the_rest(window, qtbot):
    from PySide6.QtCore import QPointF

    from playground.app.editor.scene import BIG_SCENE_REROUTE_MS, BIG_SCENE_WIRES
    from playground.core.graph import loads_graph
    from tests.core.test_hostile_graphs import chain_data

    scene = window.workbench.scene
    window.workbench.document.load(loads_graph(json.dumps(chain_data(BIG_SCENE_WIRES + 10))))
    routed = []
    plain = scene._route
    scene._route = lambda item: (routed.append(item.edge), plain(item))
    scene.nodes["d5"].setPos(QPointF(400, 500))
    assert sorted(map(str, routed)) == ["d4.out → d5.in", "d5.out → d6.in"]
    assert scene._reroute.isActive() and scene._reroute.interval() == BIG_SCENE_REROUTE_MS
    qtbot.waitUntil(lambda: len(routed) > 2)  # then every wire, once the move has paused
