"""Colour maps for the views, and the scale that goes with each picture.

Only perceptually uniform maps (equal steps in value look like equal steps in
colour): viridis for magnitudes (activations, counts, probabilities) and CET-D1A,
a blue-white-red diverging map, for signed values centred on zero (weights,
saliency); and for a GAN's discriminator on 2-D points, GAN Lab's colours:
CET-D2 reversed, violet (looks generated) through white (can't tell) to green
(looks real). The look-up tables come from pyqtgraph's bundled map files, so
nothing is fetched.

`colorize` turns a 2-D float array into colours with explicit levels (never
per-picture auto-scaling that hides how big values are; `render.py` makes the
pictures of them), and `ColorScale` is the small bar that states those levels
next to the picture.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

SEQUENTIAL = "viridis"
DIVERGING = "CET-D1A"
REVERSED = ":reversed"  # a map's name with this after it: the map from its other end
REALNESS = "CET-D2" + REVERSED  # violet-white-green: a GAN discriminator's 0 (generated) … 1 (real)


@functools.cache
def lut(name: str = SEQUENTIAL) -> np.ndarray:
    """uint8 [256, 3]: the map sampled at 256 points (read-only)."""
    import pyqtgraph as pg

    if name.endswith(REVERSED):
        table = lut(name.removesuffix(REVERSED))[::-1].copy()
    else:
        table = pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False).astype(np.uint8)
    table.setflags(write=False)
    return table


def symmetric_levels(values: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest finite |value| (1e-12 at least): zero sits in the map's middle."""
    finite = np.abs(values[np.isfinite(values)])
    m = float(finite.max()) if finite.size else 0.0
    m = max(m, 1e-12)
    return -m, m


def range_levels(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values; a constant array gets a range of 1e-12 around its value."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < 1e-12:
        hi = lo + 1e-12
    return lo, hi


def colorize(values: np.ndarray, levels: tuple[float, float], name: str = SEQUENTIAL) -> np.ndarray:
    """uint8 [H, W, 3]: `values` (2-D) through the map, clipped to `levels`; NaN shows as mid grey."""
    values = np.asarray(values, dtype=np.float32)
    lo, hi = levels
    scaled = (values - lo) * (255.0 / (hi - lo if hi > lo else 1.0))
    index = np.clip(np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0), 0, 255).astype(np.uint8)
    rgb = lut(name)[index]
    if np.isnan(values).any():
        rgb[np.isnan(values)] = (128, 128, 128)
    return rgb


def format_level(value: float) -> str:
    """A short number for a scale's end: 0.0123, -1.5, 3.2e-05, 1.2e+03."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = abs(value)
    if magnitude >= 1e4 or magnitude < 1e-3:
        return f"{value:.1e}"
    return f"{value:.3g}"


class ColorScale(QWidget):
    """A horizontal colour bar with its low and high values (and the middle for a diverging map), and a label
    that says what is measured ("activation", "weight", "gradient × input")."""

    def __init__(self, label: str = "", name: str = SEQUENTIAL, parent: QWidget | None = None):
        super().__init__(parent)
        self._label, self._name = label, name
        self._levels: tuple[float, float] = (0.0, 1.0)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(120)

    def set_scale(self, levels: tuple[float, float], name: str | None = None, label: str | None = None) -> None:
        self._levels = (float(levels[0]), float(levels[1]))
        if name is not None:
            self._name = name
        if label is not None:
            self._label = label
        self.update()

    def levels(self) -> tuple[float, float]:
        return self._levels

    def text(self) -> str:
        """What the scale says, as plain text (for tests and accessibility)."""
        lo, hi = self._levels
        return f"{self._label}: {format_level(lo)} … {format_level(hi)}".strip(": ")

    def sizeHint(self) -> QSize:
        return QSize(220, self.fontMetrics().height() * 2 + 10)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        fm = self.fontMetrics()
        text_h = fm.height()
        bar = QRectF(4, 2, self.width() - 8, max(6, self.height() - text_h - 6))
        gradient = QLinearGradient(bar.left(), 0, bar.right(), 0)
        table = lut(self._name)
        for i in range(0, 256, 16):
            r, g, b = (int(c) for c in table[i])
            gradient.setColorAt(i / 255, QColor(r, g, b))
        r, g, b = (int(c) for c in table[255])
        gradient.setColorAt(1.0, QColor(r, g, b))
        p.fillRect(bar, gradient)
        p.setPen(QPen(self.palette().color(self.foregroundRole())))
        lo, hi = self._levels
        y = int(bar.bottom()) + 2
        align_top = Qt.AlignmentFlag.AlignTop
        p.drawText(QRectF(bar.left(), y, bar.width(), text_h), Qt.AlignmentFlag.AlignLeft | align_top,
                   format_level(lo))
        p.drawText(QRectF(bar.left(), y, bar.width(), text_h), Qt.AlignmentFlag.AlignRight | align_top,
                   format_level(hi))
        middle = self._label if self._name != DIVERGING else f"{self._label}  (0 = white)".strip()
        p.drawText(QRectF(bar.left(), y, bar.width(), text_h), Qt.AlignmentFlag.AlignHCenter | align_top, middle)
        p.end()
