"""Ten horizontal probability bars, drawn by Qt's graphics view from a few items (cheaper than ten QProgressBars).

They repaint with every prediction while someone draws, on the core the window
shares with the inference process while a run trains (and, when training ran in
a thread of this process, every call from Qt into Python took the interpreter
lock the training thread waited for). So this widget has no Python
`paintEvent`: its rows are
`QGraphicsScene` items (label, track, bar, value) that Qt paints in C++, and a
new set of probabilities only moves, resizes or re-labels the items of the rows
whose picture changed (bar length, value text or highlight). The scene then
repaints just the parts of the widget those items cover.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QSizePolicy,
    QWidget,
)

DIGITS = tuple(str(i) for i in range(10))
FAINT_OPACITY = 0.35  # a bar under 0.5%: there, but not worth the eye's attention


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3], strict=True)))


def value_text(p: float) -> str:
    return f"{p * 100:.1f}%" if p < 0.995 else f"{p * 100:.0f}%"


def _rounded(rect: QRectF, radius: float) -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(rect, radius, radius)
    return path


class _Layout:
    """Everything that depends only on the size, the labels, the font and the palette: colours, fonts, where each
    row goes, and the scene's items (made once per layout, then only updated)."""

    def __init__(self, widget: ProbabilityBars, scene: QGraphicsScene, labels: tuple[str, ...]):
        pal = widget.palette()
        self.text, self.base = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
        self.accent = pal.color(QPalette.ColorRole.Highlight)
        self.dim = _blend(self.base, self.text, 0.45)
        self.track = _blend(self.base, self.text, 0.10)
        self.bar = _blend(self.base, self.text, 0.42)
        self.fonts = (QFont(widget.font()), widget._bold_font())
        self.metrics = tuple(QFontMetricsF(font) for font in self.fonts)
        fm = self.metrics[1]
        self.label_w = label_w = widget._label_width(fm)
        self.value_w = value_w = fm.horizontalAdvance("100.0%") + 8
        rows = max(len(labels), 1)
        width, height = widget.viewport().width(), widget.viewport().height()
        self.width = width
        self.row_h = row_h = min(height / rows, widget.ROW * 1.4)
        self.y0 = y0 = (height - row_h * rows) / 2
        self.bar_h = bar_h = max(4.0, min(row_h * 0.55, 14.0))
        self.radius = bar_h / 2
        self.track_x = label_w
        self.track_w = track_w = max(10.0, width - label_w - value_w)
        self.labels = labels
        self.rows: list[QRectF] = []  # what each row covers
        self.tops: list[float] = []  # where each row's bar is drawn
        self.centres: list[float] = []
        self._widths: tuple[dict[str, float], dict[str, float]] = ({}, {})
        scene.clear()
        scene.setSceneRect(0, 0, width, height)
        self.label_items: list[QGraphicsSimpleTextItem] = []
        self.bar_items: list[QGraphicsPathItem] = []
        self.value_items: list[QGraphicsSimpleTextItem] = []
        for i in range(len(labels)):
            y = y0 + i * row_h
            self.rows.append(QRectF(0, y, width, row_h))
            self.tops.append(y + (row_h - bar_h) / 2)
            self.centres.append(y + row_h / 2)
            track = scene.addPath(_rounded(QRectF(label_w, self.tops[i], track_w, bar_h), self.radius),
                                  Qt.PenStyle.NoPen, self.track)
            track.setZValue(0)
            bar = scene.addPath(QPainterPath(), Qt.PenStyle.NoPen, self.bar)
            bar.setZValue(1)
            self.bar_items.append(bar)
            self.label_items.append(scene.addSimpleText(labels[i]))
            self.value_items.append(scene.addSimpleText(""))
        n_rows = rows * row_h
        self.message_box = scene.addPath(QPainterPath(), Qt.PenStyle.NoPen, self.base)
        self.message_box.setZValue(2)
        self.message = scene.addSimpleText("")
        self.message.setZValue(3)
        self.message.setFont(self.fonts[0])
        self.message.setBrush(self.dim)
        self.message_centre = (self.track_x + track_w / 2, y0 + n_rows / 2)

    def text_width(self, text: str, bold: int) -> float:
        widths = self._widths[bold]
        width = widths.get(text)
        if width is None:
            if len(widths) > 4096:  # value strings: about 1,000 in practice
                widths.clear()
            width = widths[text] = self.metrics[bold].horizontalAdvance(text)
        return width

    def row_states(self, probs: np.ndarray | None, top: int | None) -> list[tuple] | None:
        """What each row shows (highlighted, filled width, opaque, value text): a row whose state is unchanged
        needs no update."""
        if probs is None:
            return None
        bar_h, track_w = self.bar_h, self.track_w  # ten numbers: plain Python beats numpy calls here
        return [(i == top, round(max(bar_h, track_w * p) * 4) / 4 if p > 0 else 0.0, p >= 0.005, value_text(p))
                for i, p in enumerate(probs.tolist())]

    def show_label(self, i: int, bold: int, colour: QColor) -> None:
        item = self.label_items[i]
        item.setFont(self.fonts[bold])
        item.setBrush(colour)
        item.setPos(self.label_w - 8 - self.text_width(self.labels[i], bold),
                    self.centres[i] - self.metrics[bold].height() / 2)

    def show_row(self, i: int, state: tuple, before: tuple | None) -> None:
        highlight, filled, opaque, text = state
        bold = int(highlight)
        if before is None or before[0] != highlight:
            self.show_label(i, bold, self.accent if highlight else self.text)
            self.bar_items[i].setBrush(self.accent if highlight else self.bar)
            self.value_items[i].setFont(self.fonts[bold])
            self.value_items[i].setBrush(self.accent if highlight else self.text)
        bar = self.bar_items[i]
        if before is None or before[1] != filled:
            bar.setPath(_rounded(QRectF(self.track_x, self.tops[i], filled, self.bar_h), self.radius)
                        if filled else QPainterPath())
        if before is None or before[2] != opaque:
            bar.setOpacity(1.0 if opaque else FAINT_OPACITY)
        value = self.value_items[i]
        if before is None or before[3] != text or before[0] != highlight:
            value.setText(text)
            value.setPos(self.width - self.text_width(text, bold), self.centres[i] - self.metrics[bold].height() / 2)

    def show_idle(self, message: str) -> None:
        for i in range(len(self.labels)):
            self.show_label(i, 0, self.dim)
            self.bar_items[i].setPath(QPainterPath())
            self.value_items[i].setText("")
        self.message.setText(message)
        if not message:
            self.message_box.setPath(QPainterPath())
            return
        fm = self.metrics[0]
        w, h = fm.horizontalAdvance(message) + 20, fm.height() + 10
        cx, cy = self.message_centre
        self.message_box.setPath(_rounded(QRectF(cx - w / 2, cy - h / 2, w, h), h / 2))
        self.message.setPos(cx - (w - 20) / 2, cy - fm.height() / 2)


