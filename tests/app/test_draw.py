"""The drawing canvas with live prediction: drawing by mouse and pen, clear/undo, the preview of what the network
sees, the prediction thread (latest wins, failures, mistakes) and the test digit buttons."""

from __future__ import annotations

import functools
import itertools
import os
import re
import sys
import threading
import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QInputDevice, QMouseEvent, QPointingDevice, QTabletEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from playground.app.draw import RASTER_SIZE, DigitPanel
from playground.app.draw.drawing import DEFAULT_BRUSH
from playground.app.predictor import Prediction, Predictor
from playground.core.build import build_module
from playground.core.data import normalization_for, preprocess_digit
from playground.core.graph import Edge, load_graph
from playground.core.train.inference import predict_probabilities
from playground.core.train.trainer import loss_function
from tests.app.helpers import on_screen

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
TIMEOUT = 20000  # the first request starts the inference process (it imports torch): seconds on a busy machine


# -- fixtures and helpers ------------------------------------------------------------------------------
@pytest.fixture
def predictor():
    p = Predictor()
    yield p
    p.shutdown()


@pytest.fixture(scope="module")
def mlp():
    return load_graph("preset:mlp")


@pytest.fixture
def panel(qtbot, predictor, mlp):
    panel = on_screen(qtbot, DigitPanel(predictor), 720, 460)
    predictor.set_model(mlp, None, "mnist", 1)
    return panel


def wait_built(qtbot, predictor, version: int) -> None:
    """Until the predictor's engine has built and loaded model `version`."""
    qtbot.waitUntil(lambda: predictor._has_model and predictor._version == version, timeout=TIMEOUT)


def random_weights(graph, seed: int) -> dict[str, torch.Tensor]:
    """Weights that differ from the graph's initial ones (which are built from seed 0)."""
    return {k: v.clone() for k, v in build_module(graph, "cpu", seed=seed).state_dict().items()}


def at(canvas, x: float, y: float) -> QPoint:
    """A point of the canvas's drawing square, in fractions of its side."""
    sq = canvas.square()
    return QPointF(sq.x() + x * sq.width(), sq.y() + y * sq.height()).toPoint()


def mouse_move(widget, pos: QPoint, buttons=LEFT) -> None:
    """QTest.mouseMove cannot hold a button down: send the event ourselves."""
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, buttons, NO_MOD)
    QApplication.sendEvent(widget, event)


