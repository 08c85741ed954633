"""The Predictions view: every test image with what the network made of it, in a gallery of thumbnails.

One `QListView` in a wrapping grid over a small list model whose rows are test
indices, so 10,000 examples cost one model reset, not 10,000 widgets. A
delegate paints each cell from the arrays: the digit (28×28 grey, drawn at
56 px, white on black as MNIST has it) and "true → predicted · 93%" under it,
red (and framed in red) when the network was wrong. The small grey QImage of
each digit is made the first time the cell is painted and kept while the images
stay the same (they do from epoch to epoch; only the predictions change).

Filter (all, mistakes only, one true class) and sort (confidence high→low,
low→high, test order) are kept across `set_results` calls, and so is the
selected example if it is still shown. `set_subset` narrows the gallery to given
test indices (the confusion view shows one cell that way).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QSizePolicy,
    QStackedLayout,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ..charts.export import write_png
from .export import export_button, export_png_dialog, message_label
from .render import grey_to_qimage, rgb_to_qimage

THUMB = 56  # px: a 28×28 digit at twice its size
PAD = 5

FILTER_ALL = "all"
FILTER_MISTAKES = "mistakes"
FILTER_CLASS = "class"  # one true class (with the class index)

SORT_CONFIDENCE_DESC = "confidence-desc"
SORT_CONFIDENCE_ASC = "confidence-asc"
SORT_INDEX = "index"
SORTS = (
    (SORT_CONFIDENCE_DESC, "Confidence: high → low"),
    (SORT_CONFIDENCE_ASC, "Confidence: low → high"),
    (SORT_INDEX, "Test order"),
)

ExampleRole = Qt.ItemDataRole.UserRole  # the test index of a row


def is_digits(classes: Sequence[str]) -> bool:
    return all(len(name) == 1 and name.isdigit() for name in classes)


def noun(classes: Sequence[str], count: int) -> str:
    """ "digit"/"digits" for MNIST's classes, "image"/"images" otherwise."""
    word = "digit" if is_digits(classes) else "image"
    return word if count == 1 else word + "s"


def confidence_text(confidence: float) -> str:
    """Whole percent, rounded down: 0.996 is "99%", never a "100%" that was not."""
    return f"{int(float(confidence) * 100 + 1e-9)}%"


def settle_layouts() -> None:
    """Lay out what changed since the last event loop pass (a new count text, say), so a grab shows it."""
    QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)


def mistake_colour(palette: QPalette) -> QColor:
    base = palette.color(QPalette.ColorRole.Base)
    return QColor(255, 105, 97) if base.lightnessF() < 0.5 else QColor(200, 30, 30)


@dataclass
class Examples:
    """The test split as the gallery shows it (arrays are the caller's; never written to)."""

    images: np.ndarray  # uint8 [N, H, W] (gray) or [N, H, W, 3] (colour)
    labels: np.ndarray  # int64 [N]
    predictions: np.ndarray  # int64 [N]
    confidences: np.ndarray  # float32 [N]
    classes: tuple[str, ...]
    thumbnails: dict[int, QImage] = field(default_factory=dict)  # drawn lazily, by test index

    @property
    def count(self) -> int:
        return int(self.labels.shape[0])

    def mistakes(self) -> np.ndarray:
        return self.labels != self.predictions

    def thumbnail(self, index: int) -> QImage:
        image = self.thumbnails.get(index)
        if image is None:
            pixels = self.images[index]
            image = rgb_to_qimage(pixels) if pixels.ndim == 3 else grey_to_qimage(pixels)
            self.thumbnails[index] = image
        return image

    def name(self, k: int) -> str:
        return self.classes[k] if 0 <= k < len(self.classes) else str(k)

    def caption(self, index: int) -> str:
        t, p = int(self.labels[index]), int(self.predictions[index])
        return f"{self.name(t)} → {self.name(p)} · {confidence_text(self.confidences[index])}"

    def tooltip(self, index: int) -> str:
        t, p = int(self.labels[index]), int(self.predictions[index])
        verdict = "correct" if t == p else "wrong"
        return (f"test image #{index}: true {self.name(t)}, predicted {self.name(p)} ({verdict}), "
                f"{float(self.confidences[index]) * 100:.1f}% confident\nClick to put it on the canvas")


