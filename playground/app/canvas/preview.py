"""The 28×28 image the network actually sees, enlarged with nearest-neighbour so its pixels show."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

SIZE = 28


class DigitPreview(QWidget):
    """A square of 28×28 big pixels; empty (black with a faint pixel grid) until an image is set."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._array = np.zeros((SIZE, SIZE), dtype=np.uint8)
        self._image: QImage | None = None
        sp = QSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setSizePolicy(sp)
        self.setToolTip("What the network sees: the drawing cropped, scaled into 20×20 and centred "
                        "on its centre of mass in a 28×28 field, like MNIST")
        self.setAccessibleName("Network input preview")

    def sizeHint(self) -> QSize:
        return QSize(4 * SIZE + 2, 4 * SIZE + 2)  # 4 px per pixel and a frame

    def image(self) -> np.ndarray | None:
        """The image shown (uint8 [28, 28]), or None."""
        return None if self._image is None else self._array

    def set_image(self, image28: np.ndarray | None) -> None:
        if image28 is None:
            self._image = None
        else:
            a = np.ascontiguousarray(image28, dtype=np.uint8)
            if a.shape != (SIZE, SIZE):
                raise ValueError(f"expected a 28×28 image, got shape {a.shape}")
            self._array = a.copy()  # the QImage below reads this memory: keep our own
            h, w = self._array.shape
            self._image = QImage(self._array.data, w, h, w, QImage.Format.Format_Grayscale8)
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        side = min(self.width(), self.height())
        frame = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        inner = frame.adjusted(1, 1, -1, -1)
        painter.fillRect(frame, QColor(0, 0, 0))
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # nearest neighbour
            painter.drawImage(inner, self._image)
        else:  # a faint grid says "28×28 pixels go here"
            painter.setPen(QPen(QColor(255, 255, 255, 18), 0))
            step = inner.width() / SIZE
            for i in range(1, SIZE):
                x = inner.left() + i * step
                y = inner.top() + i * step
                painter.drawLine(int(x), int(inner.top()), int(x), int(inner.bottom()))
                painter.drawLine(int(inner.left()), int(y), int(inner.right()), int(y))
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(frame.adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()
