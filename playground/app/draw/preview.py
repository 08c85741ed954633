"""The 28×28 image the network actually sees, enlarged with nearest-neighbour so its pixels show.

The picture (frame included) is rendered once per new image, at the widget's size
in device pixels, and handed to QLabel as a pixmap. The image is enlarged by
numpy indexing, not by per-pixel Python, nor by Qt at every paint.

There is deliberately no Python `paintEvent`: the preview repaints with every
prediction while someone draws, and each call from Qt into Python takes the
interpreter lock a training run in another thread needs (it then waits for the
lock to come back, on every such hand-over). QLabel paints the pixmap in C++.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

SIZE = 28
OPAQUE = np.uint32(0xFF000000)
GRAY_TO_RGB32 = OPAQUE | np.arange(256, dtype=np.uint32) * np.uint32(0x010101)  # a gray level -> opaque RGB32


class DigitPreview(QLabel):
    """A square of 28×28 big pixels; empty (black with a faint pixel grid) until an image is set."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._array = np.zeros((SIZE, SIZE), dtype=np.uint8)
        self._has_image = False
        self._stale = True  # the pixmap shown is not the current image (rendered once the preview is in sight)
        self._pixels: np.ndarray | None = None  # the rendered square, RGB32, framed (reused from image to image)
        self._pixels_key: tuple = ()
        self._index = np.zeros(0, dtype=np.intp)
        self._empty: tuple[tuple, QImage] | None = None  # the empty grid, rendered once per size and palette
        self.renders = 0  # pictures rendered (a paint without a new image renders none)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # A fixed size: a new pixmap then never asks the window to lay itself out again.
        self.setFixedSize(self.sizeHint())
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setToolTip("What the network sees: the drawing cropped, scaled into 20×20 and centred "
                        "on its centre of mass in a 28×28 field, like MNIST")
        self.setAccessibleName("Network input preview")

    def sizeHint(self) -> QSize:
        return QSize(4 * SIZE + 2, 4 * SIZE + 2)  # 4 px per pixel and a frame

    def image(self) -> np.ndarray | None:
        """The image shown (uint8 [28, 28]), or None."""
        return self._array if self._has_image else None

    def set_image(self, image28: np.ndarray | None) -> None:
        if image28 is None:
            if not self._has_image:
                return
            self._has_image = False
        else:
            a = np.asarray(image28)
            if a.shape != (SIZE, SIZE):
                raise ValueError(f"expected a 28×28 image, got shape {a.shape}")
            self._array = np.array(a, dtype=np.uint8, copy=True)  # our own: the caller may reuse its array
            self._has_image = True
        self._refresh()

    def _refresh(self) -> None:
        """Render the current image now if the preview is in sight, else once it is shown."""
        self._stale = True
        if self.isVisible():
            self._stale = False
            self.setPixmap(QPixmap.fromImage(self._render()))
            self.renders += 1

    # -- rendering ---------------------------------------------------------------------------------
    def _render(self) -> QImage:
        side, dpr = min(self.width(), self.height()), self.devicePixelRatioF()
        n = max(3, round(side * dpr))
        border = max(1, round(dpr))
        if not self._has_image:
            return self._render_empty(n, dpr)
        frame = self.palette().color(QPalette.ColorRole.Mid).rgb()
        key = (n, border, frame)
        if self._pixels is None or self._pixels_key != key:  # a new size or palette: a new buffer, framed
            self._pixels = np.full((n, n), frame, dtype=np.uint32)
            self._pixels_key = key
            # Nearest neighbour: device pixel i of the inner square shows image pixel floor(i * 28 / inner).
            self._index = np.arange(n - 2 * border) * SIZE // (n - 2 * border)
        index, pixels = self._index, self._pixels
        pixels[border:n - border, border:n - border] = GRAY_TO_RGB32[self._array].take(index, 0).take(index, 1)
        picture = QImage(pixels.data, n, n, 4 * n, QImage.Format.Format_RGB32)  # reads `pixels` (copied to a pixmap)
        picture.setDevicePixelRatio(dpr)
        return picture

    def _render_empty(self, n: int, dpr: float) -> QImage:
        key = (n, dpr, self.palette().color(QPalette.ColorRole.Mid).rgb())
        if self._empty is not None and self._empty[0] == key:
            return self._empty[1]
        picture = QImage(n, n, QImage.Format.Format_RGB32)
        picture.setDevicePixelRatio(dpr)
        picture.fill(QColor(0, 0, 0))
        side = n / dpr
        painter = QPainter(picture)
        inner = QRectF(1, 1, side - 2, side - 2)
        painter.setPen(QPen(QColor(255, 255, 255, 18), 0))  # a faint grid says "28×28 pixels go here"
        step = inner.width() / SIZE
        for i in range(1, SIZE):
            x = inner.left() + i * step
            y = inner.top() + i * step
            painter.drawLine(int(x), int(inner.top()), int(x), int(inner.bottom()))
            painter.drawLine(int(inner.left()), int(y), int(inner.right()), int(y))
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(0, 0, side, side).adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()
        self._empty = (key, picture)
        return picture

    def showEvent(self, event) -> None:
        if self._stale:
            self._refresh()
        super().showEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._refresh()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange, QEvent.Type.DevicePixelRatioChange):
            self._refresh()
