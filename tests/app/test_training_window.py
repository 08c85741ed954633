"""Training from the main window, driven as a person does: actions, keys, the Draw dock's canvas, closing mid-run."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from playground.app.training.session import IDLE, PAUSED, RUNNING, STOPPING
from playground.core.graph.io import load_graph
from playground.core.run.messages import RunFinished
from playground.core.train import TrainConfig, load_checkpoint

from .conftest import make_window
from .helpers import collect, node_pos

RUN_TIMEOUT = 90_000
Yes, No = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


def configure(window, **settings) -> None:
    """Training settings as a person would leave them in the panel: small and quick."""
    config = TrainConfig(**{"epochs": 1, "batch_size": 128, "augment": "none", "device": "cpu", **settings})
    window.training.panel.set_config(config)
    window.training.panel.select_dataset("mnist-sample")


def finished_runs(window) -> list[RunFinished]:
    return collect(window, RunFinished)


def wait_state(qtbot, window, state: str) -> None:
    qtbot.waitUntil(lambda: window.training.session.state == state, timeout=RUN_TIMEOUT)


@pytest.fixture
def mlp_window(qtbot, settings):
    """A window on the small MLP preset (quick to train)."""
    window = make_window(qtbot, settings)
    window.workbench.files.new_from_preset("mlp")
    window.workbench.shapes.run_now()
    return window


def test_start_pause_resume_stop_from_the_actions(qtbot, mlp_window):
    window, a = mlp_window, mlp_window.acts
    configure(window, epochs=200)
    runs = finished_runs(window)
    assert a.start_training.isEnabled() and not a.stop_training.isEnabled()

    a.start_training.trigger()
    wait_state(qtbot, window, RUNNING)
    assert not a.start_training.isEnabled() and a.stop_training.isEnabled()
    assert gc.get_freeze_count() > 0  # the window's objects stay out of the collector's passes during the run
    qtbot.waitUntil(lambda: window.training.charts.runs() and len(window.training.charts.runs()[-1].steps) > 3,
                    timeout=RUN_TIMEOUT)

    from playground.app.charts.history import STATUS_COL

    history, run_id = window.training.charts.history, window.training.charts.runs()[-1].id
    pause_icon = a.pause_training.icon().pixmap(16, 16).toImage()
    a.pause_training.trigger()
    wait_state(qtbot, window, PAUSED)
    assert "Resume" in a.pause_training.text() and a.pause_training.toolTip().startswith("Resume")
    assert a.pause_training.icon().pixmap(16, 16).toImage() != pause_icon  # the tool bar's button shows Resume
    assert history.item(run_id).text(STATUS_COL) == "paused"
    a.pause_training.trigger()
    wait_state(qtbot, window, RUNNING)
    assert "Pause" in a.pause_training.text() and a.pause_training.toolTip().startswith("Pause")
    assert a.pause_training.icon().pixmap(16, 16).toImage() == pause_icon
    assert history.item(run_id).text(STATUS_COL) == "running"

    messages = []
    window.training.message.connect(messages.append)
    a.stop_training.trigger()
    assert window.training.session.state == STOPPING
    qtbot.waitUntil(lambda: bool(runs), timeout=RUN_TIMEOUT)
    assert runs[0].status == "stopped"
    epochs = runs[0].epochs_completed
    assert any(f"after {epochs} epoch{'s' * (epochs != 1)}, {runs[0].global_step:,} steps" in said
               for said in messages)
    assert window.training.session.state == IDLE
    assert a.start_training.isEnabled() and not a.stop_training.isEnabled()
    assert a.save_weights.isEnabled()
    assert window.training.charts.runs()[-1].steps[-1] == runs[0].global_step
    assert gc.get_freeze_count() == 0  # and are collected again after it


def test_a_hung_run_ended_by_the_stop_timeout_says_so_in_the_status_bar_and_the_panel(qtbot, mlp_window,
                                                                                        monkeypatch):
    import signal

    import playground.app.training.worker as worker_module

    monkeypatch.setattr(worker_module, "STOP_TIMEOUT", 1.0)
    window = mlp_window
    configure(window, epochs=200)
    runs = finished_runs(window)
    messages = []
    window.training.message.connect(messages.append)
    window.acts.start_training.trigger()
    wait_state(qtbot, window, RUNNING)
    qtbot.waitUntil(lambda: window.training.charts.runs() and len(window.training.charts.runs()[-1].steps) > 0,
                    timeout=RUN_TIMEOUT)
    os.kill(window.training.session.process_id, signal.SIGSTOP)  # hung: it will never finish its step
    window.acts.stop_training.trigger()
    qtbot.waitUntil(lambda: bool(runs), timeout=RUN_TIMEOUT)
    why = "the training process did not stop within 1 s and was ended"
    assert runs[0].status == "stopped" and runs[0].message == why
    assert messages[-1].startswith("Training stopped after 0 epochs") and messages[-1].endswith(why)
    assert window.statusBar().currentMessage().endswith(why)
    assert window.training.panel.result_text().endswith(why)
    wait_state(qtbot, window, IDLE)


def test_shortcuts_start_and_stop(qtbot, mlp_window):
    window = mlp_window
    configure(window, epochs=200)
    runs = finished_runs(window)
    window.workbench.view.setFocus()
    qtbot.keyClick(window.workbench.view, Qt.Key.Key_F5)
    wait_state(qtbot, window, RUNNING)
    qtbot.keyClick(window.workbench.view, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: bool(runs), timeout=RUN_TIMEOUT)
    assert runs[0].status == "stopped"


def test_f5_while_a_run_is_stopping_starts_the_next_once_it_has_ended(qtbot, mlp_window):
    window = mlp_window
    configure(window, epochs=200)
    runs = finished_runs(window)
    messages = []
    window.training.message.connect(messages.append)
    window.workbench.view.setFocus()
    qtbot.keyClick(window.workbench.view, Qt.Key.Key_F5)
    wait_state(qtbot, window, RUNNING)
    first = window.training.session.current.run_id
    qtbot.keyClick(window.workbench.view, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    assert window.training.session.state == STOPPING
    assert window.acts.start_training.isEnabled()
    qtbot.keyClick(window.workbench.view, Qt.Key.Key_F5)  # not dropped: queued
    assert messages[-1] == "Starting when the current run has stopped…"
    assert window.training.runs.start_queued
    qtbot.waitUntil(lambda: bool(runs), timeout=RUN_TIMEOUT)
    assert runs[0].status == "stopped" and runs[0].run_id == first
    wait_state(qtbot, window, RUNNING)
    assert window.training.session.current.run_id == first + 1 and not window.training.runs.start_queued
    window.acts.stop_training.trigger()
    qtbot.waitUntil(lambda: len(runs) == 2, timeout=RUN_TIMEOUT)
    wait_state(qtbot, window, IDLE)


def test_the_network_is_locked_visibly_while_training_and_editable_after(qtbot, mlp_window):
    window = mlp_window
    wb, doc = window.workbench, window.workbench.document
    configure(window, epochs=200)
    runs = finished_runs(window)
    window.acts.start_training.trigger()
    wait_state(qtbot, window, RUNNING)

    assert doc.locked
    assert window.lock_view.banner.isVisible()
    assert "locked" in window.lock_view.banner.text.text()
    banner, viewport = window.lock_view.banner, wb.view.viewport()
    top_before = viewport.geometry().top()
    assert banner.geometry().bottom() < viewport.geometry().top()  # above the scene: it hides no layer
    assert banner.text.height() >= banner.text.heightForWidth(banner.text.width())  # no line cut off
    assert not wb.palette.isEnabled() and not wb.inspector.isEnabled()
    assert not window.acts.open.isEnabled() and not window.acts.delete.isEnabled()

    # Delete a layer with the keyboard: refused, said in the status bar, the layer stays.
    victim = next(n for n in doc.graph.nodes if doc.graph.nodes[n].kind not in ("input", "output"))
    wb.scene.select_nodes([victim])
    count = wb.document.undo_stack.count()
    wb.editor.delete_selection()
    assert victim in doc.graph.nodes
    assert wb.document.undo_stack.count() == count
    assert "locked" in window.statusBar().currentMessage()

    # Moving a layer changes no weight: allowed.
    before = doc.graph.nodes[victim].position
    start = node_pos(window, victim)
    qtbot.mousePress(wb.view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(wb.view.viewport(), start + type(start)(60, 20))
    qtbot.mouseRelease(wb.view.viewport(), Qt.MouseButton.LeftButton, pos=start + type(start)(60, 20))
    assert doc.graph.nodes[victim].position != before

    window.acts.stop_training.trigger()
    qtbot.waitUntil(lambda: bool(runs), timeout=RUN_TIMEOUT)
    assert not doc.locked and not window.lock_view.banner.isVisible()
    assert viewport.geometry().top() < top_before  # the scene has its strip back
    assert wb.palette.isEnabled() and wb.inspector.isEnabled() and window.acts.open.isEnabled()
    wb.scene.select_nodes([victim])
    wb.editor.delete_selection()
    assert victim not in doc.graph.nodes


def test_a_diverging_run_is_reported_and_a_new_run_can_start(qtbot, mlp_window, dialogs):
    window = mlp_window
    configure(window, optimizer="sgd", lr=1e12, grad_clip=0.0, epochs=3)
    runs = finished_runs(window)
    window.acts.start_training.trigger()
    qtbot.waitUntil(lambda: bool(runs), timeout=RUN_TIMEOUT)
    assert runs[0].status == "diverged"
    assert any("diverged" in text for text in dialogs.texts("critical"))
    assert not window.workbench.document.locked

    configure(window)
    window.acts.start_training.trigger()
    qtbot.waitUntil(lambda: len(runs) == 2, timeout=RUN_TIMEOUT)
    assert runs[1].status == "completed"


def test_an_invalid_network_is_not_sent_to_the_worker(qtbot, mlp_window, dialogs):
    window = mlp_window
    doc = window.workbench.document
    doc.graph.edges = doc.graph.edges[:-1]  # the Output is no longer connected
    doc.changed.emit()
    window.workbench.shapes.run_now()
    dialogs.answer(QMessageBox.StandardButton.Ok)
    assert window.training.start() is False
    assert window.training.session.state == IDLE
    assert any("problem" in text for text in dialogs.texts("warning"))


def test_closing_during_training_asks_then_stops_cleanly(qtbot, mlp_window, dialogs):
    window = mlp_window
    configure(window, epochs=200)
    runs = finished_runs(window)
    window.acts.start_training.trigger()
    wait_state(qtbot, window, RUNNING)
    trainer = window.training.session.process_id

    dialogs.answer(No)
    window.close()
    assert window.isVisible() and window.training.session.state == RUNNING  # "No": keep training

    dialogs.answer(Yes)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT)
    assert runs and runs[0].status == "stopped"
    assert window.training.session.state == IDLE
    assert not window.training.predictor.running  # the prediction thread has ended too
    with pytest.raises(ProcessLookupError):  # and the training process, reaped: no zombie left behind
        os.kill(trainer, 0)


def test_save_weights_then_load_them_into_a_changed_network(qtbot, mlp_window, dialogs, tmp_path):
    window = mlp_window
    configure(window)
    runs = finished_runs(window)
    window.acts.start_training.trigger()
    qtbot.waitUntil(lambda: bool(runs), timeout=RUN_TIMEOUT)
    assert runs[0].status == "completed"

    path = tmp_path / "run.pt"
    dialogs.choose_file(str(path))
    window.acts.save_weights.trigger()
    saved = load_checkpoint(path)
    trained = window.training.weights.state_dict
    assert set(saved.state_dict) == set(trained)
    assert all(saved.state_dict[k].equal(trained[k]) for k in trained)

    # Widen the first hidden layer: its weights no longer fit, the rest still does.
    doc = window.workbench.document
    dense = next(n for n in doc.graph.nodes.values() if n.kind == "dense")
    doc.set_param(dense.id, "units", int(dense.params.get("units", 128)) + 7)
    window.workbench.shapes.run_now()
    dialogs.choose_file(str(path))
    window.acts.load_weights.trigger()
    told = dialogs.texts("information")
    assert told and "skipped" in told[-1] and dense.id in told[-1]
    loaded = window.training.weights.state_dict
    output_layer = [k for k in saved.state_dict if not k.startswith(dense.id + ".")]
    assert any(loaded[k].equal(saved.state_dict[k]) for k in output_layer)


def test_loading_a_file_that_is_not_a_checkpoint_says_so_and_changes_nothing(qtbot, mlp_window, dialogs, tmp_path):
    window = mlp_window
    bad = tmp_path / "notes.pt"
    bad.write_bytes(b"this is not a checkpoint")
    dialogs.choose_file(str(bad))
    window.acts.load_weights.trigger()
    assert dialogs.texts("critical") and "notes.pt" in dialogs.texts("critical")[-1]
    assert window.training.weights is None


def test_the_canvas_predicts_with_the_live_weights_while_training(qtbot, mlp_window):
    window = mlp_window
    digits = window.training.digits
    configure(window, epochs=200)
    runs = finished_runs(window)
    shown = []
    digits.prediction_shown.connect(shown.append)
    window.acts.start_training.trigger()
    wait_state(qtbot, window, RUNNING)
    qtbot.waitUntil(lambda: window.training.weights is not None, timeout=RUN_TIMEOUT)
    from .test_draw import draw  # the same mouse helper the Draw dock's tests use

    for _ in range(3):
        draw(digits.canvas, [(0.5, 0.2), (0.5, 0.5), (0.5, 0.8)])
        qtbot.wait(300)
    qtbot.waitUntil(lambda: len({p.weights_version for p in shown}) >= 2, timeout=RUN_TIMEOUT)
    assert all(abs(float(p.probabilities.sum()) - 1) < 1e-4 for p in shown)
    window.acts.stop_training.trigger()
    qtbot.waitUntil(lambda: bool(runs), timeout=RUN_TIMEOUT)


def test_the_same_graph_trained_twice_keeps_both_runs_in_the_history(qtbot, mlp_window):
    window = mlp_window
    configure(window)
    runs = finished_runs(window)
    for n in (1, 2):
        window.acts.start_training.trigger()
        qtbot.waitUntil(lambda n=n: len(runs) == n, timeout=RUN_TIMEOUT)
    history = window.training.charts.runs()
    assert len(history) == 2
    assert history[0].name.startswith("Run 1") and history[1].name.startswith("Run 2")


def test_a_graph_file_opened_from_disk_trains(qtbot, settings, tmp_path):
    path = tmp_path / "net.json"
    from playground.core.graph.io import save_graph

    save_graph(load_graph("preset:mlp"), path)
    window = make_window(qtbot, settings, path=str(path))
    configure(window)
    runs = finished_runs(window)
    window.acts.start_training.trigger()
    qtbot.waitUntil(lambda: bool(runs), timeout=RUN_TIMEOUT)
    assert runs[0].status == "completed" and runs[0].test_accuracy > 0.5


def test_changing_the_input_dataset_updates_the_training_panel(qtbot, mlp_window):
    window = mlp_window
    doc = window.workbench.document
    panel = window.training.panel
    assert "MNIST" in panel.dataset_combo.itemText(0)
    (input_node,) = doc.graph.nodes_of_kind("input")
    doc.set_param(input_node.id, "dataset", "fashion-mnist")
    assert "Fashion" in panel.dataset_combo.itemText(0)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs thread affinity and two cores")
def test_a_cpu_run_trains_on_its_own_cores_and_gives_the_window_the_last(qtbot, mlp_window):
    """The training process keeps to the training cores; the GUI thread, the predictor's relay thread and the
    inference process keep to the window's core while a CPU run trains; all get every core back when it ends."""
    window = mlp_window
    t = window.training
    everything = os.sched_getaffinity(0)
    split = t.cores
    assert split.window == {max(everything)} and split.training == everything - split.window
    configure(window, epochs=200)
    runs = finished_runs(window)
    window.training.digits.canvas.set_image(np.full((28, 28), 255, np.uint8))  # the relay thread starts
    window.acts.start_training.trigger()
    wait_state(qtbot, window, RUNNING)
    qtbot.waitUntil(lambda: t.predictor.running and t.predictor._inference.pid is not None, timeout=RUN_TIMEOUT)
    trainer = t.session.process_id
    assert trainer is not None and trainer != os.getpid()
    assert os.sched_getaffinity(trainer) == split.training  # its main thread: the one that trains
    relay, engine = t.predictor._thread.native_id, t.predictor._inference.pid
    qtbot.waitUntil(lambda: os.sched_getaffinity(0) == split.window, timeout=RUN_TIMEOUT)
    assert os.sched_getaffinity(relay) == split.window and os.sched_getaffinity(engine) == split.window
    window.acts.stop_training.trigger()
    qtbot.waitUntil(lambda: len(runs) == 1, timeout=RUN_TIMEOUT)
    assert os.sched_getaffinity(0) == everything
    assert os.sched_getaffinity(relay) == everything and os.sched_getaffinity(engine) == everything


def test_strokes_on_the_canvas_hold_the_charts_and_weight_views_repaints(qtbot, mlp_window):
    window = mlp_window
    gate = window.training.drawing_first
    held = [window.training.charts, window.view_docks["weights"].widget(), window.view_docks["histograms"].widget()]
    assert all(view._schedule == gate.run for view in held)
    canvas = window.training.digits.canvas
    assert not gate.drawing
    square = canvas.square()
    start = square.center().toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, start + type(start)(30, 30))
    assert gate.drawing  # the canvas's strokes reach the gate
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=start + type(start)(30, 30))
