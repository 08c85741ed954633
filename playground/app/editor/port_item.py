"""A port: a small handle on a node's edge. Inputs sit on top, the output at the bottom.

Dragging from a port draws a wire (see wiring.WireDrag); dragging from a
connected input lifts its wire so it can be re-plugged or dropped to delete it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneHoverEvent, QGraphicsSceneMouseEvent

if TYPE_CHECKING:
    from .node_item import NodeItem

RADIUS = 5.0
HIT_RADIUS = 10.0


class PortItem(QGraphicsItem):
    def __init__(self, node_item: NodeItem, name: str, is_output: bool, multiple: bool = False):
        super().__init__(node_item)
        self.node_item = node_item
        self.name = name
        self.is_output = is_output
        self.multiple = multiple
        self.wires = 0
        self._hovered = self._candidate = self._snapped = False
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        r = HIT_RADIUS + 2
        w = max(r, self._half_width() + 4)
        self._bounds = QRectF(-w, -r, 2 * w, 2 * r)

    def tooltip_text(self) -> str:
        if self.is_output:
            return "Output — drag to an input port to connect"
        if self.multiple:
            return f"Input '{self.name}' — takes two or more wires"
        return f"Input '{self.name}' — takes one wire; drag a connected wire off to move or remove it"

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def anchor(self) -> QPointF:
        """Where wires attach, in scene coordinates."""
        return self.scenePos()

    # -- state shown while dragging a wire ------------------------------------------------
    def set_candidate(self, on: bool) -> None:
        if on != self._candidate:
            self._candidate = on
            self.update()

    def set_snapped(self, on: bool) -> None:
        if on != self._snapped:
            self._snapped = on
            self.update()

    def set_wires(self, count: int) -> None:
        if count != self.wires:
            self.wires = count
            self.update()

    # -- geometry and painting ------------------------------------------------------------
    def _half_width(self) -> float:
        return 12.0 if self.multiple else RADIUS

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        w = max(HIT_RADIUS, self._half_width() + 3)
        path.addRoundedRect(QRectF(-w, -HIT_RADIUS, 2 * w, 2 * HIT_RADIUS), HIT_RADIUS, HIT_RADIUS)
        return path

    def paint(self, painter: QPainter, option, widget=None) -> None:
        theme = self.scene().theme
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        grow = 1.5 if (self._hovered or self._snapped) else 0.0
        w, h = self._half_width() + grow, RADIUS + grow
        if self._candidate:
            ring = QPen(theme.candidate, 2.5 if self._snapped else 1.5)
            ring.setCosmetic(True)
            painter.setPen(ring)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(-w - 4, -h - 4, 2 * (w + 4), 2 * (h + 4)), h + 4, h + 4)
        pen = QPen(theme.candidate if self._snapped else theme.port, 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QBrush(theme.wire if self.wires else theme.node))
        painter.drawRoundedRect(QRectF(-w, -h, 2 * w, 2 * h), h, h)

    # -- interaction ----------------------------------------------------------------------
    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        # Tooltip and cursor are set on arrival (see NodeItem.hoverEnterEvent); the view shows the
        # cursor of the item under the pointer after this event.
        self.setToolTip(self.tooltip_text())
        if not self.hasCursor():
            self.setCursor(Qt.CursorShape.CrossCursor)
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = False
        self.update()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.scene().wire_drag is not None:
            event.ignore()
            return
        self.scene().start_wire_drag(self, event.scenePos())
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.scene().wire_drag is not None:
            self.scene().wire_drag.move(event.scenePos())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.scene().wire_drag is not None and event.button() == Qt.MouseButton.LeftButton:
            self.scene().wire_drag.finish(event.scenePos())
