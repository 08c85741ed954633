"""The live training charts: data into curves, smoothing, run history by mouse and keyboard, export."""

from __future__ import annotations

import csv
import itertools
import math

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QImage, QPalette, QWheelEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QStyle, QToolTip

from playground.app.charts import TrainingCharts, widget
from playground.app.charts.axis import format_compact
from playground.app.charts.history import ACC_COL, NAME_COL, STATUS_COL
from playground.app.charts.ranges import SHRINK_BELOW, RunningBounds, fit, y_range
from playground.app.charts.series import MAX_POINTS, GrowableArray, RunSeries, envelope_keep
from playground.app.charts.smoothing import debiased_ema, linear_ema, reference_debiased_ema
from playground.app.charts.style import chart_theme, run_hue
from tests.app.helpers import on_screen

SPE = 50  # steps per epoch in these tests


@pytest.fixture
def charts(qtbot):
    widget = on_screen(qtbot, TrainingCharts(), 820, 520)
    return widget


def losses_for(n: int, seed: int = 0, scale: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = np.arange(1, n + 1)
    return (scale * np.exp(-steps / 60) + 0.1 + rng.normal(0, 0.05, n)).astype(np.float32)


def feed(charts: TrainingCharts, name: str, epochs: int = 3, seed: int = 0, scale: float = 2.0,
         batch: int = 7, end: str | None = "completed") -> int:
    """A run the way the training session reports it: batches of steps, an epoch record after each epoch."""
    run_id = charts.begin_run(name, SPE)
    n = epochs * SPE
    steps = np.arange(1, n + 1, dtype=np.int64)
    losses = losses_for(n, seed, scale)
    lrs = np.linspace(1e-3, 1e-4, n).astype(np.float32)
    for start in range(0, n, batch):
        chunk = slice(start, start + batch)
        charts.add_steps(run_id, steps[chunk], losses[chunk], lrs[chunk])
        done = min(n, start + batch)
        if done % SPE < batch and done >= SPE and done // SPE > len(charts.run(run_id).epochs):
            epoch = done // SPE
            charts.add_epoch(run_id, epoch, epoch * SPE, float(losses[epoch * SPE - 1]), 0.5 + 0.1 * epoch,
                             float(losses[epoch * SPE - 1]) * 1.2, 0.45 + 0.1 * epoch, float(lrs[epoch * SPE - 1]))
    if end:
        charts.end_run(run_id, end)
    return run_id


def original(item):
    return item.getOriginalDataset()


# --- buffers and smoothing (no widgets) ----------------------------------------------------------------------------


def test_growable_array_doubles_and_keeps_old_views_intact():
    a = GrowableArray(np.int64, capacity=4)
    a.extend(np.arange(3))
    before = a.view
    a.extend(np.arange(3, 10))  # reallocates
    assert a.capacity == 16 and len(a) == 10
    assert a.view.tolist() == list(range(10))
    assert before.tolist() == [0, 1, 2]  # a plot holding the old view is not disturbed


def test_envelope_keep_keeps_each_fours_lowest_and_highest_in_order():
    values = np.array([3, 1, 4, 2,  5, 5, 5, 5,  np.nan, 2, np.nan, np.nan,  9, 8, 7, 6], np.float32)
    assert envelope_keep(values).tolist() == [1, 2, 4, 7, 9, 11, 12, 15]


def test_a_million_steps_keep_at_most_the_cap_and_the_curves_shape():
    """A run of hours: the stored points stay under MAX_POINTS, the oldest thinned, the curve's shape kept."""
    n, batch, weight = 1_000_000, 997, 0.6
    rng = np.random.default_rng(3)
    steps = np.arange(1, n + 1, dtype=np.int64)
    losses = (2.0 * np.exp(-steps / 150_000) + 0.1 + rng.normal(0, 0.05, n)).astype(np.float32)
    losses[123_456] = 9.0  # a spike long ago is not thinned away
    lrs = np.linspace(1e-3, 1e-5, n).astype(np.float32)
    run = RunSeries(id=1, name="Run 1", steps_per_epoch=1000, colour_index=0)
    for start in range(0, n, batch):
        part = slice(start, start + batch)
        run.append_steps(steps[part], losses[part], lrs[part], weight)
        assert len(run.steps) <= MAX_POINTS
    assert run.compactions > 0 and len(run.steps) > MAX_POINTS // 2
    assert run._steps.capacity <= 131_072  # (the budget of docs/performance.md)
    kept = run.steps - 1  # every point kept is a real step, with its own loss, learning rate and smoothed value
    assert np.all(np.diff(run.steps) > 0) and run.steps[-1] == n
    np.testing.assert_array_equal(run.losses, losses[kept])
    np.testing.assert_array_equal(run.lrs, lrs[kept])
    np.testing.assert_allclose(run.smoothed, debiased_ema(losses, weight)[0][kept], rtol=1e-6)
    assert run.losses.min() == losses.min() and run.losses.max() == losses.max() == 9.0  # the envelope
    assert np.array_equal(run.steps[-1000:], steps[-1000:])  # recent steps at full resolution
    for part in np.array_split(np.arange(n), 20):  # the mean and the spread of each twentieth of the run
        inside = run.losses[(kept >= part[0]) & (kept <= part[-1])]
        assert len(inside) >= 100
        assert abs(float(inside.mean()) - float(losses[part].mean())) < 0.02
        assert inside.min() <= np.percentile(losses[part], 1) and inside.max() >= np.percentile(losses[part], 99)


def test_thinned_steps_are_redrawn_in_full(charts):
    run_id = charts.begin_run("Run 1", 100)
    run = charts.run(run_id)
    run.max_points = 1000
    n = 3000
    losses = losses_for(n)
    for start in range(0, n, 100):
        charts.add_steps(run_id, np.arange(start + 1, start + 101), losses[start:start + 100],
                         np.full(100, 1e-3, np.float32))
        charts.flush()
    curves = charts.plots.curves[run_id]
    x, y = original(curves.raw)
    assert len(x) == len(run.steps) <= 1000 and x[-1] == n
    np.testing.assert_array_equal(x, run.steps)
    np.testing.assert_array_equal(y, run.losses)
    assert curves.raw_bounds.hi == float(losses.max())


@pytest.mark.parametrize("weight", [0.0, 0.05, 0.6, 0.9, 0.99])
def test_ema_matches_tensorboard_loop_in_one_go_and_in_batches(weight):
    values = losses_for(3000, seed=1).astype(np.float64)
    values[[10, 11, 500]] = [np.nan, np.inf, -np.inf]
    expected = np.array(reference_debiased_ema(values, weight))
    whole, _ = debiased_ema(values, weight)
    np.testing.assert_allclose(whole, expected, rtol=1e-12, atol=1e-12)
    parts, state = [], None
    for chunk in np.array_split(values, 41):
        smoothed, state = debiased_ema(chunk, weight, state)
        parts.append(smoothed)
    np.testing.assert_allclose(np.concatenate(parts), expected, rtol=1e-12, atol=1e-12)
    assert np.isnan(whole[[10, 11, 500]]).all()


def test_ema_is_debiased_from_the_first_point():
    smoothed, _ = debiased_ema(np.array([2.0, 2.0, 2.0]), 0.9)
    np.testing.assert_allclose(smoothed, [2.0, 2.0, 2.0])  # not dragged towards the zero it starts from


def test_linear_ema_survives_huge_finite_values():
    y = np.array([1.0, 3e38, 1.0, 1.0])
    out = linear_ema(y, 0.01)
    expected, x = [], 0.0
    for v in y:
        x = 0.01 * x + 0.99 * v
        expected.append(x)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_format_compact_keeps_learning_rates_short():
    assert [format_compact(v) for v in (1e-3, 3e-4, 1.5e-5, 0.01, 0.0)] == ["0.001", "3e-4", "1.5e-5", "0.01", "0"]


# --- the widget ------------------------------------------------------------------------------------------------------


def test_empty_state_shows_the_hint_until_a_run_begins(charts):
    assert charts.plots.hint.isVisible()
    assert "F5" in charts.plots.hint.text()
    assert not charts.export_png_button.isEnabled() and not charts.export_csv_button.isEnabled()
    run_id = charts.begin_run("Run 1", SPE)
    assert not charts.plots.hint.isVisible()
    assert charts.export_csv_button.isEnabled()
    charts.end_run(run_id, "completed")
    charts.remove_run(run_id)
    assert charts.plots.hint.isVisible()


def test_add_steps_only_buffers_and_the_timer_draws_later(charts, qtbot):
    run_id = charts.begin_run("Run 1", SPE)
    raw = charts.plots.curves[run_id].raw
    charts.add_steps(run_id, np.arange(1, 11), np.full(10, 0.5, np.float32), np.full(10, 1e-3, np.float32))
    assert len(charts.run(run_id).steps) == 10  # stored at once...
    assert original(raw) == (None, None)  # ...but not drawn synchronously
    assert charts.repaint_pending
    qtbot.waitUntil(lambda: original(raw)[0] is not None, timeout=1000)
    assert original(raw)[0].tolist() == list(range(1, 11))
    qtbot.waitUntil(lambda: not charts.repaint_pending, timeout=1000)  # the timer stops once nothing is dirty


def test_two_runs_are_drawn_with_their_data(charts):
    first = feed(charts, "Run 1", seed=1, scale=3.0)
    second = feed(charts, "Run 2", seed=2, end=None)
    charts.flush()
    runs = charts.runs()
    assert [r.id for r in runs] == [first, second]
    assert [r.name for r in runs] == ["Run 1", "Run 2"]
    for run in runs:
        curves = charts.plots.curves[run.id]
        x, y = original(curves.raw)
        assert x.tolist() == list(range(1, 3 * SPE + 1))
        np.testing.assert_array_equal(y, losses_for(3 * SPE, seed=run.id, scale=3.0 if run.id == first else 2.0))
        np.testing.assert_array_equal(original(curves.lr)[1], run.lrs)
        x, y = original(curves.val_loss)  # markers at each epoch's global step
        assert x.tolist() == [SPE, 2 * SPE, 3 * SPE]
        np.testing.assert_allclose(y, [r.val_loss for r in run.epochs])
        np.testing.assert_allclose(original(curves.val_acc)[1], [55.0, 65.0, 75.0])  # percent
        np.testing.assert_allclose(original(curves.train_acc)[1], [60.0, 70.0, 80.0])
    # The earlier run shows only its smoothed loss; the current one also its raw steps.
    assert charts.plots.curves[second].raw.isVisible()
    assert not charts.plots.curves[first].raw.isVisible()
    assert charts.plots.curves[first].smoothed.isVisible()


def test_long_runs_are_clipped_and_downsampled_for_display(charts):
    run_id = charts.begin_run("Run 1", 1000)
    n = 40_000
    charts.add_steps(run_id, np.arange(1, n + 1), losses_for(n), np.full(n, 1e-3, np.float32))
    charts.flush()
    QApplication.processEvents()
    curves = charts.plots.curves[run_id]
    for item in (curves.raw, curves.smoothed, curves.lr):
        assert item.opts["clipToView"] and item.opts["autoDownsample"]
        assert len(original(item)[0]) == n  # all the data is there...
        assert len(item.getData()[0]) < 4 * charts.plots.width()  # ...but only a few points per pixel are drawn
    assert curves.raw.opts["downsampleMethod"] == "peak"  # spikes in the loss survive downsampling


def test_smoothed_curve_matches_the_reference_and_follows_the_slider(charts):
    run_id = feed(charts, "Run 1")
    charts.flush()
    losses = charts.run(run_id).losses
    smoothed = charts.plots.curves[run_id].smoothed
    np.testing.assert_allclose(original(smoothed)[1], reference_debiased_ema(losses, charts.smoothing), rtol=1e-6)
    charts.smoothing_slider.setValue(95)
    assert charts.smoothing == pytest.approx(0.95)
    assert charts.smoothing_label.text() == "0.95"
    charts.flush()
    np.testing.assert_allclose(original(smoothed)[1], reference_debiased_ema(losses, 0.95), rtol=1e-6)
    # New steps continue from the running state, as if smoothed in one go.
    charts.add_steps(run_id, np.arange(151, 161), np.full(10, 0.2, np.float32), np.full(10, 1e-4, np.float32))
    charts.flush()
    expected = reference_debiased_ema(np.concatenate([losses, np.full(10, 0.2, np.float32)]), 0.95)
    np.testing.assert_allclose(original(smoothed)[1], expected, rtol=1e-6)


def _colour_distance(a: QColor, b: QColor) -> float:
    return math.dist(a.getRgbF()[:3], b.getRgbF()[:3])


def test_current_run_is_strong_and_earlier_runs_muted(charts):
    first = feed(charts, "Run 1")
    second = feed(charts, "Run 2", end=None)
    theme = chart_theme(charts.palette())
    strong = charts.plots.curves[second].smoothed.opts["pen"]
    muted = charts.plots.curves[first].smoothed.opts["pen"]
    assert strong.color() == run_hue(charts.run(second).colour_index, theme)
    assert run_hue(0, theme) != run_hue(1, theme)  # each run its own hue
    assert muted.widthF() < strong.widthF()
    hue = run_hue(charts.run(first).colour_index, theme)
    # Muted: the run's hue moved towards the background.
    assert _colour_distance(muted.color(), theme.background) < _colour_distance(hue, theme.background)
    assert charts.plots.curves[second].smoothed.zValue() > charts.plots.curves[first].smoothed.zValue()
    # The legend explains the current run's lines.
    assert [label.text for _, label in charts.plots.loss_legend.items] == ["train (smoothed)", "validation"]
    assert charts.plots.loss_legend.items[0][0].item is charts.plots.curves[second].smoothed


def test_diverged_run_with_nan_and_inf_keeps_the_plots_working(charts, qtbot):
    run_id = charts.begin_run("Run 1", SPE)
    losses = np.array([2.0, 1.5, 1.2, np.inf, 1e30, np.nan, np.nan], np.float32)
    charts.add_steps(run_id, np.arange(1, 8), losses, np.full(7, 1e-3, np.float32))
    charts.add_epoch(run_id, 1, 7, float("nan"), 0.1, None, None, 1e-3)
    charts.end_run(run_id, "diverged")
    charts.flush()
    smoothed = charts.run(run_id).smoothed
    assert np.isfinite(smoothed[:3]).all() and np.isnan(smoothed[[3, 5, 6]]).all()
    charts.log_check.setChecked(True)  # log of inf/nan must not break either
    image = charts.plots.grab().toImage()
    assert not image.isNull()
    (x0, x1), (y0, y1) = charts.plots.loss.vb.viewRange()
    assert all(math.isfinite(v) for v in (x0, x1, y0, y1))
    assert charts.history.item(run_id).text(STATUS_COL) == "diverged"
    assert original(charts.plots.curves[run_id].val_loss) == (None, None)  # no validation value, no marker
    charts.crosshair.show_at(6)
    assert "nan" in charts.crosshair.label.textItem.toHtml()


def test_log_scale_checkbox_switches_the_loss_axis(charts, qtbot):
    feed(charts, "Run 1")
    loss = charts.plots.loss
    assert not loss.ctrl.logYCheck.isChecked()
    qtbot.mouseClick(charts.log_check, Qt.MouseButton.LeftButton)
    assert loss.ctrl.logYCheck.isChecked()
    assert loss.getAxis("left").logMode
    assert not charts.plots.accuracy.getAxis("left").logMode  # accuracy and lr stay linear
    qtbot.mouseClick(charts.log_check, Qt.MouseButton.LeftButton)
    assert not loss.getAxis("left").logMode


def test_epoch_mode_labels_the_shared_axis_in_epochs(charts, qtbot):
    feed(charts, "Run 1")
    axis = charts.plots.x_axis
    assert axis.labelText == "step"
    assert axis.tickStrings([1000, 12500], 1, 500) == ["1,000", "12,500"]
    charts.x_mode_combo.setFocus()
    qtbot.keyClick(charts.x_mode_combo, Qt.Key.Key_Down)
    assert charts.x_mode == "epochs"
    assert axis.labelText == "epoch"
    assert axis.tickStrings([SPE, 2.5 * SPE], 1, SPE / 2) == ["1", "2.5"]
    assert axis.tickStrings([10 * SPE, 20 * SPE, 30 * SPE], 1, 10 * SPE) == ["10", "20", "30"]  # not "1", "2", "3"
    # Ticks fall on whole (or simple fractions of) epochs, in step coordinates.
    major = axis.tickValues(0, 10 * SPE, 400)[0]
    assert all((v / SPE) % (major[0] / SPE) == pytest.approx(0) for v in major[1])
    # All three plots share the mode and the x range.
    assert {p.getAxis("bottom").mode for p in charts.plots.plots()} == {"epochs"}
    assert charts.plots.lr.vb.linkedView(0) is charts.plots.loss.vb


def test_crosshair_follows_the_mouse_and_reads_the_current_run(charts, qtbot):
    feed(charts, "Run 1")
    run_id = feed(charts, "Run 2", seed=3, end=None)
    charts.flush()
    QApplication.processEvents()
    vb = charts.plots.loss.vb
    scene_pos = vb.mapViewToScene(vb.viewRect().center())
    charts.plots.scene().sigMouseMoved.emit(scene_pos)  # what a mouse move over the plot emits
    qtbot.waitUntil(lambda: charts.crosshair.step is not None, timeout=1000)
    step = charts.crosshair.step
    assert all(line.isVisible() and line.value() == pytest.approx(step) for line in charts.crosshair.lines)
    text = charts.crosshair.label.textItem.toPlainText()
    run = charts.run(run_id)
    i = run.index_at(step)
    assert "Run 2" in text and f"step {int(run.steps[i]):,}" in text
    assert f"{run.smoothed[i]:.4g}" in text
    assert not charts.plots.loss_legend.isVisible()  # the readout takes the legend's place
    charts.plots.scene().sigMouseMoved.emit(vb.mapViewToScene(vb.viewRect().center()) * 0 - QPoint(5, 5))
    qtbot.waitUntil(lambda: charts.crosshair.step is None, timeout=1000)
    assert charts.plots.loss_legend.isVisible()


# --- run history -----------------------------------------------------------------------------------------------------


def _check_pos(tree, item) -> QPoint:
    rect = tree.visualItemRect(item)
    indicator = tree.style().pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth)
    return QPoint(rect.left() + 4 + indicator // 2, rect.center().y())


def test_history_lists_runs_newest_first_with_status(charts):
    first = feed(charts, "Run 1")
    second = feed(charts, "Run 2", end=None)
    charts.flush()
    tree = charts.history.tree
    assert [tree.topLevelItem(i).text(NAME_COL) for i in range(2)] == ["Run 2", "Run 1"]
    assert charts.history.item(first).text(STATUS_COL) == "completed"
    assert charts.history.item(second).text(STATUS_COL) == "running"
    assert charts.history.item(first).text(ACC_COL) == "75.0%"
    assert not charts.history.item(first).icon(NAME_COL).isNull()  # the colour swatch


def test_unticking_a_run_hides_its_curves(charts, qtbot):
    run_id = feed(charts, "Run 1")
    tree = charts.history.tree
    item = charts.history.item(run_id)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=_check_pos(tree, item))
    assert not charts.run(run_id).visible
    assert not any(i.isVisible() for i in charts.plots.curves[run_id].items())
    tree.setCurrentItem(item)
    qtbot.keyClick(tree, Qt.Key.Key_Space)  # the keyboard way
    assert charts.run(run_id).visible
    assert charts.plots.curves[run_id].smoothed.isVisible()
    charts.set_run_visible(run_id, False)  # and the API way, reflected in the list
    assert item.checkState(NAME_COL) == Qt.CheckState.Unchecked


