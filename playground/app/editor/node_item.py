"""A layer in the editor's scene: kind, id, key parameters and output shape; red with a badge when it has a problem."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsSceneMouseEvent

from ...core.graph import Node, Problem
from ...core.layers import CATALOG, LayerSpec, fmt_shape
from .port_item import PortItem
from .theme import accent

WIDTH = 184.0
GRID = 10.0
UNKNOWN = "→ ?"
PAD_X, PAD_Y = 12.0, 5.0
_POSITION_CHANGE = QGraphicsItem.GraphicsItemChange.ItemPositionChange
_POSITION_CHANGED = QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged


_font_cache: dict[str, tuple] = {}  # by the application font's key: made once, not per node or per paint


def _fonts() -> tuple[QFont, QFont, QFont]:
    return _font_set()[:3]


def _font_set() -> tuple[QFont, QFont, QFont, float]:
    base = QApplication.font()
    cached = _font_cache.get(base.key())
    if cached is None:
        title = QFont(base)
        title.setBold(True)
        small = QFont(base)
        small.setPointSizeF(base.pointSizeF() * 0.9)
        height = round(2 * PAD_Y + QFontMetricsF(title).height() + 2 * QFontMetricsF(small).height() + 4)
        cached = _font_cache[base.key()] = (title, small, base, height)
    return cached


def node_height() -> float:
    return _font_set()[3]


_SHORT = {
    "filters": "{} filters", "units": "{} units", "hidden_size": "{} hidden", "heads": "{} heads",
    "dim": "dim {}", "axis": "axis {}", "p": "p = {}",
}


def format_value(name: str, value: Any) -> str:
    if name in ("kernel_size", "patch_size") and isinstance(value, int) and not isinstance(value, bool):
        return f"{value}×{value}" + (" patches" if name == "patch_size" else "")
    if isinstance(value, (list, tuple)) and all(isinstance(d, int) for d in value):
        return fmt_shape(tuple(value))
    if isinstance(value, bool):
        return name.replace("_", " ") if value else f"no {name.replace('_', ' ')}"
    if isinstance(value, float):
        value = f"{value:g}"
    if name == "loss" and value == "cross_entropy":
        return "cross-entropy"
    if name in _SHORT:
        return _SHORT[name].format(value)
    if name in ("dataset", "mode", "loss"):
        return str(value)
    return f"{name.replace('_', ' ')} {value}"


def summary_text(spec: LayerSpec | None, node: Node) -> str:
    if spec is None:
        return node.kind
    if spec.face is not None and not spec.param_errors(node.params):
        parts = [spec.face(spec.resolve(node.params))]
    else:
        parts = [format_value(name, node.params.get(name, spec.param(name).default)) for name in spec.summary]
    if not node.trainable:
        parts.append("frozen")
    return " · ".join(parts)


class NodeItem(QGraphicsItem):
    def __init__(self, node: Node):
        super().__init__()
        self.node_id = node.id
        self.kind = node.kind
        self.spec = CATALOG.get(node.kind)
        self.height = node_height()
        self._bounds = self.rect().adjusted(-3, -3, 10, 3)  # selection outline; the badge overhangs right
        self._hovered = False
        self.summary = ""
        self.shape_text = ""
        self.problems: list[str] = []
        self.param_count: int | None = None
        flags = QGraphicsItem.GraphicsItemFlag
        self.setFlags(flags.ItemIsMovable | flags.ItemIsSelectable | flags.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.inputs: dict[str, PortItem] = {}
        self.output: PortItem | None = None
        self._make_ports()
        self.sync(node)
        self.setPos(QPointF(*node.position))

    def hoverEnterEvent(self, event) -> None:
        # The tooltip is written when the pointer arrives, not on every change: at 10,000 layers, keeping
        # every node's tooltip current cost a second of opening a file.
        self._hovered = True
        self.setToolTip(self.tooltip_text())
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self._hovered = False
        super().hoverLeaveEvent(event)

    @property
    def title(self) -> str:
        return self.spec.title if self.spec else self.kind

    def _make_ports(self) -> None:
        ports = self.spec.inputs if self.spec else ()
        for i, port in enumerate(ports):
            item = PortItem(self, port.name, is_output=False, multiple=port.multiple)
            item.setPos(WIDTH * (i + 1) / (len(ports) + 1), 0)
            self.inputs[port.name] = item
        if self.kind != "output":
            self.output = PortItem(self, "out", is_output=True)
            self.output.setPos(WIDTH / 2, self.height)

    def ports(self) -> list[PortItem]:
        return [*self.inputs.values(), *([self.output] if self.output else [])]

    def input_anchor(self, port: str) -> QPointF:
        item = self.inputs.get(port)
        return item.anchor() if item else self.mapToScene(QPointF(WIDTH / 2, 0))

    def output_anchor(self) -> QPointF:
        return self.output.anchor() if self.output else self.mapToScene(QPointF(WIDTH / 2, self.height))

    # -- model → item ---------------------------------------------------------------------
    def sync(self, node: Node) -> None:
        self.node_id = node.id
        self.summary = summary_text(self.spec, node)
        self.update()

    def set_result(self, shape: tuple | None, problems: list[Problem], param_count: int | None) -> None:
        """The analysis's verdict; a missing shape (upstream trouble) shows as "?"."""
        shape_text = f"→ {fmt_shape(shape)}" if shape is not None else UNKNOWN
        messages = [p.message for p in problems]
        if (shape_text, messages, param_count) != (self.shape_text, self.problems, self.param_count):
            self.shape_text, self.problems, self.param_count = shape_text, messages, param_count
            if self._hovered:  # a tooltip on show follows the change
                self.setToolTip(self.tooltip_text())
            self.update()

    def tooltip_text(self) -> str:
        lines = [f"<b>{html.escape(self.title)}</b> &nbsp;<code>{html.escape(self.node_id)}</code>"]
        if self.spec:
            lines.append(html.escape(self.spec.help))
        else:
            lines.append(f"Unknown layer kind '{html.escape(self.kind)}'")
        if self.shape_text and self.shape_text != UNKNOWN:
            count = f", {self.param_count:,} parameters" if self.param_count else ""
            lines.append(f"Output {html.escape(self.shape_text[2:])}{count}")
        lines += [f"<span style='color:#d32f2f'>⚠ {html.escape(m)}</span>" for m in self.problems]
        return "<p style='white-space:pre-wrap'>" + "<br>".join(lines) + "</p>"

    # -- geometry and painting ------------------------------------------------------------
    def rect(self) -> QRectF:
        return QRectF(0, 0, WIDTH, self.height)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.rect(), 6, 6)
        return path

    def paint(self, painter: QPainter, option, widget=None) -> None:
        theme = self.scene().theme
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        rect = self.rect()
        body = QPainterPath()
        body.addRoundedRect(rect, 6, 6)
        painter.fillPath(body, theme.node)
        painter.save()
        painter.setClipPath(body)
        painter.fillRect(QRectF(0, 0, 5, rect.height()), accent(self.spec.group if self.spec else None))
        painter.restore()

        error = bool(self.problems)
        if self.isSelected():
            pen = QPen(theme.selection, 2.5)
        elif error:
            pen = QPen(theme.error, 2.0)
        else:
            pen = QPen(theme.node_border, 1.0)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(body)
        if error and self.isSelected():  # keep the error visible inside the selection outline
            inner = QPen(theme.error, 1.5)
            inner.setCosmetic(True)
            painter.setPen(inner)
            painter.drawRoundedRect(rect.adjusted(2.5, 2.5, -2.5, -2.5), 4, 4)

        title_font, small_font, _ = _fonts()
        left, width = PAD_X, WIDTH - PAD_X - 8
        y = PAD_Y
        tm, sm = QFontMetricsF(title_font), QFontMetricsF(small_font)
        # Title on the left, the id on the right: the id gets what it needs up to 45%, the title the rest.
        badge = 14 if error else 0
        id_width = min(sm.horizontalAdvance(self.node_id), width * 0.45)
        title_room = width - badge - (id_width + 8 if self.node_id else 0)
        painter.setFont(title_font)
        painter.setPen(theme.text)
        title = tm.elidedText(self.title, Qt.TextElideMode.ElideRight, title_room)
        painter.drawText(QRectF(left, y, title_room, tm.height()), Qt.AlignmentFlag.AlignLeft, title)
        painter.setFont(small_font)
        painter.setPen(theme.dim_text)
        id_room = width - badge - tm.horizontalAdvance(title) - 8
        node_id = sm.elidedText(self.node_id, Qt.TextElideMode.ElideMiddle, id_room)
        painter.drawText(QRectF(left + width - badge - id_room, y + (tm.ascent() - sm.ascent()), id_room,
                                sm.height()), Qt.AlignmentFlag.AlignRight, node_id)
        y += tm.height() + 1
        painter.drawText(QRectF(left, y, width, sm.height()), Qt.AlignmentFlag.AlignLeft,
                         sm.elidedText(self.summary, Qt.TextElideMode.ElideRight, width))
        y += sm.height() + 1
        if error:
            painter.setPen(theme.error)
            line = "⚠ " + self.problems[0]
        else:
            painter.setPen(theme.dim_text if self.shape_text == UNKNOWN else theme.text)
            line = self.shape_text
        painter.drawText(QRectF(left, y, width, sm.height()), Qt.AlignmentFlag.AlignLeft,
                         sm.elidedText(line, Qt.TextElideMode.ElideRight, width))
        if error:
            self._paint_badge(painter, theme, QPointF(WIDTH - 2, 2))

    def _paint_badge(self, painter: QPainter, theme, center: QPointF) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.error)
        painter.drawEllipse(center, 7.5, 7.5)
        pen = QPen(theme.node, 2.0)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.drawLine(center + QPointF(0, -3.5), center + QPointF(0, 1))
        painter.drawPoint(center + QPointF(0, 3.8))

    # -- interaction ----------------------------------------------------------------------
    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        # Called for every kind of change (a dozen while a node is made): the others return at once,
        # as QGraphicsItem's own itemChange would.
        if change == _POSITION_CHANGE:
            scene = self.scene()
            if scene is not None and scene.mouseGrabberItem() is not None and isinstance(value, QPointF):
                return QPointF(round(value.x() / GRID) * GRID, round(value.y() / GRID) * GRID)
        elif change == _POSITION_CHANGED:
            scene = self.scene()
            if scene is not None:
                scene.node_geometry_changed(self)
        return value

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self.scene().node_activated.emit(self.node_id)
        event.accept()
