"""The Draw dock's "Add to my digits": keep the drawing with a label, count each class, review and delete.

One click on "Keep as 3" (under the canvas; 3 is the predicted class) stores the drawing as it is now: the 28×28
digit the network sees and the raw stroke image, in a `HandwritingStore` (the user data folder, in the image-folder
layout `playground finetune --images` reads). The button's menu keeps it as any class 0–9 (each with its count)
and opens the gallery, which lists the digits, each deletable. The counter under the canvas says how many each
class has. A blank drawing is refused with a message.

(Fine-tuning from the window is not here yet: it will run in the training process, like a training run.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QFont, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.data.handwriting import HandwritingStore
from ...core.data.preprocess import is_blank, preprocess_digit

BLANK = "Nothing to add: draw a digit first."
THUMB = 56  # the gallery's thumbnails: 28×28 at twice the size


def _pixmap(image28: np.ndarray, side: int = THUMB) -> QPixmap:
    a = np.ascontiguousarray(image28, dtype=np.uint8)
    image = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation))


class MyDigitsGallery(QDialog):
    """The stored digits with their labels, newest first; Delete removes the selected ones from the disk."""

    changed = Signal()

    def __init__(self, store: HandwritingStore, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("My digits")
        self.list = QListWidget(self)
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 16, THUMB + 24))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._sync_buttons)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.folder_label = QLabel(f"Kept in {store.folder}", self)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setWordWrap(True)
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.setToolTip("Delete the selected digits (Del)")
        self.delete_button.clicked.connect(self.delete_selected)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list, self.delete_selected)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.delete_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.folder_label)
        layout.addWidget(buttons)
        self.resize(480, 360)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for entry in reversed(self.store.entries()):
            try:
                icon = _pixmap(self.store.image(entry.id))
            except Exception:  # a file damaged or removed behind our back: still listed, to delete
                icon = QPixmap(THUMB, THUMB)
                icon.fill(Qt.GlobalColor.darkRed)
            item = QListWidgetItem(icon, entry.label)
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            item.setToolTip(f"{entry.label} — {entry.file}")
            self.list.addItem(item)
        n = len(self.store)
        self.summary.setText(f"{n} digit{'s' if n != 1 else ''}: {counts_text(self.store.counts())}" if n
                             else "No digits yet: draw one, then Keep it (under the canvas).")
        self._sync_buttons()

    def ids(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def select(self, digit_id: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setSelected(item.data(Qt.ItemDataRole.UserRole) == digit_id)

    def delete_selected(self) -> None:
        chosen = [item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()]
        for digit_id in chosen:
            with contextlib.suppress(KeyError):  # gone already
                self.store.delete(digit_id)
        if chosen:
            self.refresh()
            self.changed.emit()

    def _sync_buttons(self) -> None:
        self.delete_button.setEnabled(bool(self.list.selectedItems()))


def counts_text(counts: dict[str, int]) -> str:
    return " ".join(f"{label}:{n}" for label, n in counts.items())


class MyDigitsRow(QObject):
    """"Add to my digits" for a `DigitPanel`: a Keep button (one click: the drawing under the predicted class; its
    menu: any class, with its count, and the gallery) and the counter label, for the panel to place. They ask no
    height of their own: the button sits in the tools row under the canvas, the counter under it (issue 18's
    budget of height at 1024×720)."""

    added = Signal(str, str)  # id, label

    def __init__(self, drawing: Callable[[], np.ndarray | None], store: HandwritingStore | None = None,
                 parent: QWidget | None = None):
        """`drawing()`: the canvas's raw image now (uint8 2-D), or None when it is empty."""
        super().__init__(parent)
        self._parent = parent
        self._drawing = drawing
        self._store = store
        self._classes: tuple[str, ...] = tuple("0123456789")
        self._predicted: int | None = None
        self.gallery: MyDigitsGallery | None = None
        self.button = QToolButton(parent)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.button.setAutoRaise(True)
        self.button.clicked.connect(self._on_click)
        self.menu = QMenu(parent)
        self.button.setMenu(self.menu)
        self.label_actions: list[QAction] = []
        self.gallery_action = QAction("Review my digits…", self)
        self.gallery_action.triggered.connect(self.show_gallery)
        self.counter = QLabel(parent)
        self.counter.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counter.setWordWrap(True)
        font = self.counter.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.counter.setFont(font)
        self._message = ""
        self._wanted = self._fits = True
        self._build_menu()

    @property
    def store(self) -> HandwritingStore:
        if self._store is None:  # opened when first needed
            self._store = HandwritingStore()
        return self._store

    def _build_menu(self) -> None:
        self.menu.clear()
        self.label_actions = []
        for i, label in enumerate(self._classes):
            action = QAction(label, self)
            action.triggered.connect(lambda _=False, i=i: self.add(i))
            self.menu.addAction(action)
            self.label_actions.append(action)
        self.menu.addSeparator()
        self.menu.addAction(self.gallery_action)
        self.set_predicted(self._predicted)

    def set_classes(self, classes: tuple[str, ...]) -> None:
        classes = tuple(str(c) for c in classes)
        if classes != self._classes and 0 < len(classes) <= 10:
            self._classes = classes
            self._predicted = None
            self._build_menu()
        self._fits = 0 < len(classes) <= 10
        self.show_row(self._wanted)

    def show_row(self, on: bool) -> None:
        """Shown when wanted and the classes are ten at most (hidden for a GAN and for 2-D points)."""
        self._wanted = bool(on)
        self.button.setVisible(self._wanted and self._fits)
        self.counter.setVisible(self._wanted and self._fits)

    def isVisible(self) -> bool:
        return self.button.isVisible()

    def set_predicted(self, index: int | None) -> None:
        """The class the network predicts (None: nothing drawn): what one click keeps the drawing as."""
        self._predicted = index if index is not None and 0 <= index < len(self._classes) else None
        for i, action in enumerate(self.label_actions):
            font = QFont(self.menu.font())
            font.setBold(i == self._predicted)
            action.setFont(font)
        if self._predicted is None:
            self.button.setText("Keep…")
            self.button.setToolTip("Add the drawing to my digits: choose its label")
        else:
            label = self._classes[self._predicted]
            self.button.setText(f"Keep as {label}")
            self.button.setToolTip(f"Add the drawing to my digits as {label} (the arrow: another label, or review "
                                   "them)")
        self.refresh()

    def _on_click(self) -> None:
        if self._predicted is None:
            self.button.showMenu()
        else:
            self.add(self._predicted)

    def add(self, index: int) -> str | None:
        """Store the drawing as class `index`; its id, or None (a blank drawing, refused with a message)."""
        raw = self._drawing()
        digit = preprocess_digit(np.asarray(raw)) if raw is not None else None
        if digit is None or is_blank(digit):
            self._message = BLANK
            self.refresh()
            return None
        label = self._classes[index]
        try:
            digit_id = self.store.add(digit, np.array(raw, dtype=np.uint8), label)
        except (OSError, ValueError) as exc:
            self._message = f"Could not keep it: {exc}"
            self.refresh()
            return None
        self._message = f"Kept as {label}."
        self.refresh()
        if self.gallery is not None:
            self.gallery.refresh()
        self.added.emit(digit_id, label)
        return digit_id

    def refresh(self) -> None:
        counts = self.store.counts(self._classes)
        for action, label in zip(self.label_actions, self._classes, strict=True):
            n = counts.get(label, 0)
            action.setText(f"{label}\t{n} kept" if n else label)
        total = sum(counts.values())
        kept = {c: n for c, n in counts.items() if n}
        text = f"my digits ({total}): {counts_text(kept)}" if total else "my digits: none yet"
        self.counter.setText(f"{self._message} {text}" if self._message else text)
        self.counter.setToolTip(f"Kept in {self.store.folder}")

    def show_gallery(self) -> MyDigitsGallery:
        if self.gallery is None:
            self.gallery = MyDigitsGallery(self.store, self._parent.window() if self._parent else None)
            self.gallery.changed.connect(self._on_gallery_changed)
        self.gallery.refresh()
        self.gallery.show()
        self.gallery.raise_()
        return self.gallery

    def _on_gallery_changed(self) -> None:
        self._message = ""
        self.refresh()