def draw(canvas, points: list[tuple[float, float]], steps: int = 8) -> None:
    """Press at the first point, move through the others (`steps` moves per segment), release at the last."""
    QTest.mousePress(canvas, LEFT, NO_MOD, at(canvas, *points[0]))
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        for i in range(1, steps + 1):
            t = i / steps
            mouse_move(canvas, at(canvas, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
    QTest.mouseRelease(canvas, LEFT, NO_MOD, at(canvas, *points[-1]))


def draw_one(canvas) -> None:
    draw(canvas, [(0.5, 0.15), (0.52, 0.85)])


def wait_until_caught_up(qtbot, panel) -> None:
    """Until the bars show a prediction of the drawing as it is now."""
    qtbot.waitUntil(lambda: panel._in_flight is None and panel._pending is None
                    and panel.bars.probabilities() is not None, timeout=TIMEOUT)


def raster(canvas) -> np.ndarray:
    return canvas.raster_array().copy()


# -- drawing -------------------------------------------------------------------------------------------
def test_a_stroke_puts_ink_where_it_was_drawn(qtbot, panel):
    canvas = panel.canvas
    assert canvas.is_empty() and not raster(canvas).any()
    with qtbot.waitSignal(canvas.changed, timeout=TIMEOUT):
        draw(canvas, [(0.2, 0.5), (0.8, 0.5)])
    a = raster(canvas)
    assert a.shape == (RASTER_SIZE, RASTER_SIZE) and not canvas.is_empty()
    row = RASTER_SIZE // 2
    assert (a[row, int(0.22 * RASTER_SIZE):int(0.78 * RASTER_SIZE)] == 255).all()  # solid white along the stroke
    assert not a[:row - DEFAULT_BRUSH].any() and not a[row + DEFAULT_BRUSH:].any()  # nothing far above or below
    assert not a[:, :int(0.2 * RASTER_SIZE) - DEFAULT_BRUSH].any()
    inked = np.flatnonzero(a[row] > 0)
    # antialiased edges: grey levels (anywhere: the round caps have them whatever the canvas's size; a straight
    # edge may fall on a pixel boundary, as it does when the Draw dock's rows leave the canvas a whole-pixel offset)
    assert ((a > 0) & (a < 255)).any()
    assert abs(inked[0] - 0.2 * RASTER_SIZE) <= DEFAULT_BRUSH and abs(inked[-1] - 0.8 * RASTER_SIZE) <= DEFAULT_BRUSH


def test_the_raster_does_not_depend_on_the_widget_size(qtbot, panel):
    canvas = panel.canvas
    draw(canvas, [(0.3, 0.3), (0.7, 0.7)])
    small = raster(canvas)
    canvas.clear()
    panel.resize(1100, 800)
    qtbot.waitUntil(lambda: canvas.width() > 400)
    assert canvas.square().width() == min(canvas.width(), canvas.height())
    draw(canvas, [(0.3, 0.3), (0.7, 0.7)])
    big = raster(canvas)
    assert np.mean(np.abs(small.astype(int) - big.astype(int))) < 3  # the same drawing, up to rounding


def test_a_drawn_one_is_what_the_preview_shows_and_the_network_classifies(qtbot, panel):
    with qtbot.waitSignal(panel.prediction_shown, timeout=TIMEOUT):
        draw_one(panel.canvas)
    wait_until_caught_up(qtbot, panel)
    expected = preprocess_digit(panel.canvas.raster_array())
    assert np.array_equal(panel.preview.image(), expected)
    assert expected[:, :8].sum() == 0 and expected[:, 20:].sum() == 0 and expected[6:22, 13:15].min() > 0  # a "1"
    probabilities = panel.bars.probabilities()
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert panel.bars.top_class() == int(probabilities.argmax())


def test_each_prediction_is_of_the_image_shown(qtbot, panel):
    shown: list[Prediction] = []
    panel.prediction_shown.connect(shown.append)
    draw_one(panel.canvas)
    wait_until_caught_up(qtbot, panel)
    last = shown[-1]
    assert np.array_equal(last.image, panel.preview.image())
    assert np.array_equal(last.probabilities, panel.bars.probabilities())
    assert last.weights_version == 1 and last.submitted_at <= time.perf_counter()


def test_a_drawing_with_no_ink_left_gets_no_answer(qtbot, panel, predictor):
    """Issue 19: a canvas painted over entirely preprocesses to a blank field, which any network still answers
    (often confidently); the dock says "draw a digit", as for an empty canvas."""
    got: list[Prediction] = []
    predictor.predicted.connect(got.append)
    draw_one(panel.canvas)
    wait_until_caught_up(qtbot, panel)
    assert got[-1].probabilities is not None
    panel.canvas._raster.fill(QColor("white"))  # what enough strokes of the widest brush come to
    panel.canvas.changed.emit(time.perf_counter())
    qtbot.waitUntil(lambda: panel._in_flight is None and panel._pending is None and got[-1].probabilities is None,
                    timeout=TIMEOUT)
    assert not panel.canvas.is_empty() and panel.bars.probabilities() is None
    assert panel.bars._message == "draw a digit" and panel.preview.image() is None


def test_escape_right_click_and_the_button_clear(qtbot, panel):
    canvas = panel.canvas
    canvas.setFocus()
    for clear in (lambda: QTest.keyClick(canvas, Qt.Key.Key_Escape),
                  lambda: QTest.mouseClick(canvas, Qt.MouseButton.RightButton, NO_MOD, at(canvas, 0.5, 0.5)),
                  panel.clear_button.click):
        draw_one(canvas)
        wait_until_caught_up(qtbot, panel)
        clear()
        assert canvas.is_empty() and not raster(canvas).any()
        assert panel.bars.probabilities() is None and panel.preview.image() is None
    qtbot.wait(30)  # a late answer about the wiped drawing is not shown
    assert panel.bars.probabilities() is None


def test_undo_restores_the_previous_raster(qtbot, panel):
    canvas = panel.canvas
    canvas.setFocus()
    assert not panel.undo_button.isEnabled()
    draw_one(canvas)
    first = raster(canvas)
    assert panel.undo_button.isEnabled()
    draw(canvas, [(0.2, 0.2), (0.8, 0.2)])
    assert not np.array_equal(raster(canvas), first)
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(raster(canvas), first)
    canvas.clear()  # a clear is undoable too
    panel.undo_button.click()
    assert np.array_equal(raster(canvas), first) and not canvas.is_empty()
    panel.undo_button.click()
    assert canvas.is_empty() and not raster(canvas).any()
    assert not panel.undo_button.isEnabled()
    qtbot.wait(30)
    assert panel.bars.probabilities() is None


def test_undo_keeps_a_bounded_number_of_snapshots(panel):
    from playground.app.draw.drawing import UNDO_LIMIT

    for i in range(UNDO_LIMIT + 5):
        draw(panel.canvas, [(0.1 + 0.02 * i, 0.2), (0.1 + 0.02 * i, 0.8)], steps=1)
    assert len(panel.canvas._undo) == UNDO_LIMIT


def test_the_brush_size_follows_the_slider_and_ctrl_wheel(panel):
    canvas = panel.canvas
    panel.brush.setValue(10)
    assert canvas.brush() == 10
    pos = QPointF(at(canvas, 0.5, 0.5))
    wheel = QWheelEvent(pos, QPointF(canvas.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, wheel)
    assert canvas.brush() == 14 and panel.brush.value() == 14
    draw(canvas, [(0.2, 0.5), (0.8, 0.5)])
    thick = (raster(canvas)[:, RASTER_SIZE // 2] > 127).sum()
    assert abs(thick - 14) <= 2


def test_a_pen_draws_thin_when_pressed_lightly(qtbot, panel):
    canvas = panel.canvas
    pen = QPointingDevice("test pen", 4242, QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
                          QInputDevice.Capability.Position | QInputDevice.Capability.Pressure, 1, 2)

    def tablet(kind, x, y, pressure, buttons):
        pos = QPointF(at(canvas, x, y))
        button = LEFT if kind != QEvent.Type.TabletMove else Qt.MouseButton.NoButton
        event = QTabletEvent(kind, pen, pos, QPointF(canvas.mapToGlobal(pos)), pressure, 0, 0, 0, 0, 0, NO_MOD,
                             button, buttons)
        QApplication.sendEvent(canvas, event)

    def stroke(y, pressure):
        tablet(QEvent.Type.TabletPress, 0.2, y, pressure, LEFT)
        for i in range(1, 13):
            tablet(QEvent.Type.TabletMove, 0.2 + 0.05 * i, y, pressure, LEFT)
        tablet(QEvent.Type.TabletRelease, 0.8, y, pressure, Qt.MouseButton.NoButton)

    stroke(0.3, 0.1)
    stroke(0.7, 1.0)
    column = raster(canvas)[:, RASTER_SIZE // 2] > 127
    light, hard = column[:RASTER_SIZE // 2].sum(), column[RASTER_SIZE // 2:].sum()
    assert 0 < light < hard
    assert len(canvas._undo) == 2  # two strokes, not doubled by synthesized mouse events


# -- the panel's throttling ----------------------------------------------------------------------------
def test_strokes_send_one_request_at_a_time_and_catch_up_with_the_last(qtbot, panel, predictor, monkeypatch):
    sent: list[int] = []
    original = predictor.request_drawing

    def spy(drawing, request_id, submitted_at):
        sent.append(request_id)
        original(drawing, request_id, submitted_at)

    monkeypatch.setattr(predictor, "request_drawing", spy)
    draw(panel.canvas, [(0.3, 0.2), (0.6, 0.5), (0.3, 0.8)], steps=15)  # 30 moves, no event processed meanwhile
    assert len(sent) == 1  # the press; every move since found a request in flight
    wait_until_caught_up(qtbot, panel)
    assert len(sent) == 2  # ...and the latest drawing went as soon as the answer came
    assert np.array_equal(panel.preview.image(), preprocess_digit(panel.canvas.raster_array()))


def spy_requests(monkeypatch, predictor) -> list[tuple[int, float]]:
    """(request id, submitted_at) of every drawing the panel sends, as it sends it."""
    sent: list[tuple[int, float]] = []
    original = predictor.request_drawing

    def spy(drawing, request_id, submitted_at):
        sent.append((request_id, submitted_at))
        original(drawing, request_id, submitted_at)

    monkeypatch.setattr(predictor, "request_drawing", spy)
    return sent


def test_a_request_is_timed_from_the_oldest_change_it_shows(qtbot, panel, predictor, monkeypatch):
    wait_built(qtbot, predictor, 1)
    changes: list[float] = []
    panel.canvas.changed.connect(changes.append)
    shown: list[Prediction] = []
    panel.prediction_shown.connect(shown.append)
    sent = spy_requests(monkeypatch, predictor)
    draw(panel.canvas, [(0.3, 0.2), (0.6, 0.5), (0.3, 0.8)], steps=15)  # no answer can arrive meanwhile
    wait_until_caught_up(qtbot, panel)
    assert [t for _, t in sent] == [changes[0], changes[1]]  # the press; then the first move after it was sent
    assert changes[1] < changes[-1]  # ...not the last one: that would hide how long the first one waited
    assert shown[-1].request_id == sent[-1][0] and shown[-1].submitted_at == changes[1]


def test_fast_pointers_get_about_one_prediction_per_frame(qtbot, panel, predictor, monkeypatch):
    from playground.app.draw.panel import BURST, MIN_INTERVAL

    wait_built(qtbot, predictor, 1)
    canvas = panel.canvas
    QTest.mousePress(canvas, LEFT, NO_MOD, at(canvas, 0.2, 0.4))
    wait_until_caught_up(qtbot, panel)
    sent = spy_requests(monkeypatch, predictor)
    moves, started = 0, time.perf_counter()
    while time.perf_counter() - started < 0.4:  # a pen at several hundred Hz; the MLP answers in a millisecond
        moves += 1
        mouse_move(canvas, at(canvas, 0.2 + 0.006 * (moves % 100), 0.4 + 0.2 * (moves // 100 % 2)))
        qtbot.wait(1)
    elapsed = time.perf_counter() - started
    QTest.mouseRelease(canvas, LEFT, NO_MOD, at(canvas, 0.5, 0.5))
    wait_until_caught_up(qtbot, panel)
    assert len(sent) <= elapsed / MIN_INTERVAL + BURST + 2  # the release may add one
    assert moves > 2 * len(sent) and len(sent) >= 5
    assert np.array_equal(panel.preview.image(), preprocess_digit(canvas.raster_array()))  # caught up all the same


def test_a_60_hz_mouse_is_never_held_back(qtbot, panel, predictor, monkeypatch):
    wait_built(qtbot, predictor, 1)
    canvas = panel.canvas
    QTest.mousePress(canvas, LEFT, NO_MOD, at(canvas, 0.2, 0.5))
    wait_until_caught_up(qtbot, panel)
    sent = spy_requests(monkeypatch, predictor)
    for k in range(1, 16):
        moved = time.perf_counter()
        mouse_move(canvas, at(canvas, 0.2 + 0.04 * k, 0.5))
        assert len(sent) == k  # sent at once, not after a throttling delay
        wait_until_caught_up(qtbot, panel)
        qtbot.wait(max(1, round((1 / 60 - (time.perf_counter() - moved)) * 1000)))


def test_drawings_are_preprocessed_in_the_inference_process_once(qtbot, predictor, mlp, monkeypatch):
    import playground.core.data as data_module

    here: list[str] = []

    def recording(drawing):
        here.append(threading.current_thread().name)
        return preprocess_digit(drawing)

    monkeypatch.setattr(data_module, "preprocess_digit", recording)  # what this process would call
    drawing = np.zeros((RASTER_SIZE, RASTER_SIZE), np.uint8)
    drawing[60:220, 120:160] = 255
    expected = preprocess_digit(drawing)
    predictor.set_model(mlp, None, "mnist", 1)
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT) as blocker:
        predictor.request_drawing(drawing, 3, time.perf_counter())
        drawing[:] = 0  # the canvas draws on: the request has its own copy
    first: Prediction = blocker.args[0]
    assert first.request_id == 3 and np.array_equal(first.image, expected)
    assert here == []  # not in this process at all
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT) as again:  # new weights: classified again...
        predictor.set_model(mlp, random_weights(mlp, seed=2), "mnist", 2)
    assert again.args[0].weights_version == 2 and np.array_equal(again.args[0].image, expected)


def test_an_in_process_predictor_preprocesses_in_its_own_thread(qtbot, mlp, monkeypatch):
    import playground.core.data as data_module

    threads: list[str] = []

    def recording(drawing):
        threads.append(threading.current_thread().name)
        return preprocess_digit(drawing)

    monkeypatch.setattr(data_module, "preprocess_digit", recording)
    predictor = Predictor(in_process=True)
    try:
        drawing = np.zeros((RASTER_SIZE, RASTER_SIZE), np.uint8)
        drawing[60:220, 120:160] = 255
        predictor.set_model(mlp, None, "mnist", 1)
        with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT) as blocker:
            predictor.request_drawing(drawing, 1, time.perf_counter())
        assert np.array_equal(blocker.args[0].image, preprocess_digit(drawing))
        with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT):
            predictor.set_model(mlp, random_weights(mlp, seed=2), "mnist", 2)
        assert threads == ["playground-predictor"]  # once, and never in the GUI thread
    finally:
        predictor.shutdown()


def test_the_preview_is_rendered_once_per_image(panel):
    preview = panel.preview
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 12:15] = 255
    image[2, 3] = 77
    preview.set_image(image)
    preview.repaint()
    renders = preview.renders
    for _ in range(3):
        preview.repaint()
    assert preview.renders == renders  # a repaint blits the cached picture
    preview.set_image(image.T.copy())
    preview.repaint()
    assert preview.renders == renders + 1
    assert preview.width() == preview.height() == 4 * 28 + 2
    shot = preview.grab().toImage()
    for y, x in ((0, 0), (2, 3), (3, 2), (13, 13), (20, 27)):  # 4×4 device pixels per image pixel, in a frame
        assert shot.pixelColor(1 + 4 * x + 2, 1 + 4 * y + 2).red() == image.T[y, x]
    preview.set_image(None)
    preview.repaint()
    assert preview.image() is None and shot.pixelColor(0, 0) == preview.grab().toImage().pixelColor(0, 0)


def test_the_bars_update_only_the_rows_that_change(qtbot, panel):
    bars = panel.bars
    probabilities = np.array([0.5, 0.2, 0.1, 0.05, 0.05, 0.04, 0.03, 0.02, 0.005, 0.005], np.float32)
    bars.set_probabilities(probabilities)
    changed: list[QRectF] = []
    bars.scene().changed.connect(changed.extend)  # the scene's regions that need repainting

    def changed_after(new) -> QRectF | None:
        qtbot.wait(10)
        changed.clear()
        bars.set_probabilities(new)
        qtbot.wait(30)
        return functools.reduce(QRectF.united, changed) if changed else None

    assert changed_after(probabilities.copy()) is None  # the same picture
    new = probabilities.copy()
    new[2], new[3] = 0.12, 0.03
    region = changed_after(new)
    assert region.top() >= bars.row_rect(2).top() and region.bottom() <= bars.row_rect(3).bottom()
    assert region.left() >= bars.label_width()  # not the labels
    new[1] = 0.6  # a new top class: its label and the old one's change too
    region = changed_after(new)
    assert region.top() >= bars.row_rect(0).top() and region.bottom() <= bars.row_rect(1).bottom()
    assert region.left() < bars.label_width()
    assert bars.top_class() == 1


def test_the_bars_after_any_updates_look_like_fresh_bars_showing_the_last_one(qtbot):
    """The bars only touch the items that change: whatever came before, they end up as bars that were only ever
    given the last state."""
    from playground.app.draw import ProbabilityBars

    def fresh() -> ProbabilityBars:
        return on_screen(qtbot, ProbabilityBars(), 320, 240)

    rng = np.random.default_rng(0)
    states = [None, rng.dirichlet(np.ones(10)), rng.dirichlet(np.ones(10) * 0.1), None, np.eye(10)[3], None,
              rng.dirichlet(np.ones(10))]
    messages = ["draw a digit", "", "thinking…", "no prediction"]
    used = fresh()
    for i, probabilities in enumerate(states):
        message = messages[i % len(messages)]
        used.set_probabilities(probabilities, message)
        if i == 4:
            used.resize(360, 250)  # a new layout in between
        qtbot.wait(5)
        other = fresh()
        other.resize(used.size())
        other.set_probabilities(probabilities, message)
        qtbot.wait(5)
        assert used.grab().toImage() == other.grab().toImage(), f"after update {i}"
        other.close()


def test_repainting_the_bars_and_the_preview_runs_no_python(qtbot, panel):
    """Both repaint with every prediction while someone draws, and a call from Qt into Python would take the
    interpreter lock a training run needs: Qt paints them on its own (from items and a pixmap)."""
    image = np.zeros((28, 28), np.uint8)
    image[5:23, 12:16] = 255
    panel.preview.set_image(image)
    panel.bars.set_probabilities(np.linspace(0.01, 0.19, 10, dtype=np.float32))
    qtbot.wait(20)
    entered: list[str] = []

    def profile(frame, event, _arg):
        if event == "call":
            entered.append(frame.f_code.co_qualname)

    for widget in (panel.bars.viewport(), panel.preview):
        sys.setprofile(profile)
        try:
            widget.repaint()
        finally:
            sys.setprofile(None)
    assert entered == []
    shot = panel.preview.grab().toImage()  # and they did paint
    assert shot.pixelColor(1 + 4 * 13 + 2, 1 + 4 * 10 + 2).red() == 255 and shot.pixelColor(6, 6).red() == 0


def test_a_stroke_repaints_only_around_its_new_segment(panel, monkeypatch):
    canvas = panel.canvas
    QTest.mousePress(canvas, LEFT, NO_MOD, at(canvas, 0.3, 0.5))
    mouse_move(canvas, at(canvas, 0.33, 0.5))
    updates: list[tuple] = []
    monkeypatch.setattr(canvas, "update", lambda *args: updates.append(args))
    mouse_move(canvas, at(canvas, 0.36, 0.5))
    assert updates and all(len(args) == 4 for args in updates)  # rectangles, never the whole widget
    side = canvas.square().width()
    assert all(w * h < 0.05 * side * side for _, _, w, h in updates)
    x, y, w, h = updates[-1]
    point = at(canvas, 0.33, 0.5)  # the segment painted runs from the first move towards the second
    assert x <= point.x() <= x + w and y <= point.y() <= y + h


def test_partial_repaints_leave_what_a_full_repaint_shows(qtbot, panel, predictor):
    """The caches and partial updates (canvas segments, changed bar rows, the preview picture) leave on screen
    what painting the whole panel afresh gives: nothing stale, the placeholder text gone."""
    if QApplication.platformName() != "offscreen":
        pytest.skip("reads the backing store through the offscreen platform's window grab")
    wait_built(qtbot, predictor, 1)

    def pixels(image) -> np.ndarray:
        image = image.convertToFormat(image.Format.Format_RGB32)
        return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)[:, :image.width() * 4].copy()

    for points in ([(0.5, 0.2), (0.5, 0.5), (0.5, 0.8)], [(0.2, 0.3), (0.8, 0.3), (0.3, 0.9)]):
        QTest.mousePress(panel.canvas, LEFT, NO_MOD, at(panel.canvas, *points[0]))
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for i in range(1, 9):
                mouse_move(panel.canvas, at(panel.canvas, x0 + (x1 - x0) * i / 8, y0 + (y1 - y0) * i / 8))
                qtbot.wait(3)
        QTest.mouseRelease(panel.canvas, LEFT, NO_MOD, at(panel.canvas, *points[-1]))
        wait_until_caught_up(qtbot, panel)
        qtbot.wait(30)
        screen = pixels(QApplication.primaryScreen().grabWindow(panel.winId()).toImage()).astype(int)
        fresh = pixels(panel.grab().toImage())
        assert screen.shape == fresh.shape
        assert np.abs(screen - fresh).max() <= 2  # smooth scaling of a part of the raster may round differently


# -- the predictor -------------------------------------------------------------------------------------
def test_the_predictor_matches_predict_probabilities(qtbot, predictor, mlp):
    weights = random_weights(mlp, seed=3)
    image = np.zeros((28, 28), np.uint8)
    image[5:23, 12:16] = 255
    predictor.set_model(mlp, weights, "mnist", 7)
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT) as blocker:
        predictor.request(image, 1, time.perf_counter())
    prediction: Prediction = blocker.args[0]
    model = build_module(mlp, "cpu")
    model.load_state_dict(weights)
    expected = predict_probabilities(model, torch.from_numpy(image[None]), normalization_for("mnist"),
                                     loss_function(mlp))[0].numpy()
    assert prediction.request_id == 1 and prediction.weights_version == 7
    assert prediction.probabilities.dtype == np.float32 and prediction.probabilities.shape == (10,)
    assert prediction.probabilities.sum() == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose(prediction.probabilities, expected, rtol=1e-5, atol=1e-6)
    assert np.array_equal(prediction.image, image)
    # The model lives in the inference process, not in this one (whose interpreter lock training needs).
    assert predictor._inference.pid is not None and predictor._inference.pid != os.getpid()


def test_requests_are_a_mailbox_the_latest_wins(qtbot, predictor, mlp):
    predictor.set_model(mlp, None, "mnist", 1)
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT):  # built and warm
        predictor.request(np.zeros((28, 28), np.uint8), 0, time.perf_counter())
    got: list[Prediction] = []
    predictor.predicted.connect(got.append)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    for i in range(20):
        predictor.request(images[i], 100 + i, time.perf_counter())
    qtbot.waitUntil(lambda: bool(got) and got[-1].request_id == 119, timeout=TIMEOUT)
    qtbot.wait(50)
    assert len(got) < 10  # far fewer than 20: older requests were dropped
    assert got[-1].request_id == 119 and np.array_equal(got[-1].image, images[-1])
    assert [p.request_id for p in got] == sorted(p.request_id for p in got)


def test_new_weights_reclassify_the_latest_drawing(qtbot, predictor, mlp):
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 10:18] = 200
    predictor.set_model(mlp, None, "mnist", 1)
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT) as first:
        predictor.request(image, 5, time.perf_counter())
    built = predictor.inference_stats()["builds"]
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT) as second:
        predictor.set_model(mlp, random_weights(mlp, seed=9), "mnist", 2)
    assert second.args[0].request_id == 5 and second.args[0].weights_version == 2
    assert not np.allclose(first.args[0].probabilities, second.args[0].probabilities)
    assert predictor.inference_stats()["builds"] == built  # same graph: only the weights were loaded, nothing rebuilt


