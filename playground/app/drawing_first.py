"""Drawing goes first: repaints that can wait, wait while a person draws on the digit canvas.

While a run trains on the CPU, the window has one core for drawing, predicting
and every view. A chart's or a view's repaint takes the GUI thread for 2-25 ms
in one piece, and a stroke's prediction that comes meanwhile waits for it: in
`bench --gui`, about one prediction in a hundred did (the p99 the issue sets a
target for). So those repaints go through `DrawingFirst.run`: at once while
nobody draws; while strokes keep coming, once the drawing pauses (PAUSE_S
without a stroke) or, for one that has waited MAX_WAIT_S, right after the next
prediction has been shown, when the GUI thread is free until the next stroke.
The views still update while a person draws, about once a second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer

PAUSE_S = 0.15  # no stroke for this long: the person has paused drawing
MAX_WAIT_S = 1.0  # while drawing goes on, a repaint waits at most about this long (then: after the next answer)
NO_ANSWER_S = 2.0  # ... and no longer than this when no answer comes (the network cannot predict, say)


class DrawingFirst(QObject):
    """GUI thread only. `stroke` at each stroke movement, `answered` after each prediction is shown."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._stroke_at = -math.inf  # time.monotonic() of the last stroke
        self._waiting: dict[Callable[[], None], float] = {}  # repaint -> when it was first held back
        self._pause_timer = QTimer(self)
        self._pause_timer.setSingleShot(True)
        self._pause_timer.setTimerType(Qt.TimerType.CoarseTimer)
        self._pause_timer.timeout.connect(self._on_pause_timer)

    @property
    def drawing(self) -> bool:
        return time.monotonic() - self._stroke_at < PAUSE_S

    @property
    def waiting(self) -> int:
        """Repaints held back now (for tests)."""
        return len(self._waiting)

    def run(self, repaint: Callable[[], None]) -> None:
        """Call `repaint` now, or, while strokes come, later (once however often it is asked for meanwhile)."""
        if not self.drawing:
            repaint()
            return
        self._waiting.setdefault(repaint, time.monotonic())
        self._wake_at_pause()

    def stroke(self, *_args) -> None:
        self._stroke_at = time.monotonic()

    def answered(self, *_args) -> None:
        """A prediction has just been shown: the repaints that waited MAX_WAIT_S go now, after the bars' own paint
        (a zero timer runs once the paint already posted is done)."""
        if self._waiting:
            self._release(MAX_WAIT_S, later=True)

    def _release(self, waited: float, later: bool = False) -> None:
        now = time.monotonic()
        due = [repaint for repaint, since in self._waiting.items() if now - since >= waited]
        for repaint in due:
            del self._waiting[repaint]
            if later:
                QTimer.singleShot(0, repaint)
            else:
                repaint()

    def _wake_at_pause(self) -> None:
        ms = max(1, math.ceil(1000 * (self._stroke_at + PAUSE_S - time.monotonic())))
        if not self._pause_timer.isActive() or self._pause_timer.remainingTime() > ms:
            self._pause_timer.start(ms)

    def _on_pause_timer(self) -> None:
        if self.drawing:  # strokes came since: wait for the pause they put off
            self._release(NO_ANSWER_S)
            if self._waiting:
                self._wake_at_pause()
            return
        self._release(0.0)


class HeldRepaints:
    """Mixed into a widget whose repaints may wait: it passes each due repaint to `when_free`, which calls it
    now, or through the scheduler given to `schedule_repaints_with` (the window's `DrawingFirst.run`)."""

    _schedule: Callable[[Callable[[], None]], None] | None = None

    def schedule_repaints_with(self, schedule: Callable[[Callable[[], None]], None] | None) -> None:
        self._schedule = schedule

    def when_free(self, repaint: Callable[[], None]) -> None:
        if self._schedule is None:
            repaint()
        else:
            self._schedule(repaint)
