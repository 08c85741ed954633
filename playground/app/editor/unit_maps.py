"""Every neuron's picture over the input plane, beside its node: TensorFlow Playground's heatmap per neuron.

While a 2-D points network trains, each DecisionFrame brings, for some nodes, the first few units' outputs over
the plane ([u, r, r] arrays). `UnitMaps` keeps only the latest (a mailbox) and redraws from a timer, at most
REFRESH_HZ times a second however often frames come. Each node shown gets a `UnitStrip`: a child item of its
NodeItem (so it moves with it), to the right of the node's face in a block as tall as the node, where neither
the node's text nor the wires of a vertical chain run. A node's thumbnails share one blue-white-red scale,
symmetric around zero, so they can be compared with each other; white is zero.

A refresh colours a node's maps in one look-up-table pass and makes one small QImage per thumbnail: about 0.1 ms
a node, no Python per pixel.
"""

from __future__ import annotations

import functools
import math
import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QFontMetricsF, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneHoverEvent

from ..viz.colormap import DIVERGING, format_level, lut
from ..viz.render import pack
from .node_item import WIDTH, _fonts

if TYPE_CHECKING:
    from .node_item import NodeItem
    from .scene import GraphScene

THUMB = 26.0  # a thumbnail's side at 100 % (a 32×32 map, smoothly scaled): two rows are as tall as a node
GAP = 2.0
COLUMNS = 4  # units 1-4 on top, 5-8 below: a block the node's height, half as wide as one row of 8
OFFSET = 18.0  # from the node's right edge: clear of its problem badge and its selection outline
TEXT_GAP = 6.0  # between the last thumbnail and "+N more"
MIN_LEVEL = 1e-6  # a node whose maps are all ~0 shows white, not noise blown up to full colour
MAX_SHOWN = 8  # thumbnails a node gets (the frames send no more); the rest are counted in "+N more"
REFRESH_HZ = 30


@functools.cache
def _colours() -> np.ndarray:
    """uint32 [257]: the diverging map's 256 colours as RGB32 pixels, then grey for NaN."""
    return np.append(pack(lut(DIVERGING)), np.uint32(0xFF808080))


def unit_images(maps: np.ndarray) -> tuple[list[QImage], float]:
    """One RGB32 QImage per map of `maps` ([u, r, r], row 0 at the top), all on the diverging scale ±m with m the
    largest finite |value| (MIN_LEVEL at least); and m. NaN shows grey.

    Straight to packed pixels through a table of 256 of them (colormap.colorize's RGB and then render.pack cost
    four times as much): 8 maps take about 0.1 ms, of which the QImages are a third."""
    values = np.asarray(maps, dtype=np.float32)
    top = float(np.abs(values).max(initial=0.0))
    finite = math.isfinite(top)
    if not finite:  # a diverged network: scale by what is finite, NaN grey, ±inf the ends of the map
        top = float(np.abs(values[np.isfinite(values)]).max(initial=0.0))
    m = max(top, MIN_LEVEL)
    scaled = values * np.float32(127.5 / m)
    scaled += np.float32(127.5)
    np.clip(scaled, 0, 255, out=scaled)
    if not finite:
        scaled[np.isnan(values)] = 256
    pixels = _colours()[scaled.astype(np.intp)]
    u, h, w = pixels.shape
    # Each QImage owns a copy of its 4 KiB: the array can go as soon as this returns.
    images = [QImage(pixels[i].data, w, h, 4 * w, QImage.Format.Format_RGB32).copy() for i in range(u)]
    return images, m


