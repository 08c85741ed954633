"""The Charts dock for a GAN run: both networks' losses, what the discriminator says, and the judge's verdict.

Per step (from `GanProgress`, about ten times a second): the discriminator's
and the generator's loss, and the discriminator's mean output on real and on
generated images (D(real), D(fake); 0.5 is where it can no longer tell them
apart). Per epoch (from `GanEpochEnded`): the share of 1,000 samples a frozen
digit classifier recognises, and how many classes they cover; few classes
covered is mode collapse, and the dock says so in those words.

As the classifier charts (`widget.py`): `add_steps` and `add_epoch` only append
to NumPy buffers and mark the run dirty; a timer copies them into the curves at
most every LIVE_TICK_MS while a run trains (`when_free`: after the Draw dock's
answers), with clip-to-view and downsampling, so a repaint costs the same at
500 steps as at 50,000. A run keeps at most MAX_POINTS steps: beyond that its
older half is thinned to every other point.

`TaskCharts` is the dock's widget: the classifier charts or these, as the open
network's task says (app/task.py).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from ...core.run.messages import GanEpochEnded, GanProgress
from ..drawing_first import HeldRepaints
from .export import write_png
from .series import GrowableArray
from .smoothing import EmaState, debiased_ema
from .style import chart_theme

LIVE_TICK_MS = 400  # while a run trains: 2.5 repaints a second at most
TICK_MS = 100
SMOOTHING = 0.9  # EMA weight of the smoothed lines (the raw steps are drawn faint behind them)
MAX_POINTS = 100_000
METRICS = ("loss_d", "loss_g", "d_real", "d_fake")
COLOURS = {"loss_d": "#1f77b4", "loss_g": "#e8590c", "d_real": "#2b8a3e", "d_fake": "#c2255c",
           "recognisable": "#7048e8", "coverage": "#0c8599"}
LABELS = {"loss_d": "D loss", "loss_g": "G loss", "d_real": "D(real)", "d_fake": "D(fake)"}
EMPTY_HINT = "Press Start (F5) to train the GAN — both networks' losses and D(real), D(fake) appear here"
COLLAPSE_WORDS = "mode collapse"


class GanSeries:
    """One GAN run's per-step columns (growable, thinned beyond MAX_POINTS) and per-epoch records. No Qt."""

    def __init__(self, name: str, steps_per_epoch: int, max_points: int = MAX_POINTS):
        self.name = name
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.max_points = max_points
        self.status = "running"
        self.steps = GrowableArray(np.int64)
        self.values = {k: GrowableArray(np.float32) for k in METRICS}
        self.smoothed = {k: GrowableArray(np.float64) for k in METRICS}
        self._ema = {k: EmaState() for k in METRICS}
        self.epochs: list[GanEpochEnded] = []
        self.thinned = 0  # how many times the older half was thinned

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last_step(self) -> int:
        return int(self.steps.view[-1]) if len(self.steps) else 0

    def append(self, progress: GanProgress) -> None:
        steps = np.asarray(progress.steps, dtype=np.int64).reshape(-1)
        keep = steps > self.last_step  # a repeat of steps already held (never expected): dropped
        if not keep.any():
            return
        self.steps.extend(steps[keep])
        for key in METRICS:
            values = np.asarray(getattr(progress, key), dtype=np.float32).reshape(-1)[keep]
            self.values[key].extend(values)
            smoothed, self._ema[key] = debiased_ema(values, SMOOTHING, self._ema[key])
            self.smoothed[key].extend(smoothed)
        if len(self.steps) > self.max_points:
            self._thin()

    def _thin(self) -> None:
        """Every other point of the older half goes (the newest half keeps full resolution)."""
        n = len(self.steps)
        half = n // 2
        keep = np.concatenate([np.arange(0, half, 2), np.arange(half, n)])
        for column in (self.steps, *self.values.values(), *self.smoothed.values()):
            column.replace(column.view[keep])
        self.thinned += 1

    def epoch_columns(self) -> dict[str, np.ndarray]:
        """Per epoch: the epoch number (1-based), the recognisable share in % and the classes covered (NaN where
        the run had no judge)."""
        def column(get) -> np.ndarray:
            return np.array([np.nan if get(e) is None else get(e) for e in self.epochs], dtype=np.float64)

        return {"epoch": np.array([e.epoch for e in self.epochs], dtype=np.float64),
                "recognisable": 100.0 * column(lambda e: e.recognisable),
                "coverage": column(lambda e: e.classes_covered)}