def as_images(images) -> np.ndarray:
    """uint8 [N, H, W] (gray) from [N, H, W] or [N, 1, H, W], or [N, H, W, 3] (colour) from [N, H, W, 3] or
    [N, 3, H, W] (numpy or anything `np.asarray` takes)."""
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    elif array.ndim == 4 and array.shape[1] == 3 and array.shape[-1] != 3:  # channels first, as datasets store them
        array = array.transpose(0, 2, 3, 1)
    if not (array.ndim == 3 or (array.ndim == 4 and array.shape[-1] == 3)):
        raise ValueError(f"images must be [N, H, W] or [N, H, W, 3], got shape {array.shape}")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return array


def make_examples(images, labels, predictions, confidences, classes, previous: Examples | None) -> Examples:
    images = as_images(images)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    predictions = np.asarray(predictions, dtype=np.int64).reshape(-1)
    confidences = np.asarray(confidences, dtype=np.float32).reshape(-1)
    n = images.shape[0]
    if not (labels.shape[0] == predictions.shape[0] == confidences.shape[0] == n):
        raise ValueError(f"images, labels, predictions and confidences differ in length: {n}, {labels.shape[0]}, "
                         f"{predictions.shape[0]}, {confidences.shape[0]}")
    examples = Examples(images, labels, predictions, confidences, tuple(str(c) for c in classes))
    if previous is not None and (previous.images is images or (
            previous.images.shape == images.shape and np.array_equal(previous.images, images))):
        examples.thumbnails = previous.thumbnails  # the same test split: keep the drawn thumbnails
    return examples


