"""The drawing canvas: white ink on black, like MNIST, kept as a fixed-size grayscale raster.

The drawing lives in a 280×280 `QImage` whatever the widget's size,
so the preprocessing sees the same image at every window size; the widget shows
it scaled into its largest centred square. Strokes are quadratic curves through
the midpoints of successive pointer positions (smooth without lagging behind),
painted with round caps, antialiased, onto the raster as the pointer moves.

A pointer movement costs little Python (a training run in another thread waits for
the GIL meanwhile): the square's geometry is kept from the last resize, pens are
reused, only the new segment is painted into the raster, and only the widget
rectangle it covers is repainted (from the matching part of the raster).
The raster is RGB32 holding gray (R = G = B), not Grayscale8: Qt paints and
scales RGB32 on its fast path, about 5× quicker than Grayscale8 (0.03 ms
against 0.16 ms a segment), and PySide holds the GIL for all of that time.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

RASTER_SIZE = 280  # pixels of the drawing, 10× MNIST's 28
DEFAULT_BRUSH = 22  # pen width in raster pixels: about MNIST's stroke once a digit is fitted into 20×20
MIN_BRUSH, MAX_BRUSH = 6, 48
UNDO_LIMIT = 30  # raster snapshots kept for Undo (314 kB each)
RASTER_FORMAT = QImage.Format.Format_RGB32
BACKGROUND = QColor(18, 18, 20)  # around the raster's square
INK = 255
HOVER_RING = 3  # px around the brush outline, repainted when it moves

_SHORTCUT_OVERRIDE = QEvent.Type.ShortcutOverride  # looked up once: event() sees every event of the widget
_TABLET_PRESS, _TABLET_MOVE = QEvent.Type.TabletPress, QEvent.Type.TabletMove
_TABLET_RELEASE = QEvent.Type.TabletRelease
_LEFT, _RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
_ANTIALIASING = QPainter.RenderHint.Antialiasing
_SMOOTH = QPainter.RenderHint.SmoothPixmapTransform


def _pen(width: float) -> QPen:
    return QPen(QColor(INK, INK, INK), width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                Qt.PenJoinStyle.RoundJoin)


class DrawingCanvas(QWidget):
    """Draw with the mouse or a pen. Right-click or Esc clears, Ctrl+Z undoes a stroke, Ctrl+wheel sizes the brush."""

    changed = Signal(float)  # the raster changed; time.perf_counter() of the event that changed it
    stroke_started = Signal()  # the person started drawing (or cleared): a caption about a dropped image is stale
    brush_changed = Signal(int)
    undo_available = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._raster = QImage(RASTER_SIZE, RASTER_SIZE, RASTER_FORMAT)
        self._raster.fill(0)
        self._has_ink = False
        self._undo: list[tuple[QImage, bool]] = []
        self._brush = DEFAULT_BRUSH
        self._points: list[tuple[float, float, float]] = []  # the stroke being drawn: raster x, y, pen width
        self._pens: dict[float, QPen] = {}
        self._drawing = False
        self._hover: QPointF | None = None  # widget position, for the brush outline
        self._geometry: tuple[int, int, float, float, float] = (-1, -1, 0.0, 0.0, 1.0)  # w, h -> x, y, side
        self.setMinimumSize(200, 200)
        sp = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        sp.setHeightForWidth(True)
        self.setSizePolicy(sp)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit. Right-click or Esc clears, Ctrl+Z undoes a stroke, Ctrl+wheel sizes the brush.")
        self.setAccessibleName("Drawing canvas")

    # -- state -------------------------------------------------------------------------------------
    @property
    def raster(self) -> QImage:
        return self._raster

    def raster_array(self) -> np.ndarray:
        """The drawing as a read-only uint8 [280, 280] view of the raster's memory (valid until the next stroke).

        One channel of the gray RGB32 pixels: green is byte 1 of the four whichever the byte order."""
        image = self._raster
        buffer = np.frombuffer(image.constBits(), dtype=np.uint8)
        return buffer.reshape(image.height(), image.bytesPerLine())[:, 1:4 * image.width():4]

    def is_empty(self) -> bool:
        return not self._has_ink

    def can_undo(self) -> bool:
        return bool(self._undo)

    def brush(self) -> int:
        return self._brush

    def set_brush(self, width: int) -> None:
        width = int(min(max(width, MIN_BRUSH), MAX_BRUSH))
        if width != self._brush:
            self._brush = width
            self.brush_changed.emit(width)
            self.update()

    # -- editing -----------------------------------------------------------------------------------
    def clear(self) -> None:
        """Wipe the drawing (undoable)."""
        t = time.perf_counter()
        self._points, self._drawing = [], False
        self.stroke_started.emit()
        if not self._has_ink:
            return
        self._snapshot()
        self._raster.fill(0)
        self._has_ink = False
        self.update()
        self.changed.emit(t)

    def undo(self) -> None:
        """Back to before the last stroke (or clear, or dropped image)."""
        if not self._undo or self._drawing:
            return
        t = time.perf_counter()
        self._raster, self._has_ink = self._undo.pop()
        if not self._undo:
            self.undo_available.emit(False)
        self.update()
        self.changed.emit(t)

    def set_image(self, image28: np.ndarray) -> None:
        """Replace the drawing with a small grayscale image (white on black), scaled up smoothly (undoable)."""
        t = time.perf_counter()
        small = np.asarray(image28)
        if small.ndim == 3 and 1 in (small.shape[0], small.shape[2]):  # one channel first or last
            small = small.reshape(small.shape[1:] if small.shape[0] == 1 else small.shape[:2])
        small = np.ascontiguousarray(small, dtype=np.uint8)
        if small.ndim != 2:
            raise ValueError(f"expected a 2-D grayscale image, got shape {small.shape}")
        h, w = small.shape
        source = QImage(small.data, w, h, w, QImage.Format.Format_Grayscale8)
        scaled = source.scaled(RASTER_SIZE, RASTER_SIZE, Qt.AspectRatioMode.IgnoreAspectRatio,
                               Qt.TransformationMode.SmoothTransformation)
        self._points, self._drawing = [], False
        self._snapshot()
        self._raster = scaled.convertToFormat(RASTER_FORMAT)  # a deep copy: `small` may go
        self._has_ink = bool(small.max() > 0)
        self.update()
        self.changed.emit(t)

    def _snapshot(self) -> None:
        self._undo.append((self._raster.copy(), self._has_ink))
        del self._undo[:-UNDO_LIMIT]
        if len(self._undo) == 1:
            self.undo_available.emit(True)

    # -- geometry ----------------------------------------------------------------------------------
    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def _square(self) -> tuple[float, float, float]:
        """x, y and side of the square the raster is shown in (recomputed only when the size changed)."""
        w, h = self.width(), self.height()
        geometry = self._geometry
        if geometry[0] != w or geometry[1] != h:
            side = max(1, min(w, h))
            geometry = self._geometry = (w, h, (w - side) / 2, (h - side) / 2, side)
        return geometry[2], geometry[3], geometry[4]

    def square(self) -> QRectF:
        """Where the raster is shown: the largest centred square."""
        x, y, side = self._square()
        return QRectF(x, y, side, side)

    def to_raster(self, pos: QPointF) -> QPointF:
        return QPointF(*self._raster_xy(pos))

    def _raster_xy(self, pos: QPointF) -> tuple[float, float]:
        x, y, side = self._square()
        k = RASTER_SIZE / side
        return (pos.x() - x) * k, (pos.y() - y) * k

    def _dirty(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Repaint the widget pixels showing this raster rectangle (and a margin for the smooth scaling)."""
        x, y, side = self._square()
        k = side / RASTER_SIZE
        left, top = math.floor(x + x0 * k) - 2, math.floor(y + y0 * k) - 2
        self.update(left, top, math.ceil(x + x1 * k) + 2 - left, math.ceil(y + y1 * k) + 2 - top)

    # -- strokes -----------------------------------------------------------------------------------
    def _begin(self, pos: QPointF, width: float) -> None:
        self.stroke_started.emit()
        self._snapshot()
        self._update_hover(self._hover)  # the brush outline hides while drawing
        self._drawing = True
        x, y = self._raster_xy(pos)
        self._points = [(x, y, width)]
        painter = QPainter(self._raster)  # a dot: a click alone leaves a mark
        try:
            painter.setRenderHint(_ANTIALIASING)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(QColor(INK, INK, INK)))
            painter.drawEllipse(QPointF(x, y), width / 2, width / 2)
        finally:
            painter.end()
        if self._has_ink:
            self._dirty(x - width, y - width, x + width, y + width)
        else:  # the "Draw a digit here" placeholder goes
            self._has_ink = True
            self.update()

    def _extend(self, pos: QPointF, width: float) -> bool:
        """Paint the segment up to `pos`: from the last midpoint, curving through the last point, to the new
        midpoint."""
        x, y = self._raster_xy(pos)
        points = self._points
        bx, by, b_width = points[-1]
        if abs(x - bx) + abs(y - by) < 0.75:  # sub-pixel jitter: nothing to draw
            return False
        points.append((x, y, width))
        mx, my = (bx + x) / 2, (by + y) / 2
        if len(points) == 2:  # first segment: straight to the midpoint, the curve starts there
            path = QPainterPath(QPointF(bx, by))
            path.lineTo(mx, my)
            x0, y0 = bx, by
        else:
            ax, ay, _ = points[-3]
            x0, y0 = (ax + bx) / 2, (ay + by) / 2
            path = QPainterPath(QPointF(x0, y0))
            path.quadTo(bx, by, mx, my)
        # The curve lies within its control points' box.
        self._stroke(path, (b_width + width) / 2, min(x0, bx, mx), min(y0, by, my), max(x0, bx, mx),
                     max(y0, by, my))
        return True

    def _finish(self) -> None:
        points = self._points
        if len(points) >= 2:  # the last half segment, from the last midpoint to the pointer
            (ax, ay, _), (bx, by, width) = points[-2], points[-1]
            mx, my = (ax + bx) / 2, (ay + by) / 2
            path = QPainterPath(QPointF(mx, my))
            path.lineTo(bx, by)
            self._stroke(path, width, min(mx, bx), min(my, by), max(mx, bx), max(my, by))
        self._points, self._drawing = [], False
        self._update_hover(self._hover)  # the brush outline shows again

    def _stroke(self, path: QPainterPath, width: float, x0: float, y0: float, x1: float, y1: float) -> None:
        pen = self._pens.get(width)
        if pen is None:
            if len(self._pens) > 64:  # a pen's pressure makes many widths
                self._pens.clear()
            pen = self._pens[width] = _pen(width)
        painter = QPainter(self._raster)
        try:
            painter.setRenderHint(_ANTIALIASING)
            painter.strokePath(path, pen)
        finally:
            painter.end()
        margin = width / 2 + 2  # half the pen and the antialiased edge
        self._dirty(x0 - margin, y0 - margin, x1 + margin, y1 + margin)

    def _mouse_width(self) -> float:
        return float(self._brush)

    def _pen_width(self, pressure: float) -> float:
        """A pen: light touches draw thin, pressing hard up to 1.4× the brush."""
        return self._brush * (0.3 + 1.1 * min(max(pressure, 0.0), 1.0))

    # -- events ------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        t = time.perf_counter()
        if event.button() == _RIGHT:
            self.clear()
            return
        if event.button() != _LEFT:
            return super().mousePressEvent(event)
        self._begin(event.position(), self._mouse_width())
        self.changed.emit(t)

    def mouseMoveEvent(self, event) -> None:
        t = time.perf_counter()
        pos = event.position()
        self._move_hover(pos)
        if self._drawing and event.buttons() & _LEFT and self._extend(pos, self._mouse_width()):
            self.changed.emit(t)

    def mouseReleaseEvent(self, event) -> None:
        t = time.perf_counter()
        if event.button() == _LEFT and self._drawing:
            self._extend(event.position(), self._mouse_width())
            self._finish()
            self.changed.emit(t)

    def tabletEvent(self, event) -> None:
        t = time.perf_counter()
        kind = event.type()
        width = self._pen_width(event.pressure())
        if kind == _TABLET_PRESS:
            if event.button() == _RIGHT:
                self.clear()
            else:
                self._begin(event.position(), width)
                self.changed.emit(t)
        elif kind == _TABLET_MOVE:
            pos = event.position()
            self._move_hover(pos)
            if self._drawing and self._extend(pos, width):
                self.changed.emit(t)
        elif kind == _TABLET_RELEASE and self._drawing:
            self._extend(event.position(), width)
            self._finish()
            self.changed.emit(t)
        event.accept()  # no synthesized mouse events: they would draw the stroke twice

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.set_brush(self._brush + round(2 * steps) or (1 if steps > 0 else -1))
            event.accept()
            return
        super().wheelEvent(event)

    def _is_own_key(self, event) -> bool:
        return event.key() == Qt.Key.Key_Escape or event.matches(QKeySequence.StandardKey.Undo)

    def event(self, event) -> bool:
        # Esc and Ctrl+Z belong to the canvas while it has focus, even if the window has shortcuts for them.
        if event.type() == _SHORTCUT_OVERRIDE and self._is_own_key(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.clear()
        elif event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        else:
            super().keyPressEvent(event)

    def leaveEvent(self, event) -> None:
        self._move_hover(None)
        super().leaveEvent(event)

    def _move_hover(self, pos: QPointF | None) -> None:
        old, self._hover = self._hover, pos
        if not self._drawing:  # while drawing there is no outline to move
            self._update_hover(old)
            self._update_hover(pos)

    def _update_hover(self, pos: QPointF | None) -> None:
        if pos is not None:
            r = self._brush_radius() + HOVER_RING
            self.update(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r).toAlignedRect())

    def _brush_radius(self) -> float:
        return self._brush / 2 * self._square()[2] / RASTER_SIZE

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        exposed = event.rect()
        x, y, side = self._square()
        sq = QRectF(x, y, side, side)
        painter = QPainter(self)
        if not sq.contains(QRectF(exposed)):
            painter.fillRect(exposed, self.palette().color(QPalette.ColorRole.Window))
        painter.setRenderHint(_SMOOTH)
        painter.drawImage(sq, self._raster)  # Qt scales only the exposed part
        if not self._has_ink and not self._drawing:
            painter.setRenderHint(_ANTIALIASING)
            painter.setPen(QColor(150, 150, 158))
            font = painter.font()
            font.setPointSizeF(max(font.pointSizeF() * 1.25, 11))
            painter.setFont(font)
            painter.drawText(sq, Qt.AlignmentFlag.AlignCenter, "Draw a digit here")
        if self._hover is not None and not self._drawing and sq.contains(self._hover):
            painter.setRenderHint(_ANTIALIASING)
            painter.setPen(QPen(QColor(255, 255, 255, 110), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            r = self._brush_radius()
            painter.drawEllipse(self._hover, r, r)
        if not sq.adjusted(3, 3, -3, -3).contains(QRectF(exposed)):  # the frame is exposed
            focus = self.hasFocus()
            painter.setRenderHint(_ANTIALIASING)
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight) if focus else QColor(70, 70, 78),
                                2 if focus else 1))
            painter.drawRect(sq.adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()

    def focusInEvent(self, event) -> None:
        self.update()
        super().focusInEvent(event)

    def focusOutEvent(self, event) -> None:
        self.update()
        super().focusOutEvent(event)