def test_weights_of_another_graph_are_reported_and_the_panel_stays_usable(qtbot, panel, predictor, mlp):
    draw_one(panel.canvas)
    wait_until_caught_up(qtbot, panel)
    changed = mlp.copy()
    changed.nodes["dense1"].params["units"] = 64
    with qtbot.waitSignal(predictor.failed, timeout=TIMEOUT) as blocker:
        predictor.set_model(changed, random_weights(mlp, seed=1), "mnist", 2)
    assert "do not fit" in blocker.args[0] and "dense1" in blocker.args[0]
    assert panel.bars.probabilities() is None and "do not fit" in panel.note.text()
    draw(panel.canvas, [(0.3, 0.3), (0.7, 0.3)])  # still draws; the request waits for a usable network
    assert not panel.canvas.is_empty()
    shown: list[Prediction] = []
    panel.prediction_shown.connect(shown.append)
    predictor.set_model(changed, random_weights(changed, seed=1), "mnist", 3)
    wait_until_caught_up(qtbot, panel)
    assert {p.weights_version for p in shown} == {3}
    assert "do not fit" not in panel.note.text()
    assert np.array_equal(shown[-1].image, panel.preview.image())
    assert np.array_equal(shown[-1].image, preprocess_digit(panel.canvas.raster_array()))


