"""A wire between two ports, labelled with the shape of the tensor it carries.

Wires leave the bottom of a node and enter the top of the next one. A wire
that would pass behind other nodes (a skip connection drawn down a column)
takes a detour to their right.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QApplication, QGraphicsItem

from ...core.graph import Edge

DETOUR_MARGIN = 30.0
HIT_WIDTH = 10.0

ObstacleQuery = Callable[[QPainterPath], list[QRectF]]


def direct_path(start: QPointF, end: QPointF) -> QPainterPath:
    dy = max(24.0, abs(end.y() - start.y()) / 2)
    path = QPainterPath(start)
    path.cubicTo(start + QPointF(0, dy), end - QPointF(0, dy), end)
    return path


def detour_path(start: QPointF, end: QPointF, x: float) -> QPainterPath:
    """Out of `start` sideways to the column `x`, along it, and back into `end` from above."""
    bend = 14.0
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x(), start.y() + 2 * bend), QPointF(x, start.y()), QPointF(x, start.y() + 2 * bend))
    path.lineTo(x, end.y() - 2 * bend)
    path.cubicTo(QPointF(x, end.y()), QPointF(end.x(), end.y() - 2 * bend), end)
    return path


def route(start: QPointF, end: QPointF, obstacles: ObstacleQuery, ends: list[QRectF]) -> QPainterPath:
    """The wire's path; `ends` are the two nodes' rectangles, `obstacles` finds other nodes a path crosses."""
    path = direct_path(start, end)
    if end.y() > start.y() + 8:
        blockers = obstacles(path)
        if not blockers:
            return path
    else:  # upwards (a back-edge or a messy layout): loop round the right of both nodes
        blockers = ends
    x = max(start.x(), end.x())
    for _ in range(4):  # step further right until the column is clear
        if blockers:
            x = max(x, max(r.right() for r in blockers) + DETOUR_MARGIN)
        path = detour_path(start, end, x)
        blockers = obstacles(path)
        if not blockers:
            break
    return path


_fonts: dict[str, tuple[QFont, QFontMetricsF]] = {}  # by the application font's key


def _label_font_and_metrics() -> tuple[QFont, QFontMetricsF]:
    base = QApplication.font()
    cached = _fonts.get(base.key())
    if cached is None:
        font = QFont(base)
        font.setPointSizeF(font.pointSizeF() * 0.85)
        cached = _fonts[base.key()] = (font, QFontMetricsF(font))
    return cached


def _label_font() -> QFont:
    return _label_font_and_metrics()[0]


_sizes: dict[tuple[str, str], tuple[float, float]] = {}  # (font key, text): most wires of a network share a few


def _label_size(text: str) -> tuple[float, float]:
    font, metrics = _label_font_and_metrics()
    size = _sizes.get((font.key(), text))
    if size is None:
        if len(_sizes) > 10_000:
            _sizes.clear()
        size = _sizes[font.key(), text] = (metrics.horizontalAdvance(text) + 10, metrics.height() + 2)
    return size


class EdgeItem(QGraphicsItem):
    def __init__(self, edge: Edge):
        super().__init__()
        self.edge = edge
        self.label = ""
        self._path = QPainterPath()
        self._label_rect = QRectF()
        self._bounds = QRectF()
        self._middle = QPointF()
        self._hovered = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1)

    def tooltip_text(self) -> str:
        return f"{self.edge}\n{self.label}" if self.label else str(self.edge)

    def set_path(self, path: QPainterPath) -> None:
        self.prepareGeometryChange()
        self._path = path
        self._middle = path.pointAtPercent(0.5) if not path.isEmpty() else QPointF()  # where a label goes
        self._place_label()

    def path(self) -> QPainterPath:
        return self._path

    def set_label(self, text: str) -> None:
        if text != self.label:
            self.prepareGeometryChange()
            self.label = text
            self._place_label()
            self.update()

    def _place_label(self) -> None:
        """Place the label at the path's middle, and measure the bounds once (the scene asks for them often)."""
        self._bounds = self._path.boundingRect().adjusted(-HIT_WIDTH, -HIT_WIDTH, HIT_WIDTH, HIT_WIDTH)
        if not self.label or self._path.isEmpty():
            self._label_rect = QRectF()
            return
        w, h = _label_size(self.label)
        center = self._middle
        self._label_rect = QRectF(center.x() - w / 2, center.y() - h / 2, w, h)
        # (an empty label rect must not be united: adjusted, it would reach out to the scene's origin)
        self._bounds = self._bounds.united(self._label_rect.adjusted(-1, -1, 1, 1))

    def label_rect(self) -> QRectF:
        return QRectF(self._label_rect)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(HIT_WIDTH)
        shape = stroker.createStroke(self._path)
        if not self._label_rect.isEmpty():
            shape.addRoundedRect(self._label_rect, 4, 4)
        return shape

    def hoverEnterEvent(self, event) -> None:
        self.setToolTip(self.tooltip_text())  # written on arrival: see NodeItem.hoverEnterEvent
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self._hovered = False
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        theme = self.scene().theme
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = theme.selection if self.isSelected() else theme.wire
        width = 2.5 if self.isSelected() else (2.0 if self._hovered else 1.5)
        pen = QPen(color, width)
        pen.setCosmetic(True)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if self.label and not self._label_rect.isEmpty():
            frame = QPen(color, 1.0)
            frame.setCosmetic(True)
            painter.setPen(frame)
            painter.setBrush(theme.label_fill)
            painter.drawRoundedRect(self._label_rect, self._label_rect.height() / 2, self._label_rect.height() / 2)
            painter.setFont(_label_font())
            painter.setPen(theme.text)
            painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.label)
