"""Vector icons from `resources/icons`, drawn in the palette's text colour.

The SVGs use `currentColor`; the engine substitutes the colour for the mode
(normal, disabled, selected) from the application palette each time it draws,
so icons follow light and dark themes and stay sharp at any device pixel ratio.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QLibraryInfo, QPoint, QRect, QRectF, QSize, Qt, QVersionNumber
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from ..core.resources import resources_dir


def icon_path(name: str):
    return resources_dir() / "icons" / f"{name}.svg"

_LOGICAL_SIZES = QLibraryInfo.version() >= QVersionNumber(6, 8)


@cache
def _svg(name: str) -> str:
    return icon_path(name).read_text(encoding="utf-8")


class SvgIconEngine(QIconEngine):
    def __init__(self, svg: str, color: QColor | None = None):
        super().__init__()
        self._svg = svg
        self._color = QColor(color) if color is not None else None
        self._renderers: dict[str, QSvgRenderer] = {}

    def _color_for(self, mode: QIcon.Mode) -> QColor:
        palette = QGuiApplication.palette()
        if mode == QIcon.Mode.Disabled:
            color = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
            if self._color is not None:
                color = QColor(self._color)
                color.setAlphaF(0.4)
            return color
        if self._color is not None:
            return self._color
        if mode == QIcon.Mode.Selected:
            return palette.color(QPalette.ColorRole.HighlightedText)
        return palette.color(QPalette.ColorRole.WindowText)

    def _renderer(self, color: QColor) -> QSvgRenderer:
        key = color.name(QColor.NameFormat.HexArgb)
        renderer = self._renderers.get(key)
        if renderer is None:
            svg = self._svg.replace("currentColor", color.name())
            if color.alpha() < 255:
                svg = svg.replace("<svg ", f'<svg opacity="{color.alphaF():.2f}" ', 1)
            renderer = self._renderers[key] = QSvgRenderer(svg.encode("utf-8"))
        return renderer

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        self._renderer(self._color_for(mode)).render(painter, QRectF(rect))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        if _LOGICAL_SIZES:  # Qt >= 6.8 passes the size in logical pixels; older Qt in device pixels
            size = QSize(round(size.width() * scale), round(size.height() * scale))
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def clone(self) -> QIconEngine:
        return SvgIconEngine(self._svg, self._color)

    def key(self) -> str:
        return "playground-svg"


def icon(name: str, color: QColor | None = None) -> QIcon:
    """The icon `resources/icons/<name>.svg`; `color` fixes its colour instead of following the palette."""
    if name == "app":  # the app icon keeps its own colours
        return QIcon(str(icon_path("app")))
    return QIcon(SvgIconEngine(_svg(name), color))