def test_a_graph_that_cannot_be_built_is_reported(qtbot, panel, predictor, mlp):
    panel.set_model_note("untrained weights")
    broken = mlp.copy()
    broken.disconnect(Edge("dense3", "output"))
    with qtbot.waitSignal(predictor.failed, timeout=TIMEOUT) as blocker:
        predictor.set_model(broken, None, "mnist", 2)
    assert "cannot be built" in blocker.args[0]
    assert "cannot be built" in panel.note.text()
    assert predictor.running
    with qtbot.waitSignal(panel.prediction_shown, timeout=TIMEOUT):
        predictor.set_model(mlp, None, "mnist", 3)
        draw_one(panel.canvas)
    assert panel.note.text() == "untrained weights"


def test_shutdown_joins_the_thread_and_is_idempotent(qtbot, mlp):
    predictor = Predictor()
    assert not predictor.running  # no thread until there is work
    predictor.set_model(mlp, None, "mnist", 1)
    thread = predictor._thread
    assert thread.is_alive() and not thread.daemon
    started = time.perf_counter()
    predictor.shutdown()
    assert not thread.is_alive() and time.perf_counter() - started < 2
    predictor.shutdown()
    predictor.request(np.zeros((28, 28), np.uint8), 1, 0.0)  # ignored: no new thread
    assert not predictor.running
    assert "playground-predictor" not in [t.name for t in threading.enumerate()]


