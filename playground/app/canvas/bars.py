"""Ten horizontal probability bars, painted in one paintEvent (cheaper than ten QProgressBars).

They repaint with every prediction while someone draws, and a training run may be
waiting for the GIL meanwhile, so painting does little Python: the geometry,
colours and fonts are computed once per size/palette/font, the tracks come from a
cached pixmap, labels and values are cached `QStaticText`s (laid out once, not at
every paint), and a new set of probabilities repaints only the rows whose
picture changed (bar length, value text or highlight).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPixmap, QStaticText, QTextOption
from PySide6.QtWidgets import QSizePolicy, QWidget

DIGITS = tuple(str(i) for i in range(10))
TEXT_CACHE_LIMIT = 4096  # value strings kept laid out ("12.3%": about 1,000 of them in practice)


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3], strict=True)))


def value_text(p: float) -> str:
    return f"{p * 100:.1f}%" if p < 0.995 else f"{p * 100:.0f}%"


class _Layout:
    """Everything a paint needs that depends only on the size, the labels, the font and the palette."""

    def __init__(self, widget: ProbabilityBars, labels: tuple[str, ...]):
        pal = widget.palette()
        self.text, self.base = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
        self.accent = pal.color(QPalette.ColorRole.Highlight)
        self.dim = _blend(self.base, self.text, 0.45)
        self.track = _blend(self.base, self.text, 0.10)
        self.bar = _blend(self.base, self.text, 0.42)
        self.font = QFont(widget.font())
        self.bold = widget._bold_font()
        fm = QFontMetricsF(self.bold)
        self.label_w = label_w = widget._label_width(fm)
        self.value_w = value_w = fm.horizontalAdvance("100.0%") + 8
        rows = max(len(labels), 1)
        width, height = widget.width(), widget.height()
        self.row_h = row_h = min(height / rows, widget.ROW * 1.4)
        self.y0 = y0 = (height - row_h * rows) / 2
        self.bar_h = bar_h = max(4.0, min(row_h * 0.55, 14.0))
        self.radius = bar_h / 2
        self.track_x = label_w
        self.track_w = track_w = max(10.0, width - label_w - value_w)
        self.labels = labels
        self.rows: list[QRect] = []  # what each row covers, for partial updates ...
        self.bar_rows: list[QRect] = []  # ... its part right of the label (all that changes with the values) ...
        self.label_rows: list[QRect] = []  # ... and the rest
        self.tracks: list[QRectF] = []
        # Where a label or value (right-aligned in its QStaticText's width) is drawn; [bold] for the top class.
        self.label_at: tuple[list[QPointF], list[QPointF]] = ([], [])
        self.value_at: tuple[list[QPointF], list[QPointF]] = ([], [])
        half_line = (QFontMetricsF(self.font).height() / 2, fm.height() / 2)
        for i in range(len(labels)):
            y = y0 + i * row_h
            centre = y + row_h / 2
            self.rows.append(QRectF(0, y, width, row_h).toAlignedRect())
            self.bar_rows.append(QRectF(label_w, y, width - label_w, row_h).toAlignedRect())
            self.label_rows.append(self.rows[-1].adjusted(0, 0, -self.bar_rows[-1].width(), 0))
            self.tracks.append(QRectF(label_w, y + (row_h - bar_h) / 2, track_w, bar_h))
            for bold in (0, 1):
                self.label_at[bold].append(QPointF(0, centre - half_line[bold]))
                self.value_at[bold].append(QPointF(label_w + track_w, centre - half_line[bold]))
        # The tracks, drawn once: a paint blits the part of this it repaints.
        dpr = widget.devicePixelRatioF()
        self.background = QPixmap(max(1, round(width * dpr)), max(1, round(height * dpr)))
        self.background.setDevicePixelRatio(dpr)
        self.background.fill(Qt.GlobalColor.transparent)
        painter = QPainter(self.background)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.track)
        for rect in self.tracks:
            painter.drawRoundedRect(rect, self.radius, self.radius)
        painter.end()
        # Laid-out texts, one set per font (a QStaticText is laid out again whenever it is drawn in another font).
        self.label_texts = tuple([_static(label, label_w - 8) for label in labels] for _ in (0, 1))
        self._value_texts: tuple[dict[str, QStaticText], dict[str, QStaticText]] = ({}, {})

    def value_text(self, text: str, bold: int) -> QStaticText:
        cache = self._value_texts[bold]
        static = cache.get(text)
        if static is None:
            if len(cache) >= TEXT_CACHE_LIMIT:
                cache.clear()
            static = cache[text] = _static(text, self.value_w)
        return static

    def row_states(self, probs: np.ndarray | None, top: int | None) -> list[tuple] | None:
        """What each row shows (highlighted, filled width, opaque, value text): a row whose state is unchanged
        needs no repaint."""
        if probs is None:
            return None
        bar_h, track_w = self.bar_h, self.track_w  # ten numbers: plain Python beats numpy calls here
        return [(i == top, round(max(bar_h, track_w * p) * 4) / 4 if p > 0 else 0.0, p >= 0.005, value_text(p))
                for i, p in enumerate(probs.tolist())]


def _static(text: str, width: float) -> QStaticText:
    """`text` laid out once, right-aligned in `width`."""
    static = QStaticText(text)
    static.setTextFormat(Qt.TextFormat.PlainText)
    option = QTextOption(Qt.AlignmentFlag.AlignRight)
    option.setWrapMode(QTextOption.WrapMode.NoWrap)
    static.setTextOption(option)
    static.setTextWidth(width)
    return static


class ProbabilityBars(QWidget):
    """One row per class: its name, a bar as long as its probability, the value in %. The top class is accented.
    With no probabilities (nothing drawn) the rows are greyed out under a short message."""

    ROW = 22  # preferred row height, px

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._classes: tuple[str, ...] = DIGITS
        self._probabilities: np.ndarray | None = None
        self._message = "draw a digit"
        self._layout: _Layout | None = None  # built at the first paint after a change of size, font, palette, ...
        self._states: list[tuple] | None = None  # the rows as they should look (None: no probabilities)
        self._painted: list[tuple] | None = None  # the rows as last painted (None: unknown, repaint them all)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.MinimumExpanding)
        self.setAccessibleName("Class probabilities")

    # -- state -------------------------------------------------------------------------------------
    def classes(self) -> tuple[str, ...]:
        return self._classes

    def set_classes(self, classes: tuple[str, ...]) -> None:
        self._classes = tuple(str(c) for c in classes) or DIGITS
        self._invalidate()
        self.updateGeometry()

    def probabilities(self) -> np.ndarray | None:
        return self._probabilities

    def set_probabilities(self, probabilities: np.ndarray | None, message: str = "draw a digit") -> None:
        """Show these probabilities, or (None) grey rows under `message`. Repaints only the rows that change."""
        old = self._probabilities
        if probabilities is None and old is None and message == self._message:
            return
        new = None if probabilities is None else np.asarray(probabilities, dtype=np.float32)
        self._probabilities, self._message = new, message
        layout, painted = self._layout, self._painted
        if layout is not None and layout.labels != self._labels():
            layout = self._layout = None
        self._states = states = None if layout is None else layout.row_states(new, self.top_class())
        if states is None or painted is None or len(states) != len(painted):
            self._painted = None
            self.update()
            return
        dirty: QRect | None = None
        for i, (state, before) in enumerate(zip(states, painted, strict=True)):
            if state != before:  # the label too only when the highlight moves
                rect = layout.rows[i] if state[0] != before[0] else layout.bar_rows[i]
                dirty = rect if dirty is None else dirty.united(rect)
        if dirty is not None:
            self.update(dirty)

    def top_class(self) -> int | None:
        probs = self._probabilities
        return None if probs is None or not len(probs) else int(probs.argmax())

    def _labels(self) -> tuple[str, ...]:
        n = len(self._probabilities) if self._probabilities is not None else len(self._classes)
        return self._classes if len(self._classes) == n else tuple(str(i) for i in range(n))

    # -- geometry ----------------------------------------------------------------------------------
    def _label_width(self, fm: QFontMetricsF) -> float:
        return max((fm.horizontalAdvance(c) for c in self._labels()), default=0.0) + 10

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

    def _invalidate(self) -> None:
        self._layout = self._painted = None
        self.update()

    def resizeEvent(self, event) -> None:
        self._invalidate()
        super().resizeEvent(event)

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._invalidate()
        super().changeEvent(event)

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        layout = self._layout
        if layout is None:
            layout = self._layout = _Layout(self, self._labels())
            self._states = layout.row_states(self._probabilities, self.top_class())
        exposed = event.rect()
        painter = QPainter(self)
        painter.drawPixmap(0, 0, layout.background)  # the tracks (clipped to the exposed rows)
        rows = [i for i, rect in enumerate(layout.rows) if rect.intersects(exposed)]
        if self._states is None:
            self._paint_idle(painter, layout, rows)
        else:
            if exposed.left() < layout.label_w:  # some labels are exposed (a new top class, a resize, ...)
                region = event.region()
                labelled = [i for i in rows if region.intersects(layout.label_rows[i])]
            else:
                labelled = []
            self._paint_rows(painter, layout, rows, labelled, self._states)
        painter.end()
        self._painted = self._states

    @staticmethod
    def _paint_rows(painter: QPainter, layout: _Layout, rows: list[int], labelled: list[int],
                    states: list[tuple]) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        radius, bar_h, tracks = layout.radius, layout.bar_h, layout.tracks
        top = None
        for i in rows:
            highlight, filled, opaque, _ = states[i]
            if highlight:
                top = i
            if filled:
                painter.setBrush(layout.accent if highlight else layout.bar)
                if not opaque:
                    painter.setOpacity(0.35)
                painter.drawRoundedRect(QRectF(layout.track_x, tracks[i].y(), filled, bar_h), radius, radius)
                if not opaque:
                    painter.setOpacity(1.0)
        for bold in (0, 1):  # the top class in bold, in the accent colour
            drawn = [i for i in rows if (i == top) == bold]
            if not drawn:
                continue
            painter.setFont(layout.bold if bold else layout.font)
            painter.setPen(layout.accent if bold else layout.text)
            labels, label_at, value_at = layout.label_texts[bold], layout.label_at[bold], layout.value_at[bold]
            for i in drawn:
                painter.drawStaticText(value_at[i], layout.value_text(states[i][3], bold))
            for i in labelled:
                if (i == top) == bold:
                    painter.drawStaticText(label_at[i], labels[i])

    def _paint_idle(self, painter: QPainter, layout: _Layout, rows: list[int]) -> None:
        painter.setFont(layout.font)
        painter.setPen(layout.dim)
        for i in rows:
            painter.drawStaticText(layout.label_at[0][i], layout.label_texts[0][i])
        if not self._message:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = QFontMetricsF(layout.font)
        n = max(len(layout.labels), 1)
        msg_rect = QRectF(layout.track_x, layout.y0, layout.track_w, layout.row_h * n)
        w, h = fm.horizontalAdvance(self._message) + 20, fm.height() + 10
        box = QRectF(msg_rect.center().x() - w / 2, msg_rect.center().y() - h / 2, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(layout.base)
        painter.drawRoundedRect(box, h / 2, h / 2)
        painter.setPen(layout.dim)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._message)