def collapse_text(epoch: GanEpochEnded | None) -> str:
    """The verdict on the latest epoch, with "mode collapse" in it when the judge saw few classes."""
    if epoch is None:
        return ""
    if epoch.recognisable is None:  # no judge; a GAN on points says how near its points lie instead
        said = epoch.verdict or "the judge is off: no recognisable share or class coverage"
        return f"Epoch {epoch.epoch}: D(real) {epoch.d_real:.2f}, D(fake) {epoch.d_fake:.2f} ({said})"
    verdict = epoch.verdict or (f"{epoch.recognisable:.0%} of the samples are recognisable, covering "
                                f"{epoch.classes_covered} of {epoch.num_classes} classes")
    if epoch.mode_collapse and COLLAPSE_WORDS not in verdict.lower():
        verdict = f"{COLLAPSE_WORDS}: {verdict}"
    return f"Epoch {epoch.epoch}: {verdict}"


def _curve(colour: str, width: float = 2.0, faint: bool = False, symbol: str | None = None) -> pg.PlotDataItem:
    c = QColor(colour)
    if faint:
        c.setAlphaF(0.25)
    item = pg.PlotDataItem(pen=pg.mkPen(c, width=1 if faint else width), connect="finite", antialias=False,
                           symbol=symbol, symbolBrush=c if symbol else None, symbolPen=c if symbol else None,
                           symbolSize=7)
    return item