class ExampleModel(QAbstractListModel):
    """Rows are test indices, in the order shown."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.examples: Examples | None = None
        self.order = np.empty(0, dtype=np.int64)

    def set_rows(self, examples: Examples | None, order: np.ndarray) -> None:
        """As many rows as before (each epoch's predictions of the same split, say) change in place: the grid
        keeps its layout and lays out nothing. A reset lays out every row again, with two Python calls each
        (QAbstractListModel.index asks rowCount): 5-10 ms of the GUI thread for a few thousand examples, while a
        stroke's prediction waited."""
        order = order if examples is not None else np.empty(0, dtype=np.int64)
        if examples is not None and self.examples is not None and 0 < order.shape[0] == self.order.shape[0]:
            self.examples, self.order = examples, order
            self.dataChanged.emit(self.index(0), self.index(order.shape[0] - 1))
            return
        self.beginResetModel()
        self.examples, self.order = examples, order
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else int(self.order.shape[0])

    def example_index(self, row: int) -> int:
        return int(self.order[row])

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.examples is None or not 0 <= index.row() < self.order.shape[0]:
            return None
        i = int(self.order[index.row()])
        if role == ExampleRole:
            return i
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.examples.caption(i)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.examples.tooltip(i)
        return None


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints one example straight from the arrays: the digit and its caption, mistakes in red.

    Digits fit "4 → 9 · 93%" on one line; longer class names (Fashion-MNIST) get a wider cell and two lines,
    "Sneaker →" over "Sandal · 93%"."""

    MAX_WIDTH = 136

    def __init__(self, parent=None):
        super().__init__(parent)
        self._key = None
        self._classes: tuple[str, ...] = tuple(str(i) for i in range(10))
        self._font = QFont()
        self._bold = QFont()
        self._size = QSize(THUMB + 2 * PAD, THUMB + 3 * PAD)
        self._two_lines = False

    def set_classes(self, classes: tuple[str, ...]) -> None:
        self._classes = classes

    def _layout(self, font: QFont) -> None:
        key = (font.key(), self._classes)
        if key == self._key:
            return
        self._key = key
        small = QFont(font)
        if small.pointSizeF() > 0:
            small.setPointSizeF(max(6.0, small.pointSizeF() * 0.9))
        bold = QFont(small)
        bold.setBold(True)
        self._font, self._bold = small, bold
        fm = QFontMetrics(bold)
        self._two_lines = not is_digits(self._classes)
        if self._two_lines:
            name_w = max((fm.horizontalAdvance(c) for c in self._classes), default=0)
            text_w = name_w + fm.horizontalAdvance(" · 100%")
            lines = 2
        else:
            text_w = fm.horizontalAdvance("0 → 0 · 100%")
            lines = 1
        width = min(self.MAX_WIDTH, max(THUMB + 2 * PAD, text_w + 2 * PAD))
        self._size = QSize(width, PAD + THUMB + PAD + lines * fm.height() + PAD)

    def sizeHint(self, option, index) -> QSize:
        self._layout(option.font)
        return QSize(self._size)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        model = index.model()
        examples = getattr(model, "examples", None)
        if examples is None:
            return
        self._layout(option.font)
        i = model.example_index(index.row())
        rect: QRect = option.rect
        pal = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        if selected:
            painter.fillRect(rect.adjusted(1, 1, -1, -1), pal.color(QPalette.ColorRole.Highlight))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect.adjusted(1, 1, -1, -1), pal.color(QPalette.ColorRole.AlternateBase))
        image = examples.thumbnail(i)
        scale = min(THUMB / max(1, image.width()), THUMB / max(1, image.height()))
        w, h = round(image.width() * scale), round(image.height() * scale)
        target = QRect(rect.left() + (rect.width() - w) // 2, rect.top() + PAD + (THUMB - h) // 2, w, h)
        painter.drawImage(target, image)  # no smoothing: the pixels stay pixels
        t, p = int(examples.labels[i]), int(examples.predictions[i])
        wrong = t != p
        red = mistake_colour(pal)
        if wrong:
            painter.setPen(QPen(red, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(target.adjusted(-1, -1, 1, 1))
        if selected:
            colour = pal.color(QPalette.ColorRole.HighlightedText)
        else:
            colour = red if wrong else pal.color(QPalette.ColorRole.Text)
        painter.setPen(colour)
        font = self._bold if wrong else self._font
        painter.setFont(font)
        fm = QFontMetrics(font)
        top = rect.top() + PAD + THUMB + PAD - 1
        text_w = rect.width() - 4
        centred = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        if self._two_lines:
            elide = Qt.TextElideMode.ElideMiddle
            first = fm.elidedText(f"{examples.name(t)} →", elide, text_w)
            second = fm.elidedText(f"{examples.name(p)} · {confidence_text(examples.confidences[i])}", elide, text_w)
            painter.drawText(QRect(rect.left() + 2, top, text_w, fm.height()), centred, first)
            painter.drawText(QRect(rect.left() + 2, top + fm.height(), text_w, fm.height()), centred, second)
        else:
            text = fm.elidedText(examples.caption(i), Qt.TextElideMode.ElideMiddle, text_w)
            painter.drawText(QRect(rect.left() + 2, top, text_w, fm.height()), centred, text)
        painter.restore()


class ExampleGrid(QListView):
    """A wrapping grid of uniform cells. Tells a mouse press apart from a keyboard move of the current item."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pressing = False
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)
        self.setSpacing(0)

    def mousePressEvent(self, event) -> None:
        self.pressing = True
        try:
            super().mousePressEvent(event)
        finally:
            self.pressing = False


