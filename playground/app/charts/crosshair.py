"""Hover readout: a vertical line through all three plots and a label with the current run's values there.

Mouse moves arrive through pyqtgraph's `SignalProxy`, which passes on at most
`RATE_HZ` of them a second: the mouse can report hundreds of moves a second, and
each readout searches the run's buffers, lays out the label and repaints a strip
of all three plots (~5-7 ms on the GUI thread, holding the GIL a training run in
this process needs).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Qt

from .axis import EPOCHS, format_compact, format_epoch, format_step
from .plots import ChartPlots
from .series import RunSeries
from .style import ChartTheme

RATE_HZ = 20


class Crosshair(QObject):
    """Owns the lines and the label; asks `current_run()` whose values to show."""

    def __init__(self, plots: ChartPlots, current_run: Callable[[], RunSeries | None], x_mode: Callable[[], str]):
        super().__init__(plots)
        self._plots = plots
        self._current_run = current_run
        self._x_mode = x_mode
        self.lines = []
        for plot in plots.plots():
            line = pg.InfiniteLine(angle=90, movable=False)
            line.setZValue(50)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.lines.append(line)
        self.label = pg.TextItem(anchor=(0, 0))
        self.label.setZValue(60)
        self.label.hide()
        plots.loss.addItem(self.label, ignoreBounds=True)
        self._theme: ChartTheme | None = None
        self._proxy = pg.SignalProxy(
            plots.scene().sigMouseMoved, rateLimit=RATE_HZ, slot=self._on_mouse_moved, threadSafe=False)
        self.step: float | None = None  # where the readout is, None while hidden
        self._html = ""  # what the label shows

    def apply_theme(self, theme: ChartTheme) -> None:
        self._theme = theme
        pen = pg.mkPen(theme.crosshair, width=1, style=Qt.PenStyle.DashLine)
        for line in self.lines:
            line.setPen(pen)
        self.label.fill = pg.mkBrush(theme.readout_fill)
        self.label.border = pg.mkPen(theme.readout_border)
        self.label.update()

    def _on_mouse_moved(self, args) -> None:
        pos: QPointF = args[0]
        for plot in self._plots.plots():
            if plot.vb.sceneBoundingRect().contains(pos):
                self.show_at(plot.vb.mapSceneToView(pos).x())
                return
        self.hide()

    def show_at(self, step: float) -> None:
        """Put the line at `step` (x in steps) and fill the label; hidden when there is no current run."""
        run = self._current_run()
        if run is None or self._theme is None or not math.isfinite(step):
            self.hide()
            return
        self.step = step
        for line in self.lines:
            line.setPos(step)
            line.show()
        text = readout_html(run, step, self._theme, self._x_mode())
        if text != self._html:  # laying the label out is most of a readout's cost: not for the same text
            self._html = text
            self.label.setHtml(text)
        (x0, x1), (_, y1) = self._plots.loss.vb.viewRange()
        # Keep the label on the side of the line with more room, so it never runs off the plot.
        self.label.setAnchor((1, 0) if step > (x0 + x1) / 2 else (0, 0))
        self.label.setPos(step, y1)  # y1 is in view coordinates: already log10 in log mode
        self.label.show()
        self._plots.set_legends_visible(False)

    def hide(self) -> None:
        if self.step is not None:
            self._plots.set_legends_visible(True)
        self.step = None
        for line in self.lines:
            line.hide()
        self.label.hide()


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)  # "nan", "inf": a diverged run says so
    return f"{100 * value:.2f}%" if percent else f"{value:.4g}"


def readout_html(run: RunSeries, step: float, theme: ChartTheme, x_mode: str) -> str:
    """The label's text: where the mouse is, then the run's values at the nearest recorded step."""
    dim = theme.dim_text.name()
    spe = max(1, run.steps_per_epoch)
    i = run.index_at(step)
    at = float(run.steps[i]) if i is not None else step
    where = [f"step {format_step(at)}", f"epoch {format_epoch(at / spe)}"]
    if x_mode == EPOCHS:
        where.reverse()
    rows: list[tuple[str, str]] = []
    if i is not None:
        rows.append(("loss", f"{_fmt(float(run.smoothed[i]))} <span style='color:{dim}'>"
                             f"(raw {_fmt(float(run.losses[i]))})</span>"))
        rows.append(("learning rate", format_compact(float(run.lrs[i]))))
    epoch = run.epoch_at(at)
    if epoch is not None:
        rows.append((f"<i>after epoch {epoch.epoch}</i>", ""))
        rows.append(("val loss", _fmt(epoch.val_loss)))
        rows.append(("accuracy", f"{_fmt(epoch.train_accuracy, True)} train"))
        rows.append(("", f"{_fmt(epoch.val_accuracy, True)} val"))
    cells = "".join(
        f"<tr><td style='color:{dim}; padding-right:8px'>{label}</td><td>{value}</td></tr>" for label, value in rows)
    return (f"<div style='color:{theme.text.name()}; font-size:8pt'>"
            f"<b>{html.escape(run.name)}</b><br><span style='color:{dim}'>{' · '.join(where)}</span>"
            f"<table cellspacing='0' cellpadding='0'>{cells}</table></div>")