class UnitStrip(QGraphicsItem):
    """A node's unit thumbnails, COLUMNS to a row, and "+N more" when the node has more units than are shown."""

    def __init__(self, node: NodeItem, on_hover):
        super().__init__(node)
        self._on_hover = on_hover  # called with (node id, unit index), (node id, -1) when the pointer leaves
        self.images: list[QImage] = []
        self.total = 0
        self.level = 0.0
        self.hover_index = -1
        self._rects: list[QRectF] = []
        self._bounds = QRectF()
        self._thumbs = QRectF()
        self.setAcceptHoverEvents(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # a press falls through to the scene (rubber band)

    @property
    def node_id(self) -> str:
        return self.parentItem().node_id

    @property
    def more(self) -> str:
        return self._more_text(len(self.images), self.total)

    def set_maps(self, images: list[QImage], total: int, level: float) -> None:
        if (len(images), self._more_text(len(images), total)) != (len(self.images), self.more):
            self.prepareGeometryChange()
            self._layout(len(images), total)
        self.images, self.total, self.level = images, total, level
        if self.hover_index >= len(images):
            self.hover_index = -1
        self.update()

    @staticmethod
    def _more_text(shown: int, total: int) -> str:
        return f"+{total - shown} more" if total > shown else ""

    def _layout(self, count: int, total: int) -> None:
        self._rects = [QRectF((i % COLUMNS) * (THUMB + GAP), (i // COLUMNS) * (THUMB + GAP), THUMB, THUMB)
                       for i in range(count)]
        self._thumbs = QRectF()
        for rect in self._rects:
            self._thumbs = self._thumbs.united(rect)
        self.setPos(WIDTH + OFFSET, (self.parentItem().height - self._thumbs.height()) / 2)  # centred beside it
        more = self._more_text(count, total)
        text_width = QFontMetricsF(_fonts()[1]).horizontalAdvance(more) + TEXT_GAP if more else 0.0
        self._bounds = self._thumbs.adjusted(-1, -1, 1 + text_width, 1)

    def thumb_rect(self, index: int) -> QRectF:
        """Where unit `index`'s thumbnail sits, in the strip's coordinates."""
        return self._rects[index]

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        # Only the thumbnails take the pointer, each with the gaps right of and below it (moving along a row never
        # flickers to "none"): "+N more" is a caption, and hovering it or an empty place in the last row is leaving.
        path = QPainterPath()
        for rect in self._rects:
            path.addRect(rect.adjusted(0, 0, GAP, GAP))
        return path

    def paint(self, painter: QPainter, option, widget=None) -> None:
        theme = self.scene().theme
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)  # 32 px maps in 26 px squares
        for image, rect in zip(self.images, self._rects, strict=False):
            painter.drawImage(rect, image)
        # The frames in one call, not antialiased: a pixel wide on whole pixels needs no blending, and one
        # antialiased rectangle each cost more than all the pictures.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        frame = QPen(theme.node_border, 1.0)
        frame.setCosmetic(True)
        painter.setPen(frame)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRects([r.adjusted(-1, -1, 0, 0) for r in self._rects])  # just outside each picture
        if 0 <= self.hover_index < len(self._rects):
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            hover = QPen(theme.text, 2.0)  # dark on light, light on dark: apart from both ends of the map
            hover.setCosmetic(True)
            painter.setPen(hover)
            painter.drawRect(self._rects[self.hover_index].adjusted(-1, -1, 1, 1))  # over the frame and the gap
        more = self.more
        if more:
            painter.setFont(_fonts()[1])
            painter.setPen(theme.dim_text)
            text = QRectF(self._thumbs.right() + TEXT_GAP, self._thumbs.top(), self._bounds.width(),
                          self._thumbs.height())
            painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, more)

    # -- hover ------------------------------------------------------------------------------------------------
    def _index_at(self, pos: QPointF) -> int:
        column = min(int(max(pos.x(), 0.0) // (THUMB + GAP)), COLUMNS - 1)
        row = int(max(pos.y(), 0.0) // (THUMB + GAP))
        return min(row * COLUMNS + column, len(self.images) - 1)

    def _hover_to(self, index: int) -> None:
        if index != self.hover_index:
            self.hover_index = index
            if index >= 0:
                self.setToolTip(f"{self.node_id} · unit {index + 1} of {self.total}\n"
                                f"blue < 0 < red, up to ±{format_level(self.level)}")
            self.update()
            self._on_hover(self.node_id, index)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover_to(self._index_at(event.pos()))

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover_to(self._index_at(event.pos()))

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover_to(-1)


class UnitMaps(QObject):
    """The scene's strips: the latest frame's maps kept, drawn from a timer; `hovered` follows the pointer."""

    def __init__(self, scene: GraphScene):
        super().__init__(scene)
        self.scene = scene
        self.strips: dict[str, UnitStrip] = {}
        self.refreshes = 0
        self.hovered: tuple[str, int] = ("", -1)
        self._latest: tuple[dict[str, np.ndarray], dict[str, int]] | None = None
        self._last_refresh = 0.0
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.refresh)

    def set(self, units: dict[str, np.ndarray], totals: dict[str, int]) -> None:
        """Keep the latest maps; the strips follow within 1/REFRESH_HZ s, once for any number of frames."""
        self._latest = (units, totals)
        if not self._timer.isActive():
            wait = self._last_refresh + 1.0 / REFRESH_HZ - time.monotonic()
            self._timer.start(max(0, round(wait * 1000)))

    def clear(self) -> None:
        self._latest = None
        self._timer.stop()
        for node_id in list(self.strips):
            self.forget(node_id)

    def forget(self, node_id: str) -> None:
        """Take `node_id`'s strip off its node (the node goes, or is renamed: the next frame says what it shows)."""
        strip = self.strips.pop(node_id, None)
        if strip is None:
            return
        if self.hovered[0] == node_id:  # the scene sends no hover leave for an item it drops
            self._set_hovered("", -1)
        if strip.scene() is not None:
            strip.scene().removeItem(strip)

    def forget_all(self) -> None:
        """The scene's items are about to go (a new document): drop the strips and the frame that was for them."""
        self._latest = None
        self._timer.stop()
        self.strips.clear()
        if self.hovered != ("", -1):
            self._set_hovered("", -1)

    def refresh(self) -> None:
        latest, self._latest = self._latest, None
        if latest is None:
            return
        units, totals = latest
        nodes = self.scene.nodes
        for node_id in [n for n in self.strips if n not in units or n not in nodes]:
            self.forget(node_id)
        for node_id, maps in units.items():
            node = nodes.get(node_id)
            if node is None or len(maps) == 0:
                self.forget(node_id)
                continue
            strip = self.strips.get(node_id)
            if strip is None:
                strip = self.strips[node_id] = UnitStrip(node, self._strip_hovered)
            images, level = unit_images(maps[:MAX_SHOWN])
            strip.set_maps(images, max(int(totals.get(node_id, len(images))), len(images)), level)
        self.refreshes += 1
        self._last_refresh = time.monotonic()

    def _strip_hovered(self, node_id: str, index: int) -> None:
        if index >= 0:
            self._set_hovered(node_id, index)
        elif self.hovered[0] == node_id:
            self._set_hovered("", -1)

    def _set_hovered(self, node_id: str, index: int) -> None:
        self.hovered = (node_id, index)
        self.scene.unit_hovered.emit(node_id, index)