class PredictionsView(QWidget):
    """The test split's examples as thumbnails, filtered and sorted; a click puts one on the canvas."""

    example_chosen = Signal(int)  # a test-split index

    def __init__(self, parent: QWidget | None = None, *, controls: bool = True):
        """`controls=False` leaves out the filter, sort, export and the note and count lines (the confusion view's
        strip of one cell's examples, which has its own caption)."""
        super().__init__(parent)
        self._examples: Examples | None = None
        self._subset: np.ndarray | None = None
        self._filter: tuple[str, int | None] = (FILTER_ALL, None)
        self._sort = SORT_CONFIDENCE_DESC
        self._syncing = False
        self._chosen: int | None = None  # the selected test index, reselected after a refresh
        self.empty_message = "No examples match."  # when the filter leaves nothing

        self.filter_combo = QComboBox(self)
        self.filter_combo.setToolTip("Which examples to show")
        self.filter_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.sort_combo = QComboBox(self)
        self.sort_combo.setToolTip("In which order")
        for key, title in SORTS:
            self.sort_combo.addItem(title, key)
        self.export_button = export_button("Save the examples shown now as a PNG picture", self._ask_export_png, self)
        self._fill_filter_combo(())
        self.filter_combo.currentIndexChanged.connect(self._filter_picked)
        self.sort_combo.currentIndexChanged.connect(self._sort_picked)

        self.note_label = QLabel(self)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        self.count_label = QLabel(self)
        self.count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.model = ExampleModel(self)
        self.grid = ExampleGrid(self)
        self.delegate = ThumbnailDelegate(self.grid)
        self.grid.setItemDelegate(self.delegate)
        self.grid.setModel(self.model)
        self.grid.clicked.connect(self._clicked)
        self.grid.selectionModel().currentChanged.connect(self._current_changed)
        self.message_label = message_label(parent=self)

        controls_row = QHBoxLayout()
        controls_row.setContentsMargins(0, 0, 0, 0)
        controls_row.addWidget(QLabel("Show", self))
        controls_row.addWidget(self.filter_combo)
        controls_row.addSpacing(10)
        controls_row.addWidget(QLabel("Sort", self))
        controls_row.addWidget(self.sort_combo)
        controls_row.addStretch(1)
        controls_row.addWidget(self.export_button)
        self._controls = QWidget(self)
        self._controls.setLayout(controls_row)

        # What Export PNG writes: the note, the count and the examples in view.
        self.figure = QWidget(self)
        heading = QHBoxLayout()
        heading.setContentsMargins(0, 0, 0, 0)
        heading.addWidget(self.note_label, 1)
        heading.addWidget(self.count_label)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.grid)
        self._stack.addWidget(self.message_label)
        figure_layout = QVBoxLayout(self.figure)
        figure_layout.setContentsMargins(0, 0, 0, 0)
        figure_layout.setSpacing(4)
        figure_layout.addLayout(heading)
        figure_layout.addLayout(self._stack, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self._controls)
        layout.addWidget(self.figure, 1)
        if not controls:
            self._controls.hide()
            self.note_label.hide()
            self.count_label.hide()
            layout.setContentsMargins(0, 0, 0, 0)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._compact = not controls
        if self._compact:
            self.setMinimumHeight(self.cell_size().height() + 2 * self.grid.frameWidth() + 2)
        self.clear("No results yet: the gallery fills in after the first epoch.")

    def cell_size(self) -> QSize:
        """The size of one example's cell."""
        option = QStyleOptionViewItem()
        option.font = self.grid.font()
        return self.grid.itemDelegate().sizeHint(option, QModelIndex())

    def sizeHint(self) -> QSize:
        cell = self.cell_size()
        if self._compact:  # two rows of a strip
            return QSize(cell.width() * 6, cell.height() * 2 + 2 * self.grid.frameWidth() + 2)
        return QSize(cell.width() * 8, cell.height() * 5)

    # --- data ---------------------------------------------------------------------------------------------------

    def set_results(self, images, labels, predictions, confidences, classes: Sequence[str], note: str = "") -> None:
        """The test split with this epoch's predictions (called once per epoch). Filter, sort, subset and the
        selected example stay as they were."""
        self._examples = make_examples(images, labels, predictions, confidences, classes, self._examples)
        self._fill_filter_combo(self._examples.classes)
        self.delegate.set_classes(self._examples.classes)
        if self._compact:
            self.setMinimumHeight(self.cell_size().height() + 2 * self.grid.frameWidth() + 2)
        self.note_label.setText(note)
        self._stack.setCurrentWidget(self.grid)
        self._refresh()

    def clear(self, message: str = "") -> None:
        """No examples; `message` says why (filter, sort and subset are kept for the next results)."""
        self._examples = None
        self.model.set_rows(None, np.empty(0, dtype=np.int64))
        self.note_label.setText("")
        self.count_label.setText("")
        self.message_label.setText(message)
        self._stack.setCurrentWidget(self.message_label)
        self.export_button.setEnabled(False)

    def set_subset(self, indices: Sequence[int] | np.ndarray | None) -> None:
        """Show only these test indices (still filtered and sorted); None shows all of them again."""
        self._subset = None if indices is None else np.unique(np.asarray(indices, dtype=np.int64).reshape(-1))
        self._refresh()

    # --- filter and sort ----------------------------------------------------------------------------------------

    def set_filter(self, mode: str, true_class: int | None = None) -> None:
        """FILTER_ALL, FILTER_MISTAKES, or FILTER_CLASS with the class index."""
        if mode not in (FILTER_ALL, FILTER_MISTAKES, FILTER_CLASS):
            raise ValueError(f"unknown filter {mode!r}")
        if mode == FILTER_CLASS and true_class is None:
            raise ValueError("the class filter needs a class index")
        self._filter = (mode, int(true_class) if mode == FILTER_CLASS else None)
        self._sync_filter_combo()
        self._refresh()

    def filter(self) -> tuple[str, int | None]:
        return self._filter

    def set_sort(self, key: str) -> None:
        if key not in dict(SORTS):
            raise ValueError(f"unknown sort {key!r}")
        self._sort = key
        self._syncing = True
        try:
            self.sort_combo.setCurrentIndex(self.sort_combo.findData(key))
        finally:
            self._syncing = False
        self._refresh()

    def sort(self) -> str:
        return self._sort

    # --- queries (tests, the app) -------------------------------------------------------------------------------

    def shown_indices(self) -> list[int]:
        """The test indices shown, in order."""
        return self.model.order.tolist()

    def count_text(self) -> str:
        return self.count_label.text()

    def note(self) -> str:
        return self.note_label.text()

    def item_rect(self, position: int) -> QRect:
        """Where the `position`-th example shown is, in `self.grid.viewport()` coordinates (scrolled into view)."""
        index = self.model.index(position, 0)
        self.grid.scrollTo(index)
        return self.grid.visualRect(index)

    def selected_index(self) -> int | None:
        return self._chosen

    # --- export -------------------------------------------------------------------------------------------------

    def export_png(self, path: str | os.PathLike) -> None:
        """The examples in view with the note and count, as a PNG (written atomically; OSError if it cannot)."""
        settle_layouts()
        write_png(self.figure, path)

    def _ask_export_png(self) -> None:
        settle_layouts()
        export_png_dialog(self, self.figure, "prediction-gallery.png")

    # --- internals ----------------------------------------------------------------------------------------------

    def _fill_filter_combo(self, classes: tuple[str, ...]) -> None:
        names = tuple(self.filter_combo.itemData(i)[1] for i in range(2, self.filter_combo.count()))
        if self.filter_combo.count() and names == classes:
            return
        self._syncing = True
        try:
            self.filter_combo.clear()
            self.filter_combo.addItem("All examples", (FILTER_ALL, None))
            self.filter_combo.addItem("Mistakes only", (FILTER_MISTAKES, None))
            for k, name in enumerate(classes):
                self.filter_combo.addItem(f"True class {name}", (FILTER_CLASS, name, k))
        finally:
            self._syncing = False
        mode, k = self._filter
        if mode == FILTER_CLASS and (k is None or k >= len(classes)) and classes:
            self._filter = (FILTER_ALL, None)  # another dataset without that class
        self._sync_filter_combo()

    def _sync_filter_combo(self) -> None:
        mode, k = self._filter
        row = {FILTER_ALL: 0, FILTER_MISTAKES: 1}.get(mode, 2 + (k or 0))
        self._syncing = True
        try:
            self.filter_combo.setCurrentIndex(row if row < self.filter_combo.count() else 0)
        finally:
            self._syncing = False

    def _filter_picked(self, row: int) -> None:
        if self._syncing or row < 0:
            return
        data = self.filter_combo.itemData(row)
        self._filter = (FILTER_CLASS, data[2]) if data[0] == FILTER_CLASS else (data[0], None)
        self._refresh()

    def _sort_picked(self, row: int) -> None:
        if self._syncing or row < 0:
            return
        self._sort = self.sort_combo.itemData(row)
        self._refresh()

    def _order(self, ex: Examples) -> np.ndarray:
        n = ex.count
        if self._subset is None:
            candidates = np.arange(n, dtype=np.int64)
        else:
            candidates = self._subset[(self._subset >= 0) & (self._subset < n)]
        mode, k = self._filter
        if mode == FILTER_MISTAKES:
            candidates = candidates[ex.labels[candidates] != ex.predictions[candidates]]
        elif mode == FILTER_CLASS:
            candidates = candidates[ex.labels[candidates] == k]
        if self._sort == SORT_CONFIDENCE_DESC:
            candidates = candidates[np.argsort(-ex.confidences[candidates], kind="stable")]
        elif self._sort == SORT_CONFIDENCE_ASC:
            candidates = candidates[np.argsort(ex.confidences[candidates], kind="stable")]
        return candidates

    def _count_text(self, ex: Examples, shown: int) -> str:
        n = ex.count
        mode, k = self._filter
        if self._subset is not None:
            return f"{shown:,} shown of {n:,}"
        wrong = int(np.count_nonzero(ex.mistakes()))
        mistakes = f"{wrong:,} mistake" + ("" if wrong == 1 else "s")
        if mode == FILTER_MISTAKES:
            return f"{mistakes} of {n:,}"
        if mode == FILTER_CLASS:
            in_class = ex.labels == k
            wrong_k = int(np.count_nonzero(in_class & ex.mistakes()))
            return (f"{shown:,} {noun(ex.classes, shown)} of class {ex.name(k)} · {wrong_k:,} "
                    f"mistake{'' if wrong_k == 1 else 's'}")
        return f"{n:,} {noun(ex.classes, n)} · {mistakes}"

    def _refresh(self) -> None:
        ex = self._examples
        if ex is None:
            return
        order = self._order(ex)
        self._syncing = True
        try:
            self.model.set_rows(ex, order)
            rows = np.flatnonzero(order == self._chosen) if self._chosen is not None else ()
            if len(rows):
                index = self.model.index(int(rows[0]), 0)
                self.grid.selectionModel().setCurrentIndex(
                    index, self.grid.selectionModel().SelectionFlag.ClearAndSelect)
                self.grid.scrollTo(index)
            else:  # rows changed in place keep their selection: it would mark another example now
                self.grid.selectionModel().clear()
        finally:
            self._syncing = False
        self.count_label.setText(self._count_text(ex, int(order.shape[0])))
        self.export_button.setEnabled(True)
        if not order.shape[0]:
            self.message_label.setText(self.empty_message if ex.count else "The test split is empty.")
            self._stack.setCurrentWidget(self.message_label)
        else:
            self._stack.setCurrentWidget(self.grid)

    def _choose(self, index) -> None:
        if not index.isValid():
            return
        test_index = self.model.example_index(index.row())
        self._chosen = test_index
        self.example_chosen.emit(test_index)

    def _current_changed(self, current, _previous) -> None:
        # A mouse press changes the current item too; its click is what counts (and clicking the same
        # example again chooses it again, e.g. after drawing on the canvas).
        if self._syncing or self.grid.pressing:
            return
        self._choose(current)

    def _clicked(self, index) -> None:
        self._choose(index)
