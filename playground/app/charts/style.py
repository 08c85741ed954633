"""Chart colours, derived from the widget palette so light and dark themes both work.

Each run keeps one hue (its swatch in the run list). The current run is drawn in
that hue at full strength; earlier runs are the same hue blended most of the way
towards the plot background and thinner, so they read as context, not data.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette, QPen

from ..editor.theme import blend, is_dark

# Categorical hues that stay readable on white and on a dark grey (Tableau 10, reordered; lighter for dark).
RUN_HUES_LIGHT = ("#1f77b4", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599", "#b08900", "#8c564b")
RUN_HUES_DARK = ("#5aa9e6", "#ff922b", "#69db7c", "#f783ac", "#b197fc", "#3bc9db", "#ffd43b", "#d0a48f")

MUTED_BLEND = 0.62  # how far an earlier run's hue moves towards the background
RAW_BLEND = 0.72  # the unsmoothed loss: texture behind the smoothed line, never competing with it


@dataclass(frozen=True)
class ChartTheme:
    background: QColor
    text: QColor
    dim_text: QColor
    axis: QColor
    grid_alpha: float
    crosshair: QColor
    readout_fill: QColor
    readout_border: QColor
    error: QColor
    dark: bool


def chart_theme(palette: QPalette) -> ChartTheme:
    role = QPalette.ColorRole
    base, text = palette.color(role.Base), palette.color(role.Text)
    dark = is_dark(palette)
    fill = QColor(base)
    fill.setAlphaF(0.92)
    return ChartTheme(
        background=base,
        text=text,
        dim_text=blend(base, text, 0.55),
        axis=blend(base, text, 0.6),
        grid_alpha=0.18 if dark else 0.12,
        crosshair=blend(base, text, 0.45),
        readout_fill=fill,
        readout_border=blend(base, text, 0.3),
        error=QColor("#ef5350" if dark else "#c62828"),
        dark=dark,
    )


def run_hue(index: int, theme: ChartTheme) -> QColor:
    hues = RUN_HUES_DARK if theme.dark else RUN_HUES_LIGHT
    return QColor(hues[index % len(hues)])


@dataclass(frozen=True)
class RunPens:
    """Every pen and brush one run needs, strong (current run) or muted (earlier runs)."""

    colour: QColor
    smoothed: QPen
    raw: QPen
    val: QPen  # validation: dashed
    train: QPen  # training per epoch (accuracy)
    lr: QPen
    symbol_size: float
    z: float


def run_pens(index: int, theme: ChartTheme, current: bool) -> RunPens:
    hue = run_hue(index, theme)
    colour = hue if current else blend(hue, theme.background, MUTED_BLEND)
    width = 2.0 if current else 1.2
    # Opaque rather than translucent: thousands of overlapping segments would add up to a solid colour.
    raw = blend(hue, theme.background, RAW_BLEND)
    return RunPens(
        colour=colour,
        smoothed=_pen(colour, width),
        raw=_pen(raw, 1.0),
        val=_pen(colour, width, Qt.PenStyle.DashLine),
        train=_pen(colour, width),
        lr=_pen(colour, width * 0.8),
        symbol_size=7.0 if current else 5.0,
        z=10.0 if current else 0.0,
    )


def _pen(colour: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(colour)
    pen.setWidthF(width)
    pen.setStyle(style)
    pen.setCosmetic(True)  # width in pixels whatever the zoom
    # pyqtgraph draws a solid line wider than 1 px as separate segments (faster than stroking one path). Square caps
    # close the joints between them as round ones do, at a third of the cost: a round cap is a polygon per segment.
    solid = style == Qt.PenStyle.SolidLine
    pen.setCapStyle(Qt.PenCapStyle.SquareCap if solid else Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen
