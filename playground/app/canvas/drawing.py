"""The drawing canvas: white ink on black, like MNIST, kept as a fixed-size grayscale raster.

The drawing lives in a 280×280 `QImage` (Grayscale8) whatever the widget's size,
so the preprocessing sees the same image at every window size; the widget shows
it scaled into its largest centred square. Strokes are quadratic curves through
the midpoints of successive pointer positions (smooth without lagging behind),
painted with round caps, antialiased, onto the raster as the pointer moves.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
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
UNDO_LIMIT = 30  # raster snapshots kept for Undo (77 kB each)
BACKGROUND = QColor(18, 18, 20)  # around the raster's square
INK = 255


def _mid(a: QPointF, b: QPointF) -> QPointF:
    return QPointF((a.x() + b.x()) / 2, (a.y() + b.y()) / 2)


class DrawingCanvas(QWidget):
    """Draw with the mouse or a pen. Right-click or Esc clears, Ctrl+Z undoes a stroke, Ctrl+wheel sizes the brush."""

    changed = Signal(float)  # the raster changed; time.perf_counter() of the event that changed it
    stroke_started = Signal()  # the person started drawing (or cleared): a caption about a dropped image is stale
    brush_changed = Signal(int)
    undo_available = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._raster = QImage(RASTER_SIZE, RASTER_SIZE, QImage.Format.Format_Grayscale8)
        self._raster.fill(0)
        self._has_ink = False
        self._undo: list[tuple[QImage, bool]] = []
        self._brush = DEFAULT_BRUSH
        self._points: list[tuple[QPointF, float]] = []  # the stroke being drawn: raster position, pen width
        self._drawing = False
        self._hover: QPointF | None = None  # widget position, for the brush outline
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
        """The drawing as a read-only uint8 [280, 280] view of the raster's memory (valid until the next stroke)."""
        image = self._raster
        buffer = np.frombuffer(image.constBits(), dtype=np.uint8)
        return buffer.reshape(image.height(), image.bytesPerLine())[:, :image.width()]

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
        self._raster = scaled.convertToFormat(QImage.Format.Format_Grayscale8)  # a deep copy: `small` may go
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

    def square(self) -> QRectF:
        """Where the raster is shown: the largest centred square."""
        side = max(1, min(self.width(), self.height()))
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_raster(self, pos: QPointF) -> QPointF:
        sq = self.square()
        k = RASTER_SIZE / sq.width()
        return QPointF((pos.x() - sq.x()) * k, (pos.y() - sq.y()) * k)

    def _to_widget_rect(self, r: QRectF) -> QRect:
        sq = self.square()
        k = sq.width() / RASTER_SIZE
        return QRectF(sq.x() + r.x() * k, sq.y() + r.y() * k, r.width() * k, r.height() * k).toAlignedRect()

    # -- strokes -----------------------------------------------------------------------------------
    def _begin(self, pos: QPointF, width: float) -> None:
        self.stroke_started.emit()
        self._snapshot()
        self._drawing = True
        p = self.to_raster(pos)
        self._points = [(p, width)]
        with self._painter() as painter:  # a dot: a click alone leaves a mark
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(QColor(INK, INK, INK)))
            painter.drawEllipse(p, width / 2, width / 2)
        self._has_ink = True
        self._dirty(QRectF(p.x() - width, p.y() - width, 2 * width, 2 * width))

    def _extend(self, pos: QPointF, width: float) -> bool:
        p = self.to_raster(pos)
        last = self._points[-1][0]
        if abs(p.x() - last.x()) + abs(p.y() - last.y()) < 0.75:  # sub-pixel jitter: nothing to draw
            return False
        self._points.append((p, width))
        pts = self._points
        if len(pts) == 2:  # first segment: straight to the midpoint, the curve starts there
            path = QPainterPath(pts[0][0])
            path.lineTo(_mid(pts[0][0], p))
        else:
            a, b = pts[-3][0], pts[-2][0]
            path = QPainterPath(_mid(a, b))
            path.quadTo(b, _mid(b, p))
        self._stroke(path, (pts[-2][1] + width) / 2)
        return True

    def _finish(self) -> None:
        if len(self._points) >= 2:  # the last half segment, from the last midpoint to the pointer
            a, b = self._points[-2][0], self._points[-1][0]
            path = QPainterPath(_mid(a, b))
            path.lineTo(b)
            self._stroke(path, self._points[-1][1])
        self._points, self._drawing = [], False

    def _stroke(self, path: QPainterPath, width: float) -> None:
        with self._painter() as painter:
            pen = QPen(QColor(INK, INK, INK), width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                       Qt.PenJoinStyle.RoundJoin)
            painter.strokePath(path, pen)
        r = path.boundingRect()
        self._dirty(r.adjusted(-width, -width, width, width))

    def _painter(self) -> _RasterPainter:
        return _RasterPainter(self._raster)

    def _dirty(self, raster_rect: QRectF) -> None:
        self.update(self._to_widget_rect(raster_rect).adjusted(-2, -2, 2, 2))

    def _mouse_width(self) -> float:
        return float(self._brush)

    def _pen_width(self, pressure: float) -> float:
        """A pen: light touches draw thin, pressing hard up to 1.4× the brush."""
        return self._brush * (0.3 + 1.1 * min(max(pressure, 0.0), 1.0))

    # -- events ------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        t = time.perf_counter()
        if event.button() == Qt.MouseButton.RightButton:
            self.clear()
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self._begin(event.position(), self._mouse_width())
        self.changed.emit(t)

    def mouseMoveEvent(self, event) -> None:
        t = time.perf_counter()
        self._move_hover(event.position())
        if self._drawing and event.buttons() & Qt.MouseButton.LeftButton and self._extend(
                event.position(), self._mouse_width()):
            self.changed.emit(t)

    def mouseReleaseEvent(self, event) -> None:
        t = time.perf_counter()
        if event.button() == Qt.MouseButton.LeftButton and self._drawing:
            self._extend(event.position(), self._mouse_width())
            self._finish()
            self.changed.emit(t)

    def tabletEvent(self, event) -> None:
        t = time.perf_counter()
        kind = event.type()
        width = self._pen_width(event.pressure())
        if kind == QEvent.Type.TabletPress:
            if event.button() == Qt.MouseButton.RightButton:
                self.clear()
            else:
                self._begin(event.position(), width)
                self.changed.emit(t)
        elif kind == QEvent.Type.TabletMove:
            self._move_hover(event.position())
            if self._drawing and self._extend(event.position(), width):
                self.changed.emit(t)
        elif kind == QEvent.Type.TabletRelease and self._drawing:
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
        if event.type() == QEvent.Type.ShortcutOverride and self._is_own_key(event):
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
        radius = self._brush_radius() + 3
        for p in (old, pos):
            if p is not None:
                self.update(QRectF(p.x() - radius, p.y() - radius, 2 * radius, 2 * radius).toAlignedRect())

    def _brush_radius(self) -> float:
        return self._brush / 2 * self.square().width() / RASTER_SIZE

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), self.palette().color(QPalette.ColorRole.Window))
        sq = self.square()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(sq, self._raster)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not self._has_ink and not self._drawing:
            painter.setPen(QColor(150, 150, 158))
            font = painter.font()
            font.setPointSizeF(max(font.pointSizeF() * 1.25, 11))
            painter.setFont(font)
            painter.drawText(sq, Qt.AlignmentFlag.AlignCenter, "Draw a digit here")
        if self._hover is not None and not self._drawing and sq.contains(self._hover):
            painter.setPen(QPen(QColor(255, 255, 255, 110), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            r = self._brush_radius()
            painter.drawEllipse(self._hover, r, r)
        focus = self.hasFocus()
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


class _RasterPainter:
    """`with` a QPainter on the raster, antialiased, always ended (an unended painter crashes Qt)."""

    def __init__(self, image: QImage):
        self._image = image

    def __enter__(self) -> QPainter:
        self._painter = QPainter(self._image)
        self._painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        return self._painter

    def __exit__(self, *exc) -> None:
        self._painter.end()
