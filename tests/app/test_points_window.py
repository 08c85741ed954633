"""A network on 2-D points in the whole window (issue 21): the Decision dock comes forward, a run's frames reach the
Decision view and a thumbnail per neuron in the editor, hovering one shows it large, and a person's own points
are drawn, undone, saved with the network and trained on."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from playground.core.data.points import OWN_POINTS
from playground.core.graph.io import load_graph
from playground.core.run.messages import DecisionFrame, RunFinished

from .conftest import make_window

RUN_TIMEOUT = 120_000


def collect(window, kind, into=None):
    into = [] if into is None else into
    window.training.dispatcher.observe(lambda m: into.append(m) if isinstance(m, kind) else None)
    return into


@pytest.fixture
def points_window(qtbot, settings):
    window = make_window(qtbot, settings)
    window.workbench.files.new_from_preset("points-tfp")
    window.workbench.shapes.run_now()
    QApplication.processEvents()
    return window


def train(qtbot, window, epochs: int = 8):
    panel = window.training.panel
    config = panel.config()
    config.epochs, config.device = epochs, "cpu"
    panel.set_config(config)
    done = collect(window, RunFinished)
    frames = collect(window, DecisionFrame)
    assert window.training.start()
    qtbot.waitUntil(lambda: bool(done), timeout=RUN_TIMEOUT)
    assert done[0].ok, done[0].message
    return frames


def test_a_points_network_brings_the_decision_dock_forward_with_its_points(qtbot, points_window):
    window = points_window
    decision = window.view_docks["decision"]
    assert window.workbench.task.task == "points"
    assert not decision.visibleRegion().isEmpty()
    view = decision.widget()
    shown = view.shown_points()
    # XOR's training points, as a run would have them (the other half is held out for testing).
    assert len(shown) == 250 and set(np.unique(shown.labels)) == {0, 1}
    window.training.panel.regenerate_button.click()
    QApplication.processEvents()
    assert not np.array_equal(view.shown_points().xy, shown.xy)  # the next seed's points
    window.workbench.files.new_from_preset("mlp")
    QApplication.processEvents()
    assert window.workbench.task.task == "classification" and decision.visibleRegion().isEmpty()


def test_a_run_paints_the_decision_surface_and_every_neurons_thumbnail(qtbot, points_window):
    window = points_window
    frames = train(qtbot, window)
    assert len(frames) >= 2
    view = window.view_docks["decision"].widget()
    scene = window.workbench.scene
    qtbot.waitUntil(lambda: view.refreshes > 0 and scene.unit_map_refreshes > 0, timeout=5000)
    assert view.surface_rgb() is not None and "Training loss" in view.loss_text()
    assert set(scene._unit_maps.strips) == {"features", "dense1", "tanh1", "dense2", "tanh2", "scores"}

    # Hovering a thumbnail shows that unit in the Decision view; leaving shows the output again. (The pointer's way
    # to `unit_hovered` is tests/app/test_unit_maps.py's; here, what the window does with it.)
    scene.unit_hovered.emit("dense1", 2)
    qtbot.waitUntil(lambda: "dense1 · unit 3" in view.title_text(), timeout=3000)
    scene.unit_hovered.emit("", -1)
    qtbot.waitUntil(lambda: view.title_text().startswith("Output"), timeout=3000)

    # An edit of the network: the pictures were of the network before it.
    window.workbench.editor.select_all()
    window.acts.delete.trigger()
    QApplication.processEvents()
    assert not scene._unit_maps.strips


def test_own_points_are_drawn_undone_saved_and_trained_on(qtbot, points_window, dialogs, tmp_path):
    window = points_window
    panel = window.training.panel
    panel.select_dataset(OWN_POINTS)
    QApplication.processEvents()
    view = window.view_docks["decision"].widget()
    doc = window.workbench.document
    plot = view.plot.viewport()
    for (x, y), button in (((-3, -3), Qt.MouseButton.LeftButton), ((-4, -2), Qt.MouseButton.LeftButton),
                           ((3, 3), Qt.MouseButton.RightButton), ((4, 2), Qt.MouseButton.RightButton)):
        QTest.mouseClick(plot, button, Qt.KeyboardModifier.NoModifier, view.plane_to_viewport(x, y))
    assert doc.graph.points is not None and doc.graph.points.labels.tolist() == [0, 0, 1, 1]
    doc.undo()
    assert doc.graph.points.labels.tolist() == [0, 0, 1]
    doc.redo()
    path = tmp_path / "mine.json"
    dialogs.choose_file(str(path))
    assert window.workbench.files.save_as()  # File ▸ Save As, as a person saves
    assert load_graph(path).points.labels.tolist() == [0, 0, 1, 1]
    window.workbench.files.new_from_preset("points-spiral")
    assert window.workbench.files.open_path(str(path))
    assert window.workbench.document.graph.points.labels.tolist() == [0, 0, 1, 1]
    assert len(view.shown_points()) == 4  # while drawing is on, all one's own points show
    frames = train(qtbot, window, epochs=3)
    assert frames and frames[-1].output.shape[0] == 2


def test_ticking_a_feature_in_the_inspector_widens_the_features_output(qtbot, points_window):
    wb = points_window.workbench
    wb.scene.nodes["features"].setSelected(True)
    QApplication.processEvents()
    box = wb.inspector.editors["x_squared"]
    assert not box.isChecked()
    box.click()
    wb.shapes.run_now()
    assert wb.document.graph.nodes["features"].params["x_squared"] is True
    assert wb.shapes.analysis.shapes["features"] == (3,) and wb.shapes.analysis.ok
    wb.document.undo()
    wb.shapes.run_now()
    assert wb.shapes.analysis.shapes["features"] == (2,)
