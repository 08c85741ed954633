"""Ten horizontal probability bars, painted in one paintEvent (cheaper than ten QProgressBars)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

DIGITS = tuple(str(i) for i in range(10))


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3], strict=True)))


class ProbabilityBars(QWidget):
    """One row per class: its name, a bar as long as its probability, the value in %. The top class is accented.
    With no probabilities (nothing drawn) the rows are greyed out under a short message."""

    ROW = 22  # preferred row height, px

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._classes: tuple[str, ...] = DIGITS
        self._probabilities: np.ndarray | None = None
        self._message = "draw a digit"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.MinimumExpanding)
        self.setAccessibleName("Class probabilities")

    # -- state -------------------------------------------------------------------------------------
    def classes(self) -> tuple[str, ...]:
        return self._classes

    def set_classes(self, classes: tuple[str, ...]) -> None:
        self._classes = tuple(str(c) for c in classes) or DIGITS
        self.updateGeometry()
        self.update()

    def probabilities(self) -> np.ndarray | None:
        return self._probabilities

    def set_probabilities(self, probabilities: np.ndarray | None, message: str = "draw a digit") -> None:
        """Show these probabilities, or (None) grey rows under `message`."""
        if probabilities is None and self._probabilities is None and message == self._message:
            return
        self._probabilities = None if probabilities is None else np.asarray(probabilities, dtype=np.float32)
        self._message = message
        self.update()

    def top_class(self) -> int | None:
        probs = self._probabilities
        return None if probs is None or not len(probs) else int(probs.argmax())

    def _labels(self) -> tuple[str, ...]:
        n = len(self._probabilities) if self._probabilities is not None else len(self._classes)
        return self._classes if len(self._classes) == n else tuple(str(i) for i in range(n))

    # -- geometry ----------------------------------------------------------------------------------
    def _label_width(self, fm: QFontMetricsF) -> float:
        return max(fm.horizontalAdvance(c) for c in self._labels()) + 10

    def sizeHint(self) -> QSize:
        fm = QFontMetricsF(self._bold_font())
        return QSize(int(self._label_width(fm) + 180), self.ROW * len(self._labels()) + 4)

    def minimumSizeHint(self) -> QSize:
        fm = QFontMetricsF(self._bold_font())
        rows = len(self._labels())
        return QSize(int(self._label_width(fm) + 110), int(max(fm.height() + 4, 14) * rows))

    def _bold_font(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        pal = self.palette()
        text, base = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
        accent = pal.color(QPalette.ColorRole.Highlight)
        dim = _blend(base, text, 0.45)
        track = _blend(base, text, 0.10)
        bar = _blend(base, text, 0.42)
        labels = self._labels()
        probs = self._probabilities
        top = self.top_class()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        bold = self._bold_font()
        fm = QFontMetricsF(bold)
        label_w = self._label_width(fm)
        value_w = fm.horizontalAdvance("100.0%") + 8
        rows = max(len(labels), 1)
        row_h = min(self.height() / rows, self.ROW * 1.4)
        y0 = (self.height() - row_h * rows) / 2
        bar_h = max(4.0, min(row_h * 0.55, 14.0))
        track_x = label_w
        track_w = max(10.0, self.width() - label_w - value_w)
        for i, label in enumerate(labels):
            y = y0 + i * row_h
            highlight = probs is not None and i == top
            painter.setFont(bold if highlight else self.font())
            painter.setPen(accent if highlight else (text if probs is not None else dim))
            painter.drawText(QRectF(0, y, label_w - 8, row_h),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
            bar_rect = QRectF(track_x, y + (row_h - bar_h) / 2, track_w, bar_h)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(track)
            painter.drawRoundedRect(bar_rect, bar_h / 2, bar_h / 2)
            if probs is None:
                continue
            p = float(probs[i])
            if p > 0:
                filled = QRectF(bar_rect.x(), bar_rect.y(), max(bar_h, track_w * p), bar_h)
                painter.setBrush(accent if highlight else bar)
                painter.setOpacity(1.0 if p >= 0.005 else 0.35)
                painter.drawRoundedRect(filled, bar_h / 2, bar_h / 2)
                painter.setOpacity(1.0)
            painter.setPen(accent if highlight else text)
            value = f"{p * 100:.1f}%" if p < 0.995 else f"{p * 100:.0f}%"
            painter.drawText(QRectF(track_x + track_w, y, value_w, row_h),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, value)
        if probs is None and self._message:
            painter.setFont(self.font())
            msg_rect = QRectF(track_x, y0, track_w, row_h * rows)
            painter.setBrush(base)
            w = QFontMetricsF(self.font()).horizontalAdvance(self._message) + 20
            h = QFontMetricsF(self.font()).height() + 10
            box = QRectF(msg_rect.center().x() - w / 2, msg_rect.center().y() - h / 2, w, h)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(box, h / 2, h / 2)
            painter.setPen(dim)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._message)
        painter.end()