# -- test digits -----------------------------------------------------------------------------------------
@pytest.fixture
def test_set():
    rng = np.random.default_rng(1)
    images = np.zeros((1100, 28, 28), np.uint8)  # more than two chunks of 500
    for k, image in enumerate(images):
        top, left = rng.integers(3, 10, size=2)
        image[top:top + 14, left:left + 4 + k % 10] = rng.integers(120, 256)
    labels = rng.integers(0, 10, size=len(images)).astype(np.int64)
    return images, labels


def test_test_digit_buttons_wait_for_a_test_set(panel, test_set):
    assert not panel.random_button.isEnabled() and not panel.mistakes_button.isEnabled()
    assert "dataset" in panel.random_button.toolTip() and "dataset" in panel.mistakes_button.toolTip()
    panel.set_test_set(*test_set)
    assert panel.random_button.isEnabled() and panel.mistakes_button.isEnabled()
    assert "1,100" in panel.random_button.toolTip()


def test_a_random_test_digit_goes_on_the_canvas(qtbot, panel, test_set):
    images, labels = test_set
    panel.set_classes(("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"))
    panel.set_test_set(images, labels)
    with qtbot.waitSignal(panel.prediction_shown, timeout=TIMEOUT):
        panel.random_button.click()
    match = re.fullmatch(r"test #(\d+) — true label (\w+)", panel.caption.text())
    assert match, panel.caption.text()
    index = int(match.group(1))
    assert match.group(2) == panel.bars.classes()[labels[index]]
    a = raster(panel.canvas)
    assert len(np.unique(a)) > 10  # scaled up smoothly, not in blocks
    # Scaled up and preprocessed again, it is (close to) the digit itself, re-centred. The fixture's
    # hard-edged bars blur when scaled up smoothly, the 4-pixel ones most: over all 1,100 the
    # correlation is 0.83-0.99, so 0.8 holds for whichever digit the button picks.
    seen = preprocess_digit(a).astype(float)
    assert np.corrcoef(seen.ravel(), preprocess_digit(images[index]).astype(float).ravel())[0, 1] > 0.8
    draw(panel.canvas, [(0.1, 0.1), (0.2, 0.1)])  # drawing over it: the caption no longer applies
    assert panel.caption.text() == ""


