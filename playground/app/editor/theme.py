"""Editor colours, derived from the widget palette so light and dark themes both work.

Only the accents (layer families, errors) are fixed hues, chosen to read on
light and dark backgrounds; everything else is a palette role or a blend of two.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

GROUP_ACCENTS = {
    "Input/Output": "#8a8f98",
    "Dense": "#4f86d9",
    "Convolution": "#2ca58d",
    "Pooling": "#57b8c9",
    "Normalization": "#b08fd8",
    "Recurrent": "#e0a030",
    "Attention": "#e26d5a",
    "Merge": "#d67bb0",
    "Activation": "#8fb83c",
}
UNKNOWN_ACCENT = "#9e9e9e"


def blend(a: QColor, b: QColor, t: float) -> QColor:
    """`a` moved a fraction `t` towards `b`."""
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3], strict=True)))


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


@dataclass(frozen=True)
class Theme:
    background: QColor  # the scene's, behind the grid
    grid: QColor
    node: QColor
    node_border: QColor
    text: QColor
    dim_text: QColor
    selection: QColor
    error: QColor
    wire: QColor
    label_fill: QColor
    port: QColor
    candidate: QColor


def theme(palette: QPalette) -> Theme:
    role = QPalette.ColorRole
    base, window, text = palette.color(role.Base), palette.color(role.Window), palette.color(role.Text)
    dark = is_dark(palette)
    background = blend(window, base, 0.35)
    return Theme(
        background=background,
        grid=blend(background, text, 0.18),
        node=blend(base, window, 0.0) if not dark else blend(base, text, 0.06),
        node_border=blend(background, text, 0.35),
        text=text,
        dim_text=blend(base, text, 0.62),
        selection=palette.color(role.Highlight),
        error=QColor("#ef5350" if dark else "#c62828"),
        wire=blend(background, text, 0.55),
        label_fill=background,
        port=blend(base, text, 0.45),
        candidate=QColor("#43a047" if not dark else "#66bb6a"),
    )


def accent(group: str | None) -> QColor:
    return QColor(GROUP_ACCENTS.get(group or "", UNKNOWN_ACCENT))