def test_rename_with_f2_and_with_double_click(charts, qtbot):
    run_id = feed(charts, "Run 1")
    tree = charts.history.tree
    item = charts.history.item(run_id)
    tree.setCurrentItem(item)
    qtbot.keyClick(tree, Qt.Key.Key_F2)
    editor = tree.viewport().findChild(QLineEdit)
    assert editor is not None
    editor.selectAll()
    qtbot.keyClicks(editor, "Baseline")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: charts.run(run_id).name == "Baseline", timeout=1000)  # Qt commits the edit queued

    status = tree.visualRect(tree.indexFromItem(item, STATUS_COL)).center()  # anywhere on the row renames
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=status)  # a double-click's first click
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=status)
    editor = next(e for e in tree.viewport().findChildren(QLineEdit) if e.isVisible())
    editor.selectAll()
    qtbot.keyClicks(editor, "   ")  # an empty name is refused
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tree.state() != tree.State.EditingState, timeout=1000)
    QApplication.processEvents()  # the queued commit
    assert charts.run(run_id).name == "Baseline"
    assert item.text(NAME_COL) == "Baseline"


def test_the_training_run_cannot_be_removed(charts, qtbot, dialogs):
    first = feed(charts, "Run 1")
    live = feed(charts, "Run 2", end=None)
    history = charts.history
    history.select(live)
    assert not history.remove_button.isEnabled()
    qtbot.keyClick(history.tree, Qt.Key.Key_Delete)
    assert not charts.remove_run(live)
    assert [r.id for r in charts.runs()] == [first, live]
    menu = history.context_menu(live)
    remove = next(a for a in menu.actions() if a.text() == "Remove")
    assert not remove.isEnabled()
    menu.deleteLater()

    history.select(first)
    assert history.remove_button.isEnabled()
    qtbot.mouseClick(history.remove_button, Qt.MouseButton.LeftButton)
    assert [r.id for r in charts.runs()] == [live]
    assert first not in charts.plots.curves
    assert all(item not in charts.plots.loss.listDataItems() for item in ())
    assert len(charts.plots.loss.listDataItems()) == 3  # only the live run's loss curves are left

    charts.end_run(live, "stopped")
    history.select(live)
    qtbot.keyClick(history.tree, Qt.Key.Key_Delete)
    assert charts.runs() == []
    assert charts.plots.hint.isVisible()


def test_run_lifecycle_current_and_live_runs(charts):
    first = charts.begin_run("Run 1", SPE)
    second = charts.begin_run("Run 2", SPE)  # the first never reported its end
    assert charts.run(first).status == "stopped"
    assert charts.live_run_id == second and charts.current_run().id == second
    charts.end_run(second, "completed")
    assert charts.live_run_id is None
    charts.remove_run(second)  # removing the current run makes the previous one current, and strong again
    assert charts.current_run().id == first
    assert charts.plots.curves[first].raw.isVisible()
    assert charts.plots.curves[first].smoothed.opts["pen"].widthF() == 2.0
    charts.add_steps(second, np.array([1]), np.array([1.0], np.float32), np.array([0.1], np.float32))  # ignored


def test_run_tooltip_is_written_when_asked_for(charts, qtbot):
    run_id = feed(charts, "Run 1", end=None)
    charts.flush()
    tree = charts.history.tree
    item = charts.history.item(run_id)
    assert not item.toolTip(NAME_COL)  # not rewritten at every repaint of a live run...
    pos = tree.visualItemRect(item).center()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, tree.viewport().mapToGlobal(pos))
    QApplication.sendEvent(tree.viewport(), event)
    qtbot.waitUntil(lambda: "step 150" in QToolTip.text(), timeout=1000)  # ...but there when hovered
    assert "Run 1" in QToolTip.text() and "3 epochs" in QToolTip.text()
    QToolTip.hideText()


