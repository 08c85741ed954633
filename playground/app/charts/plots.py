"""The three plots (loss, accuracy, learning rate) and the curves each run draws in them.

`ChartPlots` only draws: it is told which run is current, which runs are
visible, and when to copy a run's buffers into its curves (`update_run`). When
that happens is the widget's business (a throttled timer), never the data's.

It also chooses the view ranges itself (see `ranges`): pyqtgraph's auto-range
is off for good. Until the user zooms or pans, `update_ranges` keeps the views
fitted, with a fixed x range while a run of known length trains and hysteresis
in y, so that the axes (whose ticks and labels are the costly part of a repaint)
are re-laid out rarely; each axis is also cached as a pixmap between changes.
A zoom or pan by the user turns this off until Fit (or a double-click).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem, QLabel

from .axis import EPOCHS, STEPS, CompactAxis, StepAxis
from .ranges import ANCHOR, Range, RunningBounds, bounds_of, union, x_live_end, x_padded, y_range
from .series import RunSeries
from .style import ChartTheme, run_pens

EMPTY_HINT = "Press Start (F5) to train — loss and accuracy appear here"
LEFT_AXIS_WIDTH = 58  # the same for every plot, so that the linked x axes line up


class _StaticSample(pg.ItemSample):
    """A legend sample that does not hide its curve when clicked (run visibility belongs to the run list)."""

    def mouseClickEvent(self, event):
        event.ignore()


@dataclass
class RunCurves:
    """The plot items of one run."""

    raw: pg.PlotDataItem  # loss per step, faint
    smoothed: pg.PlotDataItem  # EMA of the loss per step
    val_loss: pg.PlotDataItem  # per epoch, at the epoch's last step
    train_acc: pg.PlotDataItem
    val_acc: pg.PlotDataItem
    lr: pg.PlotDataItem
    steps_drawn: int = -1
    compactions_drawn: int = 0  # RunSeries.compactions when its steps were last drawn
    epochs_drawn: int = -1
    current: bool = True
    visible: bool = True
    # What the view ranges need, kept up to date by `update_run` (from the new points only).
    last_step: int = 0
    raw_bounds: RunningBounds = field(default_factory=RunningBounds)
    smoothed_bounds: RunningBounds = field(default_factory=RunningBounds)
    lr_bounds: RunningBounds = field(default_factory=RunningBounds)
    val_loss_values: np.ndarray = field(default_factory=lambda: np.empty(0))
    accuracy_values: np.ndarray = field(default_factory=lambda: np.empty(0))

    def items(self) -> tuple[pg.PlotDataItem, ...]:
        return (self.raw, self.smoothed, self.val_loss, self.train_acc, self.val_acc, self.lr)


def _step_curve() -> pg.PlotDataItem:
    # Step numbers are sorted (clip-to-view needs that); non-finite losses leave gaps instead of breaking the line.
    # Never antialiased, whatever pyqtgraph's global option says: an antialiased 2 px line of a few hundred points
    # takes ~5 ms to draw, the segments pyqtgraph draws without it ~0.3 ms (on the GUI thread, holding the GIL).
    return pg.PlotDataItem(connect="finite", autoDownsampleFactor=1.0, antialias=False)


class _Markers(pg.ScatterPlotItem):
    """pyqtgraph's scatter recomputes its bounding rect, pixel size included (~50 µs of Python), at each of the
    four or so calls Qt makes per item and repaint. This one keeps it while it stays valid: pyqtgraph replaces
    `bounds` whenever the data or the view transform change, and `_maxSpotPxWidth` follows the symbol size."""

    _rect: QRectF | None = None
    _rect_key: tuple | None = None

    def boundingRect(self):
        key = (getattr(self, "bounds", None), getattr(self, "_maxSpotPxWidth", None))
        if self._rect is None or key[0] is None or key[0] is not self._rect_key[0] or key[1] != self._rect_key[1]:
            self._rect = super().boundingRect()
            self._rect_key = key
        return self._rect


class _EpochCurve(pg.PlotDataItem):
    """A per-epoch line with markers, drawn by `_Markers`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        replaced, self.scatter = self.scatter, _Markers()
        replaced.setParentItem(None)
        self.scatter.setParentItem(self)
        self.scatter.hide()  # until there is data, as pyqtgraph's own was (its click and hover signals: unused here)