class GanCharts(HeldRepaints, QWidget):
    """Live charts of a GAN run (the newest one). GUI thread only; never touches torch."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run: GanSeries | None = None
        self._dirty = False
        self._flushed_at = -math.inf
        self._drawn_epochs = -1
        self._drawn_steps = -1
        self._drawn_thinned = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.CoarseTimer)
        self._timer.timeout.connect(lambda: self.when_free(self.flush))
        self.repaints = 0  # for tests and the benchmark

        self.title = QLabel("GAN", self)
        self.title.setStyleSheet("font-weight: bold")
        self.verdict = QLabel("", self)
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        from ..viz.export import export_button, export_png_dialog

        self._export_dialog = export_png_dialog
        self.export_button = export_button("Save the GAN charts as a PNG picture",
                                           lambda: self._export_dialog(self, self.plots, "gan-charts.png"), self,
                                           enabled=False)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.title)
        top.addWidget(self.verdict, 1)
        top.addWidget(self.export_button)

        self.plots = pg.GraphicsLayoutWidget(self)
        self.plots.ci.layout.setContentsMargins(6, 6, 10, 6)
        self.loss = self._plot(0, 0, "Loss", colspan=2)
        self.dx = self._plot(1, 0, "D(x)", colspan=2)
        self.dx.setXLink(self.loss)
        self.loss.getAxis("bottom").setStyle(showValues=False)
        self.dx.getAxis("bottom").setLabel("step")
        self.recognisable = self._plot(2, 0, "Recognisable %")
        self.coverage = self._plot(2, 1, "Classes covered")
        for plot in (self.recognisable, self.coverage):
            plot.getAxis("bottom").setLabel("epoch")
            plot.getAxis("bottom").setTicks([[(1.0, "1"), (2.0, "2"), (3.0, "3")]])
            plot.setXRange(0.5, 3.5, padding=0)
        self.recognisable.setYRange(0, 100, padding=0.02)
        self.coverage.setYRange(0, 10, padding=0.02)
        self.plots.ci.layout.setRowStretchFactor(0, 4)
        self.plots.ci.layout.setRowStretchFactor(1, 3)
        self.plots.ci.layout.setRowStretchFactor(2, 3)

        self.raw = {k: _curve(COLOURS[k], faint=True) for k in METRICS}
        self.smooth = {k: _curve(COLOURS[k]) for k in METRICS}
        self.loss_legend = self.loss.addLegend(offset=(-8, 8), labelTextSize="8pt", colCount=2)
        self.dx_legend = self.dx.addLegend(offset=(-8, 8), labelTextSize="8pt", colCount=2)
        for key in METRICS:
            plot = self.loss if key.startswith("loss") else self.dx
            for item in (self.raw[key], self.smooth[key]):
                plot.addItem(item)
                item.setClipToView(True)
                item.setDownsampling(auto=True, method="peak")
            (self.loss_legend if plot is self.loss else self.dx_legend).addItem(self.smooth[key], LABELS[key])
        self.half_line = pg.InfiniteLine(0.5, angle=0, pen=pg.mkPen("#888888", width=1, style=Qt.PenStyle.DashLine))
        self.dx.addItem(self.half_line)  # where D can no longer tell real from generated
        self.recognisable_curve = _curve(COLOURS["recognisable"], symbol="o")
        self.coverage_curve = _curve(COLOURS["coverage"], symbol="s")
        self.recognisable.addItem(self.recognisable_curve)
        self.coverage.addItem(self.coverage_curve)
        self.collapse_label = pg.TextItem(COLLAPSE_WORDS, anchor=(1, 0))  # the plot's top right corner
        self.coverage.addItem(self.collapse_label, ignoreBounds=True)
        self.collapse_label.hide()

        self.hint = QLabel(EMPTY_HINT, self)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.hint)
        layout.addWidget(self.plots, 1)
        self._apply_theme()
        self._show_hint(True)

    def _plot(self, row: int, col: int, title: str, colspan: int = 1) -> pg.PlotItem:
        plot = self.plots.addPlot(row=row, col=col, colspan=colspan)
        plot.setLabel("left", title)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.getAxis("left").setWidth(52)
        plot.getAxis("left").enableAutoSIPrefix(False)  # no "(x0.001)" when D(x) hardly moves
        return plot

    def _apply_theme(self) -> None:
        theme = chart_theme(self.palette())
        self.plots.setBackground(theme.background)
        for plot in (self.loss, self.dx, self.recognisable, self.coverage):
            for name in ("left", "bottom"):
                plot.getAxis(name).setPen(theme.axis)
                plot.getAxis(name).setTextPen(theme.text)
        for legend in (self.loss_legend, self.dx_legend):
            legend.setLabelTextColor(theme.text)
        self.collapse_label.setColor(theme.error)
        self._error = theme.error

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_theme()

    def _show_hint(self, empty: bool) -> None:
        self.hint.setVisible(empty)
        self.export_button.setEnabled(not empty)

    # -- the run's life (RunLifecycle) ---------------------------------------------------------------------------
    def begin_run(self, name: str, steps_per_epoch: int, total_steps: int | None = None,
                  num_classes: int = 10, points: bool = False) -> None:
        """A new GAN run: it replaces the one shown. `points`: a GAN on 2-D points, which no judge sees (its
        epochs say how near the generated points lie to the real ones): no judge's charts."""
        self.run = GanSeries(name, steps_per_epoch)
        self._drawn_steps = self._drawn_epochs = -1
        self._drawn_thinned = 0
        self.title.setText(name)
        self._show_judge_charts(not points)
        self.verdict.setText("Training: how near the generated points lie comes after each epoch." if points else
                             "Training: the judge's verdict comes after each epoch.")
        self.verdict.setStyleSheet("")
        self.coverage.setYRange(0, max(1, num_classes), padding=0.02)
        self.collapse_label.hide()
        if total_steps:
            self.loss.setXRange(0, total_steps, padding=0.01)
        self.loss.enableAutoRange(axis="y")
        self.dx.enableAutoRange(axis="y")
        self._show_hint(False)
        self._mark_dirty()

    def _show_judge_charts(self, on: bool) -> None:
        for plot in (self.recognisable, self.coverage):
            plot.setVisible(on)
            plot.setMaximumHeight(1e6 if on else 0)  # a hidden plot would still keep its row's height
        self.plots.ci.layout.setRowStretchFactor(2, 3 if on else 0)

    def judge_charts_shown(self) -> bool:
        return self.recognisable.isVisible()

    def add_steps(self, progress: GanProgress) -> None:
        if self.run is not None and len(progress.steps):
            self.run.append(progress)
            self._mark_dirty()

    def add_epoch(self, epoch: GanEpochEnded) -> None:
        if self.run is not None:
            self.run.epochs.append(epoch)
            self._mark_dirty()

    def end_run(self, status: str) -> None:
        if self.run is not None:
            self.run.status = status
            self._mark_dirty()

    @property
    def live(self) -> bool:
        return self.run is not None and self.run.status == "running"

    # -- reading (tests, screenshots) ----------------------------------------------------------------------------
    def verdict_text(self) -> str:
        return self.verdict.text()

    def mode_collapse_shown(self) -> bool:
        return self.collapse_label.isVisible()

    # -- repainting ----------------------------------------------------------------------------------------------
    def _mark_dirty(self) -> None:
        self._dirty = True
        if self._timer.isActive():
            return
        tick = LIVE_TICK_MS if self.live else TICK_MS
        since = 1000 * (time.monotonic() - self._flushed_at)
        self._timer.start(max(0, math.ceil(tick - min(since, 1e6))))

    @property
    def repaint_pending(self) -> bool:
        return self._timer.isActive()

    def flush(self) -> None:
        """Copy what changed into the curves (the timer calls this; export and tests may too)."""
        self._flushed_at = time.monotonic()
        run = self.run
        if run is None or not self._dirty:
            return
        self._dirty = False
        self.repaints += 1
        if len(run) != self._drawn_steps or run.thinned != self._drawn_thinned:
            x = run.steps.view
            for key in METRICS:
                self.raw[key].setData(x, run.values[key].view)
                self.smooth[key].setData(x, run.smoothed[key].view)
            self._drawn_steps, self._drawn_thinned = len(run), run.thinned
            if not self.live:
                self.loss.enableAutoRange(axis="x")
        if len(run.epochs) != self._drawn_epochs:
            self._drawn_epochs = len(run.epochs)
            self._draw_epochs(run)

    def _draw_epochs(self, run: GanSeries) -> None:
        columns = run.epoch_columns()
        epochs = columns["epoch"]
        for item, values in ((self.recognisable_curve, columns["recognisable"]),
                             (self.coverage_curve, columns["coverage"])):
            keep = np.isfinite(values)
            item.setData(epochs[keep], values[keep])
        last_epoch = float(epochs[-1]) if len(epochs) else 3.0
        end = max(3.0, last_epoch)
        # Whole epochs only: a tick per epoch while they fit, then pyqtgraph's own.
        ticks = [[(float(i), str(i)) for i in range(1, int(end) + 1)]] if end <= 12 else None
        for plot in (self.recognisable, self.coverage):
            plot.setXRange(0.5, end + 0.5, padding=0)
            plot.getAxis("bottom").setTicks(ticks)
        latest = run.epochs[-1] if run.epochs else None
        if latest is None:
            return  # the verdict comes with the first epoch's end
        collapsed = latest is not None and latest.mode_collapse
        text = collapse_text(latest)
        self.verdict.setText(text)
        self.verdict.setStyleSheet(f"color: {self._error.name()};" if collapsed else "")
        self.collapse_label.setVisible(collapsed)
        if collapsed:
            classes = max(1, latest.num_classes)
            self.collapse_label.setPos(end + 0.45, classes * 1.02)

    # -- export --------------------------------------------------------------------------------------------------
    def export_png(self, path: str | os.PathLike) -> None:
        self.flush()
        write_png(self.plots, path)


class TaskCharts(QStackedWidget):
    """The Charts dock's widget: the classifier charts, or the GAN charts for a GAN."""

    def __init__(self, classifier: QWidget, gan: GanCharts, parent: QWidget | None = None):
        super().__init__(parent)
        self.classifier, self.gan = classifier, gan
        self.addWidget(classifier)
        self.addWidget(gan)

    def show_task(self, task: str) -> None:
        self.setCurrentWidget(self.gan if task == "generation" else self.classifier)
