"""The shared x axis: global steps, labelled either as steps or as epochs.

The data always stays in steps (runs with different batch sizes still line up,
and nothing is recomputed when the mode changes); in epoch mode only the tick
positions and labels are converted, using the current run's steps per epoch.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF

STEPS, EPOCHS = "steps", "epochs"


def format_step(step: float) -> str:
    return f"{round(step):,}"


def format_epoch(epochs: float, places: int = 2) -> str:
    text = f"{epochs:.{places}f}"
    if "." in text:  # "2.50" -> "2.5", "3.00" -> "3"; but "20" stays "20"
        text = text.rstrip("0").rstrip(".")
    return text or "0"


class StepAxis(pg.AxisItem):
    """A bottom axis over global steps whose ticks read as steps ("12,500") or as epochs ("2.5")."""

    def __init__(self, **kwargs):
        super().__init__("bottom", **kwargs)
        self.enableAutoSIPrefix(False)  # "12,500", not "12.5 (×1e3)"
        self.mode = STEPS
        self.steps_per_epoch = 1

    def set_mode(self, mode: str, steps_per_epoch: int | None = None) -> None:
        if steps_per_epoch:
            self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.mode = mode
        if self.label.isVisible():
            self.setLabel("epoch" if mode == EPOCHS else "step")
        self.picture = None  # drop the cached tick picture
        self.update()

    def tickValues(self, minVal, maxVal, size):
        if self.mode != EPOCHS:
            levels = super().tickValues(minVal, maxVal, size)
            # Steps are whole numbers: no ticks between them when zoomed right in.
            return [(spacing, values) for spacing, values in levels if spacing >= 1] or levels[:1]
        spe = self.steps_per_epoch
        levels = super().tickValues(minVal / spe, maxVal / spe, size)
        return [(spacing * spe, [v * spe for v in values]) for spacing, values in levels]

    def tickStrings(self, values, scale, spacing):
        if self.mode != EPOCHS:
            return [format_step(v * scale) for v in values]
        spe = self.steps_per_epoch
        places = max(0, math.ceil(-math.log10(spacing / spe))) if spacing > 0 else 0
        return [format_epoch(v * scale / spe, places) for v in values]


def format_compact(value: float) -> str:
    """Small numbers the way people write learning rates: 0.01, 3e-4, 1.5e-5."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.4g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


class CompactAxis(pg.AxisItem):
    """A left axis whose labels stay narrow: "3e-4" rather than "0.0003", and in log mode only 1, 2 and 5 × 10^k
    (pyqtgraph labels every minor decade tick, which piles up as 0.9 0.8 0.7 ... on a short axis)."""

    def __init__(self, **kwargs):
        self._titles: tuple[str, str] | None = None  # before AxisItem's __init__, which resizes the axis
        super().__init__("left", **kwargs)
        self.enableAutoSIPrefix(False)

    def set_title(self, title: str, short: str) -> None:
        """Label the axis `title`, or `short` while the axis is too short for it: a rotated label longer than
        its axis runs on into the next plot's and reads as one ("Learning rate Accuracy (%)")."""
        self._titles = (title, short)
        self._fit_title()

    def resizeEvent(self, ev=None):
        self._fit_title()
        super().resizeEvent(ev)

    def _fit_title(self) -> None:
        if self._titles is None:
            return
        title, short = self._titles
        width = QFontMetricsF(self.label.font()).horizontalAdvance(title) + 2 * self.label.document().documentMargin()
        fits = width <= self.size().height()
        wanted = title if fits else short
        if wanted != self.labelText or not self.label.isVisible():
            self.setLabel(wanted)

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            return self.logTickStrings(values, scale, spacing)
        places = max(0, math.ceil(-math.log10(spacing * scale))) if spacing > 0 else 0
        if places <= 3 and all(abs(v * scale) < 1e5 for v in values):
            return [f"{v * scale:.{places}f}" for v in values]
        return [format_compact(v * scale) for v in values]  # a diverged loss: "2e7", not "20000000"

    def logTickStrings(self, values, scale, spacing):
        strings = []
        for v in values:
            real = 10.0**v
            mantissa = real / 10.0 ** math.floor(math.log10(real) + 1e-9)
            keep = any(abs(mantissa - m) < 1e-6 * m for m in (1.0, 2.0, 5.0))
            strings.append(format_compact(float(f"{real:.3g}")) if keep else "")
        return strings