def test_selecting_a_run_emits_run_selected(charts, qtbot):
    run_id = feed(charts, "Run 1")
    feed(charts, "Run 2")
    tree = charts.history.tree
    with qtbot.waitSignal(charts.run_selected, timeout=1000) as blocker:
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                         pos=tree.visualItemRect(charts.history.item(run_id)).center())
    assert blocker.args == [run_id]


# --- export ----------------------------------------------------------------------------------------------------------


def test_export_csv_writes_long_format_for_all_runs(charts, qtbot, dialogs, tmp_path):
    first = feed(charts, "Run 1")
    second = feed(charts, 'Run "2", wider', seed=2)
    path = tmp_path / "runs"  # no extension: .csv is added
    dialogs.choose_file(str(path))
    qtbot.mouseClick(charts.export_csv_button, Qt.MouseButton.LeftButton)
    written = tmp_path / "runs.csv"
    with written.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["run", "name", "step", "epoch", "metric", "value"]
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]  # no temporary file left behind
    for run_id in (first, second):
        run = charts.run(run_id)
        mine = [r for r in rows if int(r["run"]) == run_id]
        assert {r["name"] for r in mine} == {run.name}
        loss = [r for r in mine if r["metric"] == "loss"]
        assert [int(r["step"]) for r in loss] == run.steps.tolist()
        np.testing.assert_array_equal(np.array([float(r["value"]) for r in loss], np.float32), run.losses)
        assert [int(r["epoch"]) for r in loss][SPE - 1 : SPE + 1] == [1, 2]  # step 50 ends epoch 1
        assert len([r for r in mine if r["metric"] == "lr"]) == len(run.steps)
        val = [r for r in mine if r["metric"] == "val_accuracy"]
        assert [(int(r["step"]), int(r["epoch"]), float(r["value"])) for r in val] == [
            (SPE, 1, pytest.approx(0.55)), (2 * SPE, 2, pytest.approx(0.65)), (3 * SPE, 3, pytest.approx(0.75))]