class ProbabilityBars(QGraphicsView):
    """One row per class: its name, a bar as long as its probability, the value in %. The top class is accented.
    With no probabilities (nothing drawn) the rows are greyed out under a short message."""

    ROW = 22  # preferred row height, px

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._classes: tuple[str, ...] = DIGITS
        self._probabilities: np.ndarray | None = None
        self._message = "draw a digit"
        self._scene = QGraphicsScene(self)
        self._layout: _Layout | None = None  # made when the widget is shown or changes size, font, palette, ...
        self._shown: list[tuple] | None = None  # the rows' items as they are (None: idle, or not made yet)
        self._idle_message: str | None = None  # the message the idle rows show (None: they do not)
        self.setScene(self._scene)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.setInteractive(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.viewport().setBackgroundRole(QPalette.ColorRole.Window)  # the panel's background, not a text field's
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.MinimumExpanding)
        self.setAccessibleName("Class probabilities")

    # -- state -------------------------------------------------------------------------------------
    def classes(self) -> tuple[str, ...]:
        return self._classes

    def set_classes(self, classes: tuple[str, ...]) -> None:
        self._classes = tuple(str(c) for c in classes) or DIGITS
        self._relayout()
        self.updateGeometry()

    def probabilities(self) -> np.ndarray | None:
        return self._probabilities

    def set_probabilities(self, probabilities: np.ndarray | None, message: str = "draw a digit") -> None:
        """Show these probabilities, or (None) grey rows under `message`. Updates only the rows that change."""
        old = self._probabilities
        if probabilities is None and old is None and message == self._message:
            return
        new = None if probabilities is None else np.asarray(probabilities, dtype=np.float32)
        self._probabilities, self._message = new, message
        layout = self._layout
        if layout is None:
            return  # drawn once the widget is laid out
        if layout.labels != self._labels():
            self._relayout()
        else:
            self._show(layout)

    def top_class(self) -> int | None:
        probs = self._probabilities
        return None if probs is None or not len(probs) else int(probs.argmax())

    def _labels(self) -> tuple[str, ...]:
        n = len(self._probabilities) if self._probabilities is not None else len(self._classes)
        return self._classes if len(self._classes) == n else tuple(str(i) for i in range(n))

    def _show(self, layout: _Layout) -> None:
        states, shown = layout.row_states(self._probabilities, self.top_class()), self._shown
        if states is None:
            if self._idle_message != self._message:
                layout.show_idle(self._message)
                self._idle_message = self._message
            self._shown = None
            return
        self._idle_message = None
        if shown is None or len(shown) != len(states):
            layout.show_idle("")
            shown = [None] * len(states)
        for i, (state, before) in enumerate(zip(states, shown, strict=True)):
            if state != before:
                layout.show_row(i, state, before)
        self._shown = states

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

    def _relayout(self) -> None:
        self._shown = self._idle_message = None
        self._layout = layout = _Layout(self, self._scene, self._labels())
        self._show(layout)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._relayout()

    def wheelEvent(self, event) -> None:
        event.ignore()  # nothing to scroll here: the wheel belongs to whatever holds the bars

    def row_rect(self, row: int) -> QRectF:
        """Where row `row` is, in widget coordinates (its label included)."""
        return self._layout.rows[row] if self._layout is not None else QRectF()

    def label_width(self) -> float:
        """The width of the labels' column: right of it, only the bars and the values change with the values."""
        return self._layout.label_w if self._layout is not None else 0.0