def test_show_image_is_undoable(panel):
    draw_one(panel.canvas)
    drawn = raster(panel.canvas)
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 8:20] = 255
    panel.show_image(digit, "a block")
    assert panel.caption.text() == "a block" and not np.array_equal(raster(panel.canvas), drawn)
    panel.canvas.undo()
    assert np.array_equal(raster(panel.canvas), drawn)


def test_mistakes_are_found_and_stepped_through(qtbot, panel, predictor, mlp, test_set):
    images, labels = test_set
    wait_built(qtbot, predictor, 1)
    weights = random_weights(mlp, seed=11)
    predictor.set_model(mlp, weights, "mnist", 2)
    panel.set_test_set(images, labels)
    with qtbot.waitSignal(predictor.mistakes_found, timeout=TIMEOUT) as blocker:
        panel.mistakes_button.click()
        assert not panel.mistakes_button.isEnabled()
    mistakes = blocker.args[0]
    model = build_module(mlp, "cpu")
    model.load_state_dict(weights)
    probabilities = predict_probabilities(model, torch.from_numpy(images), normalization_for("mnist")).numpy()
    predicted = probabilities.argmax(axis=1)
    assert sorted(m[0] for m in mistakes) == np.flatnonzero(predicted != labels).tolist()
    assert len(mistakes) > 100  # random weights: plenty
    confidences = [m[3] for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)
    for index, true, guess, confidence in mistakes[:50]:
        assert true == labels[index] and guess == predicted[index] != true
        assert confidence == pytest.approx(probabilities[index, guess], abs=1e-5)

    qtbot.waitUntil(lambda: panel.mistake_label.isVisible())
    assert panel.mistakes_button.isEnabled()
    index, true, guess, confidence = mistakes[0]
    assert panel.caption.text() == f"test #{index}: true {true}, predicted {guess} ({confidence:.0%})"
    assert panel.mistake_label.text() == f"mistake 1 of {len(mistakes):,}"
    panel.next_button.click()
    assert panel.caption.text().startswith(f"test #{mistakes[1][0]}:")
    panel.previous_button.click()
    panel.previous_button.click()  # wraps around to the last
    assert panel.caption.text().startswith(f"test #{mistakes[-1][0]}:")


