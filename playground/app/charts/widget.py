"""`TrainingCharts`: the live loss/accuracy/learning-rate charts with the run history.

The training session calls `begin_run`, `add_steps`, `add_epoch` and `end_run`
from the GUI thread as the worker's messages arrive. Those calls only append to
numpy buffers (amortised O(1)) and mark the run dirty; a `QTimer` copies dirty
runs into their curves, and stops itself as soon as nothing is left to draw.
However fast the steps come, the plots repaint at most once every
`LIVE_TICK_MS` while a run trains, its per-epoch points at most once every
`LIVE_EPOCH_INTERVAL_S`, and once every `TICK_MS` otherwise (the smoothing
slider): while a run trains on the CPU, the window has one core for drawing,
predicting and every view. Each repaint is bounded by the pixels on screen
(clip-to-view and peak downsampling), not by the length of the run, and the
axes stay still while a run trains (see `ranges`), so they are not laid out
again at every repaint.
A repaint that falls due goes through `when_free`: the window holds it back
while a person draws (app/drawing_first.py).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from .. import dialogs
from ..drawing_first import HeldRepaints
from .axis import EPOCHS, STEPS
from .crosshair import Crosshair
from .export import write_csv, write_png
from .history import RunHistory
from .plots import ChartPlots
from .series import LIVE, EpochRecord, RunSeries
from .style import chart_theme, run_hue

TICK_MS = 100  # 10 repaints a second at most
# While a run trains: 2.5 repaints a second at most (each costs ~3-6 ms of GUI thread, so ~2.5% of a core in all).
LIVE_TICK_MS = 400
# The per-epoch points of a training run are redrawn at most this often: each redraw repaints the accuracy plot too,
# and a small dataset ends an epoch every few hundred milliseconds.
LIVE_EPOCH_INTERVAL_S = 1.0
DEFAULT_SMOOTHING = 0.8  # a little more than TensorBoard's 0.6: per-step losses of small batches are noisy


class TrainingCharts(HeldRepaints, QWidget):
    """Live training charts and the history of runs. GUI thread only; never touches torch."""

    run_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._runs: dict[int, RunSeries] = {}
        self._next_id = 1
        self._current: int | None = None  # the newest run: strong colours, the readout's values
        self._live: int | None = None  # the run between begin_run and end_run
        self._dirty: set[int] = set()  # runs whose buffers grew since the last repaint
        self._epochs_drawn_at: dict[int, float] = {}  # run id -> time.monotonic() of its last epoch redraw
        self._flushed_at = -math.inf  # time.monotonic() of the last drawing
        self._status_shown: dict[int, tuple] = {}  # run id -> what its row's status columns were last set from
        self._resmooth_pending = False
        self._smoothing = DEFAULT_SMOOTHING
        self._x_mode = STEPS

        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.CoarseTimer)
        self._timer.timeout.connect(self._on_timer)
        self._scheduled = False  # a repaint is due and with the scheduler

        self.plots = ChartPlots(self)
        self.history = RunHistory(self)
        self.crosshair = Crosshair(self.plots, self.current_run, lambda: self._x_mode)
        self._build_controls()

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.plots)
        splitter.addWidget(self.history)
        splitter.setStretchFactor(0, 1)  # the plots take what the window gains
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([800, 300])
        splitter.setChildrenCollapsible(False)
        self.history.setMinimumWidth(170)
        self.splitter = splitter

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(self._controls)
        layout.addWidget(splitter, 1)

        self.history.renamed.connect(self.rename_run)
        self.history.visibility_changed.connect(self.set_run_visible)
        self.history.remove_requested.connect(self.remove_run)
        self.history.remove_finished_requested.connect(self.remove_finished_runs)
        self.history.export_requested.connect(lambda run_id: self._ask_export_csv([self._runs[run_id]]))
        self.history.selected.connect(self.run_selected)
        self.plots.installEventFilter(self)
        self._apply_theme()

    def _build_controls(self) -> None:
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(round(self._smoothing * 100))
        self.smoothing_slider.setFixedWidth(120)
        self.smoothing_slider.setToolTip("Exponential moving average of the training loss (as in TensorBoard)")
        self.smoothing_label = QLabel(f"{self._smoothing:.2f}", self)
        self.smoothing_label.setMinimumWidth(self.smoothing_label.fontMetrics().horizontalAdvance("0.00") + 4)
        self.smoothing_slider.valueChanged.connect(lambda v: self.set_smoothing(v / 100))

        self.x_mode_combo = QComboBox(self)
        self.x_mode_combo.addItem("Steps", STEPS)
        self.x_mode_combo.addItem("Epochs", EPOCHS)
        self.x_mode_combo.setToolTip("Label the x axis in training steps or in epochs")
        self.x_mode_combo.currentIndexChanged.connect(lambda _: self.set_x_mode(self.x_mode_combo.currentData()))

        self.log_check = QCheckBox("Log scale", self)
        self.log_check.setToolTip("Show the loss on a logarithmic axis")
        self.log_check.toggled.connect(self.plots.set_log_loss)

        self.fit_button = QPushButton("Fit", self)
        self.fit_button.setToolTip("Show all the data again after zooming or panning (or double-click the plots)")
        self.fit_button.clicked.connect(self.plots.auto_range)
        self.export_png_button = QPushButton("Export PNG…", self)
        self.export_png_button.clicked.connect(self._ask_export_png)
        self.export_csv_button = QPushButton("Export CSV…", self)
        self.export_csv_button.setToolTip("All runs, one value per row: run, name, step, epoch, metric, value")
        self.export_csv_button.clicked.connect(lambda: self._ask_export_csv(self.runs()))

        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(QLabel("Smoothing", self))
        row.addWidget(self.smoothing_slider)
        row.addWidget(self.smoothing_label)
        row.addSpacing(12)
        row.addWidget(QLabel("X axis", self))
        row.addWidget(self.x_mode_combo)
        row.addSpacing(12)
        row.addWidget(self.log_check)
        row.addStretch(1)
        row.addWidget(self.fit_button)
        row.addWidget(self.export_png_button)
        row.addWidget(self.export_csv_button)
        self._controls = row
        self._update_export_buttons()

    # --- the training session's API ---------------------------------------------------------------------------

    def begin_run(self, name: str, steps_per_epoch: int, total_steps: int | None = None) -> int:
        """A new run; it becomes the current run and earlier runs turn muted. Returns its id.

        `total_steps`, the global step the run will end at if it completes, fixes the x range for the run's
        duration (unless the user zooms): an x axis that stays still is not re-laid out at every repaint.
        """
        if self._live is not None:  # the previous run never reported its end
            self.end_run(self._live, "stopped")
        run_id = self._next_id
        self._next_id += 1
        run = RunSeries(id=run_id, name=name, steps_per_epoch=max(1, int(steps_per_epoch)), colour_index=run_id - 1)
        self._runs[run_id] = run
        self._live = run_id
        self.plots.add_run(run)
        self.history.add_run(run, run_hue(run.colour_index, self._theme))
        self._make_current(run_id)
        self.plots.set_live(True, total_steps)
        self._update_export_buttons()
        return run_id

    def add_steps(self, run_id: int, steps: np.ndarray, losses: np.ndarray, lrs: np.ndarray) -> None:
        """Append a batch of steps (int64 global steps, float32 losses and learning rates); drawn on the next tick."""
        run = self._runs.get(run_id)
        if run is None:  # removed, or a late message for a run we never saw: nothing to draw it in
            return
        run.append_steps(steps, losses, lrs, self._smoothing)
        self._mark_dirty(run_id)

    def add_epoch(self, run_id: int, epoch: int, step: int, train_loss: float, train_accuracy: float,
                  val_loss: float | None, val_accuracy: float | None, lr: float) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        run.epochs.append(EpochRecord(int(epoch), int(step), float(train_loss), float(train_accuracy),
                                      None if val_loss is None else float(val_loss),
                                      None if val_accuracy is None else float(val_accuracy), float(lr)))
        self._mark_dirty(run_id)

    def set_paused(self, run_id: int, paused: bool) -> None:
        """The live run paused (its status says so) or going on."""
        run = self._runs.get(run_id)
        if run is not None and run.live and run.paused != paused:
            run.paused = paused
            self.history.set_status(run)

    def end_run(self, run_id: int, status: str) -> None:
        """The run is over ("completed", "stopped", "diverged", "failed", ...): it may be removed now."""
        run = self._runs.get(run_id)
        if self._live == run_id:
            self._live = None
            self.plots.set_live(False)  # the x range now fits the data
        if run is None:
            return
        run.status = status if status != LIVE else "stopped"
        self.history.update_run(run)
        self._mark_dirty(run_id)

    def runs(self) -> list[RunSeries]:
        """Every run kept, oldest first."""
        return list(self._runs.values())

    def run(self, run_id: int) -> RunSeries:
        return self._runs[run_id]

    def current_run(self) -> RunSeries | None:
        return self._runs.get(self._current) if self._current is not None else None

    @property
    def live_run_id(self) -> int | None:
        return self._live

    def rename_run(self, run_id: int, name: str) -> None:
        run = self._runs.get(run_id)
        name = name.strip()
        if run is None or not name or name == run.name:
            return
        run.name = name
        self.history.update_run(run)
        if run_id == self._current and self.crosshair.step is not None:
            self.crosshair.show_at(self.crosshair.step)

    def set_run_visible(self, run_id: int, visible: bool) -> None:
        run = self._runs.get(run_id)
        if run is None or run.visible == bool(visible):
            return
        run.visible = bool(visible)
        self.plots.set_run_visible(run)
        self.history.update_run(run)

    def remove_run(self, run_id: int) -> bool:
        """Forget a run and its curves. Refused (False) for the run that is still training."""
        if run_id == self._live or run_id not in self._runs:
            return False
        del self._runs[run_id]
        self._dirty.discard(run_id)
        self._epochs_drawn_at.pop(run_id, None)
        self._status_shown.pop(run_id, None)
        self.plots.remove_run(run_id)
        self.history.remove_run(run_id)
        if run_id == self._current:
            self._make_current(max(self._runs) if self._runs else None)
        if not self._runs:
            self.crosshair.hide()
        self._update_export_buttons()
        return True

    def remove_finished_runs(self) -> None:
        for run_id in [r for r in self._runs if r != self._live]:
            self.remove_run(run_id)

    # --- display options --------------------------------------------------------------------------------------

    @property
    def smoothing(self) -> float:
        return self._smoothing

    def set_smoothing(self, weight: float) -> None:
        """EMA weight 0..0.99. The whole smoothed lines are recomputed on the next tick, not on every slider move."""
        weight = min(0.99, max(0.0, float(weight)))
        if weight == self._smoothing:
            return
        self._smoothing = weight
        self.smoothing_label.setText(f"{weight:.2f}")
        if round(weight * 100) != self.smoothing_slider.value():
            self.smoothing_slider.blockSignals(True)
            self.smoothing_slider.setValue(round(weight * 100))
            self.smoothing_slider.blockSignals(False)
        self._resmooth_pending = True
        self._start_timer()

    @property
    def x_mode(self) -> str:
        return self._x_mode

    def set_x_mode(self, mode: str) -> None:
        """"steps" or "epochs": how the shared x axis is labelled (the data stays in steps)."""
        if mode not in (STEPS, EPOCHS):
            raise ValueError(f"x mode must be {STEPS!r} or {EPOCHS!r}, not {mode!r}")
        self._x_mode = mode
        index = self.x_mode_combo.findData(mode)
        if index != self.x_mode_combo.currentIndex():
            self.x_mode_combo.setCurrentIndex(index)  # calls back here once, harmlessly
        run = self.current_run()
        self.plots.set_x_mode(mode, run.steps_per_epoch if run else None)

    def set_log_loss(self, on: bool) -> None:
        self.log_check.setChecked(on)

    # --- export -----------------------------------------------------------------------------------------------

    def export_png(self, path: str | os.PathLike) -> None:
        """The plots as they are now (the hover readout left out), written atomically."""
        self.flush()
        step = self.crosshair.step
        self.crosshair.hide()
        try:
            write_png(self.plots, path)
        finally:
            if step is not None:
                self.crosshair.show_at(step)

    def export_csv(self, path: str | os.PathLike) -> None:
        write_csv(self.runs(), path)

    def _ask_export_png(self) -> None:
        path = _save_name(self, "Export charts as PNG", "training-charts.png", "PNG images (*.png)", ".png")
        if path:
            self._write(self.export_png, path)

    def _ask_export_csv(self, runs: list[RunSeries]) -> None:
        suggested = "training-runs.csv" if len(runs) != 1 else f"{_file_stem(runs[0].name)}.csv"
        path = _save_name(self, "Export training data as CSV", suggested, "CSV files (*.csv)", ".csv")
        if path:
            self._write(lambda p: write_csv(runs, p), path)

    def _write(self, export, path: str) -> None:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # 100,000s of steps take a moment to write
        try:
            export(path)
        except OSError as e:
            QApplication.restoreOverrideCursor()
            dialogs.error(self, "Export failed", f"Could not write {path}:\n{e.strerror or e}")
        else:
            QApplication.restoreOverrideCursor()

    def _update_export_buttons(self) -> None:
        for button in (self.export_png_button, self.export_csv_button):
            button.setEnabled(bool(self._runs))

    # --- repainting -------------------------------------------------------------------------------------------

    def _mark_dirty(self, run_id: int) -> None:
        self._dirty.add(run_id)
        self._start_timer()

    def _tick_ms(self) -> int:
        return LIVE_TICK_MS if self._live is not None else TICK_MS

    def _start_timer(self) -> None:
        """Draw one tick after the last drawing (at once after a pause), or sooner if that is already planned."""
        since_ms = min(1000 * (time.monotonic() - self._flushed_at), 1e6)
        delay = max(0, math.ceil(self._tick_ms() - since_ms))
        if not self._timer.isActive() or self._timer.remainingTime() > delay:
            self._timer.start(delay)

    @property
    def repaint_pending(self) -> bool:
        return self._timer.isActive() or self._scheduled

    def _on_timer(self) -> None:
        self._timer.stop()  # flush sets it again if more is to come
        self._scheduled = True
        self.when_free(self.flush)

    def flush(self) -> None:
        """Draw whatever changed since the last tick (the timer calls this; export and tests may call it too)."""
        now = self._flushed_at = time.monotonic()
        self._scheduled = False
        if self._resmooth_pending:
            self._resmooth_pending = False
            for run in self._runs.values():
                run.resmooth(self._smoothing)
                self.plots.resmoothed(run)
        dirty, self._dirty = self._dirty, set()
        for run_id in dirty:
            run = self._runs.get(run_id)
            if run is None:
                continue
            pending = self.plots.epochs_pending(run)
            epochs = not run.live or now - self._epochs_drawn_at.get(run_id, -math.inf) >= LIVE_EPOCH_INTERVAL_S
            self.plots.update_run(run, epochs=epochs)
            if pending and epochs:
                self._epochs_drawn_at[run_id] = now
            elif pending:
                self._dirty.add(run_id)  # its epochs are drawn later
            shown = (len(run.epochs), run.status, run.last_step > 0)  # what the run list's status columns show
            if self._status_shown.get(run_id) != shown:
                self._status_shown[run_id] = shown
                self.history.set_status(run)
        self.plots.update_ranges(if_stale=True)
        if self.crosshair.step is not None and self._current in dirty:
            self.crosshair.show_at(self.crosshair.step)
        if self._dirty:  # only epochs wait: come back when they are due (new steps bring that forward)
            due = min(self._epochs_drawn_at.get(r, now) for r in self._dirty) + LIVE_EPOCH_INTERVAL_S - now
            self._timer.start(max(self._tick_ms(), math.ceil(1000 * due)))
        else:
            self._timer.stop()  # idle until the next add_steps/add_epoch

    def _make_current(self, run_id: int | None) -> None:
        self._current = run_id
        for run in self._runs.values():
            self.plots.style_run(run, current=run.id == run_id)
        run = self.current_run()
        if run is not None:
            self.plots.set_x_mode(self._x_mode, run.steps_per_epoch)

    # --- palette ----------------------------------------------------------------------------------------------

    def _apply_theme(self) -> None:
        self._theme = chart_theme(self.palette())
        self.plots.apply_theme(self._theme)
        self.crosshair.apply_theme(self._theme)
        for run in self._runs.values():
            self.plots.style_run(run, current=run.id == self._current)
            self.history.update_run(run, run_hue(run.colour_index, self._theme))

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_theme()

    def eventFilter(self, watched, event):
        if watched is self.plots and event.type() == QEvent.Type.Leave:
            self.crosshair.hide()
        return super().eventFilter(watched, event)


def _file_stem(name: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_ " else "-" for c in name).strip().replace(" ", "-")
    return stem or "run"


def _save_name(parent: QWidget, caption: str, suggested: str, filters: str, extension: str) -> str:
    path, _ = dialogs.get_save_file_name(parent, caption, suggested, filters)
    if path and not os.path.splitext(path)[1]:
        path += extension
    return path
