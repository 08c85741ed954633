"""The confusion matrix of the test split, and the examples behind any cell of it.

Rows are the true class, columns the predicted one; each cell shows its count
and is coloured by the fraction of its true class (row-normalised, viridis with
levels 0…1, stated by the colour scale under it), so a class with few examples
is as readable as a big one. Unticking "show correct" greys the diagonal and
stretches the scale to the largest mistake, so that the mistakes stand out.

Hovering a cell tells "true 4, predicted 9: 23 digits (2.3% of the 4s)";
clicking it emits `cell_clicked(true, predicted)` and shows exactly those
examples, most confident first, in a gallery strip under the matrix (the
`PredictionsView` of the Predictions tab, narrowed to the cell). Clicking an example
there emits `example_chosen(index)`.

The matrix is one painted widget; the view handles its clicks, hovers and tool
tips (an event filter), in the view's own coordinates: `cell_rect` is in those,
and a click at it, on the view or through the window, opens the cell.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ..charts.export import write_png
from .colormap import SEQUENTIAL, ColorScale, colorize
from .export import export_button, export_png_dialog
from .predictions import PredictionsView, is_digits, noun, settle_layouts

SCALE_LABEL = "fraction of the true class"
_MOUSE_EVENTS = (QEvent.Type.MouseMove, QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                 QEvent.Type.ToolTip, QEvent.Type.Leave)
MAX_CELL = 72  # px: beyond this the matrix only gets emptier
GAP = 1  # px between cells


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3], strict=True)))


def percent_text(fraction: float) -> str:
    if fraction <= 0:
        return "0%"
    if fraction < 0.0005:
        return "<0.1%"
    return f"{fraction * 100:.1f}%"


def row_fractions(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (a class without examples is all 0)."""
    totals = counts.sum(axis=1, keepdims=True).astype(np.float64)
    return np.divide(counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0)


def contrast_text(rgb) -> QColor:
    r, g, b = (float(c) for c in rgb)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return QColor(20, 20, 20) if luminance > 120 else QColor(245, 245, 245)