def test_a_test_set_is_evaluated_with_one_version_of_the_weights_even_while_new_ones_keep_coming(
        qtbot, predictor, mlp, test_set):
    images, labels = np.tile(test_set[0], (5, 1, 1)), np.tile(test_set[1], 5)  # 11 chunks
    weights = random_weights(mlp, seed=5)
    predictor.set_model(mlp, weights, "mnist", 2)
    wait_built(qtbot, predictor, 2)
    results = []
    predictor.test_set_evaluated.connect(results.append)
    predictor.evaluate_test_set(images, labels)
    # A run publishes weights four times a second; here every 10 ms, far faster than 11 chunks are classified:
    # were the job started over with each, it would never end.
    newer = random_weights(mlp, seed=6)
    version = 2
    deadline = time.monotonic() + 30
    while not results and time.monotonic() < deadline:
        version += 1
        predictor.set_model(mlp, newer, "mnist", version)
        qtbot.wait(10)
    assert results, "the evaluation never ended while new weights kept coming"
    (result,) = results
    used = weights if result.weights_version == 2 else newer
    model = build_module(mlp, "cpu")
    model.load_state_dict(used)
    probabilities = predict_probabilities(model, torch.from_numpy(images), normalization_for("mnist")).numpy()
    assert result.images is images and result.labels is labels
    assert np.array_equal(result.predictions, probabilities.argmax(axis=1))
    assert np.allclose(result.confidences, probabilities.max(axis=1), atol=1e-5)
    assert result.accuracy == pytest.approx(float(np.mean(probabilities.argmax(axis=1) == labels)))
    # The newest weights are loaded once the test set is done with, not dropped.
    wait_built(qtbot, predictor, version)


def test_no_mistakes_says_so(qtbot, panel, predictor, mlp):
    images = np.zeros((3, 28, 28), np.uint8)
    images[:, 10:18, 10:18] = 255
    wait_built(qtbot, predictor, 1)
    model = build_module(mlp, "cpu")
    label = int(predict_probabilities(model, torch.from_numpy(images[:1]), normalization_for("mnist")).argmax())
    panel.set_test_set(images, np.full(3, label, dtype=np.int64))
    with qtbot.waitSignal(predictor.mistakes_found, timeout=TIMEOUT):
        panel.mistakes_button.click()
    assert panel.caption.text() == "No mistakes: all 3 test digits are classified correctly."
    assert not panel.next_button.isVisible()


def test_the_model_is_rebuilt_only_when_it_must_be(qtbot, predictor, mlp):
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255
    predictor.set_model(mlp, None, "mnist", 1)
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT) as initial:
        predictor.request(image, 1, time.perf_counter())
    built = predictor.inference_stats()["builds"]
    moved = mlp.copy()
    moved.nodes["dense1"].position = (500, 500)  # the layout is not the network
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT) as again:
        predictor.set_model(moved, None, "mnist", 2)
    assert predictor.inference_stats()["builds"] == built and again.args[0].weights_version == 2
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT):
        predictor.set_model(mlp, random_weights(mlp, seed=4), "mnist", 3)
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT) as reset:
        predictor.set_model(mlp, None, "mnist", 4)  # back to the initial weights: rebuilt
    np.testing.assert_array_equal(reset.args[0].probabilities, initial.args[0].probabilities)


