"""Drawing first: repaints that can wait, wait while strokes come (app/drawing_first.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer

import playground.app.drawing_first as drawing_first
from playground.app.charts import TrainingCharts
from playground.app.drawing_first import DrawingFirst


@pytest.fixture
def gate(qtbot, monkeypatch):
    monkeypatch.setattr(drawing_first, "PAUSE_S", 0.08)
    monkeypatch.setattr(drawing_first, "MAX_WAIT_S", 0.3)
    monkeypatch.setattr(drawing_first, "NO_ANSWER_S", 0.6)
    return DrawingFirst()


class Strokes:
    """A pointer moving every 10 ms, and optionally an answer after each movement."""

    def __init__(self, gate: DrawingFirst, answers: bool):
        self.gate, self.answers = gate, answers
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(self._move)

    def _move(self):
        self.gate.stroke()
        if self.answers:
            QTimer.singleShot(2, self.gate.answered)


def wait_held_repaint(qtbot, gate: DrawingFirst, answers: bool) -> tuple[float, float]:
    """When a repaint asked for while strokes keep coming (every 10 ms) was asked for, and when it ran."""
    calls = []
    strokes = Strokes(gate, answers)
    gate.stroke()
    strokes.timer.start()
    asked = time.monotonic()
    gate.run(lambda: calls.append(time.monotonic()))
    qtbot.waitUntil(lambda: bool(calls), timeout=3000)
    strokes.timer.stop()
    return asked, calls[0]


def test_a_repaint_runs_at_once_while_nobody_draws(gate):
    calls = []
    gate.run(lambda: calls.append(1))
    assert calls == [1] and gate.waiting == 0


def test_while_strokes_come_a_repaint_waits_once_and_runs_at_the_pause(qtbot, gate):
    calls = []

    def repaint():
        calls.append(time.monotonic())

    strokes = Strokes(gate, answers=False)
    gate.stroke()
    strokes.timer.start()
    for _ in range(5):  # asked for again and again: still one repaint
        gate.run(repaint)
        qtbot.wait(20)
    assert calls == [] and gate.waiting == 1
    strokes.timer.stop()
    stopped = time.monotonic()
    qtbot.waitUntil(lambda: bool(calls), timeout=2000)
    assert calls[0] - stopped >= drawing_first.PAUSE_S * 0.8 and len(calls) == 1 and gate.waiting == 0


def test_drawing_on_and_on_a_repaint_goes_right_after_an_answer_once_it_has_waited(qtbot, gate):
    answered_at = []
    gate.answered = lambda *a, _real=gate.answered: (answered_at.append(time.monotonic()), _real(*a))
    asked, ran = wait_held_repaint(qtbot, gate, answers=True)
    assert drawing_first.MAX_WAIT_S <= ran - asked < drawing_first.NO_ANSWER_S  # it waited, for an answer
    last_answer = max(t for t in answered_at if t <= ran)
    assert ran - last_answer < 0.05  # in the gap right after it (the next stroke comes 10 ms after)


def test_with_no_answers_a_repaint_waits_no_longer_than_no_answer_s(qtbot, gate):
    asked, ran = wait_held_repaint(qtbot, gate, answers=False)
    assert drawing_first.NO_ANSWER_S <= ran - asked < drawing_first.NO_ANSWER_S + 0.3


def test_the_charts_hold_their_repaint_while_strokes_come(qtbot, gate):
    charts = TrainingCharts()
    charts.schedule_repaints_with(gate.run)
    flushes = []
    charts.flush = lambda _real=charts.flush: (flushes.append(time.monotonic()), _real())[1]
    run_id = charts.begin_run("Run 1", 50)
    strokes = Strokes(gate, answers=False)
    gate.stroke()
    strokes.timer.start()
    for step in range(1, 30):
        charts.add_steps(run_id, np.array([step]), np.array([1.0 / step], np.float32), np.array([1e-3], np.float32))
        qtbot.wait(15)
    assert flushes == [] and charts.repaint_pending  # due, and held back
    strokes.timer.stop()
    qtbot.waitUntil(lambda: bool(flushes), timeout=2000)
    assert len(charts.plots.curves[run_id].raw.getOriginalDataset()[0]) == 29  # every step, drawn at the pause