class _Geometry:
    """Where everything goes for one size, font and set of classes."""

    def __init__(self, width: int, height: int, font: QFont, classes: tuple[str, ...], max_count: int):
        fm = QFontMetrics(font)
        k = max(1, len(classes))
        th = fm.height()
        self.name_w = name_w = max((fm.horizontalAdvance(c) for c in classes), default=0)
        margin = 6
        left = th + margin + name_w + margin  # the "true" title, then the row names
        top = margin

        def cell_for(label_h: int) -> int:
            bottom = margin + label_h + margin + th + margin  # column names, then the "predicted" title
            return min((width - left - margin) // k, (height - top - bottom) // k, MAX_CELL)

        self.rotated = False
        cell = cell_for(th)
        if name_w > cell - 4:  # the column names do not fit across a column: turn them
            self.rotated = True
            cell = cell_for(name_w)
        self.cell = cell = max(cell, 4)
        label_h = name_w if self.rotated else th
        block_w = left + k * cell
        block_h = top + k * cell + margin + label_h + margin + th + margin
        self.x0 = max(0, (width - block_w) // 2) + left
        self.y0 = max(0, (height - block_h) // 2) + top
        self.k = k
        self.grid = QRect(self.x0, self.y0, k * cell, k * cell)
        self.label_h = label_h
        self.title_h = th
        self.margin = margin
        # The counts: as big as fits in a cell, up to the widget's font.
        self.count_font = QFont(font)
        widest = QFontMetrics(font).horizontalAdvance(str(max(0, max_count)))
        scale = min(1.0, (cell * 0.8) / max(1, widest), (cell * 0.55) / max(1, th))
        size = font.pointSizeF() * scale if font.pointSizeF() > 0 else 0
        self.count_visible = size >= 5.5
        if size > 0:
            self.count_font.setPointSizeF(max(size, 1.0))

    def cell_rect(self, t: int, p: int) -> QRect:
        c = self.cell
        gap = GAP if c >= 10 else 0
        return QRect(self.x0 + p * c, self.y0 + t * c, c - gap, c - gap)

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        if not self.grid.contains(pos):
            return None
        p, t = (pos.x() - self.x0) // self.cell, (pos.y() - self.y0) // self.cell
        return (t, p) if 0 <= t < self.k and 0 <= p < self.k else None


class MatrixCanvas(QWidget):
    """The K×K matrix, painted. The ConfusionView handles its mouse events (an event filter)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)
        self.counts: np.ndarray | None = None
        self.fractions: np.ndarray | None = None
        self.classes: tuple[str, ...] = ()
        self.colours: np.ndarray | None = None  # uint8 [K, K, 3]
        self.levels = (0.0, 1.0)
        self.show_correct = True
        self.hover: tuple[int, int] | None = None
        self.selected: tuple[int, int] | None = None
        self.message = ""
        self._geometry: _Geometry | None = None
        self._geometry_key = None

    def sizeHint(self) -> QSize:
        return QSize(420, 420)

    def set_matrix(self, counts: np.ndarray, classes: tuple[str, ...]) -> None:
        self.counts = counts
        self.fractions = row_fractions(counts)
        self.classes = classes
        self.message = ""
        self._geometry_key = None
        self._recolour()

    def set_message(self, message: str) -> None:
        self.counts = self.fractions = self.colours = None
        self.message = message
        self.update()

    def set_show_correct(self, on: bool) -> None:
        self.show_correct = on
        self._recolour()

    def _recolour(self) -> None:
        if self.fractions is None:
            self.update()
            return
        if self.show_correct:
            self.levels = (0.0, 1.0)
        else:
            off = self.fractions.copy()
            np.fill_diagonal(off, 0.0)
            top = float(off.max()) if off.size else 0.0
            self.levels = (0.0, top) if top > 0 else (0.0, 1.0)
        self.colours = colorize(self.fractions, self.levels, SEQUENTIAL)
        self.update()

    def geometry_now(self) -> _Geometry:
        max_count = int(self.counts.max()) if self.counts is not None and self.counts.size else 0
        key = (self.width(), self.height(), self.font().key(), self.classes, len(str(max_count)))
        if self._geometry is None or key != self._geometry_key:
            self._geometry = _Geometry(self.width(), self.height(), self.font(), self.classes or ("0",), max_count)
            self._geometry_key = key
        return self._geometry

    def set_hover(self, cell: tuple[int, int] | None) -> None:
        if cell != self.hover:
            self.hover = cell
            self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        base = pal.color(QPalette.ColorRole.Window)
        if self.counts is None or self.colours is None:
            p.setPen(_blend(base, text, 0.6))
            p.drawText(self.rect().adjusted(10, 10, -10, -10),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            p.end()
            return
        g = self.geometry_now()
        k = g.k
        counts, colours = self.counts, self.colours
        dim_fill, dim_text = _blend(base, text, 0.10), _blend(base, text, 0.45)
        p.setFont(g.count_font)
        centre = Qt.AlignmentFlag.AlignCenter
        for t in range(k):
            for q in range(k):
                rect = g.cell_rect(t, q)
                n = int(counts[t, q])
                if t == q and not self.show_correct:
                    p.fillRect(rect, dim_fill)
                    pen = dim_text
                else:
                    rgb = colours[t, q]
                    p.fillRect(rect, QColor(int(rgb[0]), int(rgb[1]), int(rgb[2])))
                    pen = contrast_text(rgb)
                    if n == 0:
                        pen = _blend(QColor(*(int(c) for c in rgb)), pen, 0.45)  # zeros: there, but quiet
                if g.count_visible:
                    p.setPen(pen)
                    p.drawText(rect, centre, str(n))
        # Hover and selection frames, drawn over the cells.
        if self.hover is not None and self.hover != self.selected:
            t, q = self.hover
            outline = dim_text if t == q and not self.show_correct else contrast_text(colours[t, q])
            p.setPen(QPen(outline, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(g.cell_rect(t, q).adjusted(1, 1, -1, -1))
        if self.selected is not None:
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 3))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(g.cell_rect(*self.selected).adjusted(1, 1, -2, -2))
        # Class names, the hovered or selected row and column in bold.
        font = QFont(self.font())
        bold = QFont(font)
        bold.setBold(True)
        marked = self.hover or self.selected
        p.setPen(text)
        for i, name in enumerate(self.classes[:k]):
            p.setFont(bold if marked and marked[0] == i else font)
            row = QRect(g.x0 - g.margin - g.name_w - 20, g.y0 + i * g.cell, g.name_w + 20, g.cell)
            p.drawText(row, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            p.setFont(bold if marked and marked[1] == i else font)
            x = g.x0 + i * g.cell
            y = g.grid.bottom() + 1 + g.margin
            if g.rotated:
                p.save()
                p.translate(x + g.cell / 2, y)
                p.rotate(-90)
                p.drawText(QRect(-g.label_h - 20, -g.cell // 2, g.label_h + 20, g.cell),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
                p.restore()
            else:
                p.drawText(QRect(x - 20, y, g.cell + 40, g.title_h), Qt.AlignmentFlag.AlignHCenter, name)
        # Axis titles.
        p.setFont(font)
        p.setPen(_blend(base, text, 0.75))
        y = g.grid.bottom() + 1 + g.margin + g.label_h + g.margin
        p.drawText(QRect(g.grid.left() - 40, y, g.grid.width() + 80, g.title_h), Qt.AlignmentFlag.AlignHCenter,
                   "predicted")
        p.save()
        p.translate(g.x0 - g.margin - g.name_w - g.margin - g.title_h, g.grid.center().y())
        p.rotate(-90)
        p.drawText(QRect(-g.grid.height() // 2 - 40, 0, g.grid.height() + 80, g.title_h),
                   Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, "true")
        p.restore()
        p.end()


class ConfusionView(QWidget):
    """The confusion matrix with its colour scale, and the examples of the cell last clicked."""

    cell_clicked = Signal(int, int)  # true class, predicted class
    example_chosen = Signal(int)  # a test-split index

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._images = self._labels = self._predictions = self._confidences = None
        self._classes: tuple[str, ...] = ()

        self.show_correct_check = QCheckBox("Show correct", self)
        self.show_correct_check.setChecked(True)
        self.show_correct_check.setToolTip(
            "Colour the diagonal (the examples predicted right) too. Untick it to grey the diagonal out and\n"
            "stretch the colour scale to the largest mistake, so that the mistakes stand out.")
        self.show_correct_check.toggled.connect(self.set_show_correct)
        self.export_button = export_button("Save the matrix and its colour scale as a PNG picture",
                                           self._ask_export_png, self)
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addStretch(1)
        controls.addWidget(self.show_correct_check)
        controls.addWidget(self.export_button)

        # The figure (what Export PNG writes): the note, the matrix, the scale.
        self.figure = QWidget(self)
        self.note_label = QLabel(self.figure)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        self.note_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.matrix = MatrixCanvas(self.figure)
        self.matrix.installEventFilter(self)
        self.scale = ColorScale(SCALE_LABEL, SEQUENTIAL, self.figure)
        self.scale.setMaximumWidth(360)
        scale_row = QHBoxLayout()
        scale_row.addStretch(1)
        scale_row.addWidget(self.scale, 4)
        scale_row.addStretch(1)
        figure_layout = QVBoxLayout(self.figure)
        figure_layout.setContentsMargins(4, 4, 4, 4)
        figure_layout.setSpacing(2)
        figure_layout.addWidget(self.note_label)
        figure_layout.addWidget(self.matrix, 1)
        figure_layout.addLayout(scale_row)

        # The examples of the clicked cell.
        self.strip = QWidget(self)
        self.caption_label = QLabel(self.strip)
        self.caption_label.setTextFormat(Qt.TextFormat.PlainText)
        self.examples = PredictionsView(self.strip, controls=False)
        self.examples.empty_message = "No examples in this cell."
        self.examples.example_chosen.connect(self.example_chosen)
        strip_layout = QVBoxLayout(self.strip)
        strip_layout.setContentsMargins(4, 2, 4, 0)
        strip_layout.setSpacing(2)
        strip_layout.addWidget(self.caption_label)
        strip_layout.addWidget(self.examples, 1)

        # Side by side until the first resize says otherwise (resizeEvent): while the view waits in its tab, its
        # minimum height is its tab group's too, and stacked it would ask for about 350 px.
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.figure)
        self.splitter.addWidget(self.strip)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addLayout(controls)
        layout.addWidget(self.splitter, 1)
        self.clear("No results yet: the matrix fills in after the first epoch.")

    def resizeEvent(self, event) -> None:
        # A wide dock (the default: beside the editor, under the Inspector and the Draw dock) gets the matrix and
        # its examples side by side, so the matrix can use the whole height; a tall one stacks them.
        wide = event.size().width() > 1.4 * event.size().height()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(560, 720)

    # --- data ---------------------------------------------------------------------------------------------------

    def set_results(self, confusion, classes: Sequence[str], images, labels, predictions, confidences,
                    note: str = "") -> None:
        """This epoch's test results. `confusion` is the K×K count matrix [true][predicted] (None: counted from
        the labels and predictions). The cell last clicked stays open, with its new examples."""
        classes = tuple(str(c) for c in classes)
        k = len(classes)
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        predictions = np.asarray(predictions, dtype=np.int64).reshape(-1)
        if confusion is None:
            counts = np.bincount(labels * k + predictions, minlength=k * k).reshape(k, k)
        else:
            counts = np.asarray(confusion, dtype=np.int64)
        if counts.shape != (k, k):
            raise ValueError(f"the confusion matrix is {counts.shape}, expected {(k, k)} for {k} classes")
        self._images, self._labels, self._predictions = images, labels, predictions
        self._confidences = np.asarray(confidences, dtype=np.float32).reshape(-1)
        self._classes = classes
        self.note_label.setText(note)
        self.note_label.setVisible(bool(note))
        self.matrix.set_matrix(counts, classes)
        self.scale.set_scale(self.matrix.levels)
        self.export_button.setEnabled(True)
        selected = self.matrix.selected
        if selected is not None and not (selected[0] < k and selected[1] < k):
            self.matrix.selected = None
        self._show_cell()

    def clear(self, message: str = "") -> None:
        """No matrix; `message` says why. The open cell stays open for the next results."""
        self._images = self._labels = self._predictions = self._confidences = None
        self.note_label.setText("")
        self.note_label.hide()
        self.matrix.set_message(message)
        self.matrix.set_hover(None)
        self.export_button.setEnabled(False)
        self.caption_label.setText("")
        self.examples.clear("")

    def set_show_correct(self, on: bool) -> None:
        if self.show_correct_check.isChecked() != on:
            self.show_correct_check.setChecked(on)  # comes back here
            return
        self.matrix.set_show_correct(on)
        self.scale.set_scale(self.matrix.levels)

    def show_correct(self) -> bool:
        return self.matrix.show_correct

    def select_cell(self, true: int, predicted: int) -> None:
        """Open a cell's examples (as a click does, without emitting cell_clicked)."""
        self.matrix.selected = (int(true), int(predicted))
        self.matrix.update()
        self._show_cell()

    # --- queries (tests, the app) -------------------------------------------------------------------------------

    def cell_rect(self, true: int, predicted: int) -> QRect:
        """The cell's rectangle in this widget's coordinates."""
        r = self.matrix.geometry_now().cell_rect(true, predicted)
        return QRect(self.matrix.mapTo(self, r.topLeft()), r.size())

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        """(true, predicted) of the cell at `pos` (this widget's coordinates), or None."""
        if self.matrix.counts is None:
            return None
        return self.matrix.geometry_now().cell_at(self.matrix.mapFrom(self, pos))

    def cell_tooltip(self, true: int, predicted: int) -> str:
        counts, classes = self.matrix.counts, self._classes
        n = int(counts[true, predicted])
        row = int(counts[true].sum())
        fraction = n / row if row else 0.0
        t, p = classes[true], classes[predicted]
        of = f"the {t}s" if is_digits(classes) else f"true class {t}"
        return f"true {t}, predicted {p}: {n:,} {noun(classes, n)} ({percent_text(fraction)} of {of})"

    def counts(self) -> np.ndarray | None:
        return self.matrix.counts

    def levels(self) -> tuple[float, float]:
        return self.matrix.levels

    def selected_cell(self) -> tuple[int, int] | None:
        return self.matrix.selected

    def shown_examples(self) -> list[int]:
        """The test indices in the examples strip, in order (most confident first)."""
        return self.examples.shown_indices()

    def caption(self) -> str:
        return self.caption_label.text()

    # --- export -------------------------------------------------------------------------------------------------

    def export_png(self, path: str | os.PathLike) -> None:
        """The note, the matrix and its scale as they look now, written atomically (OSError if it cannot)."""
        hover = self.matrix.hover
        self.matrix.hover = None  # the mouse is not part of the picture
        try:
            settle_layouts()
            write_png(self.figure, path)
        finally:
            self.matrix.hover = hover

    def _ask_export_png(self) -> None:
        hover = self.matrix.hover
        self.matrix.hover = None
        try:
            settle_layouts()
            export_png_dialog(self, self.figure, "confusion-matrix.png")
        finally:
            self.matrix.hover = hover

    # --- mouse --------------------------------------------------------------------------------------------------

    def _hover(self, pos: QPoint) -> None:
        cell = self.cell_at(pos)
        self.matrix.set_hover(cell)
        if cell is None:
            self.matrix.unsetCursor()
        else:
            self.matrix.setCursor(Qt.CursorShape.PointingHandCursor)

    def _click(self, pos: QPoint) -> bool:
        cell = self.cell_at(pos)
        if cell is None:
            return False
        self.select_cell(*cell)
        self.cell_clicked.emit(*cell)
        return True

    def _tooltip(self, pos: QPoint, global_pos: QPoint) -> bool:
        cell = self.cell_at(pos)
        if cell is None:
            QToolTip.hideText()
            return False
        QToolTip.showText(global_pos, self.cell_tooltip(*cell), self, self.cell_rect(*cell))
        return True

    def _mouse(self, event, pos: QPoint) -> bool:
        """One handler for the mouse over the matrix, whether it reached the matrix or this view; True if used."""
        kind = event.type()
        if kind == QEvent.Type.MouseMove:
            self._hover(pos)
            return False
        if kind == QEvent.Type.MouseButtonPress:
            return event.button() == Qt.MouseButton.LeftButton and self.cell_at(pos) is not None
        if kind == QEvent.Type.MouseButtonRelease:
            return event.button() == Qt.MouseButton.LeftButton and self._click(pos)
        if kind == QEvent.Type.ToolTip:
            return self._tooltip(pos, event.globalPos())
        if kind == QEvent.Type.Leave:
            self.matrix.set_hover(None)
        return False

    def eventFilter(self, watched, event) -> bool:
        if watched is self.matrix and event.type() in _MOUSE_EVENTS:
            local = event.pos() if event.type() == QEvent.Type.ToolTip else (
                event.position().toPoint() if event.type() != QEvent.Type.Leave else QPoint(-1, -1))
            return self._mouse(event, self.matrix.mapTo(self, local))
        return super().eventFilter(watched, event)

    def event(self, event) -> bool:
        if event.type() in _MOUSE_EVENTS:  # the view's own (a test's QTest.mouseClick on the view lands here)
            if event.type() == QEvent.Type.Leave:
                self.matrix.set_hover(None)
            else:
                pos = event.pos() if event.type() == QEvent.Type.ToolTip else event.position().toPoint()
                if self._mouse(event, pos):
                    event.accept()
                    return True
        return super().event(event)

    # --- internals ----------------------------------------------------------------------------------------------

    def _show_cell(self) -> None:
        cell = self.matrix.selected
        if self._labels is None:
            return
        if cell is None:
            self.caption_label.setText("Click a cell to see its examples.")
            self.examples.clear("")
            return
        t, p = cell
        indices = np.flatnonzero((self._labels == t) & (self._predictions == p))
        n = int(indices.shape[0])
        classes = self._classes
        self.caption_label.setText(f"{n:,} {noun(classes, n)}: true {classes[t]}, predicted {classes[p]}")
        self.examples.set_subset(indices)
        self.examples.set_results(self._images, self._labels, self._predictions, self._confidences, classes)