def test_a_crash_of_the_inference_process_is_said_and_prediction_goes_on(qtbot, panel, predictor):
    import signal

    draw_one(panel.canvas)
    wait_until_caught_up(qtbot, panel)
    os.kill(predictor._inference.pid, signal.SIGKILL)
    with qtbot.waitSignal(predictor.failed, timeout=TIMEOUT) as blocker:
        draw(panel.canvas, [(0.3, 0.3), (0.7, 0.3)])
    assert "stopped unexpectedly" in blocker.args[0]
    # The relay gives the new process the model again; the next drawing is classified as before.
    qtbot.waitUntil(lambda: predictor._has_model, timeout=TIMEOUT)
    shown: list[Prediction] = []
    panel.prediction_shown.connect(shown.append)
    draw(panel.canvas, [(0.5, 0.5), (0.6, 0.8)])
    qtbot.waitUntil(lambda: bool(shown), timeout=TIMEOUT)
    assert predictor.running and "stopped" not in panel.note.text()


def test_looks_inside_wait_while_strokes_keep_coming_and_follow_the_pause(qtbot, predictor, mlp):
    from playground.app.predictor import DRAWING_PAUSE, INSIGHT_INTERVAL

    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255
    predictor.set_model(mlp, None, "mnist", 1)
    predictor.want_insight(True)
    with qtbot.waitSignal(predictor.insight_ready, timeout=TIMEOUT):  # warm: process started, model built
        predictor.request(image, 1, time.perf_counter())
    insights, predictions = [], []
    predictor.insight_ready.connect(insights.append)
    predictor.predicted.connect(predictions.append)
    for i in range(2, 42):  # 40 strokes, 20 ms apart: 0.8 s of drawing
        image[3 + i % 20, 5:9] = 255
        predictor.request(image, i, time.perf_counter())
        qtbot.wait(20)
    during = len(insights)
    assert len(predictions) > 10  # the strokes were being classified meanwhile...
    assert during <= 1  # ...and at most one look inside held them up (the every-2-s cap)
    qtbot.waitUntil(lambda: any(x.request_id == 41 for x in insights),
                    timeout=int((DRAWING_PAUSE + INSIGHT_INTERVAL) * 1000) + 2000)  # the pause: the last drawing
    assert np.array_equal(insights[-1].image, image)


def test_a_new_stroke_is_answered_before_new_weights_are_loaded(qtbot, predictor, mlp):
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255
    predictor.set_model(mlp, None, "mnist", 1)
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT):  # warm
        predictor.request(image, 1, time.perf_counter())
    got: list[Prediction] = []
    predictor.predicted.connect(got.append)
    with predictor._lock:  # both in the mailbox before the relay looks: new weights, then a new stroke
        predictor.set_model(mlp, random_weights(mlp, seed=5), "mnist", 2)
        image[3:6, 5:20] = 255
        predictor.request(image, 2, time.perf_counter())
    qtbot.waitUntil(lambda: [(p.request_id, p.weights_version) for p in got] == [(2, 1), (2, 2)], timeout=TIMEOUT)


def test_new_weights_wait_to_reclassify_while_strokes_keep_coming(qtbot, predictor, mlp):
    from playground.app.predictor import DRAWING_PAUSE

    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255
    predictor.set_model(mlp, None, "mnist", 1)
    with qtbot.waitSignal(predictor.predicted, timeout=TIMEOUT):  # warm
        predictor.request(image, 1, time.perf_counter() - 1)
    got: list[Prediction] = []
    predictor.predicted.connect(got.append)
    stroke_at = time.perf_counter()
    predictor.request(image, 2, stroke_at)  # a stroke, just now
    qtbot.waitUntil(lambda: bool(got), timeout=TIMEOUT)
    predictor.set_model(mlp, random_weights(mlp, seed=6), "mnist", 2)  # new weights mid-stroke
    qtbot.waitUntil(lambda: len(got) == 2, timeout=TIMEOUT)
    # Classified again with the new weights, but only once the pause after the stroke had passed.
    assert (got[1].request_id, got[1].weights_version) == (2, 2)
    assert time.perf_counter() - stroke_at >= DRAWING_PAUSE


def test_the_relay_wake_is_never_lost_and_drains():
    from playground.app.predictor import _Wake

    wake = _Wake()
    wake.set()
    wake.set()  # woken before it looks: the next wait returns at once, however many wakes came
    started = time.perf_counter()
    wake.wait(5.0)
    assert time.perf_counter() - started < 1.0
    started = time.perf_counter()
    wake.wait(0.05)  # drained: this one waits out its timeout
    assert time.perf_counter() - started >= 0.04
    woken = threading.Event()

    def sleeper():
        wake.wait(10.0)
        woken.set()

    thread = threading.Thread(target=sleeper)
    thread.start()
    time.sleep(0.05)
    wake.set()  # from another thread, as the GUI thread does
    assert woken.wait(5.0)
    thread.join()
    wake.close()
    wake.set()  # after closing (a post racing shutdown): nothing to wake, and no error
    wake.wait(0.01)
