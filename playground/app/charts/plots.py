"""The three plots (loss, accuracy, learning rate) and the curves each run draws in them.

`ChartPlots` only draws: it is told which run is current, which runs are
visible, and when to copy a run's buffers into its curves (`update_run`). When
that happens is the widget's business (a throttled timer), never the data's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel

from .axis import EPOCHS, STEPS, CompactAxis, StepAxis
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
    epochs_drawn: int = -1
    current: bool = True

    def items(self) -> tuple[pg.PlotDataItem, ...]:
        return (self.raw, self.smoothed, self.val_loss, self.train_acc, self.val_acc, self.lr)


def _step_curve() -> pg.PlotDataItem:
    # Step numbers are sorted (clip-to-view needs that); non-finite losses leave gaps instead of breaking the line.
    return pg.PlotDataItem(connect="finite", autoDownsampleFactor=1.0)


def _epoch_curve() -> pg.PlotDataItem:
    # A handful of points, filtered to finite values before setData: no finite check, no downsampling.
    return pg.PlotDataItem(symbol="o", skipFiniteCheck=True)


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
        self.loss = self._add_plot(0, "Loss")
        self.accuracy = self._add_plot(1, "Accuracy (%)")
        self.lr = self._add_plot(2, "Learning rate")
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

    def _add_plot(self, row: int, title: str) -> pg.PlotItem:
        plot = self.addPlot(row=row, col=0, axisItems={"bottom": StepAxis(), "left": CompactAxis()})
        plot.setLabel("left", title)
        plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        for name in ("left", "bottom"):
            # Major and minor grid lines only: pyqtgraph's third level triples the lines and the paint time.
            plot.getAxis(name).setStyle(maxTickLevel=1)
        plot.setMenuEnabled(False)  # pyqtgraph's menu duplicates our controls (log, export) with its own dialogs
        plot.hideButtons()  # pyqtgraph's "A" button: the Fit button and double-click do this for all three plots
        plot.vb.setDefaultPadding(0.03)
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
        for plot in self.plots():
            plot.enableAutoRange()

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

    def set_run_visible(self, run: RunSeries) -> None:
        self._sync_visibility(run)

    def _sync_visibility(self, run: RunSeries) -> None:
        curves = self.curves[run.id]
        for item in curves.items():
            # Earlier runs show the smoothed loss only: their raw noise would bury the current run.
            item.setVisible(run.visible and (item is not curves.raw or curves.current))

    def update_run(self, run: RunSeries) -> None:
        """Copy the run's buffers into its curves: numpy views, no copies; epoch curves only when an epoch was added."""
        curves = self.curves[run.id]
        n = len(run._steps)
        if n != curves.steps_drawn:
            x = run._steps.view
            curves.raw.setData(x, run._losses.view)
            curves.smoothed.setData(x, run._smoothed.view)
            curves.lr.setData(x, run._lrs.view)
            curves.steps_drawn = n
        if len(run.epochs) != curves.epochs_drawn:
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

    def resmoothed(self, run: RunSeries) -> None:
        """The smoothing weight changed: the smoothed buffer was rewritten in place."""
        curves = self.curves[run.id]
        curves.smoothed.setData(run._steps.view, run._smoothed.view)

    # --- axes -------------------------------------------------------------------------------------------------

    def set_log_loss(self, on: bool) -> None:
        self.loss.setLogMode(y=on)

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
        """Plausible axes while there is no data (pyqtgraph would show 0..1 everywhere); auto-range stays on."""
        self.loss.vb.setRange(xRange=(0, 1000), yRange=(0, 2.5), padding=0, disableAutoRange=False)
        self.accuracy.vb.setRange(yRange=(0, 100), padding=0, disableAutoRange=False)
        self.lr.vb.setRange(yRange=(0, 1e-3), padding=0, disableAutoRange=False)

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