def _epoch_curve() -> pg.PlotDataItem:
    # A handful of points, filtered to finite values before setData: no finite check, no downsampling.
    return _EpochCurve(symbol="o", skipFiniteCheck=True)


def _set_cached(item: pg.PlotDataItem, cached: bool) -> None:
    """Draw the item from a pixmap until its data or the view changes (for what changes less often than a repaint)."""
    mode = QGraphicsItem.CacheMode.DeviceCoordinateCache if cached else QGraphicsItem.CacheMode.NoCache
    for child in (item.curve, item.scatter):
        if child.cacheMode() != mode:
            child.setCacheMode(mode)


def _set_tree_cached(item: QGraphicsItem) -> None:
    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    for child in item.childItems():
        _set_tree_cached(child)


def _add(plot: pg.PlotItem, item: pg.PlotDataItem, downsample: str | None = None) -> None:
    plot.addItem(item)  # (this applies the plot's own clip/downsampling settings to the item: set ours after)
    if downsample:
        item.setClipToView(True)  # only the visible x range is turned into a path
        # About one sample per pixel column: repainting costs the same at 500 steps as at 50,000.
        item.setDownsampling(auto=True, method=downsample)


class ChartPlots(pg.GraphicsLayoutWidget):
    """Loss (tall), accuracy and learning rate stacked with one shared x axis, plus the empty-state hint."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.ci.layout.setContentsMargins(6, 6, 10, 6)
        self.ci.layout.setVerticalSpacing(4)
        self.loss = self._add_plot(0, "Loss", "Loss")
        self.accuracy = self._add_plot(1, "Accuracy (%)", "Acc. %")
        self.lr = self._add_plot(2, "Learning rate", "LR")
        self.ci.layout.setRowStretchFactor(0, 5)
        self.ci.layout.setRowStretchFactor(1, 3)
        self.ci.layout.setRowStretchFactor(2, 2)
        for plot in (self.accuracy, self.lr):
            plot.setXLink(self.loss)
        # Only the bottom plot labels the shared x axis; the others keep the ticks for the grid.
        for plot in (self.loss, self.accuracy):
            plot.getAxis("bottom").setStyle(showValues=False)
            plot.getAxis("bottom").setHeight(6)
        self.lr.getAxis("bottom").setLabel("step")
        self.loss_legend = self._legend(self.loss, offset=(-8, 8), columns=2)
        self.accuracy_legend = self._legend(self.accuracy, offset=(-8, -8), columns=2)
        self.curves: dict[int, RunCurves] = {}
        self._theme: ChartTheme | None = None

        # View ranges (see the module's docstring).
        self.live = False  # a run is training
        self.live_total: int | None = None  # ... and will end at this global step
        self.auto_x = True  # False once the user zoomed or panned, until Fit
        self.auto_y = {plot: True for plot in self.plots()}
        self._x_range: Range | None = None  # the x range update_ranges last set ...
        self._x_end: float | None = None  # ... and the last step it was made for (a live run of unknown length)
        self._y_ranges: dict[pg.PlotItem, Range | None] = {plot: None for plot in self.plots()}
        self._ranges_stale = False  # update_run saw data that may move a view
        for plot in self.plots():
            plot.vb.sigRangeChangedManually.connect(lambda mask, plot=plot: self._user_changed_range(plot, mask))

        self.hint = QLabel(EMPTY_HINT, self)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.hint.setFont(font)
        self.loss.vb.sigResized.connect(self._place_hint)
        self.update_hint()

    def plots(self) -> tuple[pg.PlotItem, pg.PlotItem, pg.PlotItem]:
        return self.loss, self.accuracy, self.lr

    def _add_plot(self, row: int, title: str, short_title: str) -> pg.PlotItem:
        plot = self.addPlot(row=row, col=0, axisItems={"bottom": StepAxis(), "left": CompactAxis()})
        plot.getAxis("left").set_title(title, short_title)
        plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        for name in ("left", "bottom"):
            # Major and minor grid lines only: pyqtgraph's third level triples the lines and the paint time.
            plot.getAxis(name).setStyle(maxTickLevel=1)
            # Drawn from a pixmap between range changes: the tick labels and grid are the costly part of a repaint.
            plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.setMenuEnabled(False)  # pyqtgraph's menu duplicates our controls (log, export) with its own dialogs
        plot.hideButtons()  # pyqtgraph's "A" button: the Fit button and double-click do this for all three plots
        plot.vb.disableAutoRange()  # update_ranges does it, without refitting at every new point
        return plot

    def _legend(self, plot: pg.PlotItem, offset, columns: int = 1) -> pg.LegendItem:
        legend = pg.LegendItem(
            offset=offset, sampleType=_StaticSample, labelTextSize="8pt", verSpacing=-6, colCount=columns)
        legend.layout.setContentsMargins(2, 0, 6, 0)  # pyqtgraph's default frame is roomy for a small plot
        legend.setParentItem(plot.vb)
        legend.hide()  # until there is a run to explain
        return legend

    def mouseDoubleClickEvent(self, event):
        """Double-click anywhere on the plots: fit all data again (after zooming or panning)."""
        self.auto_range()
        event.accept()

    def auto_range(self) -> None:
        """Fit: fit all the data again and keep fitting it (the Fit button, a double-click)."""
        self.auto_x = True
        self._x_range = None  # set it again even if the data did not change: the user may have moved the view
        for plot in self.plots():
            self.auto_y[plot] = True
        self.update_ranges(refit=True)

    # --- theme ------------------------------------------------------------------------------------------------

    def apply_theme(self, theme: ChartTheme) -> None:
        self._theme = theme
        self.setBackground(theme.background)
        for plot in self.plots():
            plot.showGrid(x=True, y=True, alpha=theme.grid_alpha)
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(theme.axis)
                axis.setTextPen(theme.text)
        for legend in (self.loss_legend, self.accuracy_legend):
            legend.setBrush(theme.readout_fill)
            legend.setPen(theme.readout_border)
            legend.setLabelTextColor(theme.text)
        self.hint.setStyleSheet(f"color: {theme.dim_text.name()}; background: transparent;")

    # --- runs -------------------------------------------------------------------------------------------------

    def add_run(self, run: RunSeries) -> RunCurves:
        curves = RunCurves(
            raw=_step_curve(),
            smoothed=_step_curve(),
            val_loss=_epoch_curve(),
            train_acc=_epoch_curve(),
            val_acc=_epoch_curve(),
            lr=_step_curve(),
        )
        _add(self.loss, curves.raw, "peak")  # peak: a spike in the loss survives downsampling
        _add(self.loss, curves.smoothed, "mean")
        _add(self.loss, curves.val_loss)
        _add(self.accuracy, curves.train_acc)
        _add(self.accuracy, curves.val_acc)
        _add(self.lr, curves.lr, "peak")
        self.curves[run.id] = curves
        self.update_hint()
        return curves

    def remove_run(self, run_id: int) -> None:
        curves = self.curves.pop(run_id, None)
        if curves is None:
            return
        for legend in (self.loss_legend, self.accuracy_legend):
            for item in curves.items():
                legend.removeItem(item)
        for plot, items in (
            (self.loss, (curves.raw, curves.smoothed, curves.val_loss)),
            (self.accuracy, (curves.train_acc, curves.val_acc)),
            (self.lr, (curves.lr,)),
        ):
            for item in items:
                plot.removeItem(item)
        self.update_hint()
        self.update_ranges()

    def style_run(self, run: RunSeries, current: bool) -> None:
        """Strong pens for the current run, muted ones for earlier runs; the legend follows the current run."""
        assert self._theme is not None, "apply_theme first"
        curves = self.curves[run.id]
        curves.current = current
        pens = run_pens(run.colour_index, self._theme, current)
        curves.smoothed.setPen(pens.smoothed)
        curves.raw.setPen(pens.raw)
        curves.lr.setPen(pens.lr)
        # Per epoch: training solid with hollow markers, validation dashed with filled ones (in every plot).
        curves.train_acc.setPen(pens.train)
        curves.train_acc.setSymbolBrush(self._theme.background)
        for item in (curves.val_loss, curves.val_acc):
            item.setPen(pens.val)
            item.setSymbolBrush(pens.colour)
        for item in (curves.val_loss, curves.train_acc, curves.val_acc):
            item.setSymbolPen(pg.mkPen(pens.colour, width=1.2))
            item.setSymbolSize(pens.symbol_size)
        for item in curves.items():
            item.setZValue(pens.z)
        self._sync_visibility(run)
        if current:
            self._set_legend(curves)

    def _set_legend(self, curves: RunCurves) -> None:
        self.loss_legend.clear()
        self.loss_legend.addItem(curves.smoothed, "train (smoothed)")  # the faint per-step line explains itself
        self.loss_legend.addItem(curves.val_loss, "validation")
        self.accuracy_legend.clear()
        self.accuracy_legend.addItem(curves.train_acc, "train")
        self.accuracy_legend.addItem(curves.val_acc, "validation")
        for legend in (self.loss_legend, self.accuracy_legend):
            _set_tree_cached(legend)  # the curves' repaints pass over the legends: blit them, do not lay them out

    def _refresh_legends(self) -> None:
        """Redraw the legends' cached pictures: a sample draws its curve's style as it is when painted (an eye when
        the curve is hidden; pyqtgraph's default marker until the markers have data)."""
        for legend in (self.loss_legend, self.accuracy_legend):
            for sample, _ in legend.items:
                sample.update()

    def set_run_visible(self, run: RunSeries) -> None:
        self._sync_visibility(run)

    def _sync_visibility(self, run: RunSeries) -> None:
        curves = self.curves[run.id]
        curves.visible = run.visible
        for item in curves.items():
            # Earlier runs show the smoothed loss only: their raw noise would bury the current run.
            item.setVisible(run.visible and (item is not curves.raw or curves.current))
        if curves.current:
            self._refresh_legends()
        self.update_ranges()

    def epochs_pending(self, run: RunSeries) -> bool:
        """The run has epoch records its curves do not show yet."""
        return len(run.epochs) != self.curves[run.id].epochs_drawn

    def update_run(self, run: RunSeries, epochs: bool = True) -> None:
        """Copy the run's buffers into its curves: numpy views, no copies. The per-epoch curves are redrawn only
        when an epoch was added, and not at all if `epochs` is false (the widget spaces their redraws)."""
        curves = self.curves[run.id]
        # Pixmap caches pay off for what is repainted more often than it changes: everything of a finished run;
        # of a training run, the validation loss points (repainted with its loss lines at every tick, changed
        # once an epoch). Its accuracy points are repainted only when they change: a cache would only add a copy.
        for item in curves.items():
            _set_cached(item, not run.live or item is curves.val_loss)
        n = len(run._steps)
        if run.compactions != curves.compactions_drawn:  # the oldest steps were thinned: redraw all, new bounds
            curves.compactions_drawn, curves.steps_drawn = run.compactions, -1
            for bounds in (curves.raw_bounds, curves.smoothed_bounds, curves.lr_bounds):
                bounds.reset()
        if n != curves.steps_drawn:
            x = run._steps.view
            curves.raw.setData(x, run._losses.view)
            curves.smoothed.setData(x, run._smoothed.view)
            curves.lr.setData(x, run._lrs.view)
            curves.steps_drawn = n
            curves.last_step = int(x[-1]) if n else 0
            for bounds, values in ((curves.raw_bounds, run._losses.view), (curves.smoothed_bounds, run._smoothed.view),
                                   (curves.lr_bounds, run._lrs.view)):
                if bounds.update(values):
                    self._ranges_stale = True
            if self.live_total is None or curves.last_step > self.live_total:
                self._ranges_stale = True  # the x range follows the data
        if not epochs or len(run.epochs) == curves.epochs_drawn:
            return
        first = curves.epochs_drawn <= 0
        columns = run.epoch_arrays()
        step = columns["step"]
        for item, values, scale in (
            (curves.val_loss, columns["val_loss"], 1.0),
            (curves.train_acc, columns["train_accuracy"], 100.0),
            (curves.val_acc, columns["val_accuracy"], 100.0),
        ):
            keep = np.isfinite(values)
            item.setData(step[keep], values[keep] * scale)
        curves.epochs_drawn = len(run.epochs)
        curves.val_loss_values = columns["val_loss"]
        curves.accuracy_values = 100.0 * np.concatenate([columns["train_accuracy"], columns["val_accuracy"]])
        self._ranges_stale = True
        if curves.current and first:
            self._refresh_legends()  # a legend marker is drawn from its curve's markers, styled with their first data

    def resmoothed(self, run: RunSeries) -> None:
        """The smoothing weight changed: the smoothed buffer was rewritten in place."""
        curves = self.curves[run.id]
        curves.smoothed.setData(run._steps.view, run._smoothed.view)
        curves.smoothed_bounds.reset()
        curves.smoothed_bounds.update(run._smoothed.view)
        self._ranges_stale = True

    # --- view ranges ------------------------------------------------------------------------------------------

    def set_live(self, live: bool, total_steps: int | None = None) -> None:
        """A run is training (ending at global step `total_steps`, if known) or none is."""
        self.live = bool(live)
        self.live_total = int(total_steps) if live and total_steps and total_steps > 0 else None
        self.update_ranges()

    @property
    def auto_ranging(self) -> bool:
        """True while every view follows the data (no zoom or pan since the last Fit)."""
        return self.auto_x and all(self.auto_y.values())

    def _user_changed_range(self, plot: pg.PlotItem, mask) -> None:
        """A zoom or pan with the mouse: leave that view where the user put it, until Fit."""
        if mask is None or mask[0]:
            self.auto_x = False  # the x axis is shared
        if mask is None or mask[1]:
            self.auto_y[plot] = False

    def update_ranges(self, refit: bool = False, if_stale: bool = False) -> None:
        """Move the views that follow the data, if the data asks for it. `refit`: fit y afresh (no hysteresis);
        `if_stale`: only if `update_run` has seen new extremes since the last time (the repaint timer's case)."""
        if if_stale and not self._ranges_stale:
            return
        self._ranges_stale = False
        if not self.curves:
            return
        shown = [c for c in self.curves.values() if c.visible]
        if self.auto_x:
            self._update_x_range(shown)
        for plot in self.plots():
            if not self.auto_y[plot]:
                continue
            bounds = self._y_bounds(plot, shown)
            if bounds is None:
                continue
            lo, hi = bounds
            # Losses and learning rates are never negative, accuracies never above 100%: the views stop there.
            # A learning rate is shown from 0: its schedule's shape is the point, and a decaying one then does not
            # move the axis at every repaint.
            floor = 0.0 if lo >= 0 and not (plot is self.loss and self.loss_log) else None
            ceiling = 100.0 if plot is self.accuracy and hi <= 100 else None
            current = None if refit else self._y_ranges[plot]
            target = y_range(current, lo, hi, floor, ceiling, anchor=1.0 if plot is self.lr else ANCHOR)
            if target != self._y_ranges[plot] or refit:
                self._y_ranges[plot] = target
                plot.vb.setYRange(*target, padding=0)
                plot.vb.updateMatrix()  # now, not while painting: that would ask for a second repaint

    def _update_x_range(self, shown: list[RunCurves]) -> None:
        last = max((c.last_step for c in shown), default=0)
        if self.live and self.live_total:
            end = float(max(last, self.live_total))  # fixed from the start of the run: a still x axis
        elif self.live:
            if last <= 0:
                return
            end = self._x_end if self._x_end is not None and last <= self._x_end else x_live_end(last)
        elif last > 0:
            end = float(last)
        else:
            return
        target = x_padded(0.0, end)
        if target != self._x_range:
            self._x_range, self._x_end = target, end
            self.loss.vb.setXRange(*target, padding=0)  # the other plots are linked to it
            for plot in self.plots():
                plot.vb.updateMatrix()

    def _y_bounds(self, plot: pg.PlotItem, shown: list[RunCurves]) -> Range | None:
        if plot is self.loss:
            log = self.loss_log
            parts = []
            for c in shown:
                parts.append(c.smoothed_bounds.get(log))
                if c.current:
                    parts.append(c.raw_bounds.get(log))
                parts.append(bounds_of(c.val_loss_values, log))
            return union(parts)
        if plot is self.accuracy:
            return union(bounds_of(c.accuracy_values) for c in shown)
        return union(c.lr_bounds.get() for c in shown)

    @property
    def loss_log(self) -> bool:
        return bool(self.loss.ctrl.logYCheck.isChecked())

    # --- axes -------------------------------------------------------------------------------------------------

    def set_log_loss(self, on: bool) -> None:
        x_range = self.loss.vb.viewRange()[0]
        self.loss.setLogMode(y=on)  # (pyqtgraph auto-ranges both axes at once here, and leaves auto-range on)
        self.loss.vb.disableAutoRange()
        self.loss.vb.setXRange(*x_range, padding=0)  # x is as it was: log or not, the steps are the same
        # The old y range is in the other coordinates (log10 or not): fit the loss afresh.
        self.auto_y[self.loss] = True
        self._y_ranges[self.loss] = None
        self.update_ranges()

    def set_x_mode(self, mode: str, steps_per_epoch: int | None = None) -> None:
        assert mode in (STEPS, EPOCHS)
        for plot in self.plots():
            plot.getAxis("bottom").set_mode(mode, steps_per_epoch)

    @property
    def x_axis(self) -> StepAxis:
        return self.lr.getAxis("bottom")

    # --- empty state ------------------------------------------------------------------------------------------

    def set_legends_visible(self, visible: bool) -> None:
        """The hover readout hides the legends (it says the same, where the legend would be)."""
        for legend in (self.loss_legend, self.accuracy_legend):
            legend.setVisible(visible and bool(self.curves))

    def update_hint(self) -> None:
        empty = not self.curves
        self.hint.setVisible(empty)
        self.set_legends_visible(not empty)
        if empty:
            self._empty_ranges()
        self._place_hint()

    def _empty_ranges(self) -> None:
        """Plausible axes while there is no data (pyqtgraph would show 0..1 everywhere); the next data refits."""
        self.auto_x = True
        self._x_range = self._x_end = None
        for plot in self.plots():
            self.auto_y[plot] = True
            self._y_ranges[plot] = None
        self.loss.vb.setRange(xRange=(0, 1000), yRange=(0, 2.5), padding=0)
        self.accuracy.vb.setRange(yRange=(0, 100), padding=0)
        self.lr.vb.setRange(yRange=(0, 1e-3), padding=0)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._place_hint()

    def _place_hint(self) -> None:
        if not hasattr(self, "hint"):  # pyqtgraph resizes during its own __init__
            return
        # Centred over the loss plot's data area, the first place a person looks.
        area = self.mapFromScene(self.loss.vb.sceneBoundingRect()).boundingRect()
        if area.width() < 50 or area.height() < 20:
            area = self.rect()
        self.hint.setGeometry(area.adjusted(12, 0, -12, 0))