def test_context_menu_exports_one_run(charts, dialogs, tmp_path):
    feed(charts, "Run 1")
    second = feed(charts, "Run 2")
    dialogs.choose_file(str(tmp_path / "one.csv"))
    menu = charts.history.context_menu(second)
    next(a for a in menu.actions() if a.text() == "Export CSV…").trigger()
    menu.deleteLater()
    with (tmp_path / "one.csv").open(newline="") as f:
        assert {row["run"] for row in csv.DictReader(f)} == {str(second)}


def test_export_png_writes_the_plots_at_their_size(charts, qtbot, dialogs, tmp_path):
    feed(charts, "Run 1")
    feed(charts, "Run 2", end=None)
    charts.crosshair.show_at(70)
    dialogs.choose_file(str(tmp_path / "charts.png"))
    qtbot.mouseClick(charts.export_png_button, Qt.MouseButton.LeftButton)
    image = QImage(str(tmp_path / "charts.png"))
    ratio = charts.plots.devicePixelRatioF()
    expected = (round(charts.plots.width() * ratio), round(charts.plots.height() * ratio))
    assert (image.width(), image.height()) == expected
    assert charts.crosshair.step == 70  # the readout is left out of the picture, then comes back
    # Not a blank picture: the plot background and the curves' colours are both there.
    colours = {image.pixelColor(x, y).rgb() for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 10


def test_cancelled_and_failed_exports(charts, qtbot, dialogs, tmp_path):
    feed(charts, "Run 1")
    before = set(tmp_path.iterdir())
    qtbot.mouseClick(charts.export_png_button, Qt.MouseButton.LeftButton)  # no file queued: the dialog is cancelled
    assert [kind for kind, _, _ in dialogs.shown] == ["save"]
    assert set(tmp_path.iterdir()) == before and not dialogs.texts("critical")
    dialogs.choose_file(str(tmp_path / "missing-folder" / "x.csv"))
    qtbot.mouseClick(charts.export_csv_button, Qt.MouseButton.LeftButton)
    assert "Could not write" in dialogs.texts("critical")[0]
    assert QApplication.overrideCursor() is None  # the wait cursor is gone


# --- palette ---------------------------------------------------------------------------------------------------------


def test_dark_palette_gives_a_dark_plot_background(charts):
    feed(charts, "Run 1")
    palette = QPalette(charts.palette())
    palette.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    palette.setColor(QPalette.ColorRole.Window, QColor("#2b2b2b"))
    palette.setColor(QPalette.ColorRole.Text, QColor("#e0e0e0"))
    charts.setPalette(palette)
    assert charts.plots.backgroundBrush().color() == QColor("#1e1e1e")
    run = charts.runs()[0]
    pen = charts.plots.curves[run.id].smoothed.opts["pen"]
    assert pen.color() == run_hue(run.colour_index, chart_theme(palette))  # the dark theme's lighter hue


# --- view ranges: still axes while a run trains ----------------------------------------------------------------------


def test_y_range_keeps_still_for_small_changes_and_expands_at_once():
    view = y_range(None, 0.4, 2.3)
    assert view[0] <= 0.4 and view[1] >= 2.3
    assert y_range(view, 0.45, 2.2) == view  # a little change inside: the same view, no relayout
    wider = y_range(view, 0.4, 3.1)  # data left the view: it expands at once...
    assert wider[1] >= 3.1 and wider[0] <= 0.4
    assert wider[1] - 3.1 > 0.1 * (3.1 - 0.4)  # ...with headroom, so that the next rise does not move it again
    assert y_range(wider, 0.4, 3.2) == wider
    narrow = y_range(wider, 1.0, 1.2)  # the data now spans far less than the view: shrink to fit
    assert narrow[1] - narrow[0] < SHRINK_BELOW * (wider[1] - wider[0])
    assert narrow[0] <= 1.0 and narrow[1] >= 1.2


def test_y_range_bounds_are_round_and_respect_floor_and_ceiling():
    (lo, hi), step = fit(0.43, 2.37)
    assert lo <= 0.43 and hi >= 2.37
    assert hi / step == pytest.approx(round(hi / step))  # snapped to a round step
    assert y_range(None, 0.1, 2.3, floor=0.0)[0] == pytest.approx(-0.03 * 2.3, rel=0.01)  # from zero, barely below
    assert y_range(None, 97.0, 99.5, floor=0.0, ceiling=100.0)[1] <= 100.5  # an accuracy view ends near 100%
    assert y_range(None, 8e-4, 1e-3, floor=0.0, anchor=1.0)[0] <= 0.0  # a learning rate is shown from zero
    assert y_range(None, 1e-3, 1e-3) != (1e-3, 1e-3)  # a constant still gets a range


def test_an_expansion_never_turns_into_a_shrink_at_the_next_repaint():
    rng = np.random.default_rng(3)
    for _ in range(500):
        lo, hi = sorted(rng.uniform(-5, 5, 2))
        view = y_range(None, lo, hi)
        escaped = view[1] + rng.uniform(0.01, 3) * (view[1] - view[0])  # leaves through the top
        expanded = y_range(view, lo, escaped)
        assert expanded != view
        assert y_range(expanded, lo, escaped) == expanded


def test_running_bounds_look_at_new_values_only_and_skip_non_finite():
    bounds, values = RunningBounds(), np.array([2.0, np.nan, 0.5, np.inf, -1.0])
    assert bounds.update(values[:3])
    assert bounds.get() == (0.5, 2.0) and bounds.get(log=True) == pytest.approx((math.log10(0.5), math.log10(2.0)))
    assert bounds.update(values)  # -1 is new; inf is not a value to show
    assert bounds.get() == (-1.0, 2.0) and bounds.get(log=True)[0] == pytest.approx(math.log10(0.5))
    assert not bounds.update(values)  # nothing new


def _feed_live(charts, run_id, start, stop, batch=12):
    losses = losses_for(stop)
    for a in range(start, stop, batch):
        b = min(stop, a + batch)
        charts.add_steps(run_id, np.arange(a + 1, b + 1), losses[a:b], np.full(b - a, 1e-3, np.float32))
        charts.flush()


def test_x_range_is_fixed_while_a_run_of_known_length_trains(charts):
    feed(charts, "Run 1")  # 150 steps, finished
    run_id = charts.begin_run("Run 2", SPE, total_steps=600)
    loss_vb = charts.plots.loss.vb
    fixed = loss_vb.viewRange()[0]
    assert fixed[0] <= 0 < 600 <= fixed[1] < 650  # [0, total steps] plus a little padding, before any data
    seen = set()
    for a in range(0, 600, 40):
        _feed_live(charts, run_id, a, a + 40)
        seen.add(tuple(loss_vb.viewRange()[0]))
    assert seen == {tuple(fixed)}  # never moved while the run trained
    assert charts.plots.lr.vb.viewRange()[0] == pytest.approx(fixed)  # the shared axis
    charts.end_run(run_id, "completed")
    charts.flush()
    assert loss_vb.viewRange()[0] == pytest.approx(fixed)  # it completed: the data fills the same range
    assert list(loss_vb.autoRangeEnabled()) == [False, False]  # pyqtgraph's per-update auto-range stays off


def test_without_total_steps_the_x_range_grows_in_steps_and_fits_at_the_end(charts):
    run_id = charts.begin_run("Run 1", SPE)  # the old signature still works
    loss_vb = charts.plots.loss.vb
    ranges = []
    for a in range(0, 900, 12):
        _feed_live(charts, run_id, a, a + 12)
        ranges.append(tuple(loss_vb.viewRange()[0]))
        assert ranges[-1][1] >= a + 12  # the newest step is always in view
    ends = sorted({end for _, end in ranges})
    assert len(ends) < len(ranges) / 4  # it grows with headroom, not at every repaint
    assert all(b > 1.2 * a for a, b in itertools.pairwise(ends))
    charts.end_run(run_id, "stopped")
    charts.flush()
    x1 = loss_vb.viewRange()[0][1]
    assert 900 <= x1 < 900 * 1.05  # fitted to the data once the run is over


def test_y_range_keeps_still_while_data_stays_inside_and_follows_it_out(charts):
    run_id = charts.begin_run("Run 1", SPE, total_steps=1000)
    rng = np.random.default_rng(0)

    def add(a, values):
        charts.add_steps(run_id, np.arange(a, a + len(values)), np.asarray(values, np.float32),
                         np.full(len(values), 1e-3, np.float32))
        charts.flush()
        return tuple(charts.plots.loss.vb.viewRange()[1])

    first = add(1, 1.0 + 0.5 * rng.random(20))
    assert first[0] <= 1.0 and first[1] >= 1.5
    for k in range(5):  # noise inside the range: the view (and its axis) stay as they are
        assert add(21 + 20 * k, 1.05 + 0.4 * rng.random(20)) == first
    risen = add(121, [first[1] + 1.0])  # a spike above the view: shown at once
    assert risen[1] >= first[1] + 1.0 and risen[0] <= 1.0


def test_user_zoom_stops_the_auto_ranging_until_fit(charts, qtbot):
    run_id = charts.begin_run("Run 1", SPE, total_steps=600)
    _feed_live(charts, run_id, 0, 120)
    QApplication.processEvents()
    plots = charts.plots
    vb = plots.loss.vb
    assert plots.auto_ranging
    centre = plots.mapFromScene(vb.mapViewToScene(vb.viewRect().center()))
    wheel = QWheelEvent(QPointF(centre), QPointF(plots.mapToGlobal(centre)), QPoint(), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(plots.viewport(), wheel)  # zoom in with the mouse wheel
    zoomed = vb.viewRange()
    assert not plots.auto_ranging
    assert zoomed[0][1] - zoomed[0][0] < 500
    _feed_live(charts, run_id, 120, 240)
    charts.add_steps(run_id, np.array([241]), np.array([50.0], np.float32), np.array([1e-3], np.float32))
    charts.flush()
    assert np.allclose(vb.viewRange(), zoomed)  # new data, even far outside, leaves the user's view alone
    qtbot.mouseClick(charts.fit_button, Qt.MouseButton.LeftButton)
    assert plots.auto_ranging
    (x0, x1), (_, y1) = vb.viewRange()
    assert x0 <= 0 and x1 >= 600 and y1 >= 50.0  # all the data (and the run's length) in view again
    _feed_live(charts, run_id, 241, 300)
    assert vb.viewRange()[0] == pytest.approx((x0, x1))  # and following the data again


def test_log_scale_refits_the_loss_and_keeps_pyqtgraph_auto_range_off(charts):
    run_id = charts.begin_run("Run 1", SPE, total_steps=600)
    _feed_live(charts, run_id, 0, 150)
    vb = charts.plots.loss.vb
    x_range = vb.viewRange()[0]
    charts.log_check.setChecked(True)
    assert list(vb.autoRangeEnabled()) == [False, False]
    assert vb.viewRange()[0] == pytest.approx(x_range)  # the run's length still sets the x range
    y0, y1 = vb.viewRange()[1]  # log10 coordinates now
    losses = charts.run(run_id).losses
    assert y0 <= math.log10(losses.min()) and y1 >= math.log10(losses.max())
    charts.log_check.setChecked(False)
    assert vb.viewRange()[1][0] <= losses.min() and vb.viewRange()[1][1] >= losses.max()


def test_live_run_repaints_at_most_a_few_times_a_second(charts, qtbot):
    tick = widget.LIVE_TICK_MS
    assert tick >= 250
    run_id = charts.begin_run("Run 1", SPE, total_steps=600)
    charts.add_steps(run_id, np.arange(1, 13), losses_for(12), np.full(12, 1e-3, np.float32))
    charts.flush()
    assert not charts.repaint_pending  # nothing changed since: no timer at all
    charts.add_steps(run_id, np.arange(13, 25), losses_for(24)[12:], np.full(12, 1e-3, np.float32))
    assert charts.repaint_pending
    assert tick - 50 <= charts._timer.remainingTime() <= tick * 1.06  # one live tick after the last drawing
    raw = charts.plots.curves[run_id].raw
    qtbot.waitUntil(lambda: len(original(raw)[0]) == 24, timeout=2000)
    qtbot.waitUntil(lambda: not charts.repaint_pending, timeout=1000)
    charts.end_run(run_id, "completed")  # no run trains: back to the quick tick
    assert charts._timer.remainingTime() <= widget.TICK_MS * 1.06


def test_epoch_points_of_a_live_run_are_redrawn_at_most_once_a_second(charts, qtbot):
    run_id = charts.begin_run("Run 1", SPE, total_steps=600)
    val = charts.plots.curves[run_id].val_acc
    for epoch in (1, 2):
        steps = np.arange(1, SPE + 1) + (epoch - 1) * SPE
        charts.add_steps(run_id, steps, losses_for(SPE), np.full(SPE, 1e-3, np.float32))
        charts.add_epoch(run_id, epoch, epoch * SPE, 0.5, 0.5, 0.6, 0.4 + 0.1 * epoch, 1e-3)
        charts.flush()
    assert len(original(val)[0]) == 1  # the second epoch came right after the first: it waits...
    assert len(original(charts.plots.curves[run_id].raw)[0]) == 2 * SPE  # ...the steps do not
    assert charts.repaint_pending  # ...and the timer comes back for it without new steps
    qtbot.waitUntil(lambda: len(original(val)[0]) == 2, timeout=3000)
    qtbot.waitUntil(lambda: not charts.repaint_pending, timeout=1000)
    charts.add_epoch(run_id, 3, 3 * SPE, 0.5, 0.5, 0.6, 0.7, 1e-3)
    charts.end_run(run_id, "completed")
    charts.flush()
    assert len(original(val)[0]) == 3  # a finished run is drawn in full at once


def test_an_axis_too_short_for_its_title_shows_the_short_one(qtbot):
    charts = on_screen(qtbot, TrainingCharts(), 820, 700)
    plots = charts.plots
    lr = plots.lr.getAxis("left")

    def title_fits(axis) -> bool:  # the rotated label, no longer than its axis
        return axis.label.boundingRect().width() <= axis.size().height()

    qtbot.waitUntil(lambda: lr.labelText == "Learning rate")
    assert all(title_fits(plot.getAxis("left")) for plot in plots.plots())
    charts.resize(820, 300)  # the dock made short: the learning-rate plot is ~50 px tall
    qtbot.waitUntil(lambda: lr.labelText == "LR")
    assert all(title_fits(plot.getAxis("left")) for plot in plots.plots())
    assert plots.loss.getAxis("left").labelText == "Loss"
    charts.resize(820, 700)
    qtbot.waitUntil(lambda: lr.labelText == "Learning rate")
